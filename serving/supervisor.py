"""Several Streamlit processes behind one door: a class uses every core of the server.

One Streamlit process runs every page's Python under one interpreter lock, so it uses about one core
however many students click (it answers about 15 interactions a second on this project's 2-core
machine). ``serve.py`` therefore starts ``CNNVIZ_WORKERS`` processes on localhost ports and the
sticky door of :mod:`serving.proxy` on the public address; the workers are forked by one preloaded parent
(:mod:`serving.zygote`), which shares torch's memory between them; a worker that dies is forked again.
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
    """A worker's address and, once the zygote reports it, the process serving it now."""

    worker: Worker
    pid: int | None = None
    died_at: float | None = None  # when the zygote reported it ended (a restart waits RESTART_PAUSE_S)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.worker.port}/_stcore/health", timeout=1):
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

    def start(self, port: int) -> None:
        self.process.stdin.write(f"start {port}\n".encode())
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


def event_loop_factory():
    """uvloop's event loop when it is installed (Streamlit runs the workers on it then too), else None: asyncio's.

    The door handles every message of every student twice (in and out); uvloop does that in C.
    """
    try:
        import uvloop
    except ModuleNotFoundError:
        return None
    return uvloop.new_event_loop


def serve(app_dir: Path, argv: list[str], count: int) -> int:
    """Run ``count`` workers and the door until interrupted; the exit status."""
    flags, options = split_options(argv)
    front = front_settings(flags)
    environ = {**os.environ, WORKERS_ENV: "1"}
    if not front_secret_is_set():  # one secret for all: a browser's cookies hold on every worker
        environ["STREAMLIT_SERVER_COOKIE_SECRET"] = secrets.token_hex(32)
    workers = {port: WorkerProcess(Worker("127.0.0.1", port)) for port in (free_port() for _ in range(count))}
    zygote = Zygote(app_dir, options, environ)
    try:
        for port in workers:
            zygote.start(port)
        deadline = time.monotonic() + START_TIMEOUT_S
        while not all(worker.healthy() for worker in workers.values()):
            _follow(zygote, workers)
            if zygote.process.poll() is not None or any(w.died_at for w in workers.values()):
                print("cnnviz: a worker did not start; see the messages above.", file=sys.stderr)
                return 1
            if time.monotonic() > deadline:
                print(f"cnnviz: the workers did not start in {START_TIMEOUT_S:.0f} s.", file=sys.stderr)
                return 1
            time.sleep(0.3)
        with asyncio.Runner(loop_factory=event_loop_factory()) as runner:
            return runner.run(_serve_door(zygote, workers, front))
    finally:
        zygote.stop()
        for worker in workers.values():  # any the zygote could not stop
            if worker.pid is not None and worker.died_at is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGTERM)


async def _serve_door(zygote: Zygote, workers: dict[int, WorkerProcess], front: dict[str, str | None]) -> int:
    tls = None
    if front["server.sslCertFile"] and front["server.sslKeyFile"]:
        tls = tls_context(front["server.sslCertFile"], front["server.sslKeyFile"])
    proxy = StickyProxy([worker.worker for worker in workers.values()])
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
            _follow(zygote, workers)
            if zygote.process.poll() is not None:
                print("cnnviz: the workers' parent process ended; stopping.", file=sys.stderr, flush=True)
                return 1
            for worker in workers.values():
                _restart_if_dead(zygote, worker)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1.0)
    return 0


def _follow(zygote: Zygote, workers: dict[int, WorkerProcess]) -> None:
    """Take in the zygote's reports: which process serves each port, which ended."""
    for words in zygote.reports():
        if len(words) != 3 or not words[1].isdigit() or int(words[1]) not in workers:
            continue
        worker = workers[int(words[1])]
        if words[0] == "started":
            worker.pid, worker.died_at = int(words[2]), None
        elif words[0] == "exited":
            print(f"cnnviz: worker on port {worker.worker.port} stopped ({words[2]}); restarting",
                  file=sys.stderr, flush=True)  # fmt: skip
            worker.pid, worker.died_at = None, time.monotonic()


def _restart_if_dead(zygote: Zygote, worker: WorkerProcess) -> None:
    if worker.died_at is not None and time.monotonic() - worker.died_at >= RESTART_PAUSE_S:
        worker.died_at = None
        zygote.start(worker.worker.port)
