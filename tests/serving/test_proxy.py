"""serving.proxy: every request of one browser reaches one worker; bytes pass through unchanged."""

from __future__ import annotations

import asyncio
import concurrent.futures

import pytest

from serving.proxy import COOKIE, StickyProxy, Worker, parse_request_head, with_cookie


def run(coroutine):
    """asyncio.run in a thread of its own (Playwright's sync API, used by other tests, leaves a loop running)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_the_request_head_gives_the_cookies_worker_and_the_doors_own_forwarded_headers():
    head = (
        b"GET /explorer?k=5 HTTP/1.1\r\nHost: class.example.org\r\nX-Forwarded-Proto: https\r\n"
        b"Cookie: _streamlit_xsrf=abc; " + COOKIE.encode() + b"=1; other=2\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n"
    )
    request = parse_request_head(head, "10.0.0.7", encrypted=False)
    assert (request.method, request.path, request.cookie_worker) == (b"GET", b"/explorer?k=5", 1)
    forwarded = request.forwarded.decode()
    assert "X-Forwarded-Proto: http\r\n" in forwarded and "https" not in forwarded  # a client cannot claim TLS
    assert "X-Forwarded-For: 10.0.0.7\r\n" in forwarded and "6.6.6.6" not in forwarded
    assert forwarded.startswith("GET /explorer?k=5 HTTP/1.1\r\nHost: class.example.org\r\n")
    assert forwarded.endswith("\r\n\r\n") and forwarded.count("\r\n\r\n") == 1
    assert (
        parse_request_head(b"GET / HTTP/1.1\r\nCookie: x" + COOKIE.encode() + b"=1\r\n\r\n", "", True).cookie_worker
        is None
    )


@pytest.mark.parametrize("head", [b"\x16\x03\x01garbage\r\n\r\n", b"GET /\r\n\r\n", b"GET / SPDY/3\r\n\r\n"])
def test_what_is_not_http_is_refused(head):
    with pytest.raises(ValueError):
        parse_request_head(head, "1.2.3.4", False)


def test_the_first_response_tells_the_browser_its_worker():
    head = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
    assert with_cookie(head, 3) == (
        b"HTTP/1.1 101 Switching Protocols\r\nSet-Cookie: "
        + COOKIE.encode()
        + b"=3; Path=/; HttpOnly; SameSite=Lax\r\n"
        b"Upgrade: websocket\r\n\r\n"
    )


def test_a_new_browser_goes_to_the_worker_with_the_fewest_sessions_and_a_known_one_comes_back():
    proxy = StickyProxy([Worker("127.0.0.1", 1, sessions=4), Worker("127.0.0.1", 2, sessions=1), Worker("h", 3)])
    assert proxy.choose(None) == (2, True)
    proxy.workers[2].sessions = 5
    assert proxy.choose(None) == (1, True)
    proxy.workers[0].sessions = proxy.workers[1].sessions = 5
    assert proxy.choose(None) == (0, True)  # equal sessions: the one sent fewer new browsers so far
    assert proxy.choose(0) == (0, False)  # the cookie wins, even over a busier worker
    assert proxy.choose(7)[1] is True  # a cookie naming no worker (a restart with fewer workers): a new one


async def _backend(name: bytes, seen: list[bytes]):
    """A tiny HTTP server: echoes its name, the request head and the body it got (Content-Length)."""

    async def answer(reader, writer):
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            seen.append(head)
            lines = head.lower().split(b"\r\n")
            length = next((int(line.split(b":")[1]) for line in lines if line.startswith(b"content-length")), 0)
            body = await reader.readexactly(length) if length else b""
            reply = name + b"|" + body
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: " + str(len(reply)).encode() + b"\r\n\r\n" + reply)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _request(port: int, path: str, cookie: str | None = None, body: bytes = b"") -> tuple[bytes, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    cookie_line = f"Cookie: {cookie}\r\n" if cookie else ""
    writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\n{cookie_line}Content-Length: {len(body)}\r\n\r\n".encode() + body)
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(next(line for line in head.split(b"\r\n") if line.startswith(b"Content-Length")).split(b":")[1])
    reply = await reader.readexactly(length)
    writer.close()
    return head, reply


def test_routing_through_a_real_door_sticks_and_passes_bytes_unchanged():
    async def scenario():
        seen: list[bytes] = []
        (server_a, port_a), (server_b, port_b) = await _backend(b"a", seen), await _backend(b"b", seen)
        proxy = StickyProxy([Worker("127.0.0.1", port_a), Worker("127.0.0.1", port_b)])
        door = await proxy.serve("127.0.0.1", 0)
        port = door.sockets[0].getsockname()[1]
        head, reply = await _request(port, "/")
        assert reply == b"a|" and f"Set-Cookie: {COOKIE}=0;".encode() in head
        payload = bytes(range(256)) * 4096  # 1 MiB, every byte value: an upload passes unchanged
        head, reply = await _request(port, "/_stcore/upload_file", cookie=f"{COOKIE}=1", body=payload)
        assert reply == b"b|" + payload and b"Set-Cookie" not in head
        assert all(b"X-Forwarded-Proto: http" in h for h in seen)
        # An open session (websocket) on worker 0: the next new browser goes to worker 1.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /_stcore/stream HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
        await reader.readuntil(b"\r\n\r\n")
        assert [w.sessions for w in proxy.workers] in ([1, 0], [0, 1])
        busy = 0 if proxy.workers[0].sessions else 1
        _, reply = await _request(port, "/")
        assert reply.startswith(b"ab"[1 - busy : 2 - busy])
        writer.close()
        await asyncio.sleep(0.2)
        assert [w.sessions for w in proxy.workers] == [0, 0]  # a closed session no longer counts
        door.close()
        server_a.close()
        server_b.close()

    run(scenario())


def test_a_worker_that_is_down_answers_503_not_a_hang():
    async def scenario():
        proxy = StickyProxy([Worker("127.0.0.1", 9)])  # nothing listens on the discard port
        door = await proxy.serve("127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", door.sockets[0].getsockname()[1])
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 503")
        door.close()

    run(scenario())
