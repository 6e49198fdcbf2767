"""Mount a :class:`cnnviz.map_grid.MapGrid` in the page."""

from __future__ import annotations

import streamlit as st

from cnnviz.map_grid import MapGrid
from widgets.assets import colormap_constants, source

_COMPONENT = st.components.v2.component(
    "cnnviz.map_grid", js=colormap_constants() + source("map_grid.js"), css=source("map_grid.css")
)


def map_grid(grid: MapGrid, *, key: str, panel_px: int = 112, clickable: bool = False) -> dict | None:
    """Draw ``grid``; with ``clickable``, return the last clicked cell ``{channel, row, column}`` (else None)."""
    if clickable:
        result = _COMPONENT(key=key, data=grid.payload(panel_px=panel_px, clickable=True), on_cell_change=lambda: None)
        return result.cell
    _COMPONENT(key=key, data=grid.payload(panel_px=panel_px))
    return None
