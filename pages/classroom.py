"""Class: the teacher's view of the room, sized for a projector.

A thin view: the admin token (checked through cnnviz.admin's guard, as on the Train page) ->
cnnviz.teaching.class_db (who is where, answer counts, move the room, the places taken and their clean-up,
export, new class) -> render. The live part is a fragment that reruns every
REFRESH_SECONDS (at most once a second); everything students typed is escaped. A class database that does
not answer is one message (the class database's own, which says why and what to do), never a traceback.
Every action of the teacher is one log line (widgets.client.log_teacher).
"""

from __future__ import annotations

import html
import time
from collections import Counter
from datetime import datetime

import streamlit as st

from cnnviz.teaching import class_db, lesson_files
from cnnviz.teaching.class_db import Classroom, ClassroomError
from cnnviz.views.palette import BLUE
from widgets.client import admin_check, log_teacher
from widgets.resources import load_lessons, open_classroom

REFRESH_SECONDS = 1.0  # the live panel reruns at most this often
AWAY_SECONDS = 150  # a student whose Lessons page has not reported for longer is shown as away
CROWDED_ADDRESS = 40  # places from one client address beyond which the teacher is asked to check them
# Presentation size: large type for a projector; Okabe-Ito blue for "right" (colour-blind safe).
STYLE = """
<style>
.cnnviz-room { font-size: 1.5rem; line-height: 1.5; }
.cnnviz-room table { border-collapse: collapse; width: 100%; }
.cnnviz-room th, .cnnviz-room td { text-align: left; padding: 0.3rem 0.8rem; border-bottom: 1px solid #ccc; }
.cnnviz-room .bar { background: #e8e8e8; height: 1.2rem; width: 10rem; display: inline-block; }
.cnnviz-room .right { background: BLUE; height: 1.2rem; display: inline-block; }
.cnnviz-room .idle { color: #777; }
.cnnviz-room .full { color: #b00; font-weight: bold; }
</style>
""".replace("BLUE", BLUE)  # the palette's, not a copy


def step_name(by_slug: dict[str, lesson_files.Lesson], slug: str, step: int) -> str:
    lesson = by_slug.get(slug)
    if lesson is None or not 0 <= step < len(lesson.steps):
        return f"{slug} · step {step + 1}"
    return f"{lesson.title} · {step + 1}. {lesson.steps[step].title}"


def position(by_slug: dict[str, lesson_files.Lesson], slug: str) -> int:
    """A lesson's place in the course (unknown lessons last)."""
    return list(by_slug).index(slug) if slug in by_slug else len(by_slug)


def where_table(students: list[class_db.StudentState], by_slug: dict[str, lesson_files.Lesson]) -> str:
    """Who is on which step, as an HTML table (names escaped)."""
    now = time.time()
    groups: dict[tuple[str, int], list[str]] = {}
    for student in students:
        name = html.escape(student.display_name)
        if now - student.seen > AWAY_SECONDS:
            name = f'<span class="idle">{name} (away)</span>'
        if not student.follow:
            name += " ⤫"
        groups.setdefault((student.lesson, student.step), []).append(name)
    if not groups:
        return "<p>No student has answered or given a nickname yet.</p>"
    rows = "".join(
        f"<tr><td>{html.escape(step_name(by_slug, slug, step))}</td><td>{len(names)}</td>"
        f"<td>{', '.join(names)}</td></tr>"
        for (slug, step), names in sorted(groups.items(), key=lambda item: (position(by_slug, item[0][0]), item[0]))
    )
    return f"<table><tr><th>step</th><th>students</th><th>who (⤫: not following)</th></tr>{rows}</table>"


def answers_table(room: Classroom, by_slug: dict[str, lesson_files.Lesson]) -> str:
    """Per question: how many answered, how many right, the most common wrong answer (escaped)."""
    stats = sorted(room.question_stats(), key=lambda s: (position(by_slug, s.question.partition("/")[0]), s.question))
    if not stats:
        return "<p>No answers yet.</p>"
    rows = []
    for s in stats:
        slug, _, step = s.question.partition("/")
        name = step_name(by_slug, slug, int(step)) if step.isdigit() else s.question
        share = s.right / s.answered if s.answered else 0.0
        bar = f'<span class="bar"><span class="right" style="width: {share * 100:.0f}%"></span></span>'
        wrong = f"{html.escape(s.common_wrong)} ({s.common_wrong_count}×)" if s.common_wrong else "—"
        rows.append(f"<tr><td>{html.escape(name)}</td><td>{s.right} of {s.answered} right {bar}</td>"
                    f"<td>{wrong}</td></tr>")  # fmt: skip
    head = "<tr><th>question</th><th>right</th><th>most common wrong answer</th></tr>"
    return f"<table>{head}{''.join(rows)}</table>"


def places_line(taken: int, watching: int) -> str:
    """How many places are taken and how many browsers only watch (HTML)."""
    line = (f"<p><b>{taken}</b> of {class_db.MAX_STUDENTS} places taken (a place is taken by a first answer or "
            f"a nickname); {watching} more watching without one.</p>")  # fmt: skip
    if taken >= class_db.MAX_STUDENTS:
        line += ('<p class="full">The class is full: new students are refused. Free the places of empty or '
                 "suspicious entries below, or start a new class.</p>")  # fmt: skip
    return line


@st.fragment(run_every=REFRESH_SECONDS)
def live_room(room: Classroom, by_slug: dict[str, lesson_files.Lesson]) -> None:
    try:
        move = room.room()
        students = room.students()
        where, answers = where_table(students, by_slug), answers_table(room, by_slug)
        places = places_line(len(students), room.watching(time.time() - AWAY_SECONDS))
    except ClassroomError as error:
        st.warning(str(error))
        return
    moved = ""
    if move is not None:
        moved = f"<p>The room was last moved to <b>{html.escape(step_name(by_slug, move.lesson, move.step))}</b>.</p>"
    st.html(STYLE + '<div class="cnnviz-room">' + places + moved + "<h3>Where everyone is</h3>" + where
            + "<h3>Answers (first answers count)</h3>" + answers + "</div>")  # fmt: skip


def move_controls(room: Classroom, by_slug: dict[str, lesson_files.Lesson]) -> None:
    slugs = list(by_slug)
    cols = st.columns([2, 3, 2], vertical_alignment="bottom")
    slug = cols[0].selectbox("Lesson", slugs, format_func=lambda s: by_slug[s].title, key="cl_lesson")
    steps = list(range(len(by_slug[slug].steps)))
    step = cols[1].selectbox("Step", steps, format_func=lambda i: f"{i + 1}. {by_slug[slug].steps[i].title}",
                             key=f"cl_step_{slug}")  # fmt: skip
    if cols[2].button("Move the room here", type="primary", key="cl_move"):
        try:
            room.move_room(slug, step)
        except ClassroomError as error:
            st.error(f"The room was not moved. {error}")
            return
        log_teacher(f"moved the room to {slug} step {step + 1}")
        st.toast(f"Moving the room to {step_name(by_slug, slug, step)}: pages follow within a couple of seconds.")


def class_controls(room: Classroom, klass: class_db.ClassInfo) -> None:
    started = datetime.fromtimestamp(klass.started).strftime("%Y-%m-%d %H:%M")
    label = f"“{klass.name}”, " if klass.name else ""
    st.caption(f"This class: {class_db.escape_markdown(label)}started {started}. Every class gets its own "
               "question numbers; a new class starts empty and keeps this one for export.")  # fmt: skip
    cols = st.columns([2, 2, 1])
    cols[0].download_button(
        "Download this class's answers (CSV)",
        data=lambda: export(room, klass.id),
        file_name=f"cnnviz-class-{datetime.fromtimestamp(klass.started):%Y%m%d-%H%M}.csv",
        mime="text/csv",
        key="cl_csv",
        on_click="ignore",
    )
    name = cols[1].text_input("Name of the next class (optional)", key="cl_name", max_chars=80)
    sure = cols[2].checkbox("Sure?", key="cl_sure", help="Archives the current class; nothing is deleted.")
    cols[2].button("New class", disabled=not sure, key="cl_new", on_click=start_new_class, args=(room, name))
    if problem := st.session_state.pop("cl_new_error", None):
        st.error(problem)


def export(room: Classroom, class_id: str) -> str:
    """The CSV, or (the download happens after the page was drawn) a file that says why there is none."""
    try:
        log_teacher(f"downloaded the answers of class {class_id}")
        return room.export_csv(class_id)
    except ClassroomError as error:
        return f"No export: {error}\n"


def start_new_class(room: Classroom, name: str) -> None:
    """Archive the class and start the next one (a callback: it may untick "Sure?" before it is drawn)."""
    try:
        room.new_class(name)
    except ClassroomError as error:
        st.session_state.cl_new_error = f"No new class was started. {error}"
        return
    log_teacher("started a new class")
    st.session_state.cl_sure = False


def suspicious_groups(entries: list[class_db.Entry]) -> dict[str, list[str]]:
    """What the teacher may want to free, by label: the empty places, then the places of each crowded address."""
    groups: dict[str, list[str]] = {}
    empty = [e.student for e in entries if e.empty]
    if empty:
        groups[f"{len(empty)} empty (no answer, no nickname)"] = empty
    for address, count in Counter(e.address for e in entries if e.address).most_common():
        if count < CROWDED_ADDRESS:
            break
        silent = [e.student for e in entries if e.address == address and not e.answers]
        groups[f"{count} from {address}: its {len(silent)} without an answer"] = silent
        groups[f"{count} from {address}: all of them"] = [e.student for e in entries if e.address == address]
    return groups


def entries_check(room: Classroom) -> None:
    """The places that look empty or crowded, who holds how many, and the button that frees them."""
    st.subheader("Places to check")
    try:
        entries = room.entries()
    except ClassroomError as error:
        st.warning(str(error))
        return
    by_address = Counter(e.address or "unknown" for e in entries).most_common(5)
    st.caption("Places by client address (a school's room is usually one address): "
               + (", ".join(f"{a}: {n}" for a, n in by_address) or "none yet") + ".")  # fmt: skip
    groups = suspicious_groups(entries)
    if not groups:
        st.caption(f"Nothing to check: no empty place, no address with {CROWDED_ADDRESS} places or more.")
        return
    cols = st.columns([3, 1, 1], vertical_alignment="bottom")
    label = cols[0].selectbox("Free the places of", list(groups), key="cl_clean_pick")
    sure = cols[1].checkbox("Sure?", key="cl_clean_sure", help="Their answers go with them.")
    if cols[2].button(f"Free {len(groups[label])}", disabled=not sure or not groups[label], key="cl_clean"):
        try:
            removed = room.remove_students(groups[label])
        except ClassroomError as error:
            st.error(f"No place was freed. {error}")
            return
        log_teacher(f"freed {removed} places ({label})")
        st.success(f"Freed {removed} places.")


st.title("Class")
token = st.text_input("Admin token", type="password", key="cl_admin",
                      help="The CNNVIZ_ADMIN_TOKEN the server was started with, as on the Train page.")  # fmt: skip
check = admin_check(token)
if not check.admin:
    if token:
        st.error(check.message())
    else:
        st.info("The class view is for the teacher: type the admin token the server was started with.")
    st.stop()

try:
    all_lessons = load_lessons(str(lesson_files.lessons_dir()), lesson_files.folder_stamp())
except lesson_files.LessonError as error:
    st.error(f"A lesson file has a problem: {error}")
    st.stop()
try:
    room = open_classroom(class_db.database_url())
    klass = room.current_class()
except ClassroomError as error:
    st.error(str(error))
    st.stop()

by_slug = {lesson.slug: lesson for lesson in all_lessons}
move_controls(room, by_slug)
live_room(room, by_slug)
entries_check(room)
st.divider()
class_controls(room, klass)
