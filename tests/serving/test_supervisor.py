"""serving.supervisor: serve.py starts several workers behind Caddy, restarts one that dies, refuses a taken port
and stops everything it started on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import websockets

from benchmarks import bench_classroom
from benchmarks.served import _stat_fields, descendants
from cnnviz.teaching.class_store import DB_ENV
from cnnviz.training.worker import QUEUE_URL_ENV
from serving.front import COOKIE, FrontSettings, TlsMode
from serving.supervisor import (
    FRONT_MIN_LIFE_S,
    MAX_WORKERS,
    Role,
    StreamlitSettings,
    app_ports,
    free_port,
    preflight,
    role,
    split_options,
    streamlit_settings,
    upstreams,
    uses_front,
    worker_count,
)
from tests.conftest import start_app, stop_app

ROOT = Path(__file__).resolve().parents[2]


def test_one_worker_per_core_unless_told():
    assert worker_count({}) == min(len(os.sched_getaffinity(0)), MAX_WORKERS)
    assert worker_count({"CNNVIZ_WORKERS": " 3 "}) == 3
    for bad in ("0", "-1", "two", str(MAX_WORKERS + 1)):
        with pytest.raises(SystemExit, match="CNNVIZ_WORKERS"):
            worker_count({"CNNVIZ_WORKERS": bad})


def test_the_front_takes_the_address_port_and_certificate_and_the_workers_get_the_rest():
    front, rest = split_options(
        ["--server.port", "8600", "--server.address=0.0.0.0", "--server.sslCertFile", "c.pem",
         "--server.sslKeyFile=k.pem", "--server.enableAgentApi", "true", "--theme.base=dark"]
    )  # fmt: skip
    assert front == {"server.port": "8600", "server.address": "0.0.0.0", "server.sslCertFile": "c.pem",
                     "server.sslKeyFile": "k.pem"}  # fmt: skip
    assert rest == ["--server.enableAgentApi", "true", "--theme.base=dark"]
    with pytest.raises(SystemExit, match="needs a value"):
        split_options(["--server.port"])


def test_caddy_is_in_front_of_several_workers_or_of_one_that_asks_for_its_https():
    assert uses_front(2, {}) and uses_front(1, {"CNNVIZ_TLS": "internal"})
    assert not uses_front(1, {}) and not uses_front(1, {"CNNVIZ_TLS": " "})


def test_the_fronts_settings_are_streamlits_read_where_the_workers_read_them(tmp_path):
    (tmp_path / ".streamlit").mkdir()
    (tmp_path / ".streamlit" / "config.toml").write_text('[server]\nport = 8777\ncookieSecret = "s"\n')
    read = streamlit_settings(tmp_path, ["--server.address=127.0.0.2", "--server.baseUrlPath", "/class/"], {})
    assert (read.front.host, read.front.port, read.front.base_url_path) == ("127.0.0.2", 8777, "class")
    assert read.cookie_secret_is_set and read.front.tls is TlsMode.OFF
    assert streamlit_settings(ROOT, ["--server.port", "8600"], {}).front.port == 8600
    for bad in ("abc", "0", "70000"):
        with pytest.raises(SystemExit, match="must be a port number"):
            streamlit_settings(ROOT, ["--server.port", bad], {})


def test_a_host_of_several_machines_is_told_its_role_and_the_front_its_app_hosts():
    assert role({}) is Role.ALL and role({"CNNVIZ_ROLE": " App "}) is Role.APP and role({"CNNVIZ_ROLE": "front"})
    with pytest.raises(SystemExit, match="must be all, app or front, not 'worker'"):
        role({"CNNVIZ_ROLE": "worker"})
    listed = {"CNNVIZ_UPSTREAMS": " 10.0.0.11:8501, 10.0.0.11:8502,[fd00::12]:8501,10.0.0.11:8501 "}
    assert upstreams(listed) == ["10.0.0.11:8501", "10.0.0.11:8502", "[fd00::12]:8501"]
    with pytest.raises(SystemExit, match="needs the app hosts' workers in CNNVIZ_UPSTREAMS"):
        upstreams({"CNNVIZ_UPSTREAMS": " , "})
    for bad in ("10.0.0.11", "10.0.0.11:http", ":8501", "10.0.0.11:70000"):
        with pytest.raises(SystemExit, match=f"{bad!r} is not one"):
            upstreams({"CNNVIZ_UPSTREAMS": f"10.0.0.12:8501,{bad}"})
    assert app_ports(FrontSettings("10.0.0.11", 8501), 3) == [8501, 8502, 8503]
    with pytest.raises(SystemExit, match="run past port 65535"):
        app_ports(FrontSettings("10.0.0.11", 65535), 2)


def test_an_app_host_needs_the_shared_cookie_secret_and_leaves_https_to_the_front(capsys):
    plain = FrontSettings("127.0.0.2", free_port())
    shared = {QUEUE_URL_ENV: "postgresql://db/cnnviz", DB_ENV: "postgresql://db/cnnviz"}
    preflight(StreamlitSettings(plain, cookie_secret_is_set=True), Role.APP, 2, shared)
    assert capsys.readouterr().err == ""
    preflight(StreamlitSettings(plain, cookie_secret_is_set=True), Role.APP, 2, {QUEUE_URL_ENV: "redis://q"})
    assert f"warning: {DB_ENV} not set: SQLite in the runs folder" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="the same on every app host: server.cookieSecret"):
        preflight(StreamlitSettings(plain, cookie_secret_is_set=False), Role.APP, 2)
    encrypted = FrontSettings("127.0.0.2", free_port(), TlsMode.INTERNAL, names=("localhost",))
    with pytest.raises(SystemExit, match="HTTPS is the front's"):
        preflight(StreamlitSettings(encrypted, cookie_secret_is_set=True), Role.APP, 1)
    with socket.socket() as taken:  # an app host's second worker port taken: said before anything starts
        taken.bind(("127.0.0.2", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit, match=f"port {port} on 127.0.0.2 is taken"):
            preflight(StreamlitSettings(FrontSettings("127.0.0.2", port - 1), True), Role.APP, 2)
    with pytest.raises(SystemExit, match="CNNVIZ_UPSTREAMS"):
        preflight(StreamlitSettings(plain, cookie_secret_is_set=False), Role.FRONT, 0, {})


@pytest.mark.parametrize(
    ("env", "message"),
    [({"CNNVIZ_ROLE": "app"}, "needs the class's cookie secret"), ({"CNNVIZ_ROLE": "front"}, "CNNVIZ_UPSTREAMS")],
)
def test_serve_py_says_in_one_line_what_a_role_lacks_before_it_starts_anything(tmp_path, env, message):
    environ = {k: v for k, v in os.environ.items() if k != "STREAMLIT_SERVER_COOKIE_SECRET"}
    done = subprocess.run(
        [sys.executable, "serve.py", "--server.port", str(free_port()), "--server.address", "127.0.0.2"],
        cwd=ROOT, env={**environ, "CNNVIZ_RUNS_DIR": str(tmp_path / "runs"), **env}, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and message in lines[0], lines
    assert not (tmp_path / "runs").exists()  # no queue worker was started (it would have made the runs folder)


def children(pid: int) -> list[int]:
    return [child for child in descendants(pid) if int(_stat_fields(child)[1]) == pid]


def shared_written_megabytes(pid: int) -> float:
    """Written memory ``pid`` shares with other processes (``Shared_Dirty``, MB): pages it inherited from the
    process it was forked from and never wrote since. A process started afresh shares libraries' clean pages
    only, so this stays near zero."""
    fields = dict(line.split(":", 1) for line in open(f"/proc/{pid}/smaps_rollup").read().splitlines()[1:])
    return int(fields["Shared_Dirty"].split()[0]) / 1024


def _worker_of(session) -> str:
    """The worker Caddy chose for a new browser, as its cookie names it (an HMAC of the worker's address)."""
    cookies = session.socket.response.headers.get_all("Set-Cookie")
    return next(c for c in cookies if c.startswith(COOKIE)).split("=")[1].split(";")[0]


def test_two_workers_share_the_class_and_a_dead_one_comes_back(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_WORKERS", "2")
    server, url, log = start_app(tmp_path)
    up = time.monotonic()
    try:

        async def two_students():
            first, _ = await bench_classroom.open_session(url, "explorer")
            second, _ = await bench_classroom.open_session(url, "explorer")
            workers = {_worker_of(first), _worker_of(second)}
            for session in (first, second):  # both pages answer a change
                await bench_classroom.interact(session, [bench_classroom.number_state(session, "ex_k_h", 5.0)])
                await session.socket.close()
            return workers

        assert len(both := bench_classroom.run_async(two_students())) == 2  # fewest open sessions first
        # serve.py's children: the front, the workers' preloaded parent and this host's training queue worker
        commands = {pid: Path(f"/proc/{pid}/cmdline").read_bytes() for pid in children(server.pid)}
        (zygote,) = [pid for pid, command in commands.items() if b"zygote" in command]
        (caddy,) = [pid for pid, command in commands.items() if b"caddy" in command]
        workers = children(zygote)
        assert len(workers) == 2
        assert shared_written_megabytes(workers[0]) > 100  # torch's relocated libraries: inherited, not loaded again
        os.kill(workers[0], signal.SIGKILL)
        killed = time.monotonic()

        async def browsers_come_back():  # both students' pages reconnect, with the cookies they hold
            held = set()
            for value in both:
                async with websockets.connect(
                    url.replace("http://", "ws://") + "/_stcore/stream", subprotocols=["streamlit"],
                    additional_headers={"Cookie": f"{COOKIE}={value}"}, open_timeout=10,
                ) as socket_:  # fmt: skip
                    given = [c for c in socket_.response.headers.get_all("Set-Cookie") if c.startswith(COOKIE)]
                    held.add(given[0].split("=")[1].split(";")[0] if given else value)
            return held

        assert len(bench_classroom.run_async(browsers_come_back())) == 1  # the dead one's student moved ...
        assert time.monotonic() - killed < 2  # ... at once (its worker is back only after RESTART_PAUSE_S)
        deadline = time.monotonic() + 90
        while len(set(children(zygote)) - {workers[0]}) < 2:
            assert time.monotonic() < deadline, "the dead worker was not restarted"
            time.sleep(0.5)

        async def students_again():  # each new student goes to the worker with fewer: one lands on the new one
            sessions = [(await bench_classroom.open_session(url, "draw"))[0] for _ in range(2)]
            for session in sessions:
                await session.socket.close()
            return {_worker_of(session) for session in sessions}

        # meanwhile the live worker takes every new student
        while (workers_now := bench_classroom.run_async(students_again())) != both:
            assert time.monotonic() < deadline, f"the restarted worker never took a student: {workers_now}"
            time.sleep(1)
        log.seek(0)
        assert "restarting" in log.read()

        # Caddy killed mid-class comes back with the same cookie secret: a browser keeps its worker.
        cookie = _cookie_after(url)
        time.sleep(max(0.0, up + FRONT_MIN_LIFE_S + 1 - time.monotonic()))  # sooner is a refused start: no retry
        os.kill(caddy, signal.SIGKILL)
        while True:
            try:
                assert _cookie_after(url, cookie) == cookie
                break
            except OSError:
                assert time.monotonic() < deadline + 30, "the front did not come back"
                time.sleep(0.3)
        log.seek(0)
        assert "the front (Caddy) stopped; starting it again" in log.read()
    finally:
        stop_app(server, log)


def _cookie_after(url: str, cookie: str | None = None) -> str:
    """The worker cookie a browser holds after one request that sent ``cookie``: the same while its worker holds."""
    request = urllib.request.Request(f"{url}/_stcore/health", headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=10) as answer:
        given = [c for c in answer.headers.get_all("Set-Cookie") or [] if c.startswith(COOKIE + "=")]
    return given[0].split(";", 1)[0] if given else cookie


def _serve(tmp_path: Path, port: int, workers: str = "2", **popen) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / "serve.log"
    env = {**os.environ, "CNNVIZ_RUNS_DIR": str(tmp_path / "runs"), "CNNVIZ_WORKERS": workers}
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "serve.py", "--server.port", str(port), "--server.address", "127.0.0.1"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, **popen,
        )  # fmt: skip
    return process, log


@pytest.mark.parametrize("workers", ["2", "1"])
def test_a_second_server_on_a_taken_port_says_so_in_one_line(tmp_path, workers):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        process, log = _serve(tmp_path, taken.getsockname()[1], workers)
        assert process.wait(60) != 0
    lines = log.read_text().strip().splitlines()
    assert len(lines) == 1 and "is taken" in lines[0] and "--server.port" in lines[0], lines


def _alive(pid: int) -> bool:
    try:
        return _stat_fields(pid)[0] != "Z"
    except OSError:
        return False


@pytest.mark.parametrize("moment", ["while the workers start", "in class"])
def test_ctrl_c_stops_everything_serve_started_without_a_traceback(tmp_path, moment):
    port = free_port()
    # A process group of its own, as a terminal gives a command: Ctrl-C is SIGINT to the whole group.
    process, log = _serve(tmp_path, port, start_new_session=True)
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while True:
            started |= set(descendants(process.pid))
            text = log.read_text()
            if moment == "in class" and "worker processes behind Caddy" in text:
                break
            if moment != "in class" and len(started) >= 3:  # the zygote and its first workers, still importing
                break
            assert process.poll() is None and time.monotonic() < deadline, text
            time.sleep(0.2)
        if moment == "in class":
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=10) as answer:
                assert answer.status == 200
            started |= set(descendants(process.pid))
            assert any("caddy" in Path(f"/proc/{pid}/cmdline").read_text() for pid in started if _alive(pid))
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(60) == 0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while left := [pid for pid in started if _alive(pid)]:
        assert time.monotonic() < deadline, f"left behind: {left}"
        time.sleep(0.2)
    text = log.read_text()
    assert "Traceback" not in text and "Exception ignored" not in text, text
    with socket.socket() as probe:  # the port is free again
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
