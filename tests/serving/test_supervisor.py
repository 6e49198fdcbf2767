"""serving.supervisor: serve.py starts several workers behind the door and restarts one that dies."""

from __future__ import annotations

import os
import signal
import time

import pytest

from benchmarks import bench_classroom
from benchmarks.served import _stat_fields, descendants
from serving.proxy import COOKIE
from serving.supervisor import MAX_WORKERS, split_options, worker_count
from tests.conftest import start_app, stop_app


def test_one_worker_per_core_unless_told():
    assert worker_count({}) == min(len(os.sched_getaffinity(0)), MAX_WORKERS)
    assert worker_count({"CNNVIZ_WORKERS": " 3 "}) == 3
    for bad in ("0", "-1", "two", str(MAX_WORKERS + 1)):
        with pytest.raises(SystemExit, match="CNNVIZ_WORKERS"):
            worker_count({"CNNVIZ_WORKERS": bad})


def test_the_door_takes_the_address_port_and_certificate_and_the_workers_get_the_rest():
    front, rest = split_options(
        ["--server.port", "8600", "--server.address=0.0.0.0", "--server.sslCertFile", "c.pem",
         "--server.sslKeyFile=k.pem", "--server.enableAgentApi", "true", "--theme.base=dark"]
    )  # fmt: skip
    assert front == {"server.port": "8600", "server.address": "0.0.0.0", "server.sslCertFile": "c.pem",
                     "server.sslKeyFile": "k.pem"}  # fmt: skip
    assert rest == ["--server.enableAgentApi", "true", "--theme.base=dark"]
    with pytest.raises(SystemExit, match="needs a value"):
        split_options(["--server.port"])


def children(pid: int) -> list[int]:
    return [child for child in descendants(pid) if int(_stat_fields(child)[1]) == pid]


def shared_written_megabytes(pid: int) -> float:
    """Written memory ``pid`` shares with other processes (``Shared_Dirty``, MB): pages it inherited from the
    process it was forked from and never wrote since. A process started afresh shares libraries' clean pages
    only, so this stays near zero."""
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/smaps_rollup").read().splitlines()[1:])
    return int(fields["Shared_Dirty"].split()[0]) / 1024


def _worker_of(session) -> int:
    cookies = session.socket.response.headers.get_all("Set-Cookie")
    return int(next(c for c in cookies if c.startswith(COOKIE)).split("=")[1].split(";")[0])


def test_two_workers_share_the_class_and_a_dead_one_comes_back(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_WORKERS", "2")
    server, url, log = start_app(tmp_path)
    try:

        async def two_students():
            first, _ = await bench_classroom.open_session(url, "explorer")
            second, _ = await bench_classroom.open_session(url, "explorer")
            workers = {_worker_of(first), _worker_of(second)}
            for session in (first, second):  # both pages answer a change
                await bench_classroom.interact(session, [bench_classroom.number_state(session, "ex_k_h", 5.0)])
                await session.socket.close()
            return workers

        assert bench_classroom.run_async(two_students()) == {0, 1}
        # The preloaded parent (the workers are its children); the training queue worker is serve.py's child too.
        (zygote,) = [pid for pid in children(server.pid) if b"zygote" in open(f"/proc/{pid}/cmdline", "rb").read()]
        workers = children(zygote)
        assert len(workers) == 2
        assert shared_written_megabytes(workers[0]) > 100  # torch's relocated libraries: inherited, not loaded again
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 90
        while len(set(children(zygote)) - {workers[0]}) < 2:
            assert time.monotonic() < deadline, "the dead worker was not restarted"
            time.sleep(0.5)

        async def students_again():  # the door alternates new students: one of them lands on the new worker
            sessions = [(await bench_classroom.open_session(url, "draw"))[0] for _ in range(2)]
            for session in sessions:
                await session.socket.close()
            return {_worker_of(session) for session in sessions}

        # meanwhile the live worker takes every new student
        while (workers_now := bench_classroom.run_async(students_again())) != {0, 1}:
            assert time.monotonic() < deadline, f"the restarted worker never took a student: {workers_now}"
            time.sleep(1)
        log.seek(0)
        assert "restarting" in log.read()
    finally:
        stop_app(server, log)
