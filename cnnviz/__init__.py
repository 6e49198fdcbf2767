"""cnnviz: the computation behind the app. Never imports streamlit.

Submodules are imported explicitly (``from cnnviz import arithmetic``) so that
importing the package stays cheap and free of import cycles with ``models``.
"""
