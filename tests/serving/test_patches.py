"""serving/patches.py: a client's ``clear_cache`` message empties nothing (issue 25, item 8)."""

from __future__ import annotations

import streamlit as st
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.runtime.app_session import AppSession, AppSessionState

import serving.patches  # noqa: F401  (applies them)


def test_a_clients_clear_cache_message_leaves_every_cache_and_the_session_alone():
    calls = []

    @st.cache_data
    def numbers(n: int) -> int:
        calls.append(n)
        return n

    @st.cache_resource
    def model(n: int) -> list:
        calls.append(-n)
        return [n]

    numbers(1), model(1)
    session = object.__new__(AppSession)  # what handle_backmsg needs of a session, without a server
    session._state = AppSessionState.SHUTDOWN_REQUESTED  # its __del__ then has nothing to shut down
    cleared = []
    session._session_state = type("State", (), {"clear": lambda self: cleared.append(True)})()
    message = BackMsg()
    message.clear_cache = True
    session.handle_backmsg(message)  # what any browser may send over its websocket
    numbers(1), model(1)
    assert calls == [1, -1] and not cleared, "the caches were emptied"
