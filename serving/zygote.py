"""The workers' parent: imports torch and the app once, then forks each worker from that state.

Every Streamlit process would otherwise load torch itself: ``import torch`` alone leaves about 280 MB of
private memory (the relocated libraries of the CUDA build), the app's other imports about 70 MB more.
Forked from one process that already holds them, frozen out of the garbage collector's sight so that
collecting never writes to them, the workers share those pages copy-on-write. The zygote runs nothing
else: no thread, no event loop, no torch operation, so it forks cleanly (and again, for a restart).

Run by :mod:`serving.supervisor` as ``python -m serving.zygote REPORT_FD [streamlit options]``, in the
app's folder. Commands arrive as lines on stdin, reports leave as lines on the file descriptor REPORT_FD:

- ``start <port> [<address>]``: fork a worker serving the app on <address>:<port> (default 127.0.0.1; an app host
  of several machines names its private address); reported as ``started <port> <pid>``;
- a worker that ends is reported as ``exited <port> <exit status>`` (the supervisor restarts it);
- stdin closing (the supervisor is gone) stops every worker and the zygote.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import sys
import time

POLL_S = 0.5  # how often ended workers are looked for while no command arrives
STOP_WAIT_S = 10.0  # workers asked to stop get this long to leave; then they are killed


def start_worker(port: int, options: list[str], report_fd: int, address: str = "127.0.0.1") -> int:
    """Fork a worker on ``address:port``; returns its pid (in the parent). The child never returns."""
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        os.close(report_fd)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)  # the commands are the zygote's, not the worker's
        os.close(devnull)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        # A process group of its own: Ctrl-C reaches the terminal's group (the supervisor, the zygote), and the
        # supervisor's shutdown reaches each worker once, as this zygote's SIGTERM. A Ctrl-C straight into a
        # worker still importing would print a KeyboardInterrupt traceback, and one after Streamlit's handler
        # a second "Stopping...".
        os.setpgid(0, 0)
        from serving import streamlit_worker as worker

        os.environ["CNNVIZ_WORKERS"] = "1"
        code = worker.run_streamlit([*options, "--server.address", address, "--server.port", str(port)])
    finally:
        os._exit(code)


def main(argv: list[str]) -> int:
    report_fd, options = int(argv[0]), argv[1:]
    sys.path.insert(0, os.getcwd())
    from serving import streamlit_worker as worker

    worker.freeze_imports()
    workers: dict[int, int] = {}  # pid -> port

    def report(line: str) -> None:
        os.write(report_fd, (line + "\n").encode())

    def stop_all(*_) -> None:
        # A second SIGTERM (the supervisor's, after stdin closed) must not re-enter this handler, and
        # raising SystemExit here ran the interpreter's atexit callbacks, where a late signal printed
        # "Exception ignored in atexit callback ... SystemExit(0)" on Ctrl-C. The zygote has nothing to
        # flush (reports are unbuffered os.write calls), so it leaves with os._exit once its workers are gone:
        # waiting for them here is what lets serve.py end with no process of its own left behind.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        for pid in workers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_WAIT_S
        while workers:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid:
                workers.pop(pid, None)
            elif time.monotonic() < deadline:
                time.sleep(0.05)
            else:
                for pid in workers:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
                deadline = float("inf")
        os._exit(0)

    signal.signal(signal.SIGTERM, stop_all)
    # Ctrl-C reaches the whole process group; the supervisor decides the shutdown (it closes our stdin
    # and sends SIGTERM), so the zygote prints no KeyboardInterrupt traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    commands = b""
    while True:
        ready, _, _ = select.select([0], [], [], POLL_S)
        if ready:
            chunk = os.read(0, 4096)
            if not chunk:
                stop_all()
            commands += chunk
            while b"\n" in commands:
                line, commands = commands.split(b"\n", 1)
                words = line.decode().split()
                if len(words) in (2, 3) and words[0] == "start" and words[1].isdigit():
                    port = words[1]
                    pid = start_worker(int(port), options, report_fd, *words[2:])
                    workers[pid] = int(port)
                    report(f"started {port} {pid}")
        while workers:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            port = workers.pop(pid, None)
            if port is not None:
                report(f"exited {port} {os.waitstatus_to_exitcode(status)}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
