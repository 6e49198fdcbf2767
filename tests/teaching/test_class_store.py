"""What goes wrong with the class database, on either engine, becomes one line that says what to do; nothing
saved before is lost; PostgreSQL's connections stay within the pool."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time
import urllib.parse

import psycopg
import psycopg.errors
import pytest
from psycopg_pool import PoolTimeout

from cnnviz.teaching import class_store
from cnnviz.teaching.class_db import Classroom
from cnnviz.teaching.class_store import ClassroomError, DatabaseUnavailable, Problem
from serving.supervisor import free_port
from tests.conftest import schema_url, with_query


def unavailable(call, *args) -> DatabaseUnavailable:
    """The DatabaseUnavailable that ``call(*args)`` raises, checked to be one line without a password."""
    with pytest.raises(DatabaseUnavailable) as caught:
        call(*args)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("The class database (")
    return caught.value


# --- no server needed ---------------------------------------------------------------------------------------


def test_a_postgresql_server_that_is_not_there_is_one_line_at_once(monkeypatch):
    monkeypatch.setattr(class_store, "RETRY_S", 60.0)
    url = f"postgresql://teacher:s3cret@127.0.0.1:{free_port()}/class"  # nothing listens there
    started = time.monotonic()
    error = unavailable(Classroom, url)
    assert error.problem is Problem.UNREACHABLE and time.monotonic() - started < 3
    assert str(error).startswith("The class database (PostgreSQL teacher@127.0.0.1:")
    assert "does not answer (Connection refused)" in str(error) and "s3cret" not in str(error)
    started = time.monotonic()
    assert unavailable(Classroom, url).problem is Problem.UNREACHABLE  # remembered: no new wait
    assert time.monotonic() - started < 0.5


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        (psycopg.errors.DiskFull("could not extend file"), Problem.FULL),
        (psycopg.errors.TooManyConnections("sorry, too many clients already"), Problem.FULL),
        (psycopg.OperationalError("FATAL:  remaining connection slots are reserved"), Problem.FULL),
        (psycopg.errors.ReadOnlySqlTransaction("cannot execute INSERT in a read-only transaction"), Problem.READ_ONLY),
        (psycopg.errors.QueryCanceled("canceling statement due to statement timeout"), Problem.BUSY),
        (psycopg.errors.DeadlockDetected("deadlock detected"), Problem.BUSY),
        (PoolTimeout("couldn't get a connection after 10.00 sec"), Problem.BUSY),
        (psycopg.errors.InvalidPassword("password authentication failed"), Problem.REFUSED),
        (psycopg.errors.InsufficientPrivilege("permission denied for table answers"), Problem.REFUSED),
        (psycopg.errors.AdminShutdown("terminating connection due to administrator command"), Problem.UNREACHABLE),
        (psycopg.OperationalError("consuming input failed: server closed the connection"), Problem.UNREACHABLE),
        (psycopg.errors.UndefinedTable('relation "answers" does not exist'), Problem.BROKEN),
    ],
)
def test_each_postgresql_error_has_its_kind(error, problem):
    assert class_store.postgres_problem(error) is problem


def test_libpq_prefixes_are_left_out_of_the_reason():
    text = (
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  database "x" does not exist'
    )
    assert class_store._one_line(text) == 'database "x" does not exist'
    assert class_store._one_line("first\n\tsecond") == "first"


@pytest.mark.parametrize("value", ["0", "lots", "51", "-1"])
def test_a_pool_size_that_makes_no_sense_is_refused(monkeypatch, value):
    monkeypatch.setenv(class_store.POOL_ENV, value)
    with pytest.raises(ClassroomError, match="CNNVIZ_CLASSROOM_POOL=.*whole number of connections from 1 to 50"):
        class_store.pool_size()


def test_the_pool_size_defaults_small(monkeypatch):
    monkeypatch.delenv(class_store.POOL_ENV, raising=False)
    assert class_store.pool_size() == class_store.POOL_SIZE == 4
    monkeypatch.setenv(class_store.POOL_ENV, "2")
    assert class_store.pool_size() == 2


def test_a_read_only_sqlite_database_reads_and_explains_why_it_does_not_write(tmp_path):
    path = tmp_path / "class.sqlite"
    Classroom(f"sqlite:///{path}").record_answer("a", "conv/0", "1", "1", True)
    copy = Classroom(f"sqlite:///{path}?mode=ro")  # a read-only copy, as a read-only mount gives
    assert copy.answered("a") == {"conv/0": True} and len(copy.question_stats()) == 1
    error = unavailable(copy.record_answer, "b", "conv/0", "1", "1", True)
    assert error.problem is Problem.READ_ONLY and "is read-only (attempt to write a readonly database)" in str(error)
    assert Classroom(f"sqlite:///{path}").question_stats()[0].answered == 1  # nothing lost, nothing half-written


def test_a_locked_sqlite_database_is_busy_not_a_traceback(tmp_path, monkeypatch):
    path = tmp_path / "class.sqlite"
    room = Classroom(f"sqlite:///{path}")
    room.current_class()
    monkeypatch.setattr(class_store, "BUSY_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer that does not let go
    try:
        error = unavailable(room.record_answer, "a", "conv/0", "1", "1", True)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert error.problem is Problem.BUSY and "did not answer in time (database is locked)" in str(error)
    assert room.record_answer("a", "conv/0", "1", "1", True).counted  # the failed write left nothing behind


def test_a_file_that_is_not_a_database_is_named(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_bytes(b"these are my lesson notes, not a database" * 100)
    error = unavailable(Classroom, f"sqlite:///{path}")
    assert error.problem is Problem.BROKEN and str(path) in str(error) and "not a database" in str(error)


def test_a_sqlite_file_that_cannot_be_opened_is_named(tmp_path):
    error = unavailable(Classroom, f"sqlite:///{tmp_path}")  # a folder
    assert error.problem is Problem.UNREACHABLE and "cannot be opened (unable to open database file)" in str(error)


# --- against the PostgreSQL server of $CNNVIZ_TEST_POSTGRES_URL -------------------------------------------


@pytest.mark.postgres
def test_a_wrong_password_or_database_is_refused_with_advice(postgres_url):
    error = unavailable(Classroom, with_query(postgres_url, password="not-the-password"))
    assert error.problem is Problem.REFUSED and "not-the-password" not in str(error)
    assert "Check the user, password, rights and database name in CNNVIZ_CLASSROOM_DB" in str(error)
    missing = urllib.parse.urlsplit(postgres_url)._replace(path="/cnnviz_no_such_database")
    error = unavailable(Classroom, urllib.parse.urlunsplit(missing))
    assert error.problem is Problem.REFUSED and 'database "cnnviz_no_such_database" does not exist' in str(error)


@pytest.mark.postgres
def test_a_read_only_postgresql_database_reads_and_explains(postgres_schema):
    Classroom(schema_url(*postgres_schema)).record_answer("a", "conv/0", "1", "1", True)
    copy = Classroom(schema_url(*postgres_schema, options="-c default_transaction_read_only=on"))  # a standby
    assert copy.answered("a") == {"conv/0": True}
    error = unavailable(copy.record_answer, "b", "conv/0", "1", "1", True)
    assert error.problem is Problem.READ_ONLY and "read-only transaction" in str(error)


@pytest.mark.postgres
def test_a_lock_held_too_long_is_busy_and_undone(postgres_url, monkeypatch):
    monkeypatch.setattr(class_store, "BUSY_TIMEOUT_S", 0.5)  # the pool's statement_timeout, set as it connects
    room = Classroom(postgres_url)
    old = room.current_class()
    with psycopg.connect(postgres_url) as holder:  # another "new class" that does not finish
        holder.execute("SELECT pg_advisory_xact_lock(%s)", (class_store._lock_key("cnnviz class"),))
        error = unavailable(room.new_class, "Group B")
    assert error.problem is Problem.BUSY and "statement timeout" in str(error)
    assert room.current_class() == old  # the archiving was rolled back with it


@pytest.mark.postgres
def test_forty_students_share_the_pools_few_connections(postgres_url, postgres_server, monkeypatch):
    monkeypatch.setenv(class_store.POOL_ENV, "3")
    monkeypatch.setattr(class_store, "FIRST_WAIT_S", 0.005)  # every wait for a connection checks the server
    room = Classroom(postgres_url)
    room.current_class()
    name = psycopg.conninfo.conninfo_to_dict(postgres_url)["application_name"]
    seen: list[int] = []
    done = threading.Event()

    def count_connections() -> None:
        with psycopg.connect(postgres_server, autocommit=True) as watcher:
            while not done.is_set():
                seen.append(watcher.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s",
                                            (name,)).fetchone()[0])  # fmt: skip
                time.sleep(0.01)

    def student(number: int) -> None:
        for question in range(5):
            room.record_answer(f"s{number}", f"conv/{question}", "x", "x", True)
            room.record_progress(f"s{number}", "conv", question)

    watcher = threading.Thread(target=count_connections)
    watcher.start()
    students = [threading.Thread(target=student, args=(n,)) for n in range(40)]
    for t in students:
        t.start()
    for t in students:
        t.join()
    done.set()
    watcher.join()
    assert [s.answered for s in room.question_stats()] == [40] * 5
    assert seen and max(seen) <= 3 + 1, max(seen)  # the pool's, and one check at a time


@pytest.mark.postgres
def test_a_server_gone_mid_class_is_one_message_and_loses_nothing(postgres_gate, monkeypatch):
    monkeypatch.setattr(class_store, "RETRY_S", 0.3)
    url, gate = postgres_gate
    room = Classroom(url)
    for n in range(10):
        room.record_answer(f"s{n}", "conv/0", "x", "x", n % 2 == 0)
    gate.close()  # the server stops: open connections cut, new ones refused
    started = time.monotonic()
    error = unavailable(room.record_answer, "late", "conv/0", "x", "x", True)
    assert error.problem is Problem.UNREACHABLE and "Connection refused" in str(error)
    assert time.monotonic() - started < 3  # at once, not after the pool's wait
    assert unavailable(room.question_stats).problem is Problem.UNREACHABLE
    gate.open()  # back
    time.sleep(0.35)
    (stats,) = room.question_stats()  # the stale connections are dropped, new ones opened
    assert (stats.answered, stats.right) == (10, 5)
    assert room.record_answer("late", "conv/0", "x", "x", True).counted


def test_a_real_server_stopped_mid_class_and_started_again(own_postgres_cluster, monkeypatch):
    monkeypatch.setattr(class_store, "RETRY_S", 0.2)
    url, pg_ctl = own_postgres_cluster
    room = Classroom(url)
    for n in range(5):
        room.record_answer(f"s{n}", "conv/0", "x", "x", True)
    subprocess.run([*pg_ctl, "-m", "fast", "stop"], check=True, timeout=60)
    started = time.monotonic()
    error = unavailable(room.record_answer, "late", "conv/0", "x", "x", True)
    assert error.problem is Problem.UNREACHABLE and "Connection refused" in str(error)
    assert time.monotonic() - started < 3
    subprocess.run([*pg_ctl, "-l", "/dev/null", "start"], check=True, timeout=60)
    time.sleep(0.3)
    assert room.question_stats()[0].answered == 5  # everything saved before the stop
    assert room.record_answer("late", "conv/0", "x", "x", True).counted
