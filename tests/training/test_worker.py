"""The queue worker process: small (no torch), started and stopped by serve.py, clear when its storage is away."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from pathlib import Path

from cnnviz.training import worker
from cnnviz.training.runs import runs_dir

ROOT = Path(__file__).resolve().parents[2]


def test_the_worker_never_imports_torch():
    probe = "import sys, cnnviz.training.worker, cnnviz.training.state; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


def test_serve_py_starts_and_stops_the_local_worker_and_leaves_no_process():
    assert worker.start_local(ROOT, {**os.environ, worker.LOCAL_WORKER_ENV: "0"}) is None  # an app host only
    process = worker.start_local(ROOT)
    try:
        deadline = time.monotonic() + 30
        while not (runs_dir() / ".queue" / "huey.db").exists():  # it opened its queue: it is up
            assert process.poll() is None and time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.05)
        assert os.getsid(process.pid) == process.pid  # its own session: a Ctrl-C at the terminal is serve.py's
    finally:
        worker.stop_local(process)
    assert process.returncode == 0


def test_a_worker_whose_storage_is_away_says_so_in_one_line():
    env = {**os.environ, "PYTHONPATH": str(ROOT), worker.QUEUE_URL_ENV: "postgresql://u:s3cret@127.0.0.1:1/q"}
    result = subprocess.run(
        [sys.executable, "-m", "cnnviz.training.worker"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "The training queue cannot be reached" in result.stderr and "s3cret" not in result.stderr


def test_a_storage_error_at_every_poll_is_one_line_once_a_minute():
    one_line = worker._OneLine()

    def record() -> logging.LogRecord:
        try:
            raise ConnectionError("no answer from 10.0.0.2:6379")
        except ConnectionError:
            return logging.LogRecord("huey.consumer.Worker", logging.ERROR, "", 0, "Error reading from queue", (),
                                     sys.exc_info())  # fmt: skip

    first = record()
    assert one_line.filter(first) and first.exc_info is None
    assert first.getMessage() == "Error reading from queue: ConnectionError: no answer from 10.0.0.2:6379"
    assert not any(one_line.filter(record()) for _ in range(50))  # the next polls: not again
