"""The admin token's guard: wrong guesses slowed per session and per address and logged without the token; a
short token warned about (issue 25, item 6)."""

from __future__ import annotations

import logging
import threading

import pytest

from cnnviz import admin
from cnnviz.admin import AdminGuard, GuardLimits, Verdict
from cnnviz.training import jobs

TOKEN = "a-long-enough-secret"


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def admin_token(monkeypatch):
    monkeypatch.setenv(jobs.ADMIN_TOKEN_ENV, TOKEN)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def guard(clock) -> AdminGuard:
    return AdminGuard(GuardLimits(free_per_session=3, free_per_address=10, first_delay_s=2, max_delay_s=60), clock)


def test_after_the_free_guesses_each_wrong_one_locks_the_session_for_twice_as_long(guard, clock):
    checks = [guard.check(f"guess{n}", "session-1", "10.0.0.5") for n in range(3)]
    assert [(c.verdict, c.wait_s) for c in checks] == [(Verdict.WRONG, 0.0)] * 3
    assert guard.check("guess3", "session-1", "10.0.0.5").wait_s == 2  # the first lock
    locked = guard.check(TOKEN, "session-1", "10.0.0.5")  # even the right token is not compared while locked
    assert locked.verdict is Verdict.LOCKED and locked.wait_s == 2 and not locked.admin
    assert "checked in 2 s" in locked.message()
    assert guard.check(TOKEN, "session-1", "10.0.0.5").verdict is Verdict.LOCKED  # a rerun meanwhile
    clock.now += 2.1
    assert guard.check(TOKEN, "session-1", "10.0.0.5").admin  # the same token once the lock is over
    for n in range(4):
        guard.check(f"guess{n}", "session-1", "10.0.0.5")
    clock.now += 2.1
    assert guard.check("guess4", "session-1", "10.0.0.5").wait_s == 4
    clock.now += 4.1
    waits = []
    for n in range(5, 12):
        waits.append(guard.check(f"guess{n}", "session-1", "10.0.0.5").wait_s)
        clock.now += waits[-1] + 0.1
    assert waits == [8, 16, 32, 60, 60, 60, 60]  # doubling, up to the longest lock
    assert guard.check(TOKEN, "session-1", "10.0.0.5").admin  # once the lock is over, the right token opens it
    assert guard.check("again wrong", "session-1", "10.0.0.5").wait_s == 0  # and clears the record


def test_a_hundred_fast_guesses_over_one_session_get_a_handful_compared(guard, clock, monkeypatch):
    compared = []
    real = jobs.is_admin
    monkeypatch.setattr(jobs, "is_admin", lambda token: compared.append(token) or real(token))
    verdicts = [guard.check(f"guess{n}", "ws-1", "10.0.0.5").verdict for n in range(100)]  # all in one instant
    assert len(compared) == 4 and verdicts.count(Verdict.LOCKED) == 96


def test_new_sessions_from_one_address_are_slowed_by_the_address(guard, clock):
    for n in range(10):  # ten sessions (a script without cookies), one guess each: the address's free ones
        assert guard.check(f"guess{n}", f"session-{n}", "10.0.0.5").wait_s == 0
    assert guard.check("guess10", "session-10", "10.0.0.5").wait_s == 2
    assert guard.check("guess11", "session-11", "10.0.0.5").verdict is Verdict.LOCKED
    assert guard.check(TOKEN, "teacher", "10.0.0.9").admin  # another address is not held back


def test_the_same_wrong_token_on_every_rerun_counts_once(guard):
    for _ in range(20):  # the page asks on every rerun while the wrong token stays in the box
        assert guard.check("typo", "session-1", "10.0.0.5").verdict is Verdict.WRONG
    assert guard.check(TOKEN, "session-1", "10.0.0.5").admin


def test_a_record_is_forgotten_after_a_quiet_while(clock):
    guard = AdminGuard(GuardLimits(free_per_session=1, free_per_address=1, max_records=4, forget_after_s=100), clock)
    for n in range(4):
        guard.check("wrong", f"s{n}", f"10.0.0.{n}")
    clock.now += 101
    guard.check("wrong", "s9", "10.0.0.9")  # over half of max_records: the quiet ones are dropped
    assert guard.check("other", "s0", "10.0.0.0").wait_s == 0


def test_each_wrong_guess_is_one_log_line_without_the_token(guard, caplog):
    caplog.set_level(logging.INFO, logger="cnnviz")
    for n in range(5):
        guard.check(f"secret-guess-{n}", "session-abcdef123", "10.0.0.5")
    lines = [r.getMessage() for r in caplog.records if r.name == "cnnviz.admin"]
    assert len(lines) == 5 and all("10.0.0.5" in line and "session-" in line for line in lines)
    assert "locked for 2 s" in lines[3] and "refused unread" in lines[4]
    assert not any("secret-guess" in line or TOKEN in line for line in lines)
    admin.log_action("moved the room", "10.0.0.5")
    assert caplog.records[-1].getMessage() == "teacher action from 10.0.0.5: moved the room"


def test_guesses_from_many_threads_at_once_are_all_counted(guard):
    start = threading.Barrier(8)

    def guess(n: int) -> None:
        start.wait()
        guard.check(f"guess{n}", f"s{n}", "10.0.0.5")

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert guard._addresses["10.0.0.5"].failures == 8


@pytest.mark.parametrize(
    ("token", "warned"), [("", False), ("Zq9", True), ("Zq9" * 3 + "Zq", True), ("Zq9" * 4, False)]
)
def test_a_short_token_is_warned_about(monkeypatch, token, warned):
    monkeypatch.setenv(jobs.ADMIN_TOKEN_ENV, token)
    warning = admin.token_warning()
    assert (warning is not None) == warned
    if warned:
        assert f"has {len(token)} characters" in warning and token not in warning
