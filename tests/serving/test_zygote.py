"""The zygote leaves quietly: no traceback and no "Exception ignored" line when the server stops."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _zygote() -> tuple[subprocess.Popen, int]:
    read_fd, write_fd = os.pipe()
    process = subprocess.Popen(
        [sys.executable, "-m", "serving.zygote", str(write_fd)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=(write_fd,),
    )
    os.close(write_fd)
    return process, read_fd


def _wait_ready(process: subprocess.Popen) -> None:
    # Its imports done, it waits in select; the handlers are installed before that loop.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        status = Path(f"/proc/{process.pid}/wchan").read_text(errors="replace")
        if "select" in status or "poll" in status:
            return
        time.sleep(0.1)


def test_ctrl_c_then_sigterm_twice_is_quiet():
    process, read_fd = _zygote()
    try:
        _wait_ready(process)
        process.send_signal(signal.SIGINT)  # Ctrl-C reaches the whole group
        process.stdin.close()  # then the supervisor goes
        process.send_signal(signal.SIGTERM)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        assert process.stderr.read().decode() == ""
    finally:
        os.close(read_fd)
        if process.poll() is None:
            process.kill()
