"""serving/routes.py: the run version and class move routes, through a Starlette app as serve.py builds it."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from cnnviz.teaching import class_db
from cnnviz.training import jobs
from cnnviz.training.recipe import TrainConfig
from cnnviz.training.runs import create_run
from serving import routes


def page_for_every_path(request) -> PlainTextResponse:
    """Streamlit's last route: any other path gets the app's page."""
    return PlainTextResponse("<html>the app</html>", media_type="text/html")


def get(app: Starlette, path: str) -> tuple[int, dict, bytes]:
    """One GET through the whole ASGI app: (status, headers, body)."""
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    scope = {
        "type": "http", "http_version": "1.1", "method": "GET", "scheme": "http", "path": path,
        "raw_path": path.encode(), "query_string": b"", "root_path": "", "headers": [],
        "server": ("testserver", 80), "client": ("127.0.0.1", 1234),
    }  # fmt: skip
    # In a thread of its own: the session's Playwright keeps an event loop running in this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    start = next(m for m in sent if m["type"] == "http.response.start")
    headers = {k.decode().lower(): v.decode() for k, v in start["headers"]}
    return start["status"], headers, b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


def served_app(base_url_path: str = "") -> Starlette:
    app = Starlette(routes=[Route("/{path:path}", page_for_every_path)])
    routes.install(app, base_url_path)
    return app


def test_the_route_answers_a_runs_live_version_in_front_of_the_page():
    run = create_run(TrainConfig(), owner="alice")
    status, headers, body = get(served_app(), f"/api/runs/{run.id}/version")
    assert status == 200 and headers["cache-control"] == "no-store"
    assert json.loads(body) == {"version": jobs.live_version(run)}
    run.append_metrics({"kind": "step", "step": 20, "loss": 0.3})
    assert json.loads(get(served_app(), f"/api/runs/{run.id}/version")[2])["version"] == jobs.live_version(run)
    assert b"alice" not in body


def test_an_unknown_or_hostile_run_id_gets_a_404_with_a_message():
    app = served_app()
    for run_id in ("20200101-000000-classifier-000000", ".hidden", "..", "a%2F..%2F..%2Fetc"):
        status, _, body = get(app, f"/api/runs/{run_id}/version")
        assert status == 404 and "no such run" in json.loads(body)["error"]


def test_the_routes_live_under_streamlits_base_url_path():
    run = create_run(TrainConfig())
    path = routes.url("/class/", routes.run_version_path(run.id))
    assert path == f"/class/api/runs/{run.id}/version"
    assert routes.url("", routes.run_version_path(run.id)) == f"/api/runs/{run.id}/version"
    app = served_app("/class/")
    assert get(app, path)[0] == 200 and get(app, "/class/api/class/move")[0] == 200
    assert get(app, f"/api/runs/{run.id}/version")[2] == b"<html>the app</html>"  # outside the base: the page


def test_the_class_move_route_follows_the_teachers_moves(monkeypatch):
    monkeypatch.setattr(routes, "CLASS_MOVE_TTL_S", 0.0)
    app = served_app()
    assert json.loads(get(app, "/api/class/move")[2]) == {"version": "0"}  # before the first move
    room = class_db.Classroom()
    room.move_room("pooling", 2)
    first = json.loads(get(app, "/api/class/move")[2])["version"]
    room.move_room("pooling", 3)
    assert json.loads(get(app, "/api/class/move")[2])["version"] == str(room.room().move) != first


def test_students_asking_together_share_one_database_read(monkeypatch):
    reads = []
    real_room = class_db.Classroom.room
    monkeypatch.setattr(class_db.Classroom, "room", lambda self, *a: reads.append(1) or real_room(self, *a))
    monkeypatch.setattr(routes, "CLASS_MOVE_TTL_S", 60.0)
    app = served_app()
    answers = {get(app, "/api/class/move")[2] for _ in range(30)}
    assert len(answers) == 1 and len(reads) == 1
