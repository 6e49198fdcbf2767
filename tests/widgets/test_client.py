"""The client's address: the front's X-Forwarded-For only from a loopback peer, its last entry only."""

from __future__ import annotations

import pytest

from widgets.client import LOOPBACK, address_from


@pytest.mark.parametrize(
    ("peer", "forwarded", "address"),
    [
        (None, "198.51.100.7", "198.51.100.7"),  # behind the front: Streamlit reports a loopback peer as None
        ("127.0.0.1", "198.51.100.7", "198.51.100.7"),
        ("127.0.0.2", "2001:db8::1", "2001:db8::1"),  # any 127/8 peer is this machine
        ("::1", " 198.51.100.7 ", "198.51.100.7"),
        (None, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # what the client claimed comes first: only the last counts
        (None, "198.51.100.7, not-an-address", LOOPBACK),
        (None, None, LOOPBACK),  # on the server itself, or under streamlit.testing
        ("192.0.2.10", "198.51.100.7", "192.0.2.10"),  # a direct browser: its header is its own claim
        ("192.0.2.10", None, "192.0.2.10"),
        ("2001:db8:0:0::5", None, "2001:db8::5"),  # one spelling per address
    ],
)
def test_the_address_is_the_fronts_only_when_the_front_is_the_peer(peer, forwarded, address):
    assert address_from(peer, forwarded) == address
