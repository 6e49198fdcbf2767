"""Shared fixtures: real MNIST, an isolated runs folder, and the app served to headless Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
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


@pytest.fixture(autouse=True)
def isolated_runs_dir(tmp_path_factory, monkeypatch):
    """Every test gets its own runs folder (and so its own queue, a SQLite file in it): nothing leaks into ./runs."""
    monkeypatch.setenv("CNNVIZ_RUNS_DIR", str(tmp_path_factory.mktemp("runs")))


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
    if CHROMIUM:
        return
    for item in items:
        if "browser" in item.keywords:
            _skipped_browser.append(item.nodeid)
            item.add_marker(pytest.mark.skip(reason="Chromium not found: install Debian's chromium to run it"))


def pytest_terminal_summary(terminalreporter):
    if _skipped_browser:
        terminalreporter.write_sep(
            "!", f"BROWSER TESTS SKIPPED: {len(_skipped_browser)} (no chromium on PATH; apt-get install chromium)"
        )
    elif CHROMIUM:
        terminalreporter.write_line(f"browser tests ran in {CHROMIUM}")


def start_app(folder: Path):
    """Serve the real app with `python serve.py` on a free local port; return (process, url, log)."""
    port = free_port()
    env = {**os.environ, "CNNVIZ_RUNS_DIR": str(folder / "runs")}
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
