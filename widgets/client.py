"""Who is asking: the client's address (the one function every page and limit uses) and the guarded admin token.

Streamlit 1.67's ``st.context.ip_address`` is the websocket's TCP peer, and None when that peer is ``127.0.0.1``
or ``::1``. Behind the front (serve.py's door or Caddy, on this machine) every peer is loopback, and the front
puts the browser's address in ``X-Forwarded-For``: its last entry is the one the front appended (any earlier ones
came from the client and mean nothing). So the header is trusted only when the peer is loopback; a browser that
reaches a worker directly (``CNNVIZ_WORKERS=1`` on a public address) is its peer, whatever it sends.
"""

from __future__ import annotations

import ipaddress
import uuid

import streamlit as st

from cnnviz import admin

ADDRESS_KEY = "cnnviz_client_address"  # session state: a session's websocket, hence its address, never changes
SESSION_KEY = "cnnviz_session_key"
LOOPBACK = "127.0.0.1"  # the address given to a loopback peer that forwarded none (a test, or the teacher's laptop)


def _valid(text: str) -> str | None:
    try:
        return str(ipaddress.ip_address(text.strip()))
    except ValueError:
        return None


def address_from(peer: str | None, forwarded_for: str | None) -> str:
    """The client's address given the TCP peer (None: loopback, as Streamlit reports it) and X-Forwarded-For."""
    peer_ip = _valid(peer) if peer else None
    if peer_ip is not None and not ipaddress.ip_address(peer_ip).is_loopback:
        return peer_ip  # not the front: what it forwards is its own claim
    if forwarded_for:
        forwarded = _valid(forwarded_for.split(",")[-1])
        if forwarded is not None:
            return forwarded
    return peer_ip or LOOPBACK


def client_address() -> str:
    """This session's client address (tests set ``st.session_state[ADDRESS_KEY]``)."""
    if ADDRESS_KEY not in st.session_state:
        st.session_state[ADDRESS_KEY] = address_from(st.context.ip_address, st.context.headers.get("X-Forwarded-For"))
    return st.session_state[ADDRESS_KEY]


def session_key() -> str:
    """An id of this session alone (wrong admin tokens are counted per session and per address)."""
    return st.session_state.setdefault(SESSION_KEY, uuid.uuid4().hex)


def admin_check(token: str | None) -> admin.TokenCheck:
    """The typed admin token, checked through the guard (slowed and logged when wrong)."""
    return admin.check_token(token, session_key(), client_address())


def log_teacher(action: str) -> None:
    admin.log_action(action, client_address())
