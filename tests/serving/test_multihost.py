"""Several machines on one: two app hosts (``CNNVIZ_ROLE=app`` on 127.0.0.2 and 127.0.0.3), the front
(``CNNVIZ_ROLE=front`` on 127.0.0.1), the class database and the training queue on one PostgreSQL server, two
training workers, a runs folder they all share. A class goes through the front; one app host and one training
worker are killed in the middle of it.

Every address of 127.0.0.0/8 is loopback on Linux: each host listens on an address of its own, as on a network.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import websockets

from benchmarks import bench_classroom
from benchmarks.served import descendants
from cnnviz.teaching.class_store import DB_ENV
from cnnviz.training import jobs, worker
from cnnviz.training.recipe import TrainConfig
from cnnviz.training.state import read_lease
from cnnviz.views.train_view import owner_from_cookie
from serving.front import COOKIE
from serving.supervisor import ROLE_ENV, UPSTREAMS_ENV, free_port
from tests.conftest import worker_logs

pytestmark = [pytest.mark.multihost, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[2]
APP_HOSTS = ("127.0.0.2", "127.0.0.3")
FRONT_HOST = "127.0.0.1"
STUDENTS = 6  # through the front, on the explorer page
XSRF = "_streamlit_xsrf"  # the cookie a browser's id comes from (widgets/browser_id.py)
BACK_WITHIN_S = 10.0  # a student whose app host died answers again on another within this
NOTICE_S = 5.0  # a student whose connection still holds this long after the death noticed nothing
START_TIMEOUT_S = 180.0  # every host up (a busy 2-core machine imports torch twice)
TRAIN_TIMEOUT_S = 240.0
LEASE_S = 4  # a killed worker's run is taken over after this (default 30: a test must not wait that long)
# 20 steps an epoch; checkpoints every 4 steps, so a worker killed after the first one leaves one to resume from.
LONG = TrainConfig(epochs=3, train_images=640, val_images=200, batch_size=32, log_every=2, checkpoint_every=4)
SHORT = TrainConfig(epochs=1, seed=1, train_images=320, val_images=200, batch_size=32, log_every=2)


def wait_for(condition, what: str, timeout: float, logs=lambda: "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not within {timeout:.0f} s\n{logs()}"
        time.sleep(0.1)


@dataclass
class Host:
    """One machine's ``serve.py``, in a session of its own (a host of its own, for signals)."""

    name: str
    process: subprocess.Popen
    log: Path
    health_url: str

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(self.health_url, timeout=2) as answer:
                return answer.status == 200
        except OSError:
            return False

    def kill(self) -> None:
        """The machine dies: every process it runs ends at once (SIGKILL), with no goodbye to anyone."""
        for pid in [self.process.pid, *descendants(self.process.pid)]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait(10)

    def stop(self) -> None:
        if self.process.poll() is None:
            left = descendants(self.process.pid)
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()
            for pid in left:  # the workers are in process groups of their own: anything the stop left
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass


def serve(name: str, folder: Path, role: str, address: str, port: int, **env: str) -> Host:
    log = folder / f"{name}.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "serve.py", "--server.address", address, "--server.port", str(port)],
            cwd=ROOT, env={**os.environ, ROLE_ENV: role, **env}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    return Host(name, process, log, f"http://{address}:{port}/_stcore/health")


@pytest.fixture
def cluster(postgres_url, mnist, start_worker, tmp_path, monkeypatch):
    """(front URL, {address: app host}, [two training workers]): every process gone after the test."""
    for name, value in {
        DB_ENV: postgres_url,
        worker.QUEUE_URL_ENV: postgres_url,
        worker.LEASE_SECONDS_ENV: str(LEASE_S),
        "STREAMLIT_SERVER_COOKIE_SECRET": "the-same-on-every-host",
        "CNNVIZ_WORKERS": "1",
        worker.LOCAL_WORKER_ENV: "0",  # the training workers below are the queue's only workers
    }.items():
        monkeypatch.setenv(name, value)
    app_port, front_port = free_port(), free_port()
    hosts = {address: serve(f"app-{address}", tmp_path, "app", address, app_port) for address in APP_HOSTS}
    trainers = [start_worker(), start_worker()]
    every = list(hosts.values())

    def logs() -> str:
        return "\n".join(f"--- {host.name}\n{host.log.read_text()[-3000:]}" for host in every)

    def up(host: Host) -> None:
        wait_for(lambda: host.answers() or host.process.poll() is not None, f"{host.name} up", START_TIMEOUT_S, logs)
        assert host.process.poll() is None, logs()

    try:
        for host in hosts.values():
            up(host)
        # The front once the app hosts answer, so that its first health checks find both (one started later is
        # taken in at its first answered check, HEALTH_INTERVAL_S later).
        upstreams = ",".join(f"{address}:{app_port}" for address in APP_HOSTS)
        every.append(serve("front", tmp_path, "front", FRONT_HOST, front_port, **{UPSTREAMS_ENV: upstreams}))
        up(every[-1])
        yield f"http://{FRONT_HOST}:{front_port}", hosts, trainers, logs
    finally:
        for host in every:
            host.stop()


def worker_cookie(session: bench_classroom.Session, held: str | None = None) -> str | None:
    """The front's worker cookie after this connection: the one it set, else the one the browser held."""
    given = [c for c in session.socket.response.headers.get_all("Set-Cookie") if c.startswith(COOKIE + "=")]
    return given[0].split(";", 1)[0] if given else held


def browser_id(url: str, cookies: str, xsrf: str | None = None) -> tuple[str, str]:
    """(the id the Train and Lessons pages keep this browser's runs and progress under, its XSRF cookie) after a
    request through the front with the browser's ``cookies`` (and ``xsrf``, the XSRF cookie it holds)."""
    sent = "; ".join(filter(None, [cookies, xsrf]))
    with urllib.request.urlopen(urllib.request.Request(f"{url}/_stcore/health", headers={"Cookie": sent}), timeout=10
                                ) as answer:  # fmt: skip
        given = [c.split(";", 1)[0] for c in answer.headers.get_all("Set-Cookie") or [] if c.startswith(XSRF + "=")]
    held = given[0] if given else xsrf
    assert held, "no XSRF cookie"
    return owner_from_cookie(held.split("=", 1)[1]), held


async def change_kernel(session: bench_classroom.Session, size: float) -> None:
    await bench_classroom.interact(session, [bench_classroom.number_state(session, bench_classroom.KERNEL_KEY, size)])


async def closed_within(session: bench_classroom.Session, seconds: float) -> bool:
    """Whether the server side ended this student's connection within ``seconds`` (a live one sends nothing)."""
    try:
        await asyncio.wait_for(session.socket.wait_closed(), seconds)
        return True
    except TimeoutError:
        return False


def test_a_class_across_two_app_hosts_survives_a_dead_host_and_a_dead_training_worker(cluster):
    url, hosts, trainers, logs = cluster
    # One event loop for the whole class: a student's connection belongs to the loop that opened it. The steps
    # between (submitting, waiting for the workers) block it for a while, as a busy page would: nothing is lost.
    students, cookies, hit, back, runs = bench_classroom.run_async(a_class(url, hosts, trainers))
    long_run, short_run = runs
    dead_cookie = cookies[hit[0]] if hit else None
    assert hit == [i for i, c in enumerate(cookies) if c == dead_cookie], (hit, cookies)  # its students, only they
    assert len(hit) == STUDENTS // 2
    assert all(seconds < BACK_WITHIN_S for seconds, _ in back.values()), back
    print("the dead host's students back after (s):", ", ".join(f"{seconds:.2f}" for seconds, _ in back.values()))
    assert {cookie for _, cookie in back.values()} == set(cookies) - {dead_cookie}  # now on the live host
    assert hosts[APP_HOSTS[1]].answers() and not hosts[APP_HOSTS[0]].answers()

    # A training worker dies in the middle of a run: the other one resumes it from its checkpoint.
    wait_for(lambda: long_run.checkpoint_path.exists() or long_run.status.state != "running",
             "the long run's first checkpoint", TRAIN_TIMEOUT_S, worker_logs)  # fmt: skip
    assert long_run.status.state == "running", (long_run.status, worker_logs())
    owner_pid = read_lease(long_run.path).worker.rsplit(":", 1)[1]
    (victim,) = [t for t in trainers if str(t.pid) == owner_pid]
    victim.kill()
    victim.wait(10)
    killed_at = time.time()
    saved = long_run.load_checkpoint()["step"]
    assert all(t.poll() is None for t in trainers if t is not victim)  # the other one, the only one left, takes it
    wait_for(lambda: long_run.status.state in ("finished", "failed", "interrupted", "stopped"), "the long run done",
             TRAIN_TIMEOUT_S, worker_logs)  # fmt: skip
    assert long_run.status.state == "finished", (long_run.status, worker_logs())
    assert jobs.wait(short_run, TRAIN_TIMEOUT_S) == "finished", worker_logs()
    assert f"the lease of worker {worker.HOST}:{victim.pid} expired; queued again" in worker_logs()
    steps = [r["step"] for r in long_run.metrics("step")]
    assert steps == sorted(set(steps)) and long_run.metrics("epoch")[-1]["step"] == 3 * 20
    before = [r["step"] for r in long_run.metrics("step") if r["time"] < killed_at]
    assert before and max(before) <= saved  # kept from before the kill: resumed, not started again


async def a_class(url: str, hosts: dict[str, Host], trainers: list[subprocess.Popen]):
    """The students arrive, runs start on both workers, an app host dies: (students, their cookies, which of them
    the death hit, {hit student: (seconds until back, new cookie)}, the two runs)."""
    students = []
    for _ in range(STUDENTS):
        session, _ = await bench_classroom.open_session(url, bench_classroom.EXPLORER_PAGE)
        students.append(session)
    cookies = [worker_cookie(session) for session in students]
    for session in students:
        await change_kernel(session, 5.0)
    assert None not in cookies and len(set(cookies)) == 2, cookies  # both app hosts took students ...
    assert min(cookies.count(c) for c in set(cookies)) == STUDENTS // 2  # ... each as many (fewest first)

    again = []  # a student's next tab goes to the host it is on
    for cookie in cookies:
        session, _ = await bench_classroom.open_session(url, bench_classroom.EXPLORER_PAGE, cookie=cookie)
        again.append(worker_cookie(session, cookie))
        await session.socket.close()
    assert again == cookies
    ids = [browser_id(url, cookie) for cookie in cookies]
    assert len({owner for owner, _ in ids}) == STUDENTS

    # Runs submitted while the class goes on (by the pages' own call): each worker takes one.
    runs = (jobs.submit(LONG, owner="student-on-the-first-host"), jobs.submit(SHORT, owner="student-on-the-second"))

    def both_training() -> bool:
        assert all(t.poll() is None for t in trainers), worker_logs()
        return all(r.status.state == "running" and read_lease(r.path) for r in runs)

    wait_for(both_training, "both runs training", TRAIN_TIMEOUT_S, worker_logs)
    pids = {read_lease(r.path).worker.rsplit(":", 1)[1] for r in runs}
    assert pids == {str(t.pid) for t in trainers}, pids  # on both workers

    # An app host dies in the middle of the class: only its students notice, and they are back within seconds.
    hosts[APP_HOSTS[0]].kill()
    killed = time.monotonic()

    async def each(i: int, session: bench_classroom.Session) -> tuple[float, str | None] | None:
        """None for a student who noticed nothing (the connection held, and answers); (seconds until back, the
        new worker cookie) for one whose connection the death ended."""
        if not await closed_within(session, NOTICE_S):
            await change_kernel(session, 3.0)
            return None
        while True:  # a reloading page (Streamlit's own reconnect), with the cookie the browser holds
            try:
                again, _ = await bench_classroom.open_session(url, bench_classroom.EXPLORER_PAGE, cookie=cookies[i])
                break
            except (OSError, websockets.InvalidStatus, bench_classroom.InteractionFailed):
                assert time.monotonic() - killed < BACK_WITHIN_S, "a student of the dead host is not back"
                await asyncio.sleep(0.2)
        await change_kernel(again, 3.0)
        await again.socket.close()
        return time.monotonic() - killed, worker_cookie(again, cookies[i])

    outcomes = await asyncio.gather(*(each(i, session) for i, session in enumerate(students)))
    back = {i: outcome for i, outcome in enumerate(outcomes) if outcome is not None}
    hit = sorted(back)
    for i, (_, cookie) in back.items():
        # the same browser on the other host: its runs, answers and lesson progress are found under the same id
        assert browser_id(url, cookie, ids[i][1])[0] == ids[i][0]
    for session in students:
        await session.socket.close()
    return students, cookies, hit, back, runs
