"""Which browser this session is: the id the Train and Lessons pages keep a student's runs and progress under."""

from __future__ import annotations

import uuid

import streamlit as st

from cnnviz.views import train_view


def browser_id(state_key: str) -> str:
    """This browser's id, from its XSRF cookie (it survives reloads and new tabs), else this session's own.

    Args:
        state_key: where the page keeps it in ``st.session_state`` (tests set it there directly).
    """
    if state_key not in st.session_state:
        cookie = st.context.cookies.get("_streamlit_xsrf")
        st.session_state[state_key] = (
            train_view.owner_from_cookie(cookie)
            if isinstance(cookie, str) and cookie
            else f"session-{uuid.uuid4().hex[:16]}"
        )
    return st.session_state[state_key]
