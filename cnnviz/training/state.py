"""Where a run stands, read and written without torch: the part of the run folder the queue worker uses.

The queue worker (:mod:`cnnviz.training.worker`) must stay small (it never imports torch), so what it reads
and writes of a run folder lives here, and :mod:`cnnviz.training.runs` builds on it:

- ``status.json``: ``state`` (a :class:`RunState`), ``message``, ``updated`` and fields of whoever wrote it
  (the trainer's ``pid``; the queue's ``ticket``, ``queued_at`` and ``priority`` while queued);
- ``stop``: present while a stop is requested (the trainer checks it before every step);
- ``lease.json``: the queue worker that trains the run and when it last said it is alive (:class:`Lease`).

Every file is replaced atomically (shared storage such as NFS promises no more), so a reader never sees half of
one, and no file is locked.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import re
import socket
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from cnnviz.files import atomic_write_text

RUNS_DIR_ENV = "CNNVIZ_RUNS_DIR"
STATUS_FILE = "status.json"
STOP_FILE = "stop"
LEASE_FILE = "lease.json"
HOST = socket.gethostname()  # a pid in status.json means something only on the host that wrote it
RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,80}$")


class RunState(enum.StrEnum):
    """Where a run stands. A ``str``: status.json keeps the plain word, and ``state == "queued"`` still holds."""

    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # its trainer died without writing an end


STATES = tuple(RunState)
ACTIVE_STATES = (RunState.QUEUED, RunState.RUNNING)


def runs_dir() -> Path:
    """Where runs live: ``$CNNVIZ_RUNS_DIR``, default ``./runs``."""
    return Path(os.environ.get(RUNS_DIR_ENV, "runs")).expanduser()


def read_json(path: str | os.PathLike) -> Any:
    """The parsed file, or None when it is missing or damaged."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None


@dataclass(frozen=True)
class RunStatus:
    """status.json: where a run stands, and the fields of whoever wrote it last (None: not written)."""

    state: RunState = RunState.QUEUED
    message: str = ""  # one line for the pages: "training", "finished: 99.31% test", why it stopped
    updated: float = 0.0  # when it was written (time.time())
    # the trainer, while it runs
    pid: int | None = None  # its process id, meaningful on ``host`` only
    start_ticks: int | None = None  # the process's start time in clock ticks: a reused pid is not it
    host: str | None = None  # the machine the trainer runs on
    started: float | None = None  # when the trainer process started
    time_limit_s: float | None = None  # its wall-time budget (the queue worker kills a trainer stuck far past it)
    # the queue worker
    worker: str | None = None  # the queue worker that launched it
    launched: float | None = None  # when that worker launched the trainer
    ticket: str | None = None  # while queued: the one queue task that may start it
    queued_at: float | None = None  # while queued: when it joined the queue (its place)
    priority: int = 0  # while queued: higher goes first (a run taken back from a lost worker)
    requeues: int = 0  # how many times a lost worker's run was queued again
    # how it ended
    train_seconds: float | None = None  # finished: seconds of optimisation steps
    step: int | None = None  # failed: the step at which training diverged

    @classmethod
    def from_json(cls, body: Any) -> RunStatus:
        """A status read from disk: unknown fields (a newer writer's) are ignored, damaged ones left default."""
        if not isinstance(body, dict):
            return cls()
        known = {f.name: f for f in fields(cls)}
        values = {k: v for k, v in body.items() if k in known}
        try:
            values["state"] = RunState(values.get("state", RunState.QUEUED))
        except ValueError:
            values["state"] = RunState.INTERRUPTED  # a state this version does not know: not running here
        return cls(**values)

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES


def read_status(folder: str | os.PathLike) -> RunStatus:
    """status.json of the run in ``folder`` as written (a run without one reads as queued)."""
    return RunStatus.from_json(read_json(Path(folder, STATUS_FILE)))


def write_status(folder: str | os.PathLike, state: str, message: str = "", **written: Any) -> None:
    """Replace status.json (atomically) with ``state``, ``message``, the time and ``written`` RunStatus fields."""
    if state not in STATES:
        raise ValueError(f"unknown run state {state!r}")
    status = RunStatus(RunState(state), message, time.time(), **written)  # an unknown field: TypeError here
    body = {k: v for k, v in asdict(status).items() if v is not None}
    atomic_write_text(Path(folder, STATUS_FILE), json.dumps(body, indent=2))


def stop_requested(folder: str | os.PathLike) -> bool:
    return Path(folder, STOP_FILE).exists()


def request_stop(folder: str | os.PathLike) -> None:
    Path(folder, STOP_FILE).touch()


def clear_stop(folder: str | os.PathLike) -> None:
    Path(folder, STOP_FILE).unlink(missing_ok=True)


@dataclass(frozen=True)
class Lease:
    """A queue worker's claim on a run it trains, renewed while it lives.

    Huey does not acknowledge tasks: a worker killed mid-task loses its task. The lease is how
    the others notice: one not renewed for the lease timeout belongs to a dead worker, and the run is
    queued again (:func:`cnnviz.training.worker.reclaim`).
    """

    ticket: str  # the queue task the run was claimed for
    worker: str  # host:pid of the queue worker
    renewed: float  # wall time of the last renewal (the hosts' clocks must agree within seconds: NTP)
    requeues: int = 0  # how many workers already died training this run

    def expired(self, timeout_s: float, now: float | None = None) -> bool:
        return (time.time() if now is None else now) - self.renewed > timeout_s


def read_lease(folder: str | os.PathLike) -> Lease | None:
    data = read_json(Path(folder, LEASE_FILE))
    try:
        return Lease(str(data["ticket"]), str(data["worker"]), float(data["renewed"]), int(data.get("requeues", 0)))
    except (TypeError, KeyError, ValueError):
        return None


def write_lease(folder: str | os.PathLike, lease: Lease) -> None:
    atomic_write_text(Path(folder, LEASE_FILE), json.dumps(asdict(lease)))


def drop_lease(folder: str | os.PathLike) -> None:
    with contextlib.suppress(OSError):
        Path(folder, LEASE_FILE).unlink()
