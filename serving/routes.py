"""HTTP routes that serve.py adds to each Streamlit process: what a page's browser side may ask without a rerun.

A rerun of even an empty Streamlit fragment costs the server ~6-10 ms (a script thread, the session
messages); a request here costs a fraction of one. So a page that watches something changing slowly asks
here each second and reruns only when the answer changes (widgets/run_watch.py).

Everything these routes answer is what any student's page may already show.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from cnnviz import jobs
from cnnviz.runs import get_run

RUN_VERSION_PATH = "api/runs/{run_id}/version"
_NO_STORE = {"Cache-Control": "no-store"}


def run_version_url(base_url_path: str, run_id: str) -> str:
    """The path a browser asks for ``run_id``'s version, under Streamlit's ``server.baseUrlPath``."""
    base = base_url_path.strip("/")
    return "/" + "/".join(part for part in (base, RUN_VERSION_PATH.format(run_id=run_id)) if part)


def run_version(request: Request) -> JSONResponse:
    """``{"version": ...}`` of a run (see :func:`cnnviz.jobs.live_version`), or 404 ``{"error": ...}``.

    A plain function: Starlette runs it in a worker thread, so a slow disk never holds up the event loop
    that carries every student's websocket.
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


def install(app: Starlette, base_url_path: str) -> None:
    """Add the routes in front of Streamlit's own (whose last route answers every path with the page)."""
    path = run_version_url(base_url_path, "{run_id}")
    app.router.routes.insert(0, Route(path, run_version, methods=["GET"]))
