"""Mount one or more :class:`cnnviz.views.grids.MapGrid` in the page, as one component.

Streamlit sends a component's code with every instance on every rerun, so the
grids of one part of a page travel together in one instance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import streamlit as st

from cnnviz.views.grids import MapGrid
from widgets.assets import colormap_constants, sent, source, with_palette

_COMPONENT = st.components.v2.component(
    "cnnviz.views.grids",
    js=colormap_constants() + source("lut.js") + source("map_grid.js"),
    css=with_palette(source("map_grid.css")),
)


def map_grid(
    grids: MapGrid | Sequence[MapGrid],
    *,
    key: str,
    panel_px: int | Sequence[int] = 112,
    clickable: bool = False,
    side_by_side: bool = False,
    picked: dict | None = None,
    on_click: Callable[[dict], None] | None = None,
    enlarge: bool = True,
) -> dict | None:
    """Draw the grids one below the other (or side by side); ``panel_px``: one size for all, or one per grid.

    With ``clickable``, return the cell clicked in the browser since the last rerun,
    ``{grid, channel, row, column}`` (grid: its index in ``grids``; row and column in map coordinates),
    else None; ``picked``, in the same form, is the cell to outline (the one the page shows).
    ``on_click(cell)`` is called with a new click before the script reruns (as a widget's callback), so
    the rerun can pass the new cell as ``picked`` already. ``enlarge=False``: a click enlarges nothing.
    """
    grids = [grids] if isinstance(grids, MapGrid) else list(grids)
    sizes = [panel_px] * len(grids) if isinstance(panel_px, int) else list(panel_px)
    data = {
        "grids": [
            grid.payload(panel_px=size, clickable=clickable, enlarge=enlarge)
            for grid, size in zip(grids, sizes, strict=True)
        ],
        "side_by_side": side_by_side,
        "picked": picked,
    }
    if clickable:

        def clicked() -> None:
            cell = (st.session_state.get(key) or {}).get("cell")
            if on_click is not None and isinstance(cell, dict):  # anything else is not from map_grid.js
                on_click(cell)

        return _COMPONENT(key=key, data=sent(data), on_cell_change=clicked).cell
    _COMPONENT(key=key, data=sent(data))
    return None
