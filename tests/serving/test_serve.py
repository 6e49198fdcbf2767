"""serve.py: a deep link is the first request of a fresh server, as after a restart in class."""

import pytest


@pytest.mark.browser
def test_deep_link_first_after_start_gets_the_apps_navigation(browser, tmp_path):
    from tests.conftest import start_app, stop_app, wait_for_app

    server, url, log = start_app(tmp_path)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        tab = context.new_page()
        tab.goto(f"{url}/explorer")
        wait_for_app(tab)
        nav = tab.get_by_test_id("stSidebarNav")
        nav.get_by_text("Layer explorer").wait_for(timeout=30_000)  # st.Page titles, not file names
        assert nav.get_by_text("app", exact=True).count() == 0
        assert tab.locator("[data-testid='stException']").count() == 0
    finally:
        context.close()
        stop_app(server, log)


def test_the_served_app_skips_per_run_garbage_collection_and_file_watching():
    """Per-run full collections and the polling watcher were most of a click's server CPU (issue 8)."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    probe = (
        "from streamlit import config; config.get_config_options(force_reparse=True);"
        "print(config.get_option('runner.postScriptGC'), config.get_option('server.fileWatcherType'))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "none"]


def test_serve_freezes_the_imported_libraries_out_of_the_collectors_sight():
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    probe = """
import gc
from pathlib import Path
from cnnviz.data import mnist
from serving import streamlit_worker as worker
assert gc.get_freeze_count() == 0
frozen = worker.freeze_imports()
tracked = len(gc.get_objects())
try:
    mnist._read(Path("/nonexistent"), True, False)  # what a first MNIST read imports, found or not
except mnist.MNISTNotFound:
    pass
print(frozen, len(gc.get_objects()) - tracked)
"""
    out = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=True).stdout
    frozen, added = map(int, out.split())
    assert frozen > 250_000  # torch, torchvision, plotly, streamlit: hundreds of thousands of long-lived objects
    # reading MNIST (torchvision, which pulls torch._dynamo and sympy) adds next to nothing a collection walks
    assert added < 20_000


def test_serve_does_not_poll_the_config_files(monkeypatch):
    from streamlit.web import bootstrap

    import serving.patches  # noqa: F401  (replaces bootstrap's config watchers on import)

    watched = []
    monkeypatch.setattr(bootstrap, "watch_file", lambda *args, **kwargs: watched.append(args))
    bootstrap._install_config_watchers({})
    assert watched == []


def test_serve_names_a_broken_lesson_file_when_it_starts(tmp_path, monkeypatch):
    from serving import streamlit_worker as worker

    assert worker.check_lessons() is None  # the shipped lessons are fine
    (tmp_path / "broken.toml").write_text('title = "Broken"\norder = 1\n[[steps]]\ntitle = 3\n')
    monkeypatch.setenv("CNNVIZ_LESSONS_DIR", str(tmp_path))
    problem = worker.check_lessons()
    assert problem.startswith("Lesson problem: broken.toml") and "title" in problem


def test_a_worker_behind_the_front_does_not_print_its_own_loopback_url(monkeypatch, capsys):
    from streamlit.web import bootstrap

    from serving import patches
    from serving.front import BEHIND_FRONT_ENV

    monkeypatch.setattr(patches, "_print_url", lambda hello: print("You can now view your Streamlit app"))
    monkeypatch.setenv(BEHIND_FRONT_ENV, "1")
    bootstrap._print_url(False)
    assert capsys.readouterr().out == ""
    monkeypatch.delenv(BEHIND_FRONT_ENV)  # one process alone (CNNVIZ_WORKERS=1): its URL is the one to give
    bootstrap._print_url(False)
    assert "You can now view" in capsys.readouterr().out
