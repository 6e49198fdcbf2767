"""Shared fixtures: real MNIST, an isolated runs folder, and the app served to headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

import pytest

import cnnviz  # noqa: F401  (sets torch's thread policy before any test imports torch)
from benchmarks.bench_browser import CHROMIUM_ARGS
from cnnviz.training.state import runs_dir
from serving.supervisor import free_port

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"

# Tests read MNIST from the workplace's shared copy unless told otherwise, and
# never write into it.
if "CNNVIZ_DATA_DIR" not in os.environ and (SHARED_DATA / "MNIST" / "raw").is_dir():
    os.environ["CNNVIZ_DATA_DIR"] = str(SHARED_DATA)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_skipped_browser: list[str] = []
POSTGRES_URL_ENV = "CNNVIZ_TEST_POSTGRES_URL"  # a server the `postgres` tests may create schemas in
POSTGRES_SCHEMA_PREFIX = "cnnviz_test_"  # each test's own schema: created, then dropped with all it holds
_skipped_postgres: list[str] = []


@pytest.fixture(autouse=True)
def isolated_runs_dir(tmp_path_factory, monkeypatch):
    """Every test gets its own runs folder (and so its own queue, a SQLite file in it): nothing leaks into
    ./runs; no class database pool outlives its test."""
    monkeypatch.setenv("CNNVIZ_RUNS_DIR", str(tmp_path_factory.mktemp("runs")))
    yield
    if "cnnviz.teaching.class_store" in sys.modules:  # no pool (and its reconnecting threads) outlives its test
        sys.modules["cnnviz.teaching.class_store"].close_pools()
    if "cnnviz.admin" in sys.modules:  # wrong admin tokens of one test do not lock the next one out
        sys.modules["cnnviz.admin"].GUARD.reset()


QUEUE_WORKER_STOP_S = 90  # a stopping worker lets its trainings save first (seconds on a busy 2-core machine)


@pytest.fixture
def start_worker():
    """``start_worker(*args, **env)``: a queue worker process on this test's runs folder; all end with the test.

    Its output goes to ``.worker-N.log`` in the runs folder (:func:`worker_logs` reads them for a failing assertion).
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
            process.wait(QUEUE_WORKER_STOP_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def worker_logs() -> str:
    """Every worker's output so far (for the message of a failing assertion)."""
    return "\n".join(path.read_text() for path in sorted(runs_dir().glob(".worker-*.log")))


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST splits, downloaded once into $CNNVIZ_DATA_DIR when missing and the internet answers.

    Without the data and without internet: skipped with the data's own message outside CI,
    failed in CI (CI always has the data), except in CI's fresh-clone pass, which sets
    CNNVIZ_TEST_MNIST=optional. Set CNNVIZ_TEST_DOWNLOAD=0 to never try the download.
    """

    from cnnviz.data.mnist import MNISTNotFound, load_mnist

    try:
        return load_mnist()
    except MNISTNotFound as error:
        missing = error
    if os.environ.get("CNNVIZ_TEST_DOWNLOAD", "1") != "0":
        previous = socket.getdefaulttimeout()
        socket.setdefaulttimeout(30)  # an unreachable mirror must not hang the suite
        try:
            return load_mnist(download=True)
        except MNISTNotFound as error:
            missing = error
        finally:
            socket.setdefaulttimeout(previous)
    if os.environ.get("CI") and os.environ.get("CNNVIZ_TEST_MNIST", "expected") != "optional":
        raise missing
    pytest.skip(str(missing))


@pytest.fixture(scope="session")
def mnist_digits():
    """The 10,000 MNIST test digits, or the 200 shipped with cnnviz where MNIST is missing (a fresh offline
    clone), as the pages see them: for tests that need some real digits, not the full set."""
    from cnnviz.data.mnist import test_digits

    return test_digits()[0]


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "browser" in item.keywords and not CHROMIUM:
            _skipped_browser.append(item.nodeid)
            item.add_marker(pytest.mark.skip(reason="Chromium not found: install Debian's chromium to run it"))


def pytest_runtest_setup(item):
    # In CI, .ci/run starts a server: without one the tests fail (postgres_server) rather than pass on SQLite.
    if item.get_closest_marker("postgres") and not os.environ.get(POSTGRES_URL_ENV) and not os.environ.get("CI"):
        _skipped_postgres.append(item.nodeid)
        pytest.skip(f"{POSTGRES_URL_ENV} is not set: no PostgreSQL server to test on")


def pytest_terminal_summary(terminalreporter):
    if _skipped_browser:
        terminalreporter.write_sep(
            "!", f"BROWSER TESTS SKIPPED: {len(_skipped_browser)} (no chromium on PATH; apt-get install chromium)"
        )
    elif CHROMIUM:
        terminalreporter.write_line(f"browser tests ran in {CHROMIUM}")
    if _skipped_postgres:
        terminalreporter.write_sep(
            "!", f"POSTGRES TESTS SKIPPED: {len(_skipped_postgres)} (set {POSTGRES_URL_ENV}; `bash .ci/postgres.sh "
            "start` starts a server and prints the line)",
        )  # fmt: skip


def with_query(url: str, **params: str) -> str:
    """``url`` with libpq parameters added (``options``, ``application_name``, ``password``...)."""
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.urlencode(
        [*urllib.parse.parse_qsl(parts.query), *params.items()], quote_via=urllib.parse.quote
    )
    return urllib.parse.urlunsplit(parts._replace(query=query))


def postgres_test_schemas(server_url: str) -> list[str]:
    import psycopg

    with psycopg.connect(server_url, autocommit=True) as connection:
        rows = connection.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE %s",
                                  (POSTGRES_SCHEMA_PREFIX + "%",)).fetchall()  # fmt: skip
    return [row[0] for row in rows]


@pytest.fixture(scope="session")
def postgres_server():
    """``$CNNVIZ_TEST_POSTGRES_URL``; at the end of the session, no schema of the tests is left there."""
    url = os.environ.get(POSTGRES_URL_ENV)
    if not url:
        pytest.fail(f"{POSTGRES_URL_ENV} is not set, and CI is: .ci/run should have started a server")
    left = postgres_test_schemas(url)
    yield url
    from cnnviz.teaching import class_store

    class_store.close_pools()
    assert postgres_test_schemas(url) == left, "a postgres test left its schema behind"


def schema_url(server_url: str, schema: str, options: str = "") -> str:
    """``server_url`` whose connections work in ``schema`` (``search_path``; ``options`` adds more ``-c``
    settings); ``application_name`` names the schema, so a test can count its connections."""
    return with_query(server_url, options=f"-c search_path={schema} {options}".strip(), application_name=schema)


@pytest.fixture
def postgres_schema(postgres_server):
    """(server URL, a schema of this test's own): created empty, dropped afterwards with everything in it."""
    import psycopg

    schema = POSTGRES_SCHEMA_PREFIX + uuid.uuid4().hex[:12]
    with psycopg.connect(postgres_server, autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    yield postgres_server, schema
    from cnnviz.teaching import class_store

    class_store.close_pools()
    with psycopg.connect(postgres_server, autocommit=True) as connection:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def postgres_url(postgres_schema):
    """A URL for this test's own schema (see postgres_schema)."""
    return schema_url(*postgres_schema)


PG_BIN = Path(os.environ.get("CNNVIZ_PG_BIN", "/usr/lib/postgresql/15/bin"))


@pytest.fixture
def own_postgres_cluster():
    """A PostgreSQL cluster of this test's own, started by .ci/postgres.sh (Debian's postgresql, as root):
    (URL, pg_ctl command line that the test may stop and start it with)."""
    if os.geteuid() != 0 or not (PG_BIN / "initdb").exists() or not shutil.which("runuser"):
        pytest.skip(f"needs root and Debian's postgresql in {PG_BIN} (.ci/run installs it) to stop a server")
    script = 'source .ci/postgres.sh && cnnviz_postgres_start >&2 && echo "$CNNVIZ_TEST_POSTGRES_URL $CNNVIZ_PG_DIR"'
    started = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    url, folder = started.stdout.split()
    pg_ctl = ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", f"{folder}/data", "-w", "-s"]
    yield url, pg_ctl
    from cnnviz.teaching import class_store

    class_store.close_pools()
    subprocess.run(["bash", "-c", f"source .ci/postgres.sh && cnnviz_postgres_stop {folder}"], cwd=ROOT, timeout=60)
    assert not Path(folder).exists()


class TcpGate:
    """A byte pump on a loopback port in front of a real server, to make that server vanish mid-test:
    ``close()`` refuses new connections and cuts the open ones (what a stopped server looks like to its
    clients), ``open()`` lets them through again on the same port."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.port = free_port()
        self._sockets: list[socket.socket] = []
        self._listener: socket.socket | None = None
        self._lock = threading.Lock()
        self.open()

    def open(self) -> None:
        listener = socket.create_server(("127.0.0.1", self.port), reuse_port=False)
        listener.settimeout(0.2)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if self._listener is not listener:
                client.close()
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        source.settimeout(None)
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # stop listening now, not when accept() next wakes
            except OSError:
                pass
            listener.close()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


@pytest.fixture
def postgres_gate(postgres_url):
    """(URL through a TcpGate, the gate): the test's schema on a server that the test can take away."""
    parts = urllib.parse.urlsplit(postgres_url)
    gate = TcpGate(parts.hostname or "127.0.0.1", parts.port or 5432)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{gate.port}"
    yield urllib.parse.urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host)), gate
    gate.close()


def start_app(folder: Path, **settings: str):
    """Serve the real app with `python serve.py` on a free local port, ``settings`` added to its environment
    (e.g. ``CNNVIZ_ADMIN_TOKEN``); return (process, url, log)."""
    port = free_port()
    env = {**os.environ, "CNNVIZ_RUNS_DIR": str(folder / "runs"), **settings}
    log = open(folder / "streamlit.log", "w+")  # noqa: SIM115
    server = subprocess.Popen(
        [sys.executable, "serve.py", "--server.port", str(port), "--server.address", "127.0.0.1"],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{url}/_stcore/health", timeout=1)
            return server, url, log
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                log.seek(0)
                pytest.fail(f"streamlit did not start:\n{log.read()}")
            time.sleep(0.3)


def stop_app(server, log) -> None:
    server.terminate()
    try:
        server.wait(10)
    except subprocess.TimeoutExpired:
        server.kill()
    log.close()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    """The real app, shared by the browser tests of a session; yields its base URL and its runs folder."""
    folder = tmp_path_factory.mktemp("server")
    server, url, log = start_app(folder)
    yield url, folder / "runs"
    stop_app(server, log)


@pytest.fixture(scope="session")
def app_url(app_server):
    """The shared app's base URL."""
    return app_server[0]


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (never `playwright install`)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url):
    """A fresh browser tab; fails the test if the page shows a Python exception."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(30_000)
    yield tab
    assert tab.locator("[data-testid='stException']").count() == 0, "the page shows an exception"
    context.close()


def wait_for_app(tab) -> None:
    """Wait until Streamlit has finished running the page's script."""
    tab.wait_for_selector("[data-testid='stApp']")
    tab.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]')"
        " || !document.querySelector('[data-testid=\"stStatusWidget\"]').innerText.includes('Running')",
        timeout=90_000,  # generous: a busy 2-core machine can take tens of seconds per rerun
    )


def open_page(tab, base_url: str, path: str) -> None:
    """Open ``path`` as a student would: the app's main script first, so that its navigation is in place
    before the deep link, each time until the run has finished."""
    for url in (base_url, f"{base_url}/{path.lstrip('/')}"):
        tab.goto(url)
        wait_for_app(tab)


@pytest.fixture(scope="session")
def trained_classifier():
    """The shipped classifier (models/pretrained/classifier.pt) in eval mode."""
    from models import load_pretrained

    return load_pretrained("classifier")
