"""Lessons: the lab, step by step, with a live view and a question that checks itself.

A thin view: lesson files (cnnviz.teaching.lesson_files) -> the step's question (cnnviz.teaching.quiz)
-> the answer checked and stored (cnnviz.teaching.class_db) -> render. Progress lives in
the class database per browser (the Train page's cookie id), so a reload or a
new tab continues where the student was; a fragment follows the teacher's
"move the room" (the browser asks every POLL_SECONDS; widgets/watch) unless the student opted out.
Opening the page takes no place in the class: the first answer or nickname does (from the client address
widgets.client gives, which limits how many new students one address adds a minute); until then the browser
watches, and its position is kept as a watcher's.

A class database that stops answering mid-class (a server restarted, a full disk) is one warning at the top
of the page, and the lesson goes on: answers are checked as usual and kept in the session (``ls_unsaved``)
until the database answers again, then stored as the student's first answers; the page tries again every
RETRY_SECONDS by itself.
"""

from __future__ import annotations

import time

import numpy as np
import streamlit as st

from cnnviz.teaching import class_db, lesson_files, quiz
from cnnviz.teaching.class_db import Classroom, ClassroomError, DatabaseUnavailable, NicknameRejected
from serving.routes import CLASS_MOVE
from widgets.browser_id import browser_id
from widgets.client import client_address
from widgets.resources import load_lessons, open_classroom
from widgets.watch import watch

POLL_SECONDS = 2.0  # how often a page checks whether the teacher moved the room
HEARTBEAT_SECONDS = 60.0  # how often an open page tells the class database the student is still there
RETRY_SECONDS = 5.0  # while the class database does not answer, how often the page tries it again
KEPT_NOTE = "Your answers stay on this page and are stored when it answers again."
REFUSED_NOTE = "Your answers stay on this page and are stored as soon as the class takes them."
FOLLOW_HELP = "When the teacher moves the room to a step, this page goes there within a couple of seconds."
DIGIT_PIXELS = 168  # the shifted digit is drawn 6x (28 -> 168 pixels), crisp


def student_id() -> str:
    return browser_id("ls_student")


def go_to(slug: str, step: int) -> None:
    st.session_state.ls_lesson, st.session_state.ls_step = slug, step


def start_position(room: Classroom, student: str, by_slug: dict[str, lesson_files.Lesson]) -> None:
    """Where a new session opens: where this browser was, else where the room is, else the first lesson."""
    saved = room.whereabouts(student)
    move = room.room()
    st.session_state.ls_last_move = move.move if move else 0
    room_step = (move.lesson, move.step) if move is not None and move.lesson in by_slug else None
    if saved is not None:
        st.session_state.ls_follow, st.session_state.ls_nickname = saved.follow, saved.nickname
    if saved is not None and saved.lesson in by_slug:
        moved_since = move is not None and move.moved > saved.seen and saved.follow
        go_to(*(room_step if moved_since and room_step else (saved.lesson, saved.step)))
    elif room_step is not None:
        go_to(*room_step)
    else:
        go_to(next(iter(by_slug)), 0)


class Page:
    """This run's class database, or the reason it is away: the first failure is the run's one message."""

    def __init__(self, notice: st.delta_generator.DeltaGenerator):
        self.notice = notice
        self.room: Classroom | None = None
        self.error: ClassroomError | None = None

    def lost(self, error: ClassroomError) -> None:
        if self.error is None:
            self.notice.warning(f"{error} {KEPT_NOTE if isinstance(error, DatabaseUnavailable) else REFUSED_NOTE}")
        self.error, self.room = error, None
        st.session_state.ls_offline_since = time.monotonic()


def store_unsaved(room: Classroom, student: str) -> None:
    """Answers checked while the database was away, stored now (oldest first; each as its first answer)."""
    unsaved = st.session_state.setdefault("ls_unsaved", {})
    for key in list(unsaved):
        room.record_answer(student, key, *unsaved[key], address=client_address())
        del unsaved[key]


def save_position(room: Classroom, student: str) -> None:
    """Store the position when it changed (one write per step, not per rerun)."""
    here = (st.session_state.ls_lesson, st.session_state.ls_step, st.session_state.ls_follow)
    if st.session_state.get("ls_saved") != here:
        room.record_progress(student, here[0], here[1], here[2])
        st.session_state.ls_saved = here
        st.session_state.ls_heartbeat = time.monotonic()


@st.fragment
def follow_the_teacher(room: Classroom | None, student: str, by_slug: dict[str, lesson_files.Lesson]) -> None:
    """Jump to the teacher's step once per move (never when the student opted out); say "still here" now and then.

    Rerun by widgets/watch when the room's move counter changes (the browser asks the server every
    POLL_SECONDS), and after HEARTBEAT_SECONDS without one: a rerun every POLL_SECONDS per student cost
    the server a fragment run each time, ~6-10 ms, mostly to find that nothing had moved.
    While the database is away (``room`` None), reruns the whole page every RETRY_SECONDS to try it again.
    """
    if room is None:
        if time.monotonic() - st.session_state.get("ls_offline_since", 0.0) >= RETRY_SECONDS:
            st.rerun(scope="app")
        watch(None, "0", key="ls_watch", poll_s=POLL_SECONDS, rerun_after_s=RETRY_SECONDS)
        return
    following, move = st.session_state.ls_follow, None
    try:
        if time.monotonic() - st.session_state.get("ls_heartbeat", 0.0) > HEARTBEAT_SECONDS:
            st.session_state.ls_heartbeat = time.monotonic()
            room.record_progress(student, st.session_state.ls_lesson, st.session_state.ls_step, following)
        move = room.room() if following else None
    except ClassroomError:
        pass  # a busy moment: the version below differs from the server's, so the browser asks again
    seen = str(move.move if move is not None else 0)
    watch(CLASS_MOVE if following else None, seen, key="ls_watch", poll_s=POLL_SECONDS, rerun_after_s=HEARTBEAT_SECONDS)
    if move is None or move.move <= st.session_state.ls_last_move:
        return
    st.session_state.ls_last_move = move.move
    lesson = by_slug.get(move.lesson)
    if lesson is not None and (move.lesson, move.step) != (st.session_state.ls_lesson, st.session_state.ls_step):
        go_to(move.lesson, min(move.step, len(lesson.steps) - 1))
        st.toast("The teacher moved the room to this step.")
        st.rerun(scope="app")


def copy_widget(name: str) -> None:
    st.session_state[name] = st.session_state[f"{name}_widget"]


def sidebar(room: Classroom | None, student: str, by_slug: dict[str, lesson_files.Lesson]) -> None:
    with st.sidebar:
        slugs = list(by_slug)
        current = st.session_state.ls_lesson
        picked = st.selectbox("Lesson", slugs, index=slugs.index(current), format_func=lambda s: by_slug[s].title,
                              key=f"ls_pick_{current}")  # fmt: skip
        if picked != current:
            go_to(picked, 0)
            st.rerun()
        # Widget keys are dropped while another page is open: the values live in plain keys, copied in and out.
        st.session_state.setdefault("ls_follow_widget", st.session_state.ls_follow)
        st.toggle("Follow the teacher", key="ls_follow_widget", on_change=copy_widget, args=("ls_follow",),
                  help=FOLLOW_HELP)  # fmt: skip
        st.session_state.setdefault("ls_nickname_widget", st.session_state.ls_nickname)
        with st.form("ls_name_form", border=False):
            name = st.text_input("Nickname (optional)", key="ls_nickname_widget", max_chars=class_db.MAX_NICKNAME,
                                 help="Shown to the teacher instead of an anonymous id.")  # fmt: skip
            if st.form_submit_button("Save nickname", disabled=room is None) and room is not None:
                try:
                    stored = room.set_nickname(student, name, address=client_address())
                    st.session_state.ls_nickname = stored
                    taken = stored and class_db.nickname_key(stored) != class_db.nickname_key(name)
                    st.success((f"Another student has that nickname: the teacher sees you as "
                                f"{class_db.escape_markdown(stored)}." if taken
                                else f"The teacher sees you as {class_db.escape_markdown(stored)}.") if stored
                               else "You are anonymous.")  # fmt: skip
                except (NicknameRejected, ClassroomError) as error:
                    st.error(str(error))


def show_view(step: lesson_files.Step) -> None:
    if step.view is None:
        return
    query = dict(step.view.query)
    cols = st.columns([3, 2])
    cols[0].page_link(step.view.page_file, label=step.view.label, icon="👉", query_params=query or None)
    cols[1].link_button("Open in a new tab", step.view.url.lstrip("/"))


def digit_picture(question: quiz.Question) -> np.ndarray:
    """The moved digit as a ``(168, 168)`` uint8 picture, dark ink on white like paper."""
    digit = quiz.shifted_digit(question.digit)[0, 0].numpy()  # (28, 28) in [0, 1]
    scale = DIGIT_PIXELS // 28
    return (255 - np.kron(digit, np.ones((scale, scale))) * 255).clip(0, 255).astype(np.uint8)


def show_result(result: quiz.CheckResult, counted: bool | None) -> None:
    (st.success if result.correct else st.error)(result.message)
    if result.constraint:
        st.warning(result.constraint)
    if result.worked:
        st.code("\n".join(result.worked), language=None, wrap_lines=True)
    if counted is False:
        st.caption("Your first answer to this question is the one the class statistics count.")


def show_question(page: Page, student: str, lesson: lesson_files.Lesson, index: int, seed: int) -> None:
    key = f"{lesson.slug}/{index}"
    attempts = st.session_state.setdefault("ls_attempts", {})
    attempt = attempts.get(key, 0)
    try:
        question = lesson_files.step_question(lesson, index, seed, attempt)
    except quiz.QuizUnavailable as error:
        st.info(f"This step's question needs files this server does not have: {error}")
        return
    if question is None:
        return
    st.subheader("Question" if attempt == 0 else f"Practice question {attempt}")
    st.markdown(question.text)
    if question.digit is not None:
        st.image(digit_picture(question), caption="the digit, moved", width=DIGIT_PIXELS)
    results = st.session_state.setdefault("ls_results", {})
    form_key = f"ls_form_{key}_{attempt}"
    with st.form(form_key):
        typed = st.text_input(f"Your answer ({question.hint})", key=f"{form_key}_text",
                              max_chars=quiz.MAX_ANSWER_CHARS)  # fmt: skip
        submitted = st.form_submit_button("Check", type="primary")
    unsaved = st.session_state.setdefault("ls_unsaved", {})
    if submitted:
        result = quiz.check(question, typed)
        counted = None
        if attempt == 0 and result.understood is not None:  # unreadable answers are not stored
            answer = (result.understood, typed, result.correct)
            try:
                if page.room is None:
                    raise page.error or ClassroomError("The class database does not answer.")
                counted = page.room.record_answer(student, key, *answer, address=client_address()).counted
            except ClassroomError as error:
                unsaved.setdefault(key, answer)  # the first one stays the first
                page.lost(error)
        results[form_key] = (result, counted)
    if form_key in results:
        show_result(*results[form_key])
        if key in unsaved and attempt == 0:
            st.caption("Kept on this page: stored as your first answer when the class database answers again.")
    elif attempt == 0 and page.room is not None:
        try:
            earlier = page.room.answered(student)
        except ClassroomError as error:
            page.lost(error)
            earlier = {}
        if key in earlier:
            st.caption(f"You answered this question before ({'right' if earlier[key] else 'not right'}); "
                       "that first answer is the one the class statistics count.")  # fmt: skip
    if form_key in results:
        if st.button("Another question like this (practice, not counted)", key=f"ls_more_{key}_{attempt}"):
            attempts[key] = attempt + 1
            st.rerun()


def navigation(lesson: lesson_files.Lesson, index: int) -> None:
    cols = st.columns([1, 1, 4])
    if cols[0].button("← Back", disabled=index == 0, key="ls_back"):
        go_to(lesson.slug, index - 1)
        st.rerun()
    if cols[1].button("Next →", disabled=index >= len(lesson.steps) - 1, key="ls_next", type="primary"):
        go_to(lesson.slug, index + 1)
        st.rerun()


try:
    all_lessons = load_lessons(str(lesson_files.lessons_dir()), lesson_files.folder_stamp())
except lesson_files.LessonError as error:
    st.error(f"A lesson file has a problem, so no lesson is shown: {error}")
    st.stop()
page = Page(st.empty())
by_slug = {lesson.slug: lesson for lesson in all_lessons}
student = student_id()
try:
    page.room = open_classroom(class_db.database_url())
    st.session_state.ls_class = page.room.current_class()
    if "ls_lesson" not in st.session_state:
        st.session_state.ls_follow = True
        st.session_state.ls_nickname = ""
        start_position(page.room, student, by_slug)
    store_unsaved(page.room, student)
except ClassroomError as error:
    if "ls_lesson" not in st.session_state:  # never reached it in this session: no class, no place, no numbers
        st.error(str(error))
        st.stop()
    page.lost(error)
klass = st.session_state.ls_class
if st.session_state.ls_lesson not in by_slug:  # a lesson file was removed meanwhile
    go_to(next(iter(by_slug)), 0)
lesson = by_slug[st.session_state.ls_lesson]
index = min(max(st.session_state.ls_step, 0), len(lesson.steps) - 1)
st.session_state.ls_step = index
step = lesson.steps[index]

sidebar(page.room, student, by_slug)
if page.room is not None:
    try:
        save_position(page.room, student)
    except ClassroomError as error:
        page.lost(error)

st.title(lesson.title)
st.caption(" · ".join(p for p in (lesson.summary, f"Lab: {lesson.lab_section}" if lesson.lab_section else "") if p))
st.progress((index + 1) / len(lesson.steps), text=f"Step {index + 1} of {len(lesson.steps)}")
st.header(step.title)
st.markdown(step.text)
show_view(step)
show_question(page, student, lesson, index, klass.seed)
st.divider()
navigation(lesson, index)
follow_the_teacher(page.room, student, by_slug)
