"""The front door of several Streamlit processes: each browser always reaches the same one.

Streamlit keeps a browser's session, its uploaded files and the pictures ``st.image`` serves in the
memory of the process whose websocket the browser opened, so every request of one browser must reach
one process. The door reads only the head of each connection's first request: a browser that shows
the ``cnnviz_worker`` cookie goes to that worker; a new one goes to the worker with the fewest open
sessions (websockets), and the first response tells its browser the cookie. After the head, bytes pass
through untouched both ways (HTTP keep-alive, websockets), so the door costs little per message.

TLS ends here when a certificate is given (the workers listen on localhost only); the door sets
``X-Forwarded-Proto`` itself, replacing anything a client sent, so pages can tell an encrypted
connection from a plain one.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import ssl
from dataclasses import dataclass

COOKIE = "cnnviz_worker"
MAX_HEAD_BYTES = 64 * 1024  # an HTTP request or response head larger than this is refused
HEAD_TIMEOUT_S = 30.0  # a client that sends no complete request head by then is dropped
CHUNK_BYTES = 256 * 1024
_COOKIE_PATTERN = re.compile(rb"(?:^|;)\s*" + COOKIE.encode() + rb"=(\d+)\s*(?:;|$)")
_SESSION_PATH = b"/_stcore/stream"
_UNAVAILABLE = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nRetry-After: 2\r\nConnection: close\r\n\r\n"


@dataclass
class Worker:
    """One Streamlit process behind the door."""

    host: str
    port: int
    sessions: int = 0  # open websockets: the browsers this worker serves now
    assigned: int = 0  # browsers sent here without a cookie since the start (breaks ties in turn)


@dataclass(frozen=True)
class RequestHead:
    """The first request of a connection: what routing needs, and the head to forward."""

    method: bytes
    path: bytes
    cookie_worker: int | None  # the worker the cookie names, if any
    forwarded: bytes  # the head as it goes on: X-Forwarded-* replaced by the door's own


def parse_request_head(head: bytes, client_ip: str, encrypted: bool) -> RequestHead:
    """Read a request head (ending in a blank line); raise ValueError when it is not HTTP/1.x."""
    lines = head.split(b"\r\n")
    parts = lines[0].split(b" ")
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/1."):
        raise ValueError("not an HTTP/1.x request")
    kept, cookie_worker = [lines[0]], None
    for line in lines[1:]:
        if not line:
            continue
        name, _, value = line.partition(b":")
        lowered = name.strip().lower()
        if lowered in (b"x-forwarded-proto", b"x-forwarded-for"):
            continue
        if lowered == b"cookie":
            found = _COOKIE_PATTERN.search(value.strip())
            if found:
                cookie_worker = int(found.group(1))
        kept.append(line)
    kept.append(b"X-Forwarded-Proto: " + (b"https" if encrypted else b"http"))
    kept.append(b"X-Forwarded-For: " + client_ip.encode())
    return RequestHead(parts[0], parts[1], cookie_worker, b"\r\n".join(kept) + b"\r\n\r\n")


def with_cookie(response_head: bytes, worker: int) -> bytes:
    """The response head with the cookie that brings this browser back to ``worker``."""
    cookie = f"Set-Cookie: {COOKIE}={worker}; Path=/; HttpOnly; SameSite=Lax\r\n".encode()
    end = response_head.index(b"\r\n") + 2
    return response_head[:end] + cookie + response_head[end:]


class StickyProxy:
    """Routes each connection to one of ``workers`` (see the module's docstring)."""

    def __init__(self, workers: list[Worker]) -> None:
        self.workers = workers

    def choose(self, cookie_worker: int | None) -> tuple[int, bool]:
        """``(worker index, whether to set the cookie)`` for a connection."""
        if cookie_worker is not None and 0 <= cookie_worker < len(self.workers):
            return cookie_worker, False
        index = min(range(len(self.workers)), key=lambda i: (self.workers[i].sessions, self.workers[i].assigned))
        self.workers[index].assigned += 1
        return index, True

    async def handle(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        encrypted = client_writer.get_extra_info("sslcontext") is not None
        peer = client_writer.get_extra_info("peername") or ("unknown",)
        upstream_writer = None
        try:
            try:
                head = await asyncio.wait_for(client_reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT_S)
                request = parse_request_head(head, str(peer[0]), encrypted)
            except (asyncio.LimitOverrunError, ValueError):
                client_writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
                return
            index, set_cookie = self.choose(request.cookie_worker)
            upstream = await self._connect(index)
            if upstream is None:  # that worker is down (restarting): its sessions are gone, any other will do
                for other in sorted(range(len(self.workers)), key=lambda i: self.workers[i].sessions):
                    if other != index and (upstream := await self._connect(other)) is not None:
                        index, set_cookie = other, True
                        break
            if upstream is None:
                client_writer.write(_UNAVAILABLE)
                return
            upstream_reader, upstream_writer = upstream
            worker = self.workers[index]
            upstream_writer.write(request.forwarded)
            is_session = request.path.split(b"?", 1)[0].endswith(_SESSION_PATH)
            if is_session:
                worker.sessions += 1
            try:
                await asyncio.gather(
                    _pump(client_reader, upstream_writer),
                    _pump(upstream_reader, client_writer, (lambda h: with_cookie(h, index)) if set_cookie else None),
                )
            finally:
                if is_session:
                    worker.sessions -= 1
        finally:
            for writer in (upstream_writer, client_writer):
                if writer is not None:
                    with contextlib.suppress(Exception):
                        writer.close()

    async def _connect(self, index: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        worker = self.workers[index]
        try:
            return await asyncio.open_connection(worker.host, worker.port, limit=MAX_HEAD_BYTES)
        except OSError:
            return None

    async def serve(self, host: str, port: int, tls: ssl.SSLContext | None = None) -> asyncio.Server:
        return await asyncio.start_server(self.handle, host, port, ssl=tls, limit=MAX_HEAD_BYTES, reuse_address=True)


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rewrite_head=None) -> None:
    """Copy bytes until either side closes; ``rewrite_head`` edits the first head that passes (a response)."""
    try:
        if rewrite_head is not None:
            writer.write(rewrite_head(await reader.readuntil(b"\r\n\r\n")))
        while chunk := await reader.read(CHUNK_BYTES):
            writer.write(chunk)
            if writer.transport.get_write_buffer_size() > CHUNK_BYTES:
                await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, OSError):
        pass
    finally:
        with contextlib.suppress(Exception):
            if writer.can_write_eof():
                writer.write_eof()
            else:
                writer.close()


def tls_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context
