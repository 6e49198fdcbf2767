"""Mount the explorer's sliding-window animation (a :class:`cnnviz.explorer.animation.AnimationPayload`)."""

from __future__ import annotations

import streamlit as st

from cnnviz.explorer.animation import AnimationPayload
from widgets.assets import sent, source

_COMPONENT = st.components.v2.component(
    "cnnviz.sliding_window", js=source("sliding_window.js"), css=source("sliding_window.css")
)


def sliding_window(payload: AnimationPayload, *, key: str) -> None:
    """Draw the animation; it plays in the browser without asking the server."""
    _COMPONENT(key=key, data=sent(payload.as_json()))
