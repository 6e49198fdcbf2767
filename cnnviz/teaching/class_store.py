"""Where the class database lives: a SQLite file or a PostgreSQL server, and every database error as a message.

:mod:`.class_db` holds the class's rules and its SQL; this module gives it connections and transactions on
either engine, and turns whatever goes wrong (a server down, a refused login, a read-only or full database, a
wait that lasts too long) into a :class:`DatabaseUnavailable` whose one-line message the pages show. A failed
transaction is rolled back, so nothing already saved is touched.

SQLite: a short connection per call, as it always was (opening a local file costs ~0.1 ms, and writers queue on
the file's lock; 6 processes x 100 threads answering at once ran without an error).

PostgreSQL: one small pool per server process and database (``psycopg_pool``), ``POOL_SIZE`` connections at
most, ``$CNNVIZ_CLASSROOM_POOL`` to change it. A server allows 100 connections by default and a class may be
served by several processes on several hosts: the connections are the processes' and the pools', never one per
student. Each connection is checked before use (a server restarted meanwhile costs nothing but a reconnect). When
the server does not answer, the calls of the next ``RETRY_S`` seconds fail at once with the same message instead
of each waiting for the pool; then one call tries again.
"""

from __future__ import annotations

import atexit
import contextlib
import enum
import hashlib
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

DB_ENV = "CNNVIZ_CLASSROOM_DB"
POOL_ENV = "CNNVIZ_CLASSROOM_POOL"
POOL_SIZE = 4  # PostgreSQL connections per server process at most (each call holds one for a few milliseconds)
MAX_POOL_SIZE = 50  # $CNNVIZ_CLASSROOM_POOL above this is refused: a few processes would fill a default server
BUSY_TIMEOUT_S = 10.0  # how long a call waits for a writer's lock, a pooled connection or a statement
CONNECT_TIMEOUT_S = 5  # how long opening a PostgreSQL connection may take (a host that drops packets)
RETRY_S = 3.0  # after "the server does not answer", calls fail at once for this long, then one tries again
FIRST_WAIT_S = 1.0  # a call that waits this long for a pooled connection checks whether the server is there

Run = Callable[..., list[tuple]]  # run(statement with ? placeholders, *arguments) -> the rows


class ClassroomError(RuntimeError):
    """The class database cannot be used as configured, or refuses this change; the message says why."""


class Problem(enum.Enum):
    """What is wrong with the class database (each has its own advice in the message)."""

    UNREACHABLE = "unreachable"  # the server is down or unreachable, the file cannot be opened
    REFUSED = "refused"  # wrong user or password, no such database, no rights
    READ_ONLY = "read-only"  # saved rows can be read, nothing can be written
    FULL = "full"  # no disk space, no memory, no free connection slot on the server
    BUSY = "busy"  # a lock, a pooled connection or a statement waited past BUSY_TIMEOUT_S
    BROKEN = "broken"  # anything else (a damaged file, an unexpected server error)


_ADVICE = {
    Problem.UNREACHABLE: "does not answer ({reason}). Answers already saved are kept; the page tries again "
    "when it is used again (the teacher: check that the database server is running).",
    Problem.REFUSED: f"refuses cnnviz ({{reason}}). Check the user, password, rights and database name in {DB_ENV}.",
    Problem.READ_ONLY: "is read-only ({reason}). Saved answers can be read, but nothing new is stored until it is "
    "writable again.",
    Problem.FULL: "is full ({reason}). Saved answers are kept; nothing new is stored until space or connections "
    "are freed on its server.",
    Problem.BUSY: "did not answer in time ({reason}); try again in a moment.",
    Problem.BROKEN: "failed ({reason}). Saved answers are kept.",
}
_FILE_ADVICE = {  # a SQLite file has no server to check
    Problem.UNREACHABLE: f"cannot be opened ({{reason}}). Answers already saved are kept; the teacher: check the "
    f"file, its folder and {DB_ENV}.",
}


class DatabaseUnavailable(ClassroomError):
    """The class database could not do what was asked; ``problem`` says why, the message what to do."""

    def __init__(self, problem: Problem, where: str, reason: str, file: bool = False):
        self.problem, self.where, self.reason = problem, where, reason
        advice = (_FILE_ADVICE if file else {}).get(problem, _ADVICE[problem])
        super().__init__(f"The class database ({where}) " + advice.format(reason=reason))


def _one_line(text: str, limit: int = 160) -> str:
    """The gist of a driver's message: its first line, without libpq's "connection to server ... failed:" and
    severity prefixes (the message already says which database)."""
    line = str(text).strip().splitlines()[0] if str(text).strip() else "no details"
    line = re.sub(r"^(connection failed: )?connection to server (at|on) .*? failed: ", "", line)
    line = re.sub(r"^(FATAL|ERROR):\s+", "", line).strip()
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _lock_key(name: str) -> int:
    """A signed 64-bit advisory-lock key for ``name`` (stable across processes and hosts)."""
    return int.from_bytes(hashlib.blake2b(name.encode(), digest_size=8).digest(), "big", signed=True)


class Engine(enum.Enum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


@dataclass(frozen=True)
class Target:
    """A parsed ``$CNNVIZ_CLASSROOM_DB``."""

    engine: Engine
    url: str  # as given (PostgreSQL: passed to psycopg; may hold a password, never shown)
    where: str  # what messages name: the file, or user@host:port/database without the password
    path: Path | None = None  # SQLite: the file
    options: str = ""  # SQLite: URI parameters after "?", e.g. mode=ro for a read-only copy


def parse_url(url: str) -> Target:
    """``sqlite:///relative.sqlite``, ``sqlite:////absolute.sqlite[?mode=ro]`` or ``postgresql://...``.

    Raises:
        ClassroomError: any other URL.
    """
    if url.startswith("sqlite:///"):
        path, _, options = url[len("sqlite:///") :].partition("?")
        path = Path(path).expanduser()
        return Target(Engine.SQLITE, url, str(path), path, options)
    if url.startswith(("postgresql://", "postgres://")):
        try:
            import psycopg
        except ImportError:
            raise ClassroomError(
                f"{DB_ENV} points at PostgreSQL, which needs the psycopg package: pip install -r requirements.txt "
                f"into the app's environment, or unset {DB_ENV} to use the built-in SQLite file."
            ) from None
        try:
            parts = psycopg.conninfo.conninfo_to_dict(url)
        except psycopg.Error as error:
            raise ClassroomError(
                f"{DB_ENV} is not a PostgreSQL URL psycopg understands ({_one_line(error)})."
            ) from None
        user = f"{parts['user']}@" if parts.get("user") else ""
        host = f"{parts.get('host', 'localhost')}:{parts.get('port', 5432)}"
        return Target(Engine.POSTGRESQL, url, f"PostgreSQL {user}{host}/{parts.get('dbname', '')}")
    shown = re.sub(r"//[^@/]*@", "//...@", url)  # never echo a password
    raise ClassroomError(
        f"{DB_ENV}={shown!r} is not a database URL cnnviz knows; use sqlite:///path/to/file.sqlite "
        "or postgresql://user:password@host/database."
    )


def pool_size() -> int:
    """``$CNNVIZ_CLASSROOM_POOL`` (default POOL_SIZE)."""
    text = os.environ.get(POOL_ENV, "").strip()
    if not text:
        return POOL_SIZE
    if not text.isdigit() or not 1 <= int(text) <= MAX_POOL_SIZE:
        raise ClassroomError(f"{POOL_ENV}={text!r}: give a whole number of connections from 1 to {MAX_POOL_SIZE}.")
    return int(text)


# --- SQLite ------------------------------------------------------------------------------------------------


def sqlite_problem(error: sqlite3.Error) -> Problem:
    """The kind of a SQLite error, from its result code (Python 3.11+) or, failing that, its text."""
    name = getattr(error, "sqlite_errorname", "") or ""
    text = str(error).lower()
    if name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "locked" in text:
        return Problem.BUSY
    if name.startswith("SQLITE_READONLY") or "readonly" in text:
        return Problem.READ_ONLY
    if name == "SQLITE_FULL" or "disk is full" in text:
        return Problem.FULL
    if name.startswith(("SQLITE_CANTOPEN", "SQLITE_PERM", "SQLITE_AUTH")) or "unable to open" in text:
        return Problem.UNREACHABLE
    return Problem.BROKEN


class SQLiteStore:
    """A SQLite file in WAL mode; a connection per call (thread- and process-safe)."""

    def __init__(self, target: Target):
        assert target.path is not None
        self.target = target

    def _error(self, error: sqlite3.Error | OSError) -> DatabaseUnavailable:
        problem = Problem.UNREACHABLE if isinstance(error, OSError) else sqlite_problem(error)
        return DatabaseUnavailable(problem, self.target.where, _one_line(error), file=True)

    @contextlib.contextmanager
    def _connection(self) -> Iterator[sqlite3.Connection]:
        path = self.target.path
        assert path is not None
        try:
            if "mode=ro" not in self.target.options:
                path.parent.mkdir(parents=True, exist_ok=True)
            uri = f"file:{quote(str(path.absolute()))}" + (f"?{self.target.options}" if self.target.options else "")
            connection = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        except (OSError, sqlite3.Error) as error:
            raise self._error(error) from None
        try:
            try:
                connection.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
                connection.execute("PRAGMA synchronous = NORMAL")  # WAL: durable at each checkpoint, safe on a crash
                yield connection
            except sqlite3.Error as error:
                raise self._error(error) from None
        finally:
            connection.close()

    @staticmethod
    def _runner(connection: sqlite3.Connection) -> Run:
        def run(statement: str, *args: Any) -> list[tuple]:
            cursor = connection.execute(statement, args)
            return cursor.fetchall() if cursor.description is not None else []

        return run

    @contextlib.contextmanager
    def read(self) -> Iterator[Run]:
        with self._connection() as connection:
            yield self._runner(connection)

    @contextlib.contextmanager
    def write(self, lock: str | None = None) -> Iterator[Run]:
        """One transaction that takes the file's write lock at once (``lock`` is implied: writers queue)."""
        with self._connection() as connection:
            connection.execute("BEGIN IMMEDIATE")  # no deadlock between two readers upgrading
            try:
                yield self._runner(connection)
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")

    def prepare(self) -> None:
        """WAL mode, set once for the file (persistent); a read-only copy keeps what it has."""
        with self._connection() as connection:
            if (
                connection.execute("PRAGMA journal_mode").fetchone()[0] != "wal"
                and "mode=ro" not in self.target.options
            ):
                connection.execute("PRAGMA journal_mode = WAL")

    @staticmethod
    def take_lock(run: Run, name: str) -> None:
        """Nothing: a SQLite write transaction holds the file's one write lock already."""

    def has_table(self, name: str) -> bool:
        with self.read() as run:
            return bool(run("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", name))


# --- PostgreSQL --------------------------------------------------------------------------------------------

_REFUSED_TEXT = re.compile(r"password authentication|no pg_hba\.conf entry|role .* does not exist|"
                           r"database .* does not exist|permission denied|authentication failed", re.I)  # fmt: skip
_FULL_TEXT = re.compile(r"too many clients|remaining connection slots", re.I)


def postgres_problem(error: BaseException) -> Problem:
    """The kind of a psycopg (or pool) error: by SQLSTATE where the server sent one, else by libpq's text
    (errors while connecting carry none)."""
    from psycopg_pool import PoolTimeout

    if isinstance(error, PoolTimeout):
        return Problem.BUSY
    state = getattr(error, "sqlstate", None) or ""
    if state in ("57014", "55P03", "40P01", "40001"):  # statement timeout, lock timeout, deadlock, serialization
        return Problem.BUSY
    if state == "25006":  # read-only transaction (a standby, or default_transaction_read_only)
        return Problem.READ_ONLY
    if state[:2] == "53":  # disk full, out of memory, too many connections
        return Problem.FULL
    if state in ("28000", "28P01", "42501", "3D000"):  # refused login or rights, no such database
        return Problem.REFUSED
    if state[:2] == "08" or state in ("57P01", "57P02", "57P03"):  # connection lost, server shut down
        return Problem.UNREACHABLE
    text = str(error)
    if _FULL_TEXT.search(text):
        return Problem.FULL
    if _REFUSED_TEXT.search(text):
        return Problem.REFUSED
    import psycopg

    if not state and isinstance(error, psycopg.OperationalError):  # refused, timed out, no such host, lost
        return Problem.UNREACHABLE
    return Problem.BROKEN


def _configure(connection: Any) -> None:
    """Every PostgreSQL connection: a statement (or a lock it waits for) gives up after BUSY_TIMEOUT_S."""
    connection.execute(f"SET statement_timeout = {int(BUSY_TIMEOUT_S * 1000)}")


class _Pool:
    """One process's connections to one PostgreSQL database, and what the server's last failure said."""

    def __init__(self, target: Target, size: int):
        from psycopg_pool import ConnectionPool

        self.target, self.size = target, size
        self.pool = ConnectionPool(
            target.url, min_size=1, max_size=size, open=False, timeout=BUSY_TIMEOUT_S, configure=_configure,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT_S}, name=f"cnnviz class {target.where}",
        )  # fmt: skip
        self.pool.open(wait=False)  # the first call waits for its connection, not the constructor
        self._down: tuple[float, DatabaseUnavailable] | None = None
        self._lock = threading.Lock()
        self._probing = threading.Lock()

    def error(self, error: BaseException) -> DatabaseUnavailable:
        return DatabaseUnavailable(postgres_problem(error), self.target.where, _one_line(error))

    def _probe(self) -> None:
        """Connect once outside the pool: the real reason when the pool cannot give a connection. One thread
        probes at a time (a busy pool has many waiting: each probing would take the server's last slots);
        the others go by what the last probe found.

        Raises:
            DatabaseUnavailable: the server does not answer or refuses; remembered for RETRY_S.
        """
        import psycopg

        if not self._probing.acquire(blocking=False):
            with self._lock:
                down = self._down
            if down is not None:
                raise down[1]
            return
        try:
            self._probe_now(psycopg)
        finally:
            self._probing.release()

    def _probe_now(self, psycopg: Any) -> None:
        try:
            psycopg.connect(self.target.url, connect_timeout=CONNECT_TIMEOUT_S, autocommit=True).close()
        except psycopg.Error as error:
            unavailable = self.error(error)
            with self._lock:
                self._down = (time.monotonic(), unavailable)
            raise unavailable from None
        with self._lock:
            self._down = None

    def _check_down(self) -> None:
        with self._lock:
            down = self._down
        if down is None:
            return
        if time.monotonic() - down[0] < RETRY_S:
            raise down[1]
        self._probe()

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """A checked connection from the pool, given back afterwards.

        Raises:
            DatabaseUnavailable: the server is down (at once while it is known to be), refuses, or every
                connection stayed busy for BUSY_TIMEOUT_S.
        """
        import psycopg
        from psycopg_pool import PoolTimeout

        self._check_down()
        for _ in range(self.size + 1):  # after a server restart every idle connection is stale: drop each
            try:
                connection = self.pool.getconn(timeout=min(FIRST_WAIT_S, BUSY_TIMEOUT_S))
            except PoolTimeout:
                self._probe()  # a server that is down says so now, not after the whole wait
                try:
                    connection = self.pool.getconn(timeout=max(BUSY_TIMEOUT_S - FIRST_WAIT_S, 0.001))
                except PoolTimeout as error:  # the server is there: every connection stayed busy
                    raise self.error(error) from None
            try:
                connection.execute("")
                break
            except psycopg.Error:
                self.pool.putconn(connection)  # broken: the pool closes it and opens another
                self._probe()
        else:
            raise DatabaseUnavailable(Problem.UNREACHABLE, self.target.where, "no connection stayed open")
        try:
            yield connection
        except psycopg.Error as error:
            unavailable = self.error(error)
            if unavailable.problem is Problem.UNREACHABLE:
                self._probe()  # down for good (the probe says why), or only this connection lost
            raise unavailable from None
        finally:
            self.pool.putconn(connection)

    def close(self) -> None:
        self.pool.close(timeout=2.0)


_pools: dict[tuple[str, int], _Pool] = {}
_pools_lock = threading.Lock()
_inherited: list[_Pool] = []  # a forked child's copies of its parent's pools: kept, never used nor closed


def _pool_for(target: Target, size: int) -> _Pool:
    with _pools_lock:
        pool = _pools.get((target.url, size))
        if pool is None:
            pool = _pools[(target.url, size)] = _Pool(target, size)
        return pool


def close_pools() -> None:
    """Close this process's PostgreSQL connections (at exit, and in tests after their database is gone)."""
    with _pools_lock:
        pools = list(_pools.values())
        _pools.clear()
    for pool in pools:
        pool.close()


def _forget_pools_in_child() -> None:
    # The parent's sockets are the parent's: a child that closed them would end the parent's sessions.
    _inherited.extend(_pools.values())
    _pools.clear()


os.register_at_fork(after_in_child=_forget_pools_in_child)
atexit.register(close_pools)


class PostgresStore:
    """A PostgreSQL database through this process's pool for it."""

    def __init__(self, target: Target):
        self.target, self.size = target, pool_size()
        _pool_for(target, self.size)  # opened now: the first call finds its connection being made

    @property
    def pool(self) -> _Pool:
        """This process's pool (looked up each time: a forked child, or a closed pool, gets a new one)."""
        return _pool_for(self.target, self.size)

    @staticmethod
    def _runner(connection: Any) -> Run:
        def run(statement: str, *args: Any) -> list[tuple]:
            cursor = connection.execute(statement.replace("?", "%s"), args)
            return cursor.fetchall() if cursor.description is not None else []

        return run

    @contextlib.contextmanager
    def read(self) -> Iterator[Run]:
        with self.pool.connection() as connection:
            yield self._runner(connection)

    @contextlib.contextmanager
    def write(self, lock: str | None = None) -> Iterator[Run]:
        """One transaction; with ``lock``, holding that advisory lock (what SQLite's one writer gives for free:
        two first visitors, two moves of the room, two "new class" never interleave their read and write)."""
        with self.pool.connection() as connection, connection.transaction():
            run = self._runner(connection)
            if lock is not None:
                self.take_lock(run, lock)
            yield run

    def prepare(self) -> None:
        """Nothing to set up beyond the schema (PostgreSQL's defaults suit a class)."""

    @staticmethod
    def take_lock(run: Run, name: str) -> None:
        """Hold the advisory lock ``name`` until the transaction that ``run`` belongs to ends."""
        run("SELECT pg_advisory_xact_lock(?)", _lock_key(name))

    def has_table(self, name: str) -> bool:
        with self.read() as run:
            return run("SELECT to_regclass(?) IS NOT NULL", name)[0][0]


Store = SQLiteStore | PostgresStore


def open_store(url: str) -> Store:
    """The store for a database URL (see :func:`parse_url`)."""
    target = parse_url(url)
    return SQLiteStore(target) if target.engine is Engine.SQLITE else PostgresStore(target)
