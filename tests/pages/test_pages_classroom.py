"""The Class page under streamlit.testing: the admin token, who is where, answer counts, moving the room."""

from __future__ import annotations

import re
import time

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.page_list import page_path
from cnnviz.teaching import class_db, class_store
from cnnviz.training import jobs
from serving.supervisor import free_port

TOKEN = "teacher-secret"


@pytest.fixture(autouse=True)
def admin_token(monkeypatch):
    monkeypatch.setenv(jobs.ADMIN_TOKEN_ENV, TOKEN)


def class_page(token: str | None = TOKEN) -> AppTest:
    at = AppTest.from_file("../../app.py", default_timeout=60).run()
    at.switch_page(page_path("classroom")).run()
    if token is not None:
        at.text_input(key="cl_admin").set_value(token).run()
    assert not at.exception, at.exception
    return at


def room_html(at: AppTest) -> str:
    return "\n".join(re.sub(r"<style>.*?</style>", "", h.proto.body, flags=re.S) for h in at.get("html"))


def test_the_class_view_needs_the_admin_token():
    at = class_page(token=None)
    assert "type the admin token" in at.info[0].value and not at.get("html")
    at.text_input(key="cl_admin").set_value("guess").run()
    assert "does not match" in at.error[0].value and not at.get("html")


def test_the_class_view_shows_who_is_where_and_how_answers_went_escaped():
    room = class_db.Classroom()
    room.record_progress("browser-aaaa0001", "pooling", 1)
    room.set_nickname("browser-aaaa0001", "Ada O'Neil")
    room.record_progress("browser-bbbb0002", "pooling", 1, follow=False)
    room.record_answer("browser-aaaa0001", "pooling/0", "(8, 14, 14)", "8x14x14", True)
    room.record_answer("browser-bbbb0002", "pooling/0", "<script>alert(1)</script>", "x", False)
    shown = room_html(class_page())
    assert "Pooling · 2. Average pooling" in shown
    assert "Ada O&#x27;Neil" in shown and "anonymous 0002 ⤫" in shown  # the second one does not follow
    assert "1 of 2 right" in shown and "&lt;script&gt;alert(1)&lt;/script&gt; (1×)" in shown
    assert "<script>" not in shown


def test_moving_the_room_and_starting_a_new_class():
    at = class_page()
    at.selectbox(key="cl_lesson").set_value("residual").run()
    at.selectbox(key="cl_step_residual").set_value(2).run()
    at.button(key="cl_move").click().run()
    room = class_db.Classroom()
    move = room.room()
    assert (move.lesson, move.step, move.move) == ("residual", 2, 1)
    assert "The residual block · 3. What a residual block learns" in room_html(at)
    assert at.get("download_button"), "the CSV export is offered"
    old = room.current_class()
    assert at.button(key="cl_new").disabled  # not without "Sure?"
    at.text_input(key="cl_name").set_value("Group B")
    at.checkbox(key="cl_sure").check().run()
    at.button(key="cl_new").click().run()
    assert not at.exception, at.exception
    new = room.current_class()
    assert new.id != old.id and new.name == "Group B" and room.room() is None


def test_a_class_database_that_does_not_answer_is_one_message(monkeypatch):
    monkeypatch.setenv(class_db.DB_ENV, f"postgresql://teacher:pw@127.0.0.1:{free_port()}/class")  # a closed port
    at = class_page()
    assert len(at.error) == 1 and not at.warning and not at.get("html")
    assert "does not answer (Connection refused)" in at.error[0].value and "pw@" not in at.error[0].value


@pytest.mark.postgres
def test_the_class_view_says_so_while_the_database_is_away_and_shows_everyone_after(postgres_gate, monkeypatch):
    monkeypatch.setattr(class_store, "RETRY_S", 0.2)
    url, gate = postgres_gate
    monkeypatch.setenv(class_db.DB_ENV, url)
    class_db.Classroom(url).record_answer("browser-aaaa0001", "pooling/0", "(8, 14, 14)", "8x14x14", True)
    at = class_page()
    assert "1 of 1 right" in room_html(at)
    gate.close()
    at.run()
    assert len(at.error) == 1 and "does not answer" in at.error[0].value and not at.exception
    gate.open()
    time.sleep(0.3)
    at.run()
    assert not at.error and "1 of 1 right" in room_html(at)
