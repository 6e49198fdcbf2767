"""A drawing canvas that sends one small PNG per stroke (undo, redo and clear in its toolbar)."""

from __future__ import annotations

import base64
import binascii

import streamlit as st

from widgets.assets import source, with_palette

_COMPONENT = st.components.v2.component(
    "cnnviz.draw_canvas", js=source("draw_canvas.js"), css=with_palette(source("draw_canvas.css"))
)
DATA_URL_PREFIX = "data:image/png;base64,"


def draw_canvas(*, key: str, size: int, pen: int) -> bytes | None:
    """The drawing as PNG bytes (None while empty or when the browser sent something else)."""
    result = _COMPONENT(
        key=key, data={"size": size, "pen": pen}, default={"picture": None}, on_picture_change=lambda: None
    )
    picture = result.picture
    if not isinstance(picture, str) or not picture.startswith(DATA_URL_PREFIX):
        return None
    try:
        return base64.b64decode(picture[len(DATA_URL_PREFIX) :], validate=True)
    except (binascii.Error, ValueError):
        return None
