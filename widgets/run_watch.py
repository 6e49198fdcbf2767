"""Rerun the fragment this is drawn in when a training run changes, without a rerun per poll.

The browser asks the server's cheap version route (serving/routes.py) every ``poll_s`` seconds and
triggers a rerun only when the version differs from the one the fragment was drawn with. A server
without the route (``streamlit run app.py``) answers with its page instead: then the browser reruns the
fragment every ``poll_s``, as ``st.fragment(run_every=...)`` would.
"""

from __future__ import annotations

import streamlit as st

from serving.routes import run_version_url
from widgets.assets import sent, source

_COMPONENT = st.components.v2.component("cnnviz.run_watch", js=source("run_watch.js"))


def run_watch(run_id: str, version: str, *, key: str, poll_s: float) -> None:
    """Watch ``run_id``, drawn now at ``version`` (:func:`cnnviz.jobs.live_version`); call inside a fragment."""
    url = run_version_url(st.get_option("server.baseUrlPath"), run_id)
    data = {"url": url, "version": version, "poll_ms": round(poll_s * 1000)}
    _COMPONENT(key=key, data=sent(data), on_changed_change=lambda: None)
