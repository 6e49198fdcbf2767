"""Issue 25 through the real server (serve.py as `make app` starts it) in real Chromium: page-openers take no
place, a forged X-Forwarded-For is not believed, wrong admin tokens are slowed and logged, a short token is warned
about at start."""

from __future__ import annotations

import sqlite3
import time

import pytest
from playwright.sync_api import expect

from cnnviz.teaching import lesson_files
from cnnviz.teaching.class_db import Classroom
from cnnviz.training import jobs
from tests.conftest import start_app, stop_app, wait_for_app

TOKEN = "short-tok"  # 9 characters: the start-up warns
WAIT_MS = 90_000  # a busy 2-core machine
expect.set_options(timeout=WAIT_MS)
LESSON = {lesson.slug: lesson for lesson in lesson_files.load_lessons()}["convolution"]
FORGED = "198.51.100.99"  # what a student's browser claims to be


@pytest.fixture(scope="module")
def lockout_app(tmp_path_factory):
    """The app with a short admin token; yields (url, database, log file)."""
    folder = tmp_path_factory.mktemp("lockout_server")
    server, url, log = start_app(folder, **{jobs.ADMIN_TOKEN_ENV: TOKEN})
    yield url, folder / "runs" / "classroom.sqlite", folder / "streamlit.log"
    stop_app(server, log)


def open_tab(browser, url: str):
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  extra_http_headers={"X-Forwarded-For": FORGED})  # fmt: skip
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    tab.goto(url)
    wait_for_app(tab)
    return context, tab


def places(database) -> list[tuple[str, str]]:
    with sqlite3.connect(database) as connection:
        return connection.execute("SELECT student, address FROM students").fetchall()


@pytest.mark.browser
def test_page_openers_take_no_place_and_a_forged_address_is_not_believed(browser, lockout_app):
    url, database, _ = lockout_app
    tabs = [open_tab(browser, f"{url}/lessons") for _ in range(3)]
    for _, tab in tabs:
        expect(tab.get_by_role("heading", name=LESSON.steps[0].title)).to_be_visible()
    assert places(database) == [], "opening the Lessons page took a place"
    tab = tabs[0][1]
    question = lesson_files.step_question(LESSON, 0, Classroom(f"sqlite:///{database}").current_class().seed)
    tab.get_by_label(f"Your answer ({question.hint})", exact=True).fill(question.answer_text)
    tab.get_by_role("button", name="Check").click()
    expect(tab.get_by_text(f"Right: {question.answer_text}")).to_be_visible()
    ((_, address),) = places(database)
    assert address == "127.0.0.1", "the front's address for the browser, not what the browser claimed"
    for context, page in tabs:
        assert page.locator("[data-testid='stException']").count() == 0
        context.close()


@pytest.mark.browser
def test_wrong_tokens_are_slowed_and_logged_and_a_short_token_was_warned_about(browser, lockout_app):
    url, _, log = lockout_app
    assert f"{jobs.ADMIN_TOKEN_ENV} has {len(TOKEN)} characters" in log.read_text()
    context, teacher = open_tab(browser, f"{url}/class")
    box = teacher.get_by_label("Admin token", exact=True)
    for n in range(4):
        box.fill(f"guess-{n}")
        box.press("Enter")
        expect(teacher.get_by_text("does not match")).to_be_visible()
    box.fill(TOKEN)  # right, but the session is locked: not compared
    box.press("Enter")
    expect(teacher.get_by_text("Too many wrong admin tokens")).to_be_visible()
    deadline = time.monotonic() + 10
    while log.read_text().count("admin token:") < 5 and time.monotonic() < deadline:
        time.sleep(0.2)
    lines = [line for line in log.read_text().splitlines() if "admin token:" in line]
    assert len(lines) == 5 and all("127.0.0.1" in line for line in lines)
    assert not any("guess-" in line or TOKEN in line or FORGED in line for line in lines)
    teacher.wait_for_timeout(2_500)  # the lock (2 s) over
    teacher.get_by_role("heading", name="Class").click()  # out of the box: keys go to the app
    teacher.keyboard.press("r")  # Streamlit's rerun key: the token still in its box is compared now
    expect(teacher.get_by_role("button", name="Move the room here")).to_be_visible()
    assert teacher.locator("[data-testid='stException']").count() == 0
    context.close()
