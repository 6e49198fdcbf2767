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
the one counted (later tries only raise its ``tries``); a browser takes one of
the class's places only with its first answer or nickname (until then it is
*watching*: its position is kept in ``watchers``, which no place counts), and
no more than ``NEW_STUDENTS_PER_MINUTE`` new students come from one client
address in a minute; nicknames need a visible letter or digit, are compared
after NFKC normalisation and case folding, "Teacher" and its look-alikes are
reserved, and a taken one gets a suffix; "new class" archives the current
class (its rows stay, for export) and starts an empty one with a new question
seed; the teacher's move is a counter that each student's page compares with
the last one it followed.
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
# New students (places taken) from one client address in a minute. Generous: a school's whole room is usually one
# NAT address, and by its address alone a room cannot be shielded from one of its own students (the teacher's
# Class page shows and removes what one address took).
NEW_STUDENTS_PER_MINUTE = 60
NEW_STUDENTS_ENV = "CNNVIZ_NEW_STUDENTS_PER_MINUTE"
MAX_WATCHERS = 2000  # browsers that only watch (no place) kept per class; beyond it the longest unseen is forgotten
# Letters and digits of any script, spaces and - _ . ' : enough for names, nothing that builds markup.
_NICKNAME = re.compile(r"^[\w .'\-]+$")
# Letters (Unicode category Lo) that draw nothing: with only these a nickname would be invisible on the projector.
FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u17b4\u17b5")
RESERVED_NICKNAMES = ("teacher",)  # compared by skeleton: "TEACHER", "Teacher" (Greek Tau), "T3acher" are refused
# Look-alikes of Latin letters, for the reserved names' skeleton only (a small table, not Unicode's full one).
_CONFUSABLES = str.maketrans({
    "α": "a", "а": "a", "ε": "e", "е": "e", "τ": "t", "т": "t", "ο": "o", "о": "o", "с": "c", "ς": "c", "ϲ": "c",
    "һ": "h", "η": "n", "ι": "i", "і": "i", "ρ": "p", "р": "p", "κ": "k", "к": "k", "χ": "x", "х": "x", "υ": "u",
    "г": "r", "0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "ı": "i", "ɑ": "a",
})  # fmt: skip

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
    (  # 3: where a place came from and when (new students per address), and browsers that only watch
        "ALTER TABLE students ADD COLUMN address TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE students ADD COLUMN joined DOUBLE PRECISION NOT NULL DEFAULT 0",
        "CREATE INDEX students_by_address ON students (class_id, address, joined)",
        "CREATE TABLE watchers (class_id TEXT NOT NULL, student TEXT NOT NULL, lesson TEXT NOT NULL, "
        "step INTEGER NOT NULL, follow INTEGER NOT NULL, seen DOUBLE PRECISION NOT NULL, "
        "PRIMARY KEY (class_id, student))",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)


class NicknameRejected(ValueError):
    """A nickname that is too long, empty, or has characters that are not allowed (the message says which)."""


class ClassFull(ClassroomError):
    """The class has MAX_STUDENTS places taken: a new student is refused (the teacher's page says so)."""


class TooManyNewStudents(ClassroomError):
    """NEW_STUDENTS_PER_MINUTE places were taken from this client address in the last minute."""


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
class Entry:
    """One place taken in the class, as the teacher checks it: where from, when, and whether anything is in it."""

    student: str  # the anonymous per-browser id
    nickname: str  # "" when none
    address: str  # the client address that took the place ("" when not known)
    joined: float  # Unix time the place was taken (0: before cnnviz recorded it)
    answers: int  # questions answered

    @property
    def empty(self) -> bool:
        """No answer and no nickname: a place that holds nothing (a nickname cleared again, or a fake)."""
        return not self.answers and not self.nickname


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


def nickname_key(name: str) -> str:
    """What two nicknames are compared by: NFKC-normalised, case-folded, spaces collapsed ("ＡＤＡ" is "ada")."""
    return " ".join(unicodedata.normalize("NFKC", name).casefold().split())


def _skeleton(name: str) -> str:
    """Letters only, look-alikes mapped to Latin: what a reserved name is recognised by."""
    folded = nickname_key(name).translate(_CONFUSABLES)
    return "".join(ch for ch in unicodedata.normalize("NFKD", folded) if ch.isalpha() and ch.isascii())


def check_nickname(text: str) -> str:
    """The nickname, trimmed, if it is acceptable.

    Raises:
        NicknameRejected: empty, longer than MAX_NICKNAME, with characters other than letters, digits,
            spaces and ``- _ . '``, with invisible filler letters or no visible letter or digit, or a reserved name.
    """
    name = unicodedata.normalize("NFC", " ".join(str(text).split()))
    if not name:
        raise NicknameRejected("Type a nickname, or leave the field empty to stay anonymous.")
    if len(name) > MAX_NICKNAME:
        raise NicknameRejected(f"A nickname has at most {MAX_NICKNAME} characters; this one has {len(name)}.")
    invisible = sorted({f"U+{ord(ch):04X}" for ch in name if FILLERS & set(unicodedata.normalize("NFKC", ch))})
    if invisible:
        raise NicknameRejected(f"A nickname cannot hold invisible letters ({' '.join(invisible)}).")
    if not _NICKNAME.match(name):
        bad = sorted({ch for ch in name if not _NICKNAME.match(ch)})
        shown = " ".join(ch if ch.isprintable() else f"U+{ord(ch):04X}" for ch in bad)
        raise NicknameRejected(f"Use letters, digits, spaces and - _ . ' only (not {shown}).")
    if not any(unicodedata.category(ch)[0] in "LN" for ch in name):
        raise NicknameRejected("A nickname needs at least one letter or digit.")
    if _skeleton(name) in RESERVED_NICKNAMES:
        raise NicknameRejected(f"“{name}” is kept for the teacher; pick another nickname.")
    return name


def unique_nickname(name: str, taken: set[str]) -> str:
    """``name``, or ``name`` with the first free suffix (" 2", " 3", ...) when another student holds it already.

    Args:
        taken: the other students' nicknames as :func:`nickname_key` gives them.
    """
    if nickname_key(name) not in taken:
        return name
    for number in range(2, MAX_STUDENTS + 2):
        suffix = f" {number}"
        candidate = name[: MAX_NICKNAME - len(suffix)].rstrip() + suffix
        if nickname_key(candidate) not in taken:
            return candidate
    raise NicknameRejected("Every variant of this nickname is taken; pick another one.")  # only with 500 alike


def new_students_per_minute() -> int:
    """``$CNNVIZ_NEW_STUDENTS_PER_MINUTE`` (default NEW_STUDENTS_PER_MINUTE; 0 lifts the limit)."""
    text = os.environ.get(NEW_STUDENTS_ENV, "").strip()
    if not text:
        return NEW_STUDENTS_PER_MINUTE
    if not text.isdigit():
        raise ClassroomError(f"{NEW_STUDENTS_ENV}={text!r}: give a whole number of students (0: no limit).")
    return int(text)


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

    def _take_place(self, run: Run, class_id: str, student: str, address: str) -> None:
        """Give ``student`` a place in the class unless they hold one: where they watched from, if they did.

        Raises:
            ClassFull: MAX_STUDENTS places are taken.
            TooManyNewStudents: ``address`` took the minute's new places already (an empty address is not counted).
        """
        if run("SELECT 1 FROM students WHERE class_id = ? AND student = ?", class_id, student):
            return
        self.store.take_lock(run, f"cnnviz students {class_id}")  # the counts below stay true until this commits
        count = run("SELECT COUNT(*) FROM students WHERE class_id = ?", class_id)[0][0]
        if count >= MAX_STUDENTS:
            raise ClassFull(f"This class is full ({MAX_STUDENTS} students); the teacher's Class page says so and "
                            "can free places.")  # fmt: skip
        now, limit = time.time(), new_students_per_minute()
        if address and limit:
            recent = run("SELECT COUNT(*) FROM students WHERE class_id = ? AND address = ? AND joined > ?",
                         class_id, address, now - 60.0)[0][0]  # fmt: skip
            if recent >= limit:
                raise TooManyNewStudents(
                    f"{recent} new students joined from your network in the last minute, the most one network may "
                    f"add (the teacher may raise {NEW_STUDENTS_ENV}); try again in a moment."
                )
        watched = run("SELECT lesson, step, follow FROM watchers WHERE class_id = ? AND student = ?",
                      class_id, student)  # fmt: skip
        lesson, step, follow = watched[0] if watched else ("", 0, 1)
        run("INSERT INTO students (class_id, student, lesson, step, follow, seen, address, joined) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (class_id, student) DO NOTHING",
            class_id, student, lesson, step, follow, now, address, now)  # fmt: skip
        run("DELETE FROM watchers WHERE class_id = ? AND student = ?", class_id, student)

    def set_nickname(self, student: str, nickname: str, class_id: str | None = None, address: str = "") -> str:
        """Check and store ``nickname`` ("" makes the student anonymous again); returns what was stored, with a
        suffix (" 2") when another student of the class has it. Takes a place in the class (see ``_take_place``).

        Raises:
            NicknameRejected: see :func:`check_nickname`.
            ClassFull, TooManyNewStudents: no place for a new student.
        """
        name = check_nickname(nickname) if nickname.strip() else ""
        class_id = self._class_id(class_id)
        with self.store.write() as run:
            self._take_place(run, class_id, student, address)
            if name:
                self.store.take_lock(run, f"cnnviz nicknames {class_id}")  # two students typing "Ada" at once
                taken = run("SELECT nickname FROM students WHERE class_id = ? AND student <> ? AND nickname <> ''",
                            class_id, student)  # fmt: skip
                name = unique_nickname(name, {nickname_key(row[0]) for row in taken})
            run("UPDATE students SET nickname = ? WHERE class_id = ? AND student = ?", name, class_id, student)
        return name

    def record_progress(
        self, student: str, lesson: str, step: int, follow: bool = True, class_id: str | None = None
    ) -> bool:
        """Remember where ``student`` is (a reload or a new tab continues there): in their place if they hold
        one, else as a watcher, which takes no place. Returns whether they hold a place."""
        class_id = self._class_id(class_id)
        values = (lesson, int(step), int(bool(follow)), time.time(), class_id, student)
        with self.store.write() as run:
            if run("UPDATE students SET lesson = ?, step = ?, follow = ?, seen = ? WHERE class_id = ? AND student = ? "
                   "RETURNING 1", *values):  # fmt: skip
                return True
            if run("UPDATE watchers SET lesson = ?, step = ?, follow = ?, seen = ? WHERE class_id = ? AND student = ? "
                   "RETURNING 1", *values):  # fmt: skip
                return False
            run("INSERT INTO watchers (lesson, step, follow, seen, class_id, student) VALUES (?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (class_id, student) DO UPDATE SET lesson = excluded.lesson, step = excluded.step, "
                "follow = excluded.follow, seen = excluded.seen", *values)  # fmt: skip
            over = run("SELECT COUNT(*) FROM watchers WHERE class_id = ?", class_id)[0][0] - MAX_WATCHERS
            if over > 0:
                run("DELETE FROM watchers WHERE class_id = ? AND student IN (SELECT student FROM watchers "
                    "WHERE class_id = ? ORDER BY seen LIMIT ?)", class_id, class_id, over)  # fmt: skip
        return False

    def student(self, student: str, class_id: str | None = None) -> StudentState | None:
        """``student``'s place in the class, or None while they hold none."""
        with self.store.read() as run:
            rows = run("SELECT student, nickname, lesson, step, follow, seen FROM students "
                       "WHERE class_id = ? AND student = ?", self._class_id(class_id), student)  # fmt: skip
        return StudentState(*rows[0][:4], bool(rows[0][4]), rows[0][5]) if rows else None

    def whereabouts(self, student: str, class_id: str | None = None) -> StudentState | None:
        """Where ``student`` was last: in their place, or where they watched from; None before their first visit."""
        class_id = self._class_id(class_id)
        placed = self.student(student, class_id)
        if placed is not None:
            return placed
        with self.store.read() as run:
            rows = run("SELECT student, lesson, step, follow, seen FROM watchers WHERE class_id = ? AND student = ?",
                       class_id, student)  # fmt: skip
        return StudentState(rows[0][0], "", rows[0][1], rows[0][2], bool(rows[0][3]), rows[0][4]) if rows else None

    def students(self, class_id: str | None = None) -> list[StudentState]:
        """Everyone with a place in the class, by lesson, step and name."""
        with self.store.read() as run:
            rows = run("SELECT student, nickname, lesson, step, follow, seen FROM students WHERE class_id = ? "
                       "ORDER BY lesson, step, nickname, student", self._class_id(class_id))  # fmt: skip
        return [StudentState(*row[:4], bool(row[4]), row[5]) for row in rows]

    def watching(self, since: float, class_id: str | None = None) -> int:
        """Browsers that opened a lesson and took no place, seen since ``since`` (Unix time)."""
        with self.store.read() as run:
            return run("SELECT COUNT(*) FROM watchers WHERE class_id = ? AND seen >= ?",
                       self._class_id(class_id), since)[0][0]  # fmt: skip

    def entries(self, class_id: str | None = None) -> list[Entry]:
        """Every place taken in the class, with where from and how many answers (the teacher's check)."""
        with self.store.read() as run:
            rows = run("SELECT s.student, s.nickname, s.address, s.joined, COUNT(a.question) FROM students s "
                       "LEFT JOIN answers a ON a.class_id = s.class_id AND a.student = s.student "
                       "WHERE s.class_id = ? GROUP BY s.student, s.nickname, s.address, s.joined "
                       "ORDER BY s.joined, s.student", self._class_id(class_id))  # fmt: skip
        return [Entry(*row) for row in rows]

    def remove_students(self, students: list[str], class_id: str | None = None) -> int:
        """Free the places of ``students`` (the teacher's clean-up), with their answers; returns how many."""
        class_id = self._class_id(class_id)
        removed = 0
        with self.store.write() as run:
            for student in students:
                run("DELETE FROM answers WHERE class_id = ? AND student = ?", class_id, student)
                removed += len(run("DELETE FROM students WHERE class_id = ? AND student = ? RETURNING 1",
                                   class_id, student))  # fmt: skip
        return removed

    # --- answers ----------------------------------------------------------------------------------

    def record_answer(
        self,
        student: str,
        question: str,
        answer: str,
        raw: str,
        correct: bool,
        class_id: str | None = None,
        address: str = "",
    ) -> AnswerOutcome:
        """Store ``student``'s answer to ``question`` ("lesson/step"); only the first one counts. The first answer
        (or nickname) takes a place in the class: see ``_take_place`` for what refuses it.

        Args:
            answer: the answer as understood (canonical, for the statistics), or "" if unreadable.
            raw: what was typed (cut to MAX_ANSWER characters).
            address: the client address (new places per address are limited).
        """
        class_id = self._class_id(class_id)
        with self.store.write() as run:
            self._take_place(run, class_id, student, address)
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
