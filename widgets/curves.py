"""Mount one or more :class:`cnnviz.views.train_view.CurveChart` (training curves drawn as SVG in the browser).

A component of its own, not a kind of widgets/chart: Streamlit sends a component's code with every instance
on every rerun, and the draw page's two charts per pen stroke need none of the curves' code.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from cnnviz.views.train_view import CurveChart
from widgets.assets import sent, source

_COMPONENT = st.components.v2.component(
    "cnnviz.curves", js=source("svg.js") + source("curves.js"), css=source("chart.css")
)


def curves(figures: CurveChart | Sequence[CurveChart], *, key: str) -> None:
    """Draw the charts, side by side when there are several."""
    figures = [figures] if isinstance(figures, CurveChart) else list(figures)
    _COMPONENT(key=key, data=sent({"charts": [figure.payload() for figure in figures]}))
