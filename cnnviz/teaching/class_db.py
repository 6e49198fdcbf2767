"""The class: who is on which step, their answers, and the teacher's "move the room" signal, in a database.

By default a SQLite file in WAL mode, ``$CNNVIZ_RUNS_DIR/classroom.sqlite``,
through the standard library (zero setup; many readers and one writer at a
time, every write a short ``BEGIN IMMEDIATE`` transaction). Point
``$CNNVIZ_CLASSROOM_DB`` elsewhere with a URL: ``sqlite:///relative/path``,
``sqlite:////absolute/path``, or ``postgresql://user:pass@host/db`` (several
server processes or hosts sharing one class; each process keeps a small pool).
The app creates the schema and migrates it (table ``schema_version``) on first
use, on either engine. Connections, transactions and the turning of every
database error into a message are :mod:`.class_store`'s.

Rules kept here, not in the pages: a student's *first* answer to a question is
the one counted (later tries only raise its ``tries``); nicknames are checked
for length and characters; "new class" archives the current class (its rows
stay, for export) and starts an empty one with a new question seed; the
teacher's move is a counter that each student's page compares with the last
one it followed.
"""

from __future__ import annotations

import csv
import io
import os
import random
import re
import time
import unicodedata
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cnnviz.teaching.class_store import (  # noqa: F401  (the pages and tests name them as class_db's)
    BUSY_TIMEOUT_S,
    DB_ENV,
    ClassroomError,
    DatabaseUnavailable,
    Engine,
    Problem,
    Run,
    open_store,
)

DB_FILE = "classroom.sqlite"  # in $CNNVIZ_RUNS_DIR unless $CNNVIZ_CLASSROOM_DB says otherwise
MAX_NICKNAME = 24  # characters in a nickname
MAX_ANSWER = 200  # characters of an answer kept (the quiz refuses longer ones unread)
MAX_STUDENTS = 500  # students one class accepts; more are refused with a message
# Letters and digits of any script, spaces and - _ . ' : enough for names, nothing that builds markup.
_NICKNAME = re.compile(r"^[\w .'\-]+$")

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (  # 1: classes, students, answers, the room's position
        "CREATE TABLE classes (id TEXT PRIMARY KEY, name TEXT NOT NULL, seed INTEGER NOT NULL, "
        "started DOUBLE PRECISION NOT NULL, archived DOUBLE PRECISION)",
        "CREATE TABLE students (class_id TEXT NOT NULL, student TEXT NOT NULL, nickname TEXT NOT NULL DEFAULT '', "
        "lesson TEXT NOT NULL DEFAULT '', step INTEGER NOT NULL DEFAULT 0, follow INTEGER NOT NULL DEFAULT 1, "
        "seen DOUBLE PRECISION NOT NULL, PRIMARY KEY (class_id, student))",
        "CREATE TABLE answers (class_id TEXT NOT NULL, student TEXT NOT NULL, question TEXT NOT NULL, "
        "answer TEXT NOT NULL, raw TEXT NOT NULL, correct INTEGER NOT NULL, answered DOUBLE PRECISION NOT NULL, "
        "PRIMARY KEY (class_id, student, question))",
        "CREATE TABLE room (class_id TEXT PRIMARY KEY, lesson TEXT NOT NULL, step INTEGER NOT NULL, "
        "move INTEGER NOT NULL, moved DOUBLE PRECISION NOT NULL)",
    ),
    (  # 2: how often a student tried (only the first try counts), and the per-question statistics' index
        "ALTER TABLE answers ADD COLUMN tries INTEGER NOT NULL DEFAULT 1",
        "CREATE INDEX answers_by_question ON answers (class_id, question)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class NicknameRejected(ValueError):
    """A nickname that is too long, empty, or has characters that are not allowed (the message says which)."""


@dataclass(frozen=True)
class ClassInfo:
    """One class (a lesson session): the current one has ``archived`` None."""

    id: str  # random id
    name: str  # the teacher's label, e.g. "Group B, 3 March"
    seed: int  # question numbers for this class (everyone in the room gets the same question)
    started: float  # Unix time
    archived: float | None  # Unix time of "new class", None while current


@dataclass(frozen=True)
class StudentState:
    """Where one student is."""

    student: str  # the anonymous per-browser id
    nickname: str  # what the student typed, or ""
    lesson: str  # lesson slug
    step: int  # step index, 0-based
    follow: bool  # follows the teacher's moves
    seen: float  # Unix time of the last progress report

    @property
    def display_name(self) -> str:
        """The nickname, or a short anonymous label (never the full id)."""
        return self.nickname or f"anonymous {self.student[-4:]}"


@dataclass(frozen=True)
class RoomMove:
    """The teacher's latest "move the room to this step"."""

    lesson: str  # lesson slug
    step: int  # step index, 0-based
    move: int  # counts up with every move: a page follows each new one once
    moved: float  # Unix time


@dataclass(frozen=True)
class AnswerOutcome:
    """What recording an answer did."""

    counted: bool  # the student's first answer to this question (the one the class statistics use)
    correct: bool  # the counted answer is right (the first one, even when this try differs)


@dataclass(frozen=True)
class QuestionStats:
    """How a question went in the room (first answers only)."""

    question: str  # "lesson/step"
    answered: int  # students who answered
    right: int  # of which right
    common_wrong: str | None  # the most common wrong answer, as understood (None if none wrong)
    common_wrong_count: int  # how many gave it


def check_nickname(text: str) -> str:
    """The nickname, trimmed, if it is acceptable.

    Raises:
        NicknameRejected: empty, longer than MAX_NICKNAME, or with characters other than letters, digits,
            spaces and ``- _ . '``.
    """
    name = unicodedata.normalize("NFC", " ".join(str(text).split()))
    if not name:
        raise NicknameRejected("Type a nickname, or leave the field empty to stay anonymous.")
    if len(name) > MAX_NICKNAME:
        raise NicknameRejected(f"A nickname has at most {MAX_NICKNAME} characters; this one has {len(name)}.")
    if not _NICKNAME.match(name):
        bad = sorted({ch for ch in name if not _NICKNAME.match(ch)})
        raise NicknameRejected(f"Use letters, digits, spaces and - _ . ' only (not {' '.join(bad)}).")
    return name


def escape_markdown(text: str) -> str:
    """Student text made inert for Markdown: every ASCII punctuation mark backslash-escaped (CommonMark)."""
    return re.sub(r"([!-/:-@\[-`{-~])", r"\\\1", str(text))


def database_url() -> str:
    """``$CNNVIZ_CLASSROOM_DB``, default ``sqlite:///$CNNVIZ_RUNS_DIR/classroom.sqlite``."""
    configured = os.environ.get(DB_ENV, "").strip()
    if configured:
        return configured
    from cnnviz.training.runs import runs_dir  # imports torch: only when the runs folder is needed

    return f"sqlite:///{runs_dir() / DB_FILE}"


def _safe_cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run as a formula (student text starting with = + - @)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


class Classroom:
    """The class database. Cheap to create; safe across threads, processes and (on PostgreSQL) hosts.

    Raises (every method, and the constructor):
        ClassroomError: the URL is not usable, or a rule refuses the change (a full class).
        DatabaseUnavailable: the database failed; nothing saved before is lost (the failed change is undone).
    """

    def __init__(self, url: str | None = None):
        self.url = url or database_url()
        self.store = open_store(self.url)
        self.kind = self.store.target.engine
        self.path = self.store.target.path  # the SQLite file, None on PostgreSQL
        self._migrate()

    def _stored_version(self) -> int | None:
        """The schema version in the database, None before the first migration."""
        if not self.store.has_table("schema_version"):
            return None
        with self.store.read() as run:
            rows = run("SELECT version FROM schema_version")
        return rows[0][0] if rows else None

    def _migrate(self) -> None:
        self.store.prepare()
        if self._stored_version() == SCHEMA_VERSION:
            return  # the usual case: no write (a read-only copy opens too)
        with self.store.write(lock="cnnviz schema") as run:  # two processes starting at once: one migrates
            run("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            rows = run("SELECT version FROM schema_version")
            version = rows[0][0] if rows else 0
            if not rows:
                run("INSERT INTO schema_version (version) VALUES (0)")
            if version > SCHEMA_VERSION:
                raise ClassroomError(
                    f"The class database has schema version {version}, newer than this cnnviz ({SCHEMA_VERSION}); "
                    f"update cnnviz or point {DB_ENV} at another database."
                )
            for number in range(version, SCHEMA_VERSION):
                for statement in MIGRATIONS[number]:
                    run(statement)
            run("UPDATE schema_version SET version = ?", SCHEMA_VERSION)

    def schema_version(self) -> int:
        with self.store.read() as run:
            return run("SELECT version FROM schema_version")[0][0]

    # --- classes ------------------------------------------------------------------------------

    def current_class(self) -> ClassInfo:
        """The class in session; the first call on a fresh database starts one."""
        with self.store.read() as run:
            rows = run("SELECT id, name, seed, started, archived FROM classes WHERE archived IS NULL")
        if rows:
            return ClassInfo(*rows[0])
        with self.store.write(lock="cnnviz class") as run:  # two first visitors: the second finds the first's class
            rows = run("SELECT id, name, seed, started, archived FROM classes WHERE archived IS NULL")
            if rows:
                return ClassInfo(*rows[0])
            return self._start(run, "")

    def _start(self, run: Run, name: str) -> ClassInfo:
        info = ClassInfo(uuid.uuid4().hex[:12], name.strip()[:80], random.SystemRandom().randrange(2**31),
                         time.time(), None)  # fmt: skip
        run("INSERT INTO classes (id, name, seed, started, archived) VALUES (?, ?, ?, ?, NULL)",
            info.id, info.name, info.seed, info.started)  # fmt: skip
        return info

    def new_class(self, name: str = "") -> ClassInfo:
        """Archive the current class (its rows stay, for export) and start an empty one with new numbers."""
        with self.store.write(lock="cnnviz class") as run:
            run("UPDATE classes SET archived = ? WHERE archived IS NULL", time.time())
            return self._start(run, name)

    def classes(self) -> list[ClassInfo]:
        """Every class, newest first."""
        with self.store.read() as run:
            rows = run("SELECT id, name, seed, started, archived FROM classes ORDER BY started DESC")
        return [ClassInfo(*row) for row in rows]

    def _class_id(self, class_id: str | None) -> str:
        return class_id or self.current_class().id

    # --- students -------------------------------------------------------------------------------

    def _ensure_student(self, run: Run, class_id: str, student: str) -> None:
        if run("SELECT 1 FROM students WHERE class_id = ? AND student = ?", class_id, student):
            return
        self.store.take_lock(run, f"cnnviz students {class_id}")  # the count below stays true until this commits
        count = run("SELECT COUNT(*) FROM students WHERE class_id = ?", class_id)[0][0]
        if count >= MAX_STUDENTS:
            raise ClassroomError(f"This class is full ({MAX_STUDENTS} students); ask the teacher.")
        run("INSERT INTO students (class_id, student, seen) VALUES (?, ?, ?) ON CONFLICT (class_id, student) "
            "DO NOTHING", class_id, student, time.time())  # fmt: skip

    def set_nickname(self, student: str, nickname: str, class_id: str | None = None) -> str:
        """Check and store ``nickname`` ("" makes the student anonymous again); returns what was stored.

        Raises:
            NicknameRejected: see :func:`check_nickname`.
        """
        name = check_nickname(nickname) if nickname.strip() else ""
        class_id = self._class_id(class_id)
        with self.store.write() as run:
            self._ensure_student(run, class_id, student)
            run("UPDATE students SET nickname = ? WHERE class_id = ? AND student = ?", name, class_id, student)
        return name

    def record_progress(
        self, student: str, lesson: str, step: int, follow: bool = True, class_id: str | None = None
    ) -> None:
        """Remember where ``student`` is (a reload or a new tab continues there)."""
        class_id = self._class_id(class_id)
        with self.store.write() as run:
            self._ensure_student(run, class_id, student)
            run("UPDATE students SET lesson = ?, step = ?, follow = ?, seen = ? WHERE class_id = ? AND student = ?",
                lesson, int(step), int(bool(follow)), time.time(), class_id, student)  # fmt: skip

    def student(self, student: str, class_id: str | None = None) -> StudentState | None:
        """``student``'s row in the class, or None before their first visit."""
        with self.store.read() as run:
            rows = run("SELECT student, nickname, lesson, step, follow, seen FROM students "
                       "WHERE class_id = ? AND student = ?", self._class_id(class_id), student)  # fmt: skip
        return StudentState(*rows[0][:4], bool(rows[0][4]), rows[0][5]) if rows else None

    def students(self, class_id: str | None = None) -> list[StudentState]:
        """Everyone in the class, by lesson, step and name."""
        with self.store.read() as run:
            rows = run("SELECT student, nickname, lesson, step, follow, seen FROM students WHERE class_id = ? "
                       "ORDER BY lesson, step, nickname, student", self._class_id(class_id))  # fmt: skip
        return [StudentState(*row[:4], bool(row[4]), row[5]) for row in rows]

    # --- answers ----------------------------------------------------------------------------------

    def record_answer(
        self, student: str, question: str, answer: str, raw: str, correct: bool, class_id: str | None = None
    ) -> AnswerOutcome:
        """Store ``student``'s answer to ``question`` ("lesson/step"); only the first one counts.

        Args:
            answer: the answer as understood (canonical, for the statistics), or "" if unreadable.
            raw: what was typed (cut to MAX_ANSWER characters).
        """
        class_id = self._class_id(class_id)
        with self.store.write() as run:
            self._ensure_student(run, class_id, student)
            inserted = run(
                "INSERT INTO answers (class_id, student, question, answer, raw, correct, answered, tries) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT (class_id, student, question) DO NOTHING RETURNING 1",
                class_id, student, question, answer[:MAX_ANSWER], raw[:MAX_ANSWER], int(bool(correct)), time.time(),
            )  # fmt: skip
            if inserted:
                return AnswerOutcome(True, bool(correct))
            run("UPDATE answers SET tries = tries + 1 WHERE class_id = ? AND student = ? AND question = ?",
                class_id, student, question)  # fmt: skip
            first = run("SELECT correct FROM answers WHERE class_id = ? AND student = ? AND question = ?",
                        class_id, student, question)  # fmt: skip
        return AnswerOutcome(False, bool(first[0][0]))

    def answered(self, student: str, class_id: str | None = None) -> dict[str, bool]:
        """The questions ``student`` has answered in the class, and whether the counted answer was right."""
        with self.store.read() as run:
            rows = run("SELECT question, correct FROM answers WHERE class_id = ? AND student = ?",
                       self._class_id(class_id), student)  # fmt: skip
        return {question: bool(correct) for question, correct in rows}

    def question_stats(self, class_id: str | None = None) -> list[QuestionStats]:
        """Per question: answers, right ones, the most common wrong answer (first answers only)."""
        with self.store.read() as run:
            rows = run("SELECT question, answer, correct FROM answers WHERE class_id = ? ORDER BY question",
                       self._class_id(class_id))  # fmt: skip
        by_question: dict[str, list[tuple[str, int]]] = {}
        for question, answer, correct in rows:
            by_question.setdefault(question, []).append((answer, correct))
        stats = []
        for question, answers in by_question.items():
            wrong = Counter(answer or "(unreadable)" for answer, correct in answers if not correct)
            common = wrong.most_common(1)[0] if wrong else (None, 0)
            right = sum(1 for _, correct in answers if correct)
            stats.append(QuestionStats(question, len(answers), right, common[0], common[1]))
        return stats

    # --- the teacher's move --------------------------------------------------------------------------

    def move_room(self, lesson: str, step: int, class_id: str | None = None) -> RoomMove:
        """Send every following student to ``lesson``'s step ``step``."""
        class_id = self._class_id(class_id)
        with self.store.write(lock=f"cnnviz room {class_id}") as run:  # two moves at once: each counts
            rows = run("SELECT move FROM room WHERE class_id = ?", class_id)
            move = (rows[0][0] if rows else 0) + 1
            now = time.time()
            if rows:
                run("UPDATE room SET lesson = ?, step = ?, move = ?, moved = ? WHERE class_id = ?",
                    lesson, int(step), move, now, class_id)  # fmt: skip
            else:
                run("INSERT INTO room (class_id, lesson, step, move, moved) VALUES (?, ?, ?, ?, ?)",
                    class_id, lesson, int(step), move, now)  # fmt: skip
        return RoomMove(lesson, int(step), move, now)

    def room(self, class_id: str | None = None) -> RoomMove | None:
        """The teacher's latest move in the class, or None before the first."""
        with self.store.read() as run:
            rows = run("SELECT lesson, step, move, moved FROM room WHERE class_id = ?", self._class_id(class_id))
        return RoomMove(*rows[0]) if rows else None

    # --- export ------------------------------------------------------------------------------------

    def export_csv(self, class_id: str | None = None) -> str:
        """The class's answers as CSV: one row per student and question (the counted, first answer)."""
        class_id = self._class_id(class_id)
        with self.store.read() as run:
            rows = run(
                "SELECT a.student, s.nickname, a.question, a.answer, a.raw, a.correct, a.tries, a.answered "
                "FROM answers a LEFT JOIN students s ON s.class_id = a.class_id AND s.student = a.student "
                "WHERE a.class_id = ? ORDER BY a.question, a.answered",
                class_id,
            )
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(["class", "student", "nickname", "question", "answer", "typed", "correct", "tries",
                         "answered_utc"])  # fmt: skip
        for student, nickname, question, answer, raw, correct, tries, answered in rows:
            when = datetime.fromtimestamp(answered, UTC).strftime("%Y-%m-%d %H:%M:%S")
            writer.writerow([_safe_cell(v) for v in (class_id, student, nickname or "", question, answer, raw,
                                                     "yes" if correct else "no", tries, when)])  # fmt: skip
        return buffer.getvalue()
