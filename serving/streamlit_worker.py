"""One Streamlit process of the app: the imports frozen before serving, the lesson check, ``streamlit run app.py``.

Run by ``serve.py`` itself (one worker) or forked by :mod:`serving.zygote` (several). The thread policy is set
before torch loads anywhere in the process: torch's OpenMP threads busy-wait by default, and beside a background
training process on a small machine that costs both up to 7x (docs/speed.md).
"""

import gc
import sys

from streamlit.web import cli

import cnnviz  # noqa: F401  (first of the app's imports: it sets the thread policy before torch loads)
import serving.patches  # noqa: F401  (applies them)


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

    import cnnviz.views.draw_view  # noqa: F401
    import cnnviz.views.explorer_view  # noqa: F401
    import models  # noqa: F401

    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def check_lessons() -> str | None:
    """The lesson files' first problem (file and field named), said when the server starts; None if all are fine.

    The server starts either way: the other pages work, and the Lessons page shows the same message.
    """
    from cnnviz.teaching.lesson_files import LessonError, load_lessons

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
    from cnnviz import admin

    if warning := admin.token_warning():
        print(warning, file=sys.stderr)
    sys.argv = ["streamlit", "run", "app.py", *options]
    try:
        return cli.main()
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 1
