"""The admin token, guarded: wrong guesses slowed per session and per client address, and logged; the teacher's
actions logged; a warning when the token is short.

:func:`cnnviz.training.jobs.is_admin` compares a token with ``$CNNVIZ_ADMIN_TOKEN``; every page that takes the token
asks :func:`check_token` instead, which remembers wrong guesses. The first few cost nothing (a teacher mistypes);
after that each one locks its session and its address out for a delay that doubles with every further wrong guess,
up to ``max_delay_s``; during a lock no guess is compared at all, so a script gets no answer faster than the lock
allows. A correct token clears both. What a session typed once and was told is wrong is not counted again (the
page asks on every rerun while the wrong token stays in its box).

A school is one NAT address: a student guessing locks the teacher's address out as well, for at most
``max_delay_s``; hence the generous free guesses per address. The record is per server process (each worker keeps
its own), and is forgotten ``forget_after_s`` after an address's last wrong guess. Nothing here logs the token.
"""

from __future__ import annotations

import enum
import hashlib
import logging
import os
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from cnnviz.training import jobs

MIN_TOKEN_CHARS = 12  # a shorter $CNNVIZ_ADMIN_TOKEN gets a warning when the server starts
log = logging.getLogger("cnnviz.admin")


def _log_to_stderr() -> None:
    """The server's log is its stderr: give cnnviz's loggers a handler there (Streamlit configures only its own)."""
    root = logging.getLogger("cnnviz")
    if not root.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)


_log_to_stderr()


@dataclass(frozen=True)
class GuardLimits:
    """How wrong admin-token guesses are slowed (per server process)."""

    free_per_session: int = 3  # wrong guesses a session may make before each further one locks it out
    free_per_address: int = 10  # the same for a client address (a school's room shares one)
    first_delay_s: float = 2.0  # the first lock; each further wrong guess doubles it
    max_delay_s: float = 300.0  # the longest lock
    forget_after_s: float = 900.0  # a record with no wrong guess for this long is forgotten
    max_records: int = 10_000  # sessions and addresses remembered at most (the oldest go first)


class Verdict(enum.Enum):
    ADMIN = "admin"  # the token is right
    EMPTY = "empty"  # no token typed
    WRONG = "wrong"  # compared, and wrong
    LOCKED = "locked"  # not compared: too many wrong guesses from this session or address


@dataclass(frozen=True)
class TokenCheck:
    verdict: Verdict
    wait_s: float = 0.0  # how long until a guess is compared again (0: at once)

    @property
    def admin(self) -> bool:
        return self.verdict is Verdict.ADMIN

    def message(self) -> str:
        """What the page says (nothing for a right token or an empty box)."""
        if self.verdict is Verdict.LOCKED:
            return (f"Too many wrong admin tokens from this browser or network: the next one is checked in "
                    f"{self.wait_s:.0f} s.")  # fmt: skip
        if self.verdict is Verdict.WRONG:
            later = f" After several wrong ones, each further guess waits (next: {self.wait_s:.0f} s)."
            return "This token does not match the server's CNNVIZ_ADMIN_TOKEN." + (later if self.wait_s else "")
        return ""


@dataclass
class _Strikes:
    failures: int = 0
    last_failure: float = 0.0
    locked_until: float = 0.0
    last_wrong: bytes = b""  # digest of the last wrong token (sessions only)
    last_refused: bytes = b""  # digest of the last token refused unread during a lock (sessions only)


@dataclass
class AdminGuard:
    """Wrong-guess records per session and per address; thread-safe (every session runs in its own thread)."""

    limits: GuardLimits = field(default_factory=GuardLimits)
    clock: Callable[[], float] = time.monotonic
    _sessions: dict[str, _Strikes] = field(default_factory=dict)
    _addresses: dict[str, _Strikes] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def check(self, token: str | None, session: str, address: str) -> TokenCheck:
        """Whether ``token`` is the admin token, asked by ``session`` from ``address``."""
        if not token:
            return TokenCheck(Verdict.EMPTY)
        digest = hashlib.sha256(str(token).encode()).digest()
        with self._lock:
            now = self.clock()
            self._forget(now)
            mine = self._sessions.setdefault(session, _Strikes())
            where = self._addresses.setdefault(address, _Strikes())
            wait = max(mine.locked_until, where.locked_until) - now
            if mine.last_wrong == digest:  # the same wrong text, asked again by a rerun: already told and counted
                return TokenCheck(Verdict.LOCKED if wait > 0 else Verdict.WRONG, max(wait, 0.0))
            if wait > 0:
                if mine.last_refused == digest:  # a rerun during the lock: logged once
                    return TokenCheck(Verdict.LOCKED, wait)
                mine.last_refused = digest  # not compared, so not known to be wrong: once the lock ends, it is
                log.warning("admin token: a guess from %s (session %s) refused unread, locked for %.0f s more",
                            address or "an unknown address", session[:8], wait)  # fmt: skip
                return TokenCheck(Verdict.LOCKED, wait)
            if jobs.is_admin(token):
                self._sessions.pop(session, None)
                self._addresses.pop(address, None)
                return TokenCheck(Verdict.ADMIN)
            mine.last_wrong = digest
            wait = max(self._strike(mine, self.limits.free_per_session, now),
                       self._strike(where, self.limits.free_per_address, now))  # fmt: skip
            log.warning("admin token: wrong guess from %s (session %s): %d from this session, %d from this address%s",
                        address or "an unknown address", session[:8], mine.failures, where.failures,
                        f"; locked for {wait:.0f} s" if wait else "")  # fmt: skip
            return TokenCheck(Verdict.WRONG, wait)

    def reset(self) -> None:
        """Forget every wrong guess (tests; a restarted server does the same)."""
        with self._lock:
            self._sessions.clear()
            self._addresses.clear()

    def _strike(self, strikes: _Strikes, free: int, now: float) -> float:
        """Count a wrong guess; the lock it earns in seconds (0 while it is one of the free ones)."""
        strikes.failures += 1
        strikes.last_failure = now
        over = strikes.failures - free
        if over <= 0:
            return 0.0
        delay = min(self.limits.max_delay_s, self.limits.first_delay_s * 2 ** min(over - 1, 30))
        strikes.locked_until = now + delay
        return delay

    def _forget(self, now: float) -> None:
        for records in (self._sessions, self._addresses):
            if len(records) > self.limits.max_records // 2:
                stale = [key for key, s in records.items() if now - s.last_failure > self.limits.forget_after_s]
                for key in stale or sorted(records, key=lambda k: records[k].last_failure)[: len(records) // 2]:
                    del records[key]


GUARD = AdminGuard()  # this server process's record


def check_token(token: str | None, session: str, address: str) -> TokenCheck:
    """:meth:`AdminGuard.check` on this process's guard: what every page that takes the admin token asks."""
    return GUARD.check(token, session, address)


def log_action(action: str, address: str) -> None:
    """One log line for something the teacher did with the token (never the token itself)."""
    log.info("teacher action from %s: %s", address or "an unknown address", action)


def token_warning() -> str | None:
    """What the server says at start about ``$CNNVIZ_ADMIN_TOKEN``: a warning when it is short, else None."""
    token = os.environ.get(jobs.ADMIN_TOKEN_ENV, "")
    if token and len(token) < MIN_TOKEN_CHARS:
        return (f"Warning: {jobs.ADMIN_TOKEN_ENV} has {len(token)} characters; a token shorter than "
                f"{MIN_TOKEN_CHARS} can be guessed. Pick a longer one, e.g. "
                "python -c 'import secrets; print(secrets.token_urlsafe(18))'")  # fmt: skip
    return None
