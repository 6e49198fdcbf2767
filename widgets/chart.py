"""Mount a :class:`cnnviz.draw_plots.Chart` (drawn as SVG in the browser)."""

from __future__ import annotations

import time

import streamlit as st

from cnnviz.draw_plots import Chart
from widgets.assets import source

_COMPONENT = st.components.v2.component("cnnviz.chart", js=source("chart.js"), css=source("chart.css"))


def chart(figure: Chart, *, key: str) -> None:
    _COMPONENT(key=key, data={**figure.payload(), "revision": time.monotonic_ns()})
