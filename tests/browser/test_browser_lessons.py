"""Lessons and Class in real Chromium: two browsers answer, the teacher's page shows both and moves the room."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from cnnviz.teaching import lesson_files
from cnnviz.teaching.class_db import Classroom
from cnnviz.training import jobs
from tests.conftest import start_app, stop_app, wait_for_app

TOKEN = "browser-test-token"
WAIT_MS = 90_000  # a busy 2-core machine
expect.set_options(timeout=WAIT_MS)
LESSON = {lesson.slug: lesson for lesson in lesson_files.load_lessons()}["convolution"]


@pytest.fixture(scope="module")
def class_app(tmp_path_factory):
    """The app served with an admin token (its own server: the shared one has none); yields (url, database)."""
    folder = tmp_path_factory.mktemp("class_server")
    server, url, log = start_app(folder, **{jobs.ADMIN_TOKEN_ENV: TOKEN})
    yield url, folder / "runs" / "classroom.sqlite"
    stop_app(server, log)


def open_tab(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    tab.goto(url)
    wait_for_app(tab)
    return context, tab


@pytest.mark.browser
def test_two_browsers_answer_and_the_class_page_shows_both_then_moves_them(browser, class_app):
    url, database = class_app
    students = [open_tab(browser, f"{url}/lessons") for _ in range(2)]
    for (_, tab), name in zip(students, ["Ada", "Grace"]):
        expect(tab.get_by_role("heading", name=LESSON.steps[0].title)).to_be_visible()
        tab.get_by_label("Nickname (optional)", exact=True).fill(name)
        tab.get_by_role("button", name="Save nickname").click()
        expect(tab.get_by_text(f"The teacher sees you as {name}")).to_be_visible()

    question = lesson_files.step_question(LESSON, 0, Classroom(f"sqlite:///{database}").current_class().seed)
    wrong = "x".join(str(n + 1) for n in question.answer)
    for (_, tab), typed in zip(students, [question.answer_text, wrong]):
        tab.get_by_label(f"Your answer ({question.hint})", exact=True).fill(typed)
        tab.get_by_role("button", name="Check").click()
    expect(students[0][1].get_by_text(f"Right: {question.answer_text}")).to_be_visible()
    expect(students[1][1].get_by_text("Work it out layer by layer")).to_be_visible()
    for _, tab in students:
        tab.get_by_role("button", name="Next →").click()
        expect(tab.get_by_role("heading", name=LESSON.steps[1].title)).to_be_visible()

    teacher_context, teacher = open_tab(browser, f"{url}/class")
    teacher.get_by_label("Admin token", exact=True).fill(TOKEN)
    teacher.get_by_label("Admin token", exact=True).press("Enter")
    expect(teacher.get_by_role("button", name="Move the room here")).to_be_visible()  # the token was accepted
    room = teacher.locator(".cnnviz-room")
    expect(room).to_contain_text("Ada")
    expect(room).to_contain_text("Grace")
    expect(room).to_contain_text("1 of 2 right")
    expect(room).to_contain_text("(1×)")  # the most common wrong answer, counted once
    teacher.get_by_role("button", name="Move the room here").click()  # the default: the first lesson's first step
    for _, tab in students:  # no click on the students' pages: their fragment follows the move
        expect(tab.get_by_role("heading", name=LESSON.steps[0].title)).to_be_visible(timeout=20_000)
    # Between moves a student's page asks the server, not for a rerun: no websocket frame for 2.5 polls.
    frames: list[int] = []
    quiet = students[0][1]
    quiet.on("websocket", lambda ws: ws.on("framereceived", lambda frame: frames.append(1)))
    quiet.reload()
    wait_for_app(quiet)
    quiet.wait_for_timeout(1_000)  # not time.sleep: Playwright hands over the frames only while it waits
    before = len(frames)
    quiet.wait_for_timeout(5_000)
    assert len(frames) == before, f"{len(frames) - before} websocket frames while the teacher did not move"
    for context, tab in [*students, (teacher_context, teacher)]:
        assert tab.locator("[data-testid='stException']").count() == 0, "a page shows an exception"
        context.close()
