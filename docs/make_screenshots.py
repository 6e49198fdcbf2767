"""Screenshots of the Lessons and Class pages for the README: python docs/make_screenshots.py

Serves the app with a throw-away class database (a few students and answers),
opens both pages in headless Chromium and writes docs/lessons.png and
docs/class.png.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

TOKEN = "screenshot"


def main() -> None:
    from playwright.sync_api import sync_playwright

    from cnnviz.teaching import lesson_files
    from cnnviz.teaching.class_db import Classroom
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS, start_app, stop_app, wait_for_app

    folder = Path(tempfile.mkdtemp(prefix="cnnviz-shots-"))
    os.environ["CNNVIZ_ADMIN_TOKEN"] = TOKEN
    room = Classroom(f"sqlite:///{folder / 'runs' / 'classroom.sqlite'}")
    lesson = {x.slug: x for x in lesson_files.load_lessons()}["convolution"]
    question = lesson_files.step_question(lesson, 0, room.current_class().seed)
    wrong = tuple(question.answer[:1]) + tuple(n - 2 for n in question.answer[1:])
    names = ["Ada", "Grace", "Alan", "Katherine", "", "Edsger", "", "Barbara", "Donald", "Frances", "", "Tim"]
    for number, name in enumerate(names):
        student = f"browser-{number:016x}"
        room.record_progress(student, "convolution", 0 if number % 3 else 1, follow=number != 4)
        if name:
            room.set_nickname(student, name)
        right = number % 4 != 1
        answer = question.answer_text if right else str(wrong)
        room.record_answer(student, "convolution/0", answer, answer, right)
    room.move_room("convolution", 0)
    server, url, log = start_app(folder)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            tab = browser.new_page(viewport={"width": 1200, "height": 1350})
            tab.set_default_timeout(60_000)
            tab.goto(f"{url}/lessons")
            wait_for_app(tab)
            tab.get_by_label("Nickname (optional)", exact=True).fill("Ada")
            tab.get_by_label(f"Your answer ({question.hint})", exact=True).fill(str(wrong))
            tab.get_by_role("button", name="Check").click()
            tab.get_by_text("Work it out layer by layer").wait_for()
            tab.locator("[data-testid='stCode']").get_by_text("H_out").first.wait_for()
            wait_for_app(tab)
            tab.wait_for_timeout(1000)  # the code block's highlighting settles
            tab.screenshot(path=str(ROOT / "docs" / "lessons.png"))
            tab.goto(f"{url}/class")
            wait_for_app(tab)
            tab.get_by_label("Admin token", exact=True).fill(TOKEN)
            tab.get_by_label("Admin token", exact=True).press("Enter")
            tab.get_by_label("Admin token", exact=True).blur()
            tab.locator(".cnnviz-room").get_by_text("Grace").wait_for()
            wait_for_app(tab)
            tab.screenshot(path=str(ROOT / "docs" / "class.png"))
            browser.close()
    finally:
        stop_app(server, log)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
