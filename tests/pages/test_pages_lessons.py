"""The Lessons page under streamlit.testing: answer, feedback, progress kept, the teacher's move followed."""

from __future__ import annotations

import subprocess
import time

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.page_list import page_path
from cnnviz.teaching import class_db, class_store, lesson_files, quiz
from serving.supervisor import free_port
from widgets.client import ADDRESS_KEY

LESSONS = {lesson.slug: lesson for lesson in lesson_files.load_lessons()}


def lessons_page(student: str = "browser-test0001") -> AppTest:
    at = AppTest.from_file("../../app.py", default_timeout=60)
    at.session_state["ls_student"] = student  # AppTest has no cookie: the id the cookie would give
    at.run()
    at.switch_page(page_path("lessons")).run()
    assert not at.exception, at.exception
    return at


def current_question(slug: str, step: int) -> quiz.Question:
    seed = class_db.Classroom().current_class().seed
    return lesson_files.step_question(LESSONS[slug], step, seed)


def answer(at: AppTest, text: str) -> AppTest:
    box = next(t for t in at.text_input if t.key and t.key.startswith("ls_form_"))
    box.set_value(text)
    next(b for b in at.button if b.label == "Check").click().run()
    assert not at.exception, at.exception
    return at


def test_a_right_answer_is_counted_once_and_a_wrong_one_gets_the_worked_formula():
    at = lessons_page()
    assert at.title[0].value == "The convolution" and at.header[0].value == "A kernel slides over the image"
    question = current_question("convolution", 0)
    assert question.text in [m.value for m in at.markdown]
    wrong = tuple(n + 1 for n in question.answer)
    answer(at, "x".join(map(str, wrong)))
    assert at.error[0].value.startswith(f"Not {quiz.format_answer(quiz.SHAPE, wrong)}")
    assert "H_out = ⌊(" in at.code[0].value  # the explorer's formula with the question's numbers
    answer(at, question.answer_text)  # too late to count: the first answer counts
    assert at.success[0].value.startswith("Right") and "first answer" in at.caption[-1].value
    room = class_db.Classroom()
    assert room.answered("browser-test0001") == {"convolution/0": False}
    (stats,) = room.question_stats()
    assert (stats.answered, stats.right) == (1, 0)


def test_unreadable_answers_are_explained_and_not_stored():
    at = answer(lessons_page(), "no idea")
    assert "could not be read" in at.error[0].value
    assert class_db.Classroom().question_stats() == []


def test_progress_is_kept_for_the_browser_across_sessions():
    at = lessons_page("browser-keep0001")
    at.button(key="ls_next").click().run()
    at.button(key="ls_next").click().run()
    assert at.header[0].value == LESSONS["convolution"].steps[2].title
    question = current_question("convolution", 2)
    answer(at, question.answer_text)
    again = lessons_page("browser-keep0001")  # a reload or a new tab: a new session, the same browser
    assert again.header[0].value == LESSONS["convolution"].steps[2].title
    assert "You answered this question before (right)" in again.caption[-1].value
    other = lessons_page("browser-else0001")
    assert other.header[0].value == LESSONS["convolution"].steps[0].title


def test_the_page_follows_the_teachers_move_unless_the_student_opted_out():
    follower, loner = lessons_page("browser-foll0001"), lessons_page("browser-lone0001")
    loner.toggle(key="ls_follow_widget").set_value(False).run()
    class_db.Classroom().move_room("pooling", 2)
    follower.run()  # what the 2-second fragment does in the browser
    loner.run()
    assert follower.title[0].value == "Pooling" and follower.header[0].value == LESSONS["pooling"].steps[2].title
    assert loner.title[0].value == "The convolution"
    follower.button(key="ls_back").click().run()  # the student may still wander; the same move does not pull back
    follower.run()
    assert follower.header[0].value == LESSONS["pooling"].steps[1].title


def test_nicknames_are_checked_and_stored():
    at = lessons_page("browser-nick0001")
    at.text_input(key="ls_nickname_widget").set_value("<b>Ada</b>")
    at.button[[b.label for b in at.button].index("Save nickname")].click().run()
    assert "Use letters, digits" in at.error[0].value
    at.text_input(key="ls_nickname_widget").set_value("Ada L.")
    at.button[[b.label for b in at.button].index("Save nickname")].click().run()
    assert "Ada L\\." in at.success[0].value  # escaped for Markdown
    assert class_db.Classroom().student("browser-nick0001").nickname == "Ada L."


def test_a_broken_lesson_file_is_named_on_the_page(tmp_path, monkeypatch):
    (tmp_path / "oops.toml").write_text('title = "Oops"\n[[steps]]\ntitle = "x"\n')
    monkeypatch.setenv(lesson_files.LESSONS_DIR_ENV, str(tmp_path))
    at = lessons_page()
    assert "oops.toml, steps[1].text" in at.error[0].value


def test_a_digit_question_shows_the_moved_digit(mnist_digits):
    at = lessons_page("browser-digit001")
    class_db.Classroom().move_room("pooling", 3)
    at.run()
    assert at.header[0].value == "A digit moved a little"
    assert len(at.get("image")) == 1, "the moved digit is shown"
    question = current_question("pooling", 3)
    answer(at, str(question.answer[0]))
    assert at.success[0].value.startswith("Right")


@pytest.mark.parametrize("slug", list(LESSONS))
def test_every_step_of_every_lesson_renders(slug):
    at = lessons_page(f"browser-walk-{slug}")
    at.session_state["ls_lesson"], at.session_state["ls_step"] = slug, 0
    at.run()
    for index, step in enumerate(LESSONS[slug].steps):
        assert not at.exception, at.exception
        assert at.header[0].value == step.title, index
        if index < len(LESSONS[slug].steps) - 1:
            at.button(key="ls_next").click().run()


def test_a_class_database_that_does_not_answer_is_one_message(monkeypatch):
    monkeypatch.setenv(class_db.DB_ENV, f"postgresql://teacher:pw@127.0.0.1:{free_port()}/class")  # a closed port
    at = lessons_page("browser-down0001")
    assert len(at.error) == 1 and not at.warning and not at.exception
    assert "does not answer (Connection refused)" in at.error[0].value and "pw@" not in at.error[0].value
    assert not at.title, "no lesson without a class to put it in"


def away_and_back(at: AppTest, url: str, student: str, down, up) -> None:
    """A student answers, the database goes away (``down()``), they answer the next step and go on, it comes
    back (``up()``): one warning meanwhile, and both answers stored in the end."""
    first = current_question("convolution", 0)
    answer(at, first.answer_text)  # stored while the database answers
    at.button(key="ls_next").click().run()
    second = current_question("convolution", 1)
    down()
    answer(at, second.answer_text)
    assert at.success[0].value.startswith("Right"), "the answer is still checked"
    assert len(at.warning) == 1 and not at.error, "one message for the whole page"
    assert "does not answer" in at.warning[0].value and "stored when it answers again" in at.warning[0].value
    assert any("Kept on this page" in c.value for c in at.caption)
    at.button(key="ls_next").click().run()  # the lesson goes on meanwhile
    assert at.header[0].value == LESSONS["convolution"].steps[2].title and len(at.warning) == 1
    up()
    time.sleep(0.3)
    at.run()  # what the page does by itself every RETRY_SECONDS
    assert not at.warning and not at.error and not at.exception
    assert class_db.Classroom(url).answered(student) == {"convolution/0": True, "convolution/1": True}


@pytest.mark.postgres
def test_answers_given_while_the_database_is_away_are_kept_and_stored_when_it_is_back(postgres_gate, monkeypatch):
    monkeypatch.setattr(class_store, "RETRY_S", 0.2)
    url, gate = postgres_gate
    monkeypatch.setenv(class_db.DB_ENV, url)
    away_and_back(lessons_page("browser-away0001"), url, "browser-away0001", gate.close, gate.open)


def test_a_real_server_stopped_mid_lesson_loses_no_answer(own_postgres_cluster, monkeypatch):
    monkeypatch.setattr(class_store, "RETRY_S", 0.2)
    url, pg_ctl = own_postgres_cluster
    monkeypatch.setenv(class_db.DB_ENV, url)
    away_and_back(
        lessons_page("browser-stop0001"), url, "browser-stop0001",
        lambda: subprocess.run([*pg_ctl, "-m", "fast", "stop"], check=True, timeout=60),
        lambda: subprocess.run([*pg_ctl, "-l", "/dev/null", "start"], check=True, timeout=60),
    )  # fmt: skip


# --- places, nicknames and a class database that refuses (issue 25) -------------------------------------------------


def answering_page(student: str, address: str) -> AppTest:
    at = AppTest.from_file("../../app.py", default_timeout=60)
    at.session_state["ls_student"] = student
    at.session_state[ADDRESS_KEY] = address  # what widgets.client reads from the front's X-Forwarded-For
    at.run()
    at.switch_page(page_path("lessons")).run()
    assert not at.exception, at.exception
    return at


def save_nickname(at: AppTest, name: str) -> AppTest:
    """Type and save a nickname (the button is disabled while the class database is away: then nothing)."""
    at.text_input(key="ls_nickname_widget").set_value(name)
    button = at.button[[b.label for b in at.button].index("Save nickname")]
    if not button.disabled:
        button.click().run()
    assert not at.exception, at.exception
    return at


def test_opening_the_page_takes_no_place_and_a_reload_continues_where_it_was():
    at = lessons_page("browser-look0001")
    at.button(key="ls_next").click().run()
    at.button(key="ls_next").click().run()
    room = class_db.Classroom()
    assert room.entries() == [] and room.watching(0) == 1, "a browser that only opens pages is watching"
    again = lessons_page("browser-look0001")  # a reload
    assert again.header[0].value == LESSONS["convolution"].steps[2].title
    answer(again, current_question("convolution", 2).answer_text)
    (entry,) = room.entries()
    assert (entry.student, entry.answers) == ("browser-look0001", 1) and room.watching(0) == 0


def test_fake_sessions_that_open_pages_leave_the_places_to_real_students(monkeypatch):
    monkeypatch.setattr(class_db, "MAX_STUDENTS", 3)
    for number in range(6):  # more page-openers than places
        lessons_page(f"browser-fake{number:04d}")
    at = answering_page("browser-real0001", "198.51.100.20")
    answer(at, current_question("convolution", 0).answer_text)
    assert at.success[0].value.startswith("Right") and not at.warning
    (entry,) = class_db.Classroom().entries()
    assert (entry.student, entry.address) == ("browser-real0001", "198.51.100.20")


def test_a_full_class_is_a_message_and_the_answer_is_kept_for_later(monkeypatch):
    monkeypatch.setattr(class_db, "MAX_STUDENTS", 1)
    class_db.Classroom().set_nickname("browser-first001", "First")
    at = answering_page("browser-late0001", "198.51.100.21")
    save_nickname(at, "Late")  # a message, never "This app has encountered an error"
    assert "class is full" in at.error[0].value
    answer(at, current_question("convolution", 0).answer_text)
    assert at.success[0].value.startswith("Right"), "the answer is still checked"
    assert len(at.warning) == 1 and "class is full" in at.warning[0].value
    assert "stored as soon as the class takes them" in at.warning[0].value
    class_db.Classroom().remove_students(["browser-first001"])  # the teacher frees a place
    at.session_state["ls_offline_since"] = 0.0  # RETRY_SECONDS later
    at.run()
    at.run()
    assert not at.warning and class_db.Classroom().answered("browser-late0001") == {"convolution/0": True}


def test_new_students_from_one_network_are_held_back_for_a_minute(monkeypatch):
    monkeypatch.setenv(class_db.NEW_STUDENTS_ENV, "2")
    for number in range(2):
        save_nickname(answering_page(f"browser-nat{number:05d}", "203.0.113.50"), f"Pupil {number}")
    held = save_nickname(answering_page("browser-nat00002", "203.0.113.50"), "Pupil 2")
    assert "2 new students joined from your network in the last minute" in held.error[0].value
    elsewhere = save_nickname(answering_page("browser-else0002", "203.0.113.51"), "Pupil 2")
    assert "The teacher sees you as Pupil 2" in elsewhere.success[0].value


def test_invisible_reserved_and_taken_nicknames():
    at = lessons_page("browser-nick0002")
    for name, message in (("\u3164", "invisible"), ("Τeacher", "kept for the teacher")):
        save_nickname(at, name)
        assert message in at.error[0].value
    class_db.Classroom().set_nickname("browser-nick0003", "Ada")
    save_nickname(at, "ada")
    assert "Another student has that nickname: the teacher sees you as ada 2" in at.success[0].value


BROKEN = class_db.DatabaseUnavailable(class_store.Problem.BROKEN, "the test's database", "disk I/O error")


@pytest.mark.parametrize("method", ["set_nickname", "record_answer", "record_progress", "answered", "room",
                                    "whereabouts", "current_class", "student"])  # fmt: skip
def test_every_class_database_call_that_fails_is_a_message(method):
    at = lessons_page("browser-fail0001")
    first, second = current_question("convolution", 0), current_question("convolution", 1)
    answer(at, first.answer_text)  # saved before the failure: never lost
    at.button(key="ls_next").click().run()
    shown: list[str] = []

    def fail(*args, **kwargs):
        raise BROKEN

    def seen(page: AppTest) -> None:
        assert not page.exception, page.exception
        shown.extend(m.value for m in (*page.warning, *page.error))

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(class_db.Classroom, method, fail)
        at.run()
        seen(at)
        seen(save_nickname(at, "Ada"))
        seen(answer(at, second.answer_text))
        at.button(key="ls_next").click().run()
        seen(at)
        seen(lessons_page("browser-fail0002"))  # a new session while it fails
    if method != "student":  # the page never reads student() itself
        assert any("disk I/O error" in m for m in shown), shown
    assert class_db.Classroom().answered("browser-fail0001")["convolution/0"] is True
