"""The Class page under streamlit.testing: the admin token, who is where, answer counts, moving the room."""

from __future__ import annotations

import logging
import re
import time

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz import admin
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


# --- issue 25: the token throttled and logged, places to check and free, a full class said ---------------------------


def test_wrong_tokens_are_slowed_and_logged_and_the_right_one_waits_out_the_lock(caplog):
    caplog.set_level(logging.INFO, logger="cnnviz")
    at = class_page(token=None)
    box = at.text_input(key="cl_admin")
    for n in range(admin.GUARD.limits.free_per_session):
        box.set_value(f"guess-{n}").run()
        assert "does not match" in at.error[0].value
    box.set_value("guess-last").run()
    assert "next: 2 s" in at.error[0].value
    box.set_value(TOKEN).run()  # right, but inside the lock: not even compared
    assert "Too many wrong admin tokens" in at.error[0].value and not at.get("html")
    lines = [r.getMessage() for r in caplog.records if r.name == "cnnviz.admin"]
    assert len(lines) == admin.GUARD.limits.free_per_session + 2 and "127.0.0.1" in lines[0]
    assert not any("guess-" in line or TOKEN in line for line in lines)
    admin.GUARD.reset()  # the lock over
    at.run()  # the token still in its box
    assert at.get("html"), "the class view, once the lock is over"


def test_places_to_check_are_shown_and_freed_with_a_log_line(monkeypatch, caplog):
    caplog.set_level(logging.INFO, logger="cnnviz")
    monkeypatch.setenv(class_db.NEW_STUDENTS_ENV, "0")
    room = class_db.Classroom()
    for number in range(45):  # one address fills places without answering
        room.set_nickname(f"browser-flood{number:03d}", f"Bot {number}", address="203.0.113.66")
    room.record_answer("browser-flood000", "conv/0", "1", "1", True)  # the one that answered stays on demand
    room.record_answer("browser-real0001", "conv/0", "1", "1", True, address="198.51.100.3")
    room.set_nickname("browser-empty001", "Gone", address="198.51.100.4")
    room.set_nickname("browser-empty001", "")
    at = class_page()
    assert "47</b> of 500 places taken" in room_html(at)
    assert "203.0.113.66: 45" in " ".join(c.value for c in at.caption)
    options = at.selectbox(key="cl_clean_pick").options
    assert options == ["1 empty (no answer, no nickname)", "45 from 203.0.113.66: its 44 without an answer",
                       "45 from 203.0.113.66: all of them"]  # fmt: skip
    at.selectbox(key="cl_clean_pick").set_value(options[1]).run()
    assert at.button(key="cl_clean").disabled  # not without "Sure?"
    at.checkbox(key="cl_clean_sure").check().run()
    at.button(key="cl_clean").click().run()
    assert not at.exception and "Freed 44 places" in at.success[0].value
    assert {e.student for e in room.entries()} == {"browser-flood000", "browser-real0001", "browser-empty001"}
    assert any("teacher action from 127.0.0.1: freed 44 places" in r.getMessage() for r in caplog.records)


def test_a_full_class_says_so_to_the_teacher(monkeypatch):
    monkeypatch.setattr(class_db, "MAX_STUDENTS", 2)
    room = class_db.Classroom()
    room.set_nickname("browser-aaaa0001", "Ada")
    room.record_progress("browser-watch001", "conv", 0)
    assert "The class is full" not in room_html(class_page())
    room.set_nickname("browser-bbbb0002", "Bea")
    shown = room_html(class_page())
    assert "2</b> of 2 places taken" in shown and "1 more watching" in shown and "The class is full" in shown


BROKEN = class_db.DatabaseUnavailable(class_store.Problem.BROKEN, "the test's database", "disk I/O error")


@pytest.mark.parametrize("method", ["entries", "watching", "remove_students", "move_room", "new_class",
                                    "students", "question_stats", "room"])  # fmt: skip
def test_every_teachers_button_on_a_failing_database_is_a_message(method, monkeypatch):
    monkeypatch.setenv(class_db.NEW_STUDENTS_ENV, "0")
    room = class_db.Classroom()
    room.set_nickname("browser-empty001", "Gone")
    room.set_nickname("browser-empty001", "")
    room.record_answer("browser-real0001", "conv/0", "1", "1", True)
    klass = room.current_class()
    at = class_page()
    shown: list[str] = []

    def fail(*args, **kwargs):
        raise BROKEN

    def seen() -> None:
        assert not at.exception, at.exception
        shown.extend(m.value for m in (*at.warning, *at.error))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(class_db.Classroom, method, fail)
        at.run()
        seen()
        if at.get("selectbox") and any(s.key == "cl_clean_pick" for s in at.selectbox):
            at.checkbox(key="cl_clean_sure").check().run()
            at.button(key="cl_clean").click().run()
            seen()
        at.button(key="cl_move").click().run()
        seen()
        at.checkbox(key="cl_sure").check().run()
        at.button(key="cl_new").click().run()
        seen()
    assert any("disk I/O error" in m for m in shown), shown
    assert class_db.Classroom().answered("browser-real0001", klass.id) == {"conv/0": True}  # nothing saved is lost
