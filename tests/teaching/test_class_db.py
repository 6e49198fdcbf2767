"""The class database on SQLite and on PostgreSQL: migrations, first answers counted, concurrent writers
(threads and processes), CSV, a new class. Tests taking ``db_url`` or ``room`` run on both engines (the
PostgreSQL half is marked ``postgres``: it needs ``$CNNVIZ_TEST_POSTGRES_URL``); what goes wrong with either
engine is in test_class_store.py."""

from __future__ import annotations

import csv
import io
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from cnnviz.teaching import class_db
from cnnviz.teaching.class_db import Classroom, ClassroomError, NicknameRejected

ROOT = Path(__file__).resolve().parents[2]
ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(params=ENGINES)
def db_url(request, tmp_path) -> str:
    """An empty database: a new SQLite file, or a new schema on the test server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'class.sqlite'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture
def room(db_url) -> Classroom:
    return Classroom(db_url)


def execute_raw(url: str, *statements: str) -> None:
    """Run ``statements`` past cnnviz, as an older cnnviz or another program would have."""
    if url.startswith("sqlite:///"):
        connection = sqlite3.connect(url[len("sqlite:///") :])
        with connection:
            for statement in statements:
                connection.execute(statement)
        connection.close()
        return
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


def test_an_empty_database_is_created_at_the_latest_schema(db_url):
    db = Classroom(db_url)
    assert db.schema_version() == class_db.SCHEMA_VERSION == 3
    tables = ("schema_version", "classes", "students", "answers", "room", "watchers")
    assert all(db.store.has_table(name) for name in tables)
    db.record_answer("a", "conv/0", "1", "1", True)
    again = Classroom(db_url)  # opening again migrates nothing and loses nothing
    assert again.schema_version() == 3 and again.answered("a") == {"conv/0": True}


def test_an_empty_sqlite_database_is_created_in_wal_mode(tmp_path):
    path = tmp_path / "new" / "class.sqlite"
    db = Classroom(f"sqlite:///{path}")
    assert db.schema_version() == class_db.SCHEMA_VERSION == 3
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"schema_version", "classes", "students", "answers", "room", "watchers"} <= tables
    Classroom(f"sqlite:///{path}")  # opening again migrates nothing and loses nothing
    assert db.schema_version() == 3


def test_the_default_database_lives_in_the_runs_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("CNNVIZ_RUNS_DIR", str(tmp_path / "runs"))
    monkeypatch.delenv(class_db.DB_ENV, raising=False)
    db = Classroom()
    assert db.path == tmp_path / "runs" / "classroom.sqlite" and db.path.exists()


def test_a_version_1_database_is_migrated_keeping_its_answers(db_url):
    execute_raw(
        db_url,
        "CREATE TABLE schema_version (version INTEGER NOT NULL)",
        "INSERT INTO schema_version VALUES (1)",
        *class_db.MIGRATIONS[0],
        "INSERT INTO classes VALUES ('c1', 'old', 5, 1.0, NULL)",
        "INSERT INTO answers VALUES ('c1', 'browser-a', 'pooling/0', '(8, 14, 14)', '8x14x14', 1, 2.0)",
    )
    db = Classroom(db_url)
    assert db.schema_version() == class_db.SCHEMA_VERSION
    (stats,) = db.question_stats()
    assert (stats.question, stats.answered, stats.right) == ("pooling/0", 1, 1)
    assert 'pooling/0,"(8, 14, 14)",8x14x14,yes,1,' in db.export_csv()  # tries: the new column's default


def test_a_version_2_database_keeps_its_students_in_their_places(db_url):
    execute_raw(
        db_url,
        "CREATE TABLE schema_version (version INTEGER NOT NULL)",
        "INSERT INTO schema_version VALUES (2)",
        *class_db.MIGRATIONS[0],
        *class_db.MIGRATIONS[1],
        "INSERT INTO classes VALUES ('c1', 'old', 5, 1.0, NULL)",
        "INSERT INTO students (class_id, student, nickname, lesson, step, follow, seen) "
        "VALUES ('c1', 'browser-a', 'Ada', 'pooling', 2, 1, 3.0)",
    )
    db = Classroom(db_url)
    assert db.schema_version() == 3
    (entry,) = db.entries()
    assert (entry.student, entry.nickname, entry.address, entry.joined) == ("browser-a", "Ada", "", 0)
    assert db.record_progress("browser-a", "pooling", 3) is True and db.student("browser-a").step == 3


def test_a_newer_database_is_refused_not_damaged(db_url):
    Classroom(db_url).record_answer("a", "conv/0", "1", "1", True)
    execute_raw(db_url, "UPDATE schema_version SET version = 99")
    with pytest.raises(ClassroomError, match="newer than this cnnviz"):
        Classroom(db_url)
    execute_raw(db_url, f"UPDATE schema_version SET version = {class_db.SCHEMA_VERSION}")
    assert Classroom(db_url).answered("a") == {"conv/0": True}


def test_other_databases_get_a_clear_message():
    with pytest.raises(ClassroomError, match="not a database URL cnnviz knows") as error:
        Classroom("mysql://teacher:secret@db/class")
    assert "secret" not in str(error.value)


def test_postgresql_without_psycopg_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)  # what an environment without the package gives
    with pytest.raises(ClassroomError, match="needs the psycopg package: pip install -r requirements.txt"):
        Classroom("postgresql://u@127.0.0.1/db")


def test_only_the_first_answer_counts_and_the_statistics_follow(room):
    assert room.record_answer("a", "conv/0", "(8, 13, 13)", "8x13x13", True) == class_db.AnswerOutcome(True, True)
    assert room.record_answer("a", "conv/0", "(8, 12, 12)", "8,12,12", False) == class_db.AnswerOutcome(False, True)
    room.record_answer("b", "conv/0", "(8, 12, 12)", "(8,12,12)", False)
    room.record_answer("c", "conv/0", "(8, 12, 12)", "8 12 12", False)
    room.record_answer("d", "conv/0", "(13, 13)", "13x13", False)
    room.record_answer("e", "conv/0", "", "no idea", False)
    (stats,) = room.question_stats()
    assert (stats.answered, stats.right, stats.common_wrong, stats.common_wrong_count) == (5, 1, "(8, 12, 12)", 2)
    assert room.answered("a") == {"conv/0": True} and room.answered("zz") == {}


def test_progress_nicknames_and_the_teachers_move(room):
    assert room.room() is None and room.student("a") is None
    room.record_answer("browser-aaaa1234", "pooling/0", "1", "1", True)
    room.record_progress("browser-aaaa1234", "pooling", 2)
    room.record_progress("browser-bbbb5678", "pooling", 0, follow=False)
    assert room.set_nickname("browser-bbbb5678", "  Zoë   O'Neil ") == "Zoë O'Neil"
    a, b = room.students()
    assert (a.display_name, a.step, a.follow) == ("Zoë O'Neil", 0, False)
    assert b.display_name == "anonymous 1234" and b.step == 2
    first = room.move_room("pooling", 3)
    second = room.move_room("residual", 1)
    assert (first.move, second.move) == (1, 2) and room.room() == second
    assert room.set_nickname("browser-bbbb5678", "") == ""  # anonymous again


@pytest.mark.parametrize(
    ("nickname", "message"),
    [("", "Type a nickname"), ("x" * 25, "at most 24 characters"), ("<script>", "not < >"), ("a\u0000b", "not"),
     ("**bold**", "not \\*"), ("javascript:alert(1)", "not \\( \\) :")],
)  # fmt: skip
def test_nicknames_are_length_and_content_checked(nickname, message):
    with pytest.raises(NicknameRejected, match=message):
        class_db.check_nickname(nickname)


def test_a_new_class_archives_the_old_one_with_its_answers(room):
    old = room.current_class()
    room.record_answer("a", "conv/0", "(1, 2, 2)", "1x2x2", True)
    room.move_room("conv", 2)
    new = room.new_class("Group B")
    assert new.id != old.id and new.name == "Group B" and new.seed != old.seed
    assert room.current_class() == new and room.question_stats() == [] and room.room() is None
    archived = {c.id: c for c in room.classes()}
    assert archived[old.id].archived is not None and archived[new.id].archived is None
    assert room.question_stats(old.id)[0].answered == 1 and "conv/0" in room.export_csv(old.id)


def test_the_csv_export_has_one_row_per_counted_answer_and_defuses_formulas(room):
    room.set_nickname("browser-1", "Ada")
    room.record_answer("browser-1", "conv/0", "(8, 13, 13)", "8x13x13", True)
    room.record_answer("browser-1", "conv/0", "(8, 13, 14)", "8x13x14", False)
    room.record_answer("browser-2", "conv/1", "", '=HYPERLINK("http://x")', False)
    rows = list(csv.DictReader(io.StringIO(room.export_csv())))
    assert [(r["nickname"], r["question"], r["answer"], r["correct"], r["tries"]) for r in rows] == [
        ("Ada", "conv/0", "(8, 13, 13)", "yes", "2"),
        ("", "conv/1", "", "no", "1"),
    ]
    assert rows[1]["typed"].startswith("'=")  # a spreadsheet shows it, never runs it


def test_answers_from_many_threads_are_all_kept_once(room):
    """24 students (more than a pool's connections), each double-clicking every answer."""
    room.current_class()
    errors: list[BaseException] = []

    def student(number: int) -> None:
        try:
            for question in range(6):
                for attempt in range(2):  # a double click: the second try must not count
                    room.record_answer(f"s{number}", f"conv/{question}", str(attempt), str(attempt), attempt == 0)
                room.record_progress(f"s{number}", "conv", question)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=student, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    stats = room.question_stats()
    assert len(stats) == 6 and all(s.answered == 24 and s.right == 24 for s in stats)
    assert len(room.students()) == 24


WRITER = """
import sys
from cnnviz.teaching.class_db import Classroom
url, name = sys.argv[1], sys.argv[2]
room = Classroom(url)
for student in range(40):
    for question in range(5):
        # both processes answer for the same shared students: exactly one first answer each
        room.record_answer(f"shared{student}", f"q/{question}", name, name, name == "A")
        room.record_answer(f"{name}{student}", f"q/{question}", "x", "x", True)
print("done")
"""


def test_answers_from_two_processes_at_once_are_counted_once(db_url):
    url = db_url  # neither process finds the schema: both create and migrate it
    env = {"PYTHONPATH": str(ROOT)}
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, url, name], env=env, cwd=ROOT, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for name in "AB"]  # fmt: skip
    for writer in writers:
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0 and out.strip() == "done", err
    room = Classroom(url)
    assert len(room.classes()) == 1  # the two first visitors agreed on one class
    assert room.schema_version() == class_db.SCHEMA_VERSION
    stats = room.question_stats()
    assert [s.answered for s in stats] == [120] * 5  # 40 shared + 40 + 40 per question
    rows = list(csv.DictReader(io.StringIO(room.export_csv())))
    shared = [r for r in rows if r["student"].startswith("shared")]
    assert len(shared) == 200 and all(r["tries"] == "2" for r in shared)  # one counted, one more try


def test_two_teachers_moving_the_room_at_once_each_count(db_url):
    room = Classroom(db_url)
    klass = room.current_class()
    threads = [threading.Thread(target=room.move_room, args=("conv", n, klass.id)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert room.room().move == 8  # no two moves read the same counter


# --- places: taken by a first answer or nickname, not by opening a page (issue 25) ---------------------------------


def test_opening_pages_takes_no_place_and_a_reload_continues_where_the_browser_was(room):
    for number in range(class_db.MAX_STUDENTS + 10):  # a flood of browsers that only open the Lessons page
        assert room.record_progress(f"fake{number}", "conv", 0) is False
    room.record_progress("watcher", "pooling", 2, follow=False)
    assert room.students() == [] and room.entries() == [] and room.watching(0) == class_db.MAX_STUDENTS + 11
    back = room.whereabouts("watcher")  # a reload: a new session of the same browser
    assert (back.lesson, back.step, back.follow, back.nickname) == ("pooling", 2, False, "")
    assert room.student("watcher") is None
    assert room.record_answer("real", "conv/0", "1", "1", True, address="10.0.0.7").counted  # a place is free
    room.record_answer("watcher", "pooling/2", "1", "1", True)
    (placed,) = [s for s in room.students() if s.student == "watcher"]
    assert (placed.lesson, placed.step, placed.follow) == ("pooling", 2, False)  # where it watched from
    assert room.watching(0) == class_db.MAX_STUDENTS + 10 and room.record_progress("watcher", "pooling", 3) is True


def test_watchers_kept_per_class_are_bounded(room, monkeypatch):
    monkeypatch.setattr(class_db, "MAX_WATCHERS", 5)
    for number in range(8):
        room.record_progress(f"w{number}", "conv", 0)
    assert room.watching(0) == 5
    assert room.whereabouts("w0") is None and room.whereabouts("w7") is not None  # the longest unseen went


def test_a_full_class_refuses_a_new_student_and_keeps_everyone_in(room, monkeypatch):
    monkeypatch.setattr(class_db, "MAX_STUDENTS", 3)
    for number in range(3):
        room.set_nickname(f"s{number}", f"Student {number}")
    with pytest.raises(class_db.ClassFull, match=r"full \(3 students\)"):
        room.record_answer("late", "conv/0", "1", "1", True)
    with pytest.raises(class_db.ClassFull):
        room.set_nickname("late", "Late")
    assert room.record_answer("s1", "conv/0", "1", "1", True).counted  # those with a place go on
    assert [e.student for e in room.entries()] == ["s0", "s1", "s2"]


def test_new_students_from_one_address_are_limited_per_minute(room, monkeypatch):
    monkeypatch.setenv(class_db.NEW_STUDENTS_ENV, "4")
    for number in range(4):
        room.record_answer(f"nat{number}", "conv/0", "1", "1", True, address="203.0.113.9")
    with pytest.raises(class_db.TooManyNewStudents, match="4 new students joined from your network"):
        room.record_answer("nat4", "conv/0", "1", "1", True, address="203.0.113.9")
    room.record_answer("nat0", "conv/1", "1", "1", True, address="203.0.113.9")  # a place already held: no limit
    room.set_nickname("other", "Other", address="198.51.100.1")  # another address is not held back
    execute_raw(room.url, "UPDATE students SET joined = joined - 61")  # a minute later
    room.record_answer("nat4", "conv/0", "1", "1", True, address="203.0.113.9")
    assert len(room.entries()) == 6


def test_the_teacher_sees_where_places_came_from_and_frees_them(room):
    room.record_answer("a", "conv/0", "1", "1", True, address="10.0.0.1")
    room.set_nickname("b", "Bea", address="10.0.0.1")
    room.set_nickname("c", "Cy", address="10.0.0.2")
    room.set_nickname("c", "")  # a nickname taken back: the place holds nothing
    entries = {e.student: e for e in room.entries()}
    assert {s: (e.address, e.answers, e.empty) for s, e in entries.items()} == {
        "a": ("10.0.0.1", 1, False), "b": ("10.0.0.1", 0, False), "c": ("10.0.0.2", 0, True),
    }  # fmt: skip
    assert all(e.joined > 0 for e in entries.values())
    assert room.remove_students(["a", "c", "nobody"]) == 2
    assert [e.student for e in room.entries()] == ["b"] and room.question_stats() == []


# --- nicknames: visible, compared after NFKC and case folding, "Teacher" reserved, duplicates suffixed ----------------


@pytest.mark.parametrize(
    ("nickname", "message"),
    [("\u3164", "invisible"), ("\u115f\u1160", "invisible"), ("Ada\u3164", "invisible"), ("\uffa0", "invisible"),
     ("a\u200bb", "U\\+200B"), ("_", "at least one letter or digit"), ("-.-", "at least one letter or digit"),
     ("Teacher", "kept for the teacher"), ("TEACHER", "kept"), ("teacher", "kept"), ("T e a c h e r", "kept"),
     ("\u03a4eacher", "kept"), ("Теаcher", "kept"), ("T3ACH3R", "kept"), ("Ｔｅａｃｈｅｒ", "kept")],
)  # fmt: skip
def test_invisible_and_reserved_nicknames_are_refused(nickname, message):
    with pytest.raises(NicknameRejected, match=message):
        class_db.check_nickname(nickname)


def test_names_that_only_look_alike_stay_allowed():
    assert [class_db.check_nickname(n) for n in ("Teach", "Mr Teachers", "Zoë", "李", "42")] == [
        "Teach", "Mr Teachers", "Zoë", "李", "42",
    ]  # fmt: skip


def test_a_nickname_someone_holds_gets_a_suffix(room):
    assert room.set_nickname("a", "Ada") == "Ada"
    assert room.set_nickname("b", "ADA") == "ADA 2"  # case folded
    assert room.set_nickname("c", "Ａｄａ") == "Ａｄａ 3"  # NFKC: full-width letters are the same name
    assert room.set_nickname("a", "Ada") == "Ada"  # one's own name is not a duplicate
    assert room.set_nickname("d", "x" * 24) == "x" * 24 and room.set_nickname("e", "X" * 24) == "X" * 22 + " 2"
    assert sorted(s.nickname for s in room.students()) == ["ADA 2", "Ada", "X" * 22 + " 2", "x" * 24, "Ａｄａ 3"]
