"""Real queue workers for the training tests: `python -m cnnviz.training.worker` on the test's runs folder."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cnnviz.training.runs import runs_dir

ROOT = Path(__file__).resolve().parents[2]
STOP_WAIT_S = 90  # a stopping worker lets its trainings save first (on a busy 2-core machine, seconds)


@pytest.fixture
def start_worker():
    """``start_worker(*args, **env)``: a queue worker process on this test's runs folder; all end with the test.

    Its output goes to ``.worker-N.log`` in the runs folder (``worker_log`` reads it for a failing assertion).
    """
    started: list[tuple[subprocess.Popen, object]] = []

    def start(*args: str, **env: str) -> subprocess.Popen:
        log = open(runs_dir() / f".worker-{len(started)}.log", "w")  # noqa: SIM115 - closed at the end of the test
        environ = {**os.environ, "PYTHONPATH": str(ROOT), **env}
        command = [sys.executable, "-m", "cnnviz.training.worker", "--verbose", *args]
        process = subprocess.Popen(command, cwd=ROOT, env=environ, stdout=log, stderr=subprocess.STDOUT)
        started.append((process, log))
        return process

    yield start
    for process, _ in started:
        if process.poll() is None:
            process.terminate()
    for process, log in started:
        try:
            process.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def worker_logs() -> str:
    """Every worker's output so far (for the message of a failing assertion)."""
    return "\n".join(path.read_text() for path in sorted(runs_dir().glob(".worker-*.log")))
