"""The queue worker process: small (no torch), started and stopped by serve.py, clear when its storage is away."""

from __future__ import annotations

import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cnnviz.training import jobs, worker
from cnnviz.training.recipe import TrainConfig
from cnnviz.training.runs import list_runs, runs_dir
from cnnviz.training.state import Lease, write_lease
from tests.conftest import start_app

ROOT = Path(__file__).resolve().parents[2]
POSTGRES_URL_ENV = "CNNVIZ_TEST_POSTGRES_URL"


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


@pytest.fixture
def postgres_queue(monkeypatch):
    """$CNNVIZ_QUEUE_URL on a schema of this test's own in the server of $CNNVIZ_TEST_POSTGRES_URL, dropped after."""
    server = os.environ.get(POSTGRES_URL_ENV)
    if not server:
        pytest.skip(f"no PostgreSQL server: set {POSTGRES_URL_ENV} (bash .ci/postgres.sh start)")
    psycopg = pytest.importorskip("psycopg")
    schema = f"cnnviz_test_queue_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'create schema "{schema}"')
    separator = "&" if "?" in server else "?"
    monkeypatch.setenv(worker.QUEUE_URL_ENV, f"{server}{separator}options=-csearch_path%3D{schema}")
    yield worker.open_queue()
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'drop schema "{schema}" cascade')


@pytest.mark.postgres
def test_the_queue_on_postgresql_holds_the_limits_and_the_lease(postgres_queue):
    """What several hosts share: the decision lock, the tickets, the lost-task resync and the lease, on PostgreSQL."""
    outcomes: list[str] = []

    def submit(seed: int) -> None:
        try:
            jobs.submit(TrainConfig(seed=seed, train_images=1000, epochs=1), owner="mallory")
            outcomes.append("queued")
        except jobs.JobRefused as error:
            outcomes.append(str(error))

    threads = [threading.Thread(target=submit, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcomes.count("queued") == 1 and all("already have a run waiting" in o for o in outcomes if o != "queued")
    (run,) = [r for r in list_runs() if r.state == "queued"]
    assert [task.id for task in postgres_queue.huey.pending()] == [run.status.ticket]
    options = worker.WorkerOptions(runs=runs_dir(), queue_url=worker.queue_url())
    task = postgres_queue.huey.dequeue()
    assert task.args == (run.id,) and worker.claim(postgres_queue, run.path, task.id, options) is not None
    write_lease(run.path, Lease(task.id, "elsewhere:1", time.time() - 60))  # its worker died
    assert worker.reclaim(postgres_queue, run.path, timeout_s=30) and run.state == "queued"
    assert [t.id for t in postgres_queue.huey.pending()] == [run.status.ticket] != [task.id]
    postgres_queue.huey.dequeue()  # taken by a worker killed before it claimed the run
    assert worker.resync(postgres_queue, runs_dir(), grace_s=0) == [run.id]


@pytest.mark.postgres
def test_hosts_opening_a_new_postgresql_queue_at_once_all_get_it(postgres_queue):
    """Huey's CREATE TABLE IF NOT EXISTS races on PostgreSQL (a duplicate key on pg_type): every opener must win."""
    with psycopg_connect() as connection:  # a fresh schema: no table yet, as on a new database
        schema = connection.execute("SELECT current_schema()").fetchone()[0]
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
        connection.execute(f'CREATE SCHEMA "{schema}"')
    start, errors = threading.Barrier(6), []

    def open_one() -> None:
        start.wait()
        try:
            worker._engine(worker.queue_url())  # not open_queue: its per-process cache would let only one create
        except Exception as error:  # noqa: BLE001 - the test reports whatever it was
            errors.append(repr(error))

    threads = [threading.Thread(target=open_one) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []


def psycopg_connect():
    import psycopg

    return psycopg.connect(os.environ[worker.QUEUE_URL_ENV], autocommit=True)


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def test_ctrl_c_of_serve_py_stops_its_queue_worker_too(tmp_path):
    server, _, log = start_app(tmp_path)  # as `make app` starts it: the door, the app workers, the queue worker
    try:
        queue_workers = [pid for pid in children(server.pid) if b"cnnviz.training.worker" in Path(
            f"/proc/{pid}/cmdline").read_bytes()]  # fmt: skip
        assert len(queue_workers) == 1, children(server.pid)
        server.send_signal(signal.SIGINT)
        assert server.wait(60) == 0
        deadline = time.monotonic() + 30
        while any(jobs.process_alive(pid) for pid in queue_workers):
            assert time.monotonic() < deadline, "the queue worker outlived serve.py"
            time.sleep(0.1)
        log.seek(0)
        assert "Traceback" not in log.read()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        log.close()
