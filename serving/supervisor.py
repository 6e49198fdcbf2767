"""Several Streamlit processes behind Caddy: a class uses every core of the server.

One Streamlit process runs every page's Python under one interpreter lock, so it uses about one core
however many students click (it answers about 15 interactions a second on this project's 2-core
machine). ``serve.py`` therefore starts ``CNNVIZ_WORKERS`` processes on localhost ports and Caddy in front of
them on the public address (:mod:`serving.front`).

What this module still does that Caddy does not, and why it is kept:

- **Forking the workers from one preloaded parent** (:mod:`serving.zygote`): they share torch's and the app's
  imported pages copy-on-write. Measured with Caddy in front, on the 2-core machine at rest (2026-12-03): two
  forked workers and their parent 0.78 GB PSS in all, two workers started apart 1.17 GB (docs/speed.md); and a
  restart is a fork (the worker back in ~3.5 s), not a fresh import of torch and the app (~10 s here).
- **Restarting a worker that dies** (the out-of-memory killer, a crash) on its port: Caddy only stops sending
  browsers to it and takes it back when its health check answers again; nothing else would start it.
- **Starting and stopping everything as one**: the port checked before anything starts, Ctrl-C or SIGTERM
  stopping the workers and Caddy with no traceback, and Caddy dying with this process even on ``kill -9``.

Across several machines (``$CNNVIZ_ROLE``, docs/serving.md): an **app host** (``app``) runs the same workers on
consecutive ports of its own address and no front; the **front** (``front``) runs Caddy alone, in front of the
app hosts' workers listed in ``$CNNVIZ_UPSTREAMS``. One process per role, so the same restarts and the same
clean stop hold on every host.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from serving import front

WORKERS_ENV = "CNNVIZ_WORKERS"
MAX_WORKERS = 8
START_TIMEOUT_S = 120.0  # a worker that does not answer its health check by then stops the start
RESTART_PAUSE_S = 2.0  # between a worker's death and its restart (a crash loop must not spin)
FRONT_MIN_LIFE_S = 10.0  # Caddy ending sooner after its start is a setting it refused: stop, do not loop
FRONT_START_TIMEOUT_S = 20.0  # Caddy listens within a second; an internal CA's first certificate takes longer
POLL_S = 0.3
FRONT_OPTIONS = ("server.port", "server.address", "server.sslCertFile", "server.sslKeyFile")
BASE_URL_OPTION = "server.baseUrlPath"  # the front's health checks need it, and so do the workers
ROLE_ENV = "CNNVIZ_ROLE"
UPSTREAMS_ENV = "CNNVIZ_UPSTREAMS"
# The queue's storage and the class database (cnnviz.training.worker, cnnviz.teaching.class_store): named here, not
# imported, so that this process, alive for the whole class, holds only the standard library.
SHARED_STORAGE_ENVS = ("CNNVIZ_QUEUE_URL", "CNNVIZ_CLASSROOM_DB")


class Role(Enum):
    """What ``serve.py`` runs on this host."""

    ALL = "all"  # one machine: the workers and the front (the default)
    APP = "app"  # an app host of several: its workers on its own address, no front
    FRONT = "front"  # the front of several app hosts: Caddy alone, in front of $CNNVIZ_UPSTREAMS


def role(environ: dict[str, str] = os.environ) -> Role:
    """``$CNNVIZ_ROLE``: ``all`` (default), ``app`` or ``front``."""
    text = environ.get(ROLE_ENV, "").strip().lower() or Role.ALL.value
    try:
        return Role(text)
    except ValueError:
        raise SystemExit(f"cnnviz: {ROLE_ENV} must be all, app or front, not {text!r}") from None


def upstreams(environ: dict[str, str] = os.environ) -> list[str]:
    """``$CNNVIZ_UPSTREAMS``: the app hosts' workers, ``host:port`` comma-separated (``[v6]:port`` too)."""
    items = list(dict.fromkeys(item.strip() for item in environ.get(UPSTREAMS_ENV, "").split(",") if item.strip()))
    if not items:
        raise SystemExit(f"cnnviz: {ROLE_ENV}=front needs the app hosts' workers in {UPSTREAMS_ENV}, e.g. "
                         "10.0.0.11:8501,10.0.0.11:8502,10.0.0.12:8501")  # fmt: skip
    for item in items:
        host, _, port = item.rpartition(":")
        if not host or host in ("[]",) or not port.isdigit() or not 0 < int(port) < 65536 or " " in host:
            raise SystemExit(f"cnnviz: {UPSTREAMS_ENV} lists host:port pairs, comma-separated; {item!r} is not one")
    return items


def app_ports(settings: front.FrontSettings, count: int) -> list[int]:
    """An app host's worker ports: ``count`` of them from ``--server.port`` on, on its own address."""
    if settings.port + count > 65536:
        raise SystemExit(f"cnnviz: {count} workers from port {settings.port} on run past port 65535")
    return list(range(settings.port, settings.port + count))


def _dial_host(address: str | None) -> str:
    """Where this host reaches a worker listening on ``address`` (every interface: loopback)."""
    if address in (None, "", "0.0.0.0"):
        return "127.0.0.1"
    if address == "::":
        return "[::1]"
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(address).version == 6:
            return f"[{address}]"
    return address


def worker_count(environ: dict[str, str] = os.environ) -> int:
    """``CNNVIZ_WORKERS``, else one process per core this process may use (at most ``MAX_WORKERS``)."""
    text = environ.get(WORKERS_ENV, "").strip()
    if not text:
        return max(1, min(len(os.sched_getaffinity(0)), MAX_WORKERS))
    try:
        count = int(text)
    except ValueError:
        raise SystemExit(f"{WORKERS_ENV} must be a whole number from 1 to {MAX_WORKERS}, not {text!r}") from None
    if not 1 <= count <= MAX_WORKERS:
        raise SystemExit(f"{WORKERS_ENV} must be from 1 to {MAX_WORKERS}, not {count}")
    return count


def split_options(argv: list[str], names: tuple[str, ...] = FRONT_OPTIONS) -> tuple[dict[str, str], list[str]]:
    """Separate the options ``names`` (the front's: address, port, certificate) from the rest."""
    front_flags: dict[str, str] = {}
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, has_value, value = arg[2:].partition("=") if arg.startswith("--") else ("", False, "")
        if name in names:
            if not has_value:
                if i + 1 >= len(argv):
                    raise SystemExit(f"--{name} needs a value")
                value = argv[i + 1]
                i += 1
            front_flags[name] = value
        else:
            rest.append(arg)
        i += 1
    return front_flags, rest


# Streamlit's settings are read in a short-lived process of their own: importing streamlit would leave ~50 MB
# in this one, which otherwise holds only the standard library for the whole class.
_READ_SETTINGS = """
import json, sys
from streamlit import config
config.get_config_options(force_reparse=True, options_from_flags=json.loads(sys.argv[1]))
names = json.loads(sys.argv[2])
print(json.dumps({**{name: config.get_option(name) for name in names},
                  "secret_is_set": config.is_manually_set("server.cookieSecret")}))
"""


@dataclass(frozen=True)
class StreamlitSettings:
    front: front.FrontSettings
    cookie_secret_is_set: bool  # in a config file or the environment (else Streamlit makes one per process)


def streamlit_settings(app_dir: Path, argv: list[str], environ: dict[str, str] = os.environ) -> StreamlitSettings:
    """Where the front listens and how it encrypts: the flags, else Streamlit's config files (those the workers
    read, in the app's folder) and environment."""
    flags, _ = split_options(argv, (*FRONT_OPTIONS, BASE_URL_OPTION))
    names = [*FRONT_OPTIONS, BASE_URL_OPTION]
    done = subprocess.run(
        [sys.executable, "-c", _READ_SETTINGS, json.dumps(flags), json.dumps(names)],
        cwd=app_dir, env=environ, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:  # a broken config.toml, an option of the wrong type: the last line says which
        last = (done.stderr.strip().splitlines() or ["(no message)"])[-1]
        raise SystemExit(f"cnnviz: Streamlit's settings could not be read: {last}")
    values = json.loads(done.stdout.strip().splitlines()[-1])
    try:
        port = int(values["server.port"])
    except (TypeError, ValueError):
        port = 0
    if not 0 < port < 65536:
        raise SystemExit(f"cnnviz: --server.port must be a port number (1 to 65535), not {values['server.port']!r}")
    settings = front.settings_from(
        values["server.address"],
        port,
        values["server.sslCertFile"],
        values["server.sslKeyFile"],
        values[BASE_URL_OPTION] or "",
        environ,
    )
    return StreamlitSettings(settings, values["secret_is_set"])


def uses_front(workers: int, environ: dict[str, str] = os.environ) -> bool:
    """Caddy in front for several workers, or for one when asked for its HTTPS (``CNNVIZ_TLS``)."""
    return workers > 1 or bool(environ.get(front.TLS_ENV, "").strip())


def refuse_taken_port(settings: front.FrontSettings, ports: list[int] | None = None) -> None:
    """Stop with one line when another process listens on the front's port (a second serve.py, say), or on one
    of ``ports`` (an app host's workers)."""
    for port in ports or [settings.port]:
        if front.port_taken(settings.host, port):
            raise SystemExit(
                f"cnnviz: port {port} on {settings.host or 'every interface'} is taken (is cnnviz already"
                f" running?); stop that server or choose another port with --server.port"
            )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class WorkerProcess:
    """A worker's port and, once the zygote reports it, the process serving it now."""

    port: int
    health_url: str
    pid: int | None = None
    died_at: float | None = None  # when the zygote reported it ended (a restart waits RESTART_PAUSE_S)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=1):
                return True
        except OSError:
            return False


class Zygote:
    """The preloaded parent of the workers (:mod:`serving.zygote`), driven through a pipe."""

    def __init__(self, app_dir: Path, options: list[str], environ: dict[str, str]) -> None:
        read_fd, write_fd = os.pipe()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "serving.zygote", str(write_fd), *options],
            cwd=app_dir, env=environ, stdin=subprocess.PIPE, pass_fds=(write_fd,),
        )  # fmt: skip
        os.close(write_fd)
        os.set_blocking(read_fd, False)
        self.report_fd = read_fd
        self.pending = b""

    def start(self, port: int, address: str = "127.0.0.1") -> None:
        self.process.stdin.write(f"start {port} {address}\n".encode())
        self.process.stdin.flush()

    def reports(self) -> list[list[str]]:
        """The report lines that arrived, split into words (``started PORT PID``, ``exited PORT STATUS``)."""
        try:
            while chunk := os.read(self.report_fd, 4096):
                self.pending += chunk
        except BlockingIOError:
            pass
        *lines, self.pending = self.pending.split(b"\n")
        return [line.decode().split() for line in lines if line]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()  # it stops its workers
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()


class StopRequest:
    """SIGINT (Ctrl-C reaches the whole process group) and SIGTERM ask for a clean stop, never a traceback."""

    def __init__(self) -> None:
        self.requested = False
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._request)

    def _request(self, *_) -> None:
        self.requested = True


def preflight(read: StreamlitSettings, this_role: Role, count: int, environ: dict[str, str] = os.environ) -> None:
    """Refuse in one line, before anything starts, what this host's role cannot run with (a taken port too)."""
    settings = read.front
    if this_role is Role.FRONT:
        upstreams(environ)
    elif this_role is Role.APP:
        if settings.tls is not front.TlsMode.OFF:
            raise SystemExit(f"cnnviz: an app host ({ROLE_ENV}=app) serves plain HTTP on a private address; "
                             f"HTTPS is the front's ({ROLE_ENV}=front)")  # fmt: skip
        if not read.cookie_secret_is_set:  # each host making its own would log browsers out when they move
            raise SystemExit(
                f"cnnviz: {ROLE_ENV}=app needs the class's cookie secret, the same on every app host: "
                "server.cookieSecret in .streamlit/config.toml or STREAMLIT_SERVER_COOKIE_SECRET"
            )
        refuse_taken_port(settings, app_ports(settings, count))
        if missing := [name for name in SHARED_STORAGE_ENVS if not environ.get(name, "").strip()]:
            print(f"cnnviz: warning: {' and '.join(missing)} not set: SQLite in the runs folder, which several app "
                  "hosts cannot share (file locks); set them to the class's PostgreSQL",
                  file=sys.stderr, flush=True)  # fmt: skip
        return
    refuse_taken_port(settings)


def _settings_or_stop(app_dir: Path, argv: list[str], stop: StopRequest) -> StreamlitSettings | None:
    """Streamlit's settings; None when Ctrl-C came in the first second (it also ended the process reading them)."""
    try:
        return streamlit_settings(app_dir, argv)
    except SystemExit:
        if stop.requested:
            return None
        raise


def serve(app_dir: Path, argv: list[str], count: int, this_role: Role = Role.ALL) -> int:
    """Run ``count`` workers, and Caddy in front unless this is an app host, until interrupted; the exit status."""
    stop = StopRequest()
    read = _settings_or_stop(app_dir, argv, stop)
    if read is None:
        return 0
    settings = read.front
    _, options = split_options(argv)
    environ = {**os.environ, WORKERS_ENV: "1", front.BEHIND_FRONT_ENV: "1"}
    preflight(read, this_role, count)
    if this_role is Role.APP:
        address, ports = settings.host or "0.0.0.0", app_ports(settings, count)
    else:
        address, ports = "127.0.0.1", [free_port() for _ in range(count)]
        if not read.cookie_secret_is_set:  # one secret for all: a browser's cookies hold on every worker
            environ["STREAMLIT_SERVER_COOKIE_SECRET"] = secrets.token_hex(32)
    health = "/" + "/".join(part for part in (settings.base_url_path, "_stcore/health") if part)
    dial = _dial_host(address)
    workers = {port: WorkerProcess(port, f"http://{dial}:{port}{health}") for port in ports}
    configuration = front.config(settings, [f"{dial}:{port}" for port in ports], secrets.token_hex(32))
    zygote = Zygote(app_dir, options, environ)
    caddy: front.Caddy | None = None
    try:
        for port in workers:
            zygote.start(port, address)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not all(worker.healthy() for worker in workers.values()):
            if stop.requested:
                return 0
            _follow(zygote, workers)
            if zygote.process.poll() is not None or any(w.died_at for w in workers.values()):
                print("cnnviz: a worker did not start; see the messages above.", file=sys.stderr)
                return 1
            if time.monotonic() > deadline:
                print(f"cnnviz: the workers did not start in {START_TIMEOUT_S:.0f} s.", file=sys.stderr)
                return 1
            time.sleep(POLL_S)
        if this_role is Role.APP:
            listed = ",".join(f"{dial}:{port}" for port in ports)
            print(f"cnnviz: app host, {count} worker process{'es' * (count > 1)} at {listed} (the front lists them"
                  f" in {UPSTREAMS_ENV})", flush=True)  # fmt: skip
        else:
            # Caddy once every worker answers: the front's first health answer means the whole server is up (the
            # tests and benchmarks wait for it), as it did before Caddy. The port was checked free before.
            caddy = _start_front(configuration, settings)
            if caddy is None:
                return 1
            host = settings.host or "localhost"
            print(f"cnnviz: {count} worker process{'es' * (count > 1)} behind Caddy at {settings.scheme}://{host}:"
                  f"{settings.port}", flush=True)  # fmt: skip
            _say_root_certificate(settings)
        while not stop.requested:
            _follow(zygote, workers)
            if zygote.process.poll() is not None:
                print("cnnviz: the workers' parent process ended; stopping.", file=sys.stderr, flush=True)
                return 1
            for worker in workers.values():
                _restart_if_dead(zygote, worker)
            if caddy is not None and (caddy := _front_again(caddy, configuration)) is None:
                return 1
            time.sleep(POLL_S)
        return 0
    finally:
        zygote.stop()
        for worker in workers.values():  # any the zygote could not stop
            if worker.pid is not None and worker.died_at is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGTERM)
        if caddy is not None:
            caddy.stop()


def serve_front(app_dir: Path, argv: list[str], environ: dict[str, str] = os.environ) -> int:
    """Run Caddy alone in front of the app hosts' workers in ``$CNNVIZ_UPSTREAMS`` until interrupted.

    Caddy's health checks find an app host that died (its students' next requests go to a live one) and one that
    is back; the cookie secret of the stickiness is made once here, so a Caddy restarted by this process keeps
    every browser on its host.
    """
    stop = StopRequest()
    read = _settings_or_stop(app_dir, argv, stop)
    if read is None:
        return 0
    preflight(read, Role.FRONT, 0, environ)
    settings, hosts = read.front, upstreams(environ)
    configuration = front.config(settings, hosts, secrets.token_hex(32))
    caddy = _start_front(configuration, settings)
    if caddy is None:
        return 1
    try:
        print(f"cnnviz: the front at {settings.scheme}://{settings.host or 'localhost'}:{settings.port}, in front of"
              f" {', '.join(hosts)}", flush=True)  # fmt: skip
        _say_root_certificate(settings)
        while not stop.requested:
            if (caddy := _front_again(caddy, configuration)) is None:
                return 1
            time.sleep(POLL_S)
        return 0
    finally:
        if caddy is not None:
            caddy.stop()


def _start_front(configuration: dict, settings: front.FrontSettings) -> front.Caddy | None:
    """Caddy started and listening on the front's port; None (said why) if it did not."""
    caddy = front.Caddy(configuration)
    if not _front_listens(caddy, settings):
        caddy.stop()
        print("cnnviz: the front (Caddy) did not start; see its message above.", file=sys.stderr)
        return None
    return caddy


def _front_again(caddy: front.Caddy, configuration: dict) -> front.Caddy | None:
    """``caddy`` while it runs, a new one with the same configuration (the same cookie secret: every browser
    comes back to its own worker) when it stopped; None when it stopped right after its start (a setting it
    refused: stop, do not loop)."""
    if caddy.poll() is None:
        return caddy
    if time.monotonic() - caddy.started < FRONT_MIN_LIFE_S:
        print("cnnviz: the front (Caddy) stopped; see its message above.", file=sys.stderr, flush=True)
        return None
    caddy.stop()  # its configuration file goes
    print("cnnviz: the front (Caddy) stopped; starting it again", file=sys.stderr, flush=True)
    return front.Caddy(configuration)


def _say_root_certificate(settings: front.FrontSettings) -> None:
    if (root := front.root_certificate(settings)) is not None:
        print(f"cnnviz: HTTPS by Caddy's own authority for {', '.join(settings.names)}; students' browsers"
              f" trust it once its root certificate is installed there: {root}", flush=True)  # fmt: skip


def _front_listens(caddy: front.Caddy, settings: front.FrontSettings) -> bool:
    """Wait until Caddy accepts connections on the front's port; False if it ended (or hung) first."""
    host = settings.host if settings.host not in (None, "0.0.0.0", "::") else "127.0.0.1"
    deadline = time.monotonic() + FRONT_START_TIMEOUT_S
    while caddy.poll() is None and time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, settings.port), timeout=1):
            return True
        time.sleep(0.1)
    return False


def _follow(zygote: Zygote, workers: dict[int, WorkerProcess]) -> None:
    """Take in the zygote's reports: which process serves each port, which ended."""
    for words in zygote.reports():
        if len(words) != 3 or not words[1].isdigit() or int(words[1]) not in workers:
            continue
        worker = workers[int(words[1])]
        if words[0] == "started":
            worker.pid, worker.died_at = int(words[2]), None
        elif words[0] == "exited":
            print(f"cnnviz: worker on port {worker.port} stopped ({words[2]}); restarting", file=sys.stderr, flush=True)
            worker.pid, worker.died_at = None, time.monotonic()


def _restart_if_dead(zygote: Zygote, worker: WorkerProcess) -> None:
    if worker.died_at is not None and time.monotonic() - worker.died_at >= RESTART_PAUSE_S:
        worker.died_at = None
        zygote.start(worker.port)
