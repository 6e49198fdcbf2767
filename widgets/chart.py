"""Mount one or more :class:`cnnviz.views.draw_charts.Chart` (drawn as SVG in the browser) as one component.

Charts shown together travel in one instance: each instance costs the server about a millisecond per rerun
whatever its size (Streamlit registers it as a widget and sends its code with it).
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from cnnviz.views.draw_charts import Chart
from widgets.assets import palette_constants, sent, source

_COMPONENT = st.components.v2.component(
    "cnnviz.chart", js=palette_constants() + source("svg.js") + source("chart.js"), css=source("chart.css")
)


def chart(figures: Chart | Sequence[Chart], *, key: str) -> None:
    """Draw the charts, side by side when there are several."""
    figures = [figures] if isinstance(figures, Chart) else list(figures)
    _COMPONENT(key=key, data=sent({"charts": [figure.payload() for figure in figures]}))
