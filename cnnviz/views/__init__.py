"""What each page shows, computed without Streamlit: one module per page (``*_view``), and the pieces they share
(feature-map grids, the palette, charts, the builder's table and presets, which trained models a page may use).

The top of cnnviz: may import every other package; only ``pages/`` and ``widgets/`` import it.
"""
