"""Rerun the fragment this is drawn in when what it shows changed, without a rerun per poll.

A rerun of even an empty fragment costs the server ~6-10 ms; the question "did it change?" costs a
fraction of one when asked of the served app's routes (serving/routes.py). So the browser asks the
route ``url`` every ``poll_s`` seconds and triggers a rerun only when its ``version`` differs from the
one the fragment was drawn with. A server without the route (``streamlit run app.py``) answers with its
page instead: then the browser reruns the fragment every ``poll_s``, as ``st.fragment(run_every=...)`` would.
"""

from __future__ import annotations

import streamlit as st

from serving import routes
from widgets.assets import sent, source

_COMPONENT = st.components.v2.component("cnnviz.watch", js=source("watch.js"))


def watch(route: str | None, version: str, *, key: str, poll_s: float, rerun_after_s: float | None = None) -> None:
    """Call inside a fragment, on every path through it (the polling stops when it is not drawn).

    Args:
        route: a path of serving/routes.py (e.g. ``routes.run_version_path(run_id)``), or None to ask nothing.
        version: what that route answered when the fragment read what it shows.
        poll_s: seconds between two questions.
        rerun_after_s: also rerun when nothing changed for this long (a page's "still here"), or never.
    """
    data = {
        "url": routes.url(st.get_option("server.baseUrlPath"), route) if route else None,
        "version": version,
        "poll_ms": round(poll_s * 1000),
        "rerun_after_ms": round(rerun_after_s * 1000) if rerun_after_s else None,
    }
    _COMPONENT(key=key, data=sent(data), on_changed_change=lambda: None)
