"""Start the cnnviz server: ``streamlit run app.py``, tuned for a classroom on a small machine.

Usage: ``python serve.py [streamlit options]``, e.g. ``--server.port 8501``.

With ``CNNVIZ_WORKERS`` above 1 (default: one per core) it starts that many copies of itself on localhost
ports, each one Streamlit process, behind the sticky door of ``serving`` on the given address and port
(see serving/supervisor.py); with 1 it is the one Streamlit process itself.
"""

import gc
import os
import sys

# Torch's OpenMP threads busy-wait by default; beside a background training
# process on a small machine that costs both up to 7x (see README, Training).
# Must be set before torch is imported anywhere in this process.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pathlib import Path

from streamlit import config
from streamlit.runtime.pages_manager import PagesManager
from streamlit.web import bootstrap, cli
from streamlit.web.server.starlette import starlette_server

from serving import supervisor

# app.py routes with st.navigation, but Streamlit still sees the pages/ folder
# and, until app.py has run once in this process, serves a deep link such as
# /explorer?kernel=5 (a teacher's shared link, right after a server restart) by
# running pages/explorer.py alone: no navigation, no page config. Declaring the
# app navigation-routed up front closes that gap; tests/test_serve.py checks it.
PagesManager.uses_pages_directory = False


def _no_config_watchers(flag_options: dict) -> None:
    """Streamlit polls every config.toml five times a second to reload it, whatever
    ``server.fileWatcherType`` says: about 6% of a core on an idle 2-core server.
    A classroom server reads its settings once; restart it to change them."""


bootstrap._install_config_watchers = _no_config_watchers

_streamlit_app = starlette_server.create_starlette_app


def _app_with_our_routes(runtime):
    """Streamlit's web app with serving/routes.py's routes in front (what the Train and Lessons pages ask)."""
    from serving import routes  # here, not above: it imports torch, which the door's own process never needs

    app = _streamlit_app(runtime)
    routes.install(app, config.get_option("server.baseUrlPath"))
    return app


starlette_server.create_starlette_app = _app_with_our_routes


def freeze_imports() -> int:
    """Import the heavy libraries now and move their objects out of the garbage collector's sight.

    torch, plotly and streamlit leave about 270,000 long-lived objects; every
    full collection walks all of them (tens of milliseconds, on one student's
    click). Frozen objects are never scanned again. Returns how many were frozen.

    torchvision too: it imports torch._dynamo, sympy and triton, about 150,000 more objects. Imported later (at
    the first MNIST read), they made each full collection cost ~70 ms of a worker, once every ~75 clicks.
    """
    import pandas  # noqa: F401  (Streamlit imports it on the first widget or component value: 2 s of a first click)
    import plotly.graph_objects  # noqa: F401
    import torch  # noqa: F401
    import torchvision.datasets  # noqa: F401  (cnnviz.data reads MNIST with it)

    import cnnviz.draw_view  # noqa: F401
    import cnnviz.explorer_view  # noqa: F401
    import models  # noqa: F401

    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def check_lessons() -> str | None:
    """The lesson files' first problem (file and field named), said when the server starts; None if all are fine.

    The server starts either way: the other pages work, and the Lessons page shows the same message.
    """
    from cnnviz.lessons import LessonError, load_lessons

    try:
        load_lessons()
    except LessonError as error:
        return f"Lesson problem: {error}"
    return None


def run_streamlit(options: list[str]) -> int:
    """Serve the app in this process (imports already frozen): ``streamlit run app.py`` with ``options``."""
    problem = check_lessons()
    if problem:
        print(problem, file=sys.stderr)
    from cnnviz import jobs

    jobs.start_queue_keeper()  # a queue left waiting by a restart or a killed trainer moves on with no page open
    sys.argv = ["streamlit", "run", "app.py", *options]
    try:
        return cli.main()
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 1


if __name__ == "__main__":
    workers = supervisor.worker_count()
    if workers > 1:
        sys.exit(supervisor.serve(Path(__file__).resolve().parent, sys.argv[1:], workers))
    freeze_imports()
    sys.exit(run_streamlit(sys.argv[1:]))
