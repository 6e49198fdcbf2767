"""Several Streamlit processes behind one door: a class uses every core of the server.

One Streamlit process runs every page's Python under one interpreter lock, so it uses about one core
however many students click (it answers about 15 interactions a second on this project's 2-core
machine). ``serve.py`` therefore starts ``CNNVIZ_WORKERS`` processes on localhost ports and the
sticky door of :mod:`serving.proxy` on the public address; it restarts a worker that dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from serving.proxy import StickyProxy, Worker, tls_context

WORKERS_ENV = "CNNVIZ_WORKERS"
MAX_WORKERS = 8
START_TIMEOUT_S = 120.0  # a worker that does not answer its health check by then stops the start
RESTART_PAUSE_S = 2.0  # between a worker's death and its restart (a crash loop must not spin)
FRONT_OPTIONS = ("server.port", "server.address", "server.sslCertFile", "server.sslKeyFile")


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


def split_options(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """Separate the door's options (address, port, certificate) from those every worker gets."""
    front: dict[str, str] = {}
    rest: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        name, has_value, value = arg[2:].partition("=") if arg.startswith("--") else ("", False, "")
        if name in FRONT_OPTIONS:
            if not has_value:
                if i + 1 >= len(argv):
                    raise SystemExit(f"--{name} needs a value")
                value = argv[i + 1]
                i += 1
            front[name] = value
        else:
            rest.append(arg)
        i += 1
    return front, rest


def front_settings(flags: dict[str, str]) -> dict[str, str | None]:
    """The door's address, port and certificate: the flags, else Streamlit's config files and environment."""
    from streamlit import config

    config.get_config_options(force_reparse=True, options_from_flags=dict(flags))
    return {name: config.get_option(name) for name in FRONT_OPTIONS}


def front_secret_is_set() -> bool:
    """Whether the cookie secret comes from a config file or the environment (else Streamlit makes one per process)."""
    from streamlit import config

    return config.is_manually_set("server.cookieSecret")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class WorkerProcess:
    """A worker's address and the process serving it now."""

    worker: Worker
    command: list[str]
    process: subprocess.Popen | None = None
    died_at: float | None = None

    def start(self, environ: dict[str, str]) -> None:
        self.process = subprocess.Popen(self.command, env=environ)
        self.died_at = None

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.worker.port}/_stcore/health", timeout=1):
                return True
        except OSError:
            return False


def worker_command(app_dir: Path, options: list[str], port: int) -> list[str]:
    return [
        sys.executable,
        str(app_dir / "serve.py"),
        *options,
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
    ]


def serve(app_dir: Path, argv: list[str], count: int) -> int:
    """Run ``count`` workers and the door until interrupted; the exit status."""
    flags, options = split_options(argv)
    front = front_settings(flags)
    environ = {**os.environ, WORKERS_ENV: "1"}
    if not front_secret_is_set():  # one secret for all: a browser's cookies hold on every worker
        environ["STREAMLIT_SERVER_COOKIE_SECRET"] = secrets.token_hex(32)
    workers = []
    for _ in range(count):
        port = free_port()
        workers.append(WorkerProcess(Worker("127.0.0.1", port), worker_command(app_dir, options, port)))
    for worker in workers:
        worker.start(environ)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not all(worker.healthy() for worker in workers):
            if any(worker.process.poll() is not None for worker in workers) or time.monotonic() > deadline:
                print("cnnviz: a worker did not start; see the messages above.", file=sys.stderr)
                return 1
            time.sleep(0.3)
        return asyncio.run(_serve_door(workers, front, environ))
    finally:
        for worker in workers:
            if worker.process is not None and worker.process.poll() is None:
                worker.process.terminate()
        for worker in workers:
            if worker.process is not None:
                try:
                    worker.process.wait(15)
                except subprocess.TimeoutExpired:
                    worker.process.kill()


async def _serve_door(workers: list[WorkerProcess], front: dict[str, str | None], environ: dict[str, str]) -> int:
    tls = None
    if front["server.sslCertFile"] and front["server.sslKeyFile"]:
        tls = tls_context(front["server.sslCertFile"], front["server.sslKeyFile"])
    proxy = StickyProxy([worker.worker for worker in workers])
    host = front["server.address"] or None  # None: every interface, as Streamlit does
    port = int(front["server.port"])
    server = await proxy.serve(host, port, tls)
    scheme = "https" if tls else "http"
    print(f"cnnviz: {len(workers)} worker processes behind {scheme}://{host or 'localhost'}:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with server:
        while not stop.is_set():
            for worker in workers:
                _restart_if_dead(worker, environ)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    return 0


def _restart_if_dead(worker: WorkerProcess, environ: dict[str, str]) -> None:
    if worker.process is None or worker.process.poll() is None:
        return
    now = time.monotonic()
    if worker.died_at is None:
        print(f"cnnviz: worker on port {worker.worker.port} stopped ({worker.process.returncode}); restarting",
              file=sys.stderr, flush=True)  # fmt: skip
        worker.died_at = now
    elif now - worker.died_at >= RESTART_PAUSE_S:
        worker.start(environ)
