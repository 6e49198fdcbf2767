"""HTTP routes that serve.py adds to each Streamlit process: what a page's browser side may ask without a rerun.

A rerun of even an empty Streamlit fragment costs the server ~6-10 ms (a script thread, the session
messages); a request here costs a fraction of one. So a page that watches something changing slowly
asks here every second or two and reruns only when the answer changes (widgets/watch.py).

Everything these routes answer is what any student's page may already show.
"""

from __future__ import annotations

import functools
import threading
import time

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cnnviz.teaching import class_db
from cnnviz.training import jobs
from cnnviz.training.runs import get_run

RUN_VERSION = "api/runs/{run_id}/version"  # a training run: changes with its status, metrics and samples
CLASS_MOVE = "api/class/move"  # the class's "move the room" counter: changes when the teacher moves the room
CLASS_MOVE_TTL_S = 0.5  # 60 students asking every 2 s share one database read per half second
_NO_STORE = {"Cache-Control": "no-store"}


def run_version_path(run_id: str) -> str:
    return RUN_VERSION.format(run_id=run_id)


def url(base_url_path: str, route: str) -> str:
    """The path a browser asks for ``route``, under Streamlit's ``server.baseUrlPath``."""
    return "/" + "/".join(part for part in (base_url_path.strip("/"), route) if part)


def run_version(request: Request) -> JSONResponse:
    """``{"version": ...}`` of a run (see :func:`cnnviz.training.jobs.live_version`), or 404 ``{"error": ...}``.

    Plain functions, these: Starlette runs them in a worker thread, so a slow disk never holds up the
    event loop that carries every student's websocket.
    """
    try:
        run = get_run(request.path_params["run_id"])
    except KeyError:
        return JSONResponse({"error": "There is no such run (deleted, or a mistyped link)."}, 404, _NO_STORE)
    try:
        version = jobs.live_version(run)
    except OSError as error:
        return JSONResponse({"error": jobs.storage_message(error)}, 503, _NO_STORE)
    return JSONResponse({"version": version}, headers=_NO_STORE)


@functools.cache
def _classroom(database_url: str) -> class_db.Classroom:
    return class_db.Classroom(database_url)


_moves: dict[str, tuple[float, str]] = {}  # database url -> (when read, version)
_moves_lock = threading.Lock()


def class_move_version(database_url: str) -> str:
    """The current class's move counter as text ("0" before the first move), read at most every CLASS_MOVE_TTL_S."""
    with _moves_lock:
        cached = _moves.get(database_url)
        if cached is not None and time.monotonic() - cached[0] < CLASS_MOVE_TTL_S:
            return cached[1]
        move = _classroom(database_url).room()
        version = str(move.move if move is not None else 0)
        _moves[database_url] = (time.monotonic(), version)
        return version


def class_move(request: Request) -> JSONResponse:
    """``{"version": <the move counter>}``, or 503 ``{"error": ...}`` while the database is busy."""
    try:
        return JSONResponse({"version": class_move_version(class_db.database_url())}, headers=_NO_STORE)
    except class_db.ClassroomError as error:
        return JSONResponse({"error": str(error)}, 503, _NO_STORE)


def install(app: Starlette, base_url_path: str) -> None:
    """Add the routes in front of Streamlit's own (whose last route answers every path with the page)."""
    app.router.routes[0:0] = [
        Route(url(base_url_path, RUN_VERSION), run_version, methods=["GET"]),
        Route(url(base_url_path, CLASS_MOVE), class_move, methods=["GET"]),
    ]
