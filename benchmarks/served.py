"""What the end-to-end benchmarks share: a real server per app version, its CPU time and memory, and a
temporary checkout of a baseline version to compare against.

A server is started exactly as ``make app`` starts one (``python serve.py``), from the app's own folder,
on a free port of 127.0.0.1, with its runs in a temporary folder. CPU time and memory are read from
``/proc`` for the server process and every process below it (Linux only).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from serving.supervisor import free_port

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT.parent / "shared" / "data", Path("/work/shared/data"))  # where the tests find MNIST too
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
START_TIMEOUT_S = 90  # a busy 2-core machine: torch and streamlit imports take a while


def _stat_fields(pid: int) -> list[str]:
    """``/proc/<pid>/stat`` split after the command name (which may hold spaces and parentheses)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()


def descendants(pid: int) -> list[int]:
    """Every live process below ``pid`` (children, grandchildren, ...)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(entry.name))[1])  # field 4: ppid
        except (OSError, ValueError, IndexError):
            continue  # the process ended while we looked
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of ``pid``, its waited-for children and its live descendants, in seconds."""
    fields = _stat_fields(pid)
    # fields[11:15] are stat fields 14-17: utime, stime, cutime, cstime (ended children that were waited for)
    ticks = sum(int(v) for v in fields[11:15])
    for child in descendants(pid):
        with contextlib.suppress(OSError, ValueError, IndexError):
            ticks += sum(int(v) for v in _stat_fields(child)[11:13])
    return ticks / CLOCK_TICKS


def memory_bytes(pid: int) -> int:
    """Memory of ``pid`` and its live descendants, in bytes: the sum of their proportional set sizes (PSS).

    PSS splits each shared page between the processes sharing it, so several worker processes that map the
    same libraries (torch alone is hundreds of MB) are not counted once per process, as a sum of RSS would."""
    total = 0
    for process in [pid, *descendants(pid)]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{process}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
    return total


def _is_caddy(pid: int) -> bool:
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].endswith(b"caddy")
    return False


@dataclass
class Server:
    """One running app: its label in tables, base URL and process."""

    label: str
    url: str
    process: subprocess.Popen
    folder: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def port(self) -> int:
        return int(self.url.rsplit(":", 1)[1])

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.pid)

    def memory_bytes(self) -> int:
        return memory_bytes(self.pid)

    def front_rss_bytes(self) -> int:
        """Resident memory of the front: ``serve.py``'s own process (the whole door before Caddy; now the
        supervisor) and Caddy's, if it has one. RSS, not PSS: these share next to nothing with the workers."""
        total = 0
        for process in [self.pid, *(child for child in descendants(self.pid) if _is_caddy(child))]:
            with contextlib.suppress(OSError):
                for line in Path(f"/proc/{process}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1]) * 1024
        return total

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join((self.folder / "server.log").read_text(errors="replace").splitlines()[-lines:])


def _app_env(folder: Path) -> dict[str, str]:
    env = {**os.environ, "CNNVIZ_RUNS_DIR": str(folder / "runs")}
    if "CNNVIZ_DATA_DIR" not in env:
        for data in SHARED_DATA:
            if (data / "MNIST" / "raw").is_dir():
                env["CNNVIZ_DATA_DIR"] = str(data)
                break
    return env


@contextlib.contextmanager
def served(app_dir: Path, label: str, extra_args: tuple[str, ...] = ()) -> Iterator[Server]:
    """Serve the app in ``app_dir`` with ``python serve.py`` (as ``make app``) on a free local port."""
    folder = Path(tempfile.mkdtemp(prefix=f"cnnviz-bench-{label}-"))
    port = free_port()
    log = open(folder / "server.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "serve.py", "--server.port", str(port), "--server.address", "127.0.0.1", *extra_args],
        cwd=app_dir, env=_app_env(folder), stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    server = Server(label, f"http://127.0.0.1:{port}", process, folder)
    try:
        _wait_health(server.url, process, f"{label} server", folder / "server.log")
        yield server
    finally:
        _stop([(process, log)])
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class Hosts(Server):
    """Several app hosts (``CNNVIZ_ROLE=app``, one loopback address each) and their front (``CNNVIZ_ROLE=front``,
    ``process``) on this machine: CPU time and memory are those of every process of them all."""

    apps: tuple[subprocess.Popen, ...] = ()

    def _all(self) -> list[int]:
        return [self.pid, *(app.pid for app in self.apps)]

    def cpu_seconds(self) -> float:
        return sum(cpu_seconds(pid) for pid in self._all())

    def memory_bytes(self) -> int:
        return sum(memory_bytes(pid) for pid in self._all())


def _stop(processes) -> None:
    """Terminate every ``(process, log)`` at once, then wait for each (killed after 15 s) and close its log."""
    for process, _ in processes:
        process.terminate()
    for process, log in processes:
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def _wait_health(url: str, process: subprocess.Popen, what: str, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
                raise RuntimeError(f"the {what} did not start:\n{tail}") from None
            time.sleep(0.3)


@contextlib.contextmanager
def served_hosts(app_dir: Path, label: str, count: int) -> Iterator[Hosts]:
    """``count`` app hosts on 127.0.0.2, 127.0.0.3, ... (one worker each, as many cores as one-per-core
    ``make app`` uses on this machine when ``count`` is its core count) behind a front on 127.0.0.1: the recipe of
    docs/serving.md, "Several machines", on one machine, sharing one runs folder (its SQLite class database and
    queue are safe on a local disk)."""
    folder = Path(tempfile.mkdtemp(prefix=f"cnnviz-bench-{label.replace(' ', '-')}-"))
    env = {**_app_env(folder), "STREAMLIT_SERVER_COOKIE_SECRET": os.urandom(16).hex(), "CNNVIZ_WORKERS": "1",
           "CNNVIZ_QUEUE_WORKER": "0"}  # fmt: skip
    app_port, front_port = free_port(), free_port()
    started: list[tuple[subprocess.Popen, object]] = []

    def start(name: str, address: str, port: int, **extra: str) -> subprocess.Popen:
        log = open(folder / f"{name}.log", "w")  # noqa: SIM115 - closed at the end
        process = subprocess.Popen(
            [sys.executable, "serve.py", "--server.port", str(port), "--server.address", address],
            cwd=app_dir, env={**env, **extra}, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        started.append((process, log))
        _wait_health(f"http://{address}:{port}", process, name, folder / f"{name}.log")
        return process

    try:
        addresses = [f"127.0.0.{2 + i}" for i in range(count)]
        apps = tuple(start(f"app-{a}", a, app_port, CNNVIZ_ROLE="app") for a in addresses)
        upstreams = ",".join(f"{a}:{app_port}" for a in addresses)
        front = start("server", "127.0.0.1", front_port, CNNVIZ_ROLE="front", CNNVIZ_UPSTREAMS=upstreams)
        yield Hosts(label, f"http://127.0.0.1:{front_port}", front, folder, apps)
    finally:
        _stop(started)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def checkout(ref: str) -> Iterator[Path]:
    """A temporary ``git worktree`` of ``ref`` (sharing this checkout's .venv), removed afterwards."""
    folder = Path(tempfile.mkdtemp(prefix="cnnviz-baseline-"))
    tree = folder / "app"
    subprocess.run(["git", "worktree", "add", "--detach", "--quiet", str(tree), ref], cwd=ROOT, check=True)
    try:
        venv = ROOT / ".venv"
        if venv.exists() and not (tree / ".venv").exists():
            (tree / ".venv").symlink_to(venv.resolve())
        yield tree
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
        shutil.rmtree(folder, ignore_errors=True)
        subprocess.run(["git", "worktree", "prune"], cwd=ROOT, check=False)


@contextlib.contextmanager
def versions(
    baseline: str | None,
    candidate_dir: Path = ROOT,
    extra_args: tuple[str, ...] = (),
    hosts: int = 0,
    compare: bool = True,
) -> Iterator[list[Server]]:
    """The servers to compare: ``[candidate]``, or ``[baseline, candidate]`` when a baseline ref is given, or with
    ``hosts``, ``[one server as make app starts it, that many app hosts behind a front]``, both of this tree (the
    app hosts alone unless ``compare``).

    Both run at the same time, so that the benchmarks can alternate between them and both see the same noise.
    """
    with contextlib.ExitStack() as stack:
        servers = []
        if hosts:
            if compare:
                servers.append(stack.enter_context(served(candidate_dir, "one host (make app)", extra_args)))
            servers.append(stack.enter_context(served_hosts(candidate_dir, f"{hosts} app hosts + front", hosts)))
            yield servers
            return
        if baseline:
            tree = stack.enter_context(checkout(baseline))
            servers.append(stack.enter_context(served(tree, f"baseline {baseline}", extra_args)))
        servers.append(stack.enter_context(served(candidate_dir, "candidate" if baseline else "this tree", extra_args)))
        yield servers


def ratio(candidate: float, baseline: float) -> str:
    """``candidate / baseline`` as ``0.42x``; a dash when it cannot be computed."""
    if not baseline or candidate != candidate or baseline != baseline:  # zero or NaN
        return "-"
    return f"{candidate / baseline:.2f}x"
