"""Background training: start, stop and queue detached ``python -m cnnviz.train`` processes.

A run trains in its own process, in its own session (so the server's death
does not take it along) and at lower CPU priority (``nice``), so the
interactive pages keep their speed. Everything about a run lives in its
folder (:mod:`cnnviz.training.runs`), so any process (a page, a restarted server, the
CLI) sees the same truth:

- a run whose status says running but whose process is gone reads as
  **interrupted** (:func:`refresh`), and :func:`resume` continues it;
- at most :func:`max_parallel` runs train at once (``$CNNVIZ_MAX_RUNS``,
  default 1 for 2 cores); more wait **queued** and :func:`advance_queue` starts
  the oldest one. The queue advances with no page open: every finishing
  training process calls it, a small watcher process (:mod:`cnnviz.training.keeper`)
  calls it when its trainer was killed (``kill -9``, the out-of-memory killer),
  and :func:`start_queue_keeper` calls it periodically in the server;
- a run belongs to the browser session (``owner``) that asked for it; only it,
  or someone holding ``$CNNVIZ_ADMIN_TOKEN``, may stop it;
- every decision about the queue (submit, resume, cancel, launch) is taken
  under one lock file, so two requests at once cannot both pass a limit;
- limits (each an environment variable, see :class:`Limits`): runs waiting per
  owner and in all, wall time per run, the model and time budget of a new run,
  and the disk budget of the runs folder. Each refusal says which and why.
  Runs submitted together (:func:`submit_batch`, the bottleneck comparison) are
  one request for the per-owner limit, and share one run's wall time.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hmac
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cnnviz.files import atomic_write_text
from cnnviz.training import replay
from cnnviz.training.recipe import TrainConfig, TrainingEstimate, estimate
from cnnviz.training.runs import Run, RunState, create_run, disk_usage, list_runs, runs_dir
from models.checkpoint import CheckpointError

ADMIN_TOKEN_ENV = "CNNVIZ_ADMIN_TOKEN"
MAX_RUNS_ENV = "CNNVIZ_MAX_RUNS"
MAX_QUEUED_ENV = "CNNVIZ_MAX_QUEUED"
MAX_QUEUED_PER_OWNER_ENV = "CNNVIZ_MAX_QUEUED_PER_OWNER"
MAX_RUN_MINUTES_ENV = "CNNVIZ_MAX_RUN_MINUTES"
MAX_TRAIN_MEMORY_ENV = "CNNVIZ_MAX_TRAIN_MEMORY_MB"
RUNS_DISK_ENV = "CNNVIZ_RUNS_DISK_MB"
NICENESS = 10  # how much lower than the server the training processes run
KILL_GRACE_S = 300  # a trainer still alive this long after its time limit is killed (it stops itself first)
KEEPER_INTERVAL_S = 10.0  # how often the server's keeper thread advances the queue (a few ms each time)
BATCH_KEY = "batch"  # in config.json: runs submitted together (a comparison) share it and count as one request
ROOT = Path(__file__).resolve().parents[2]  # the repository: `python -m cnnviz.train` runs from here


class JobRefused(ValueError):
    """A request the queue cannot take (the message says why and what to do instead)."""


def process_start_ticks(pid: int) -> int | None:
    """Start time of process ``pid`` in clock ticks since boot (tells a reused pid apart), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])  # field 22 of stat; fields[0] is field 3
    except (OSError, IndexError, ValueError):
        return None


def _env_int(name: str, default: int, minimum: int = 1) -> int:
    try:
        return max(minimum, int(os.environ.get(name, str(default))))
    except ValueError:
        return default


@dataclass(frozen=True)
class Limits:
    """What the shared server allows; each field is read from its environment variable."""

    max_running: int  # runs training at once ($CNNVIZ_MAX_RUNS, default 1)
    max_queued: int  # runs waiting, all owners together ($CNNVIZ_MAX_QUEUED, default 10)
    max_queued_per_owner: int  # runs one browser may have waiting, resumes included (default 1)
    max_run_minutes: int  # wall time of one training process; it then stops, resumable (default 60)
    max_train_memory_mb: int  # estimated memory of one training step (default 2048)
    runs_disk_mb: int  # disk budget of the runs folder (default 2048)

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            max_running=_env_int(MAX_RUNS_ENV, 1),
            max_queued=_env_int(MAX_QUEUED_ENV, 10),
            max_queued_per_owner=_env_int(MAX_QUEUED_PER_OWNER_ENV, 1),
            max_run_minutes=_env_int(MAX_RUN_MINUTES_ENV, 60),
            max_train_memory_mb=_env_int(MAX_TRAIN_MEMORY_ENV, 2048),
            runs_disk_mb=_env_int(RUNS_DISK_ENV, 2048),
        )


def max_parallel() -> int:
    """How many runs may train at once: ``$CNNVIZ_MAX_RUNS``, default 1."""
    return Limits.from_env().max_running


def storage_message(error: OSError) -> str:
    """What a student reads when the runs folder cannot be written (a full disk, a read-only mount)."""
    reason = "the disk is full" if error.errno in (errno.ENOSPC, errno.EDQUOT) else (error.strerror or str(error))
    return (
        f"The runs folder cannot be written ({reason}): new runs cannot start or change now. "
        "Runs already saved stay readable. The teacher can free space by deleting old runs."
    )


def check_budget(config: TrainConfig, limits: Limits | None = None) -> TrainingEstimate:
    """The run's estimate, refused (:class:`JobRefused`) when it is over the server's model, time or memory budget."""
    limits = limits or Limits.from_env()
    try:
        cost = estimate(config)
    except CheckpointError as error:
        raise JobRefused(f"This model is too big for the shared server: {error}") from None
    if cost.seconds > limits.max_run_minutes * 60:
        raise JobRefused(
            f"This run would take about {cost.seconds / 60:,.0f} minutes here; one run may take at most "
            f"{limits.max_run_minutes} minutes (teacher: {MAX_RUN_MINUTES_ENV}). Fewer epochs, fewer training "
            "images, fewer channels or a smaller kernel bring it down."
        )
    if cost.memory_bytes > limits.max_train_memory_mb * 2**20:
        raise JobRefused(
            f"One training step would need about {cost.memory_bytes / 2**20:,.0f} MB of memory; the limit is "
            f"{limits.max_train_memory_mb} MB (teacher: {MAX_TRAIN_MEMORY_ENV}). A smaller batch or fewer "
            "channels bring it down."
        )
    return cost


def is_admin(token: str | None) -> bool:
    """True when ``token`` equals ``$CNNVIZ_ADMIN_TOKEN`` (never when that is unset or empty)."""
    expected = os.environ.get(ADMIN_TOKEN_ENV, "")
    return bool(expected and token) and hmac.compare_digest(expected.encode(), str(token).encode())


def process_alive(pid: int | None, start_ticks: int | None = None) -> bool:
    """True when process ``pid`` runs (not a zombie) and, if given, started at ``start_ticks``."""
    if not pid:
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        try:  # no /proc (not Linux): ask the kernel
            os.kill(pid, 0)
            return True
        except OSError:
            return False
    if stat.rsplit(")", 1)[1].split()[0] in ("Z", "X"):
        return False
    return start_ticks is None or process_start_ticks(pid) == start_ticks


def refresh(run: Run) -> dict:
    """The run's status with liveness checked: a dead "running" process becomes "interrupted".

    Never raises for a full disk: the corrected status is then returned without being saved.
    A trainer far past its time limit (it stops itself at the limit) is killed.
    """
    for _ in range(3):
        status = run.status
        if status.get("state") != RunState.RUNNING:
            return status
        if process_alive(status.get("pid"), status.get("start_ticks")):
            _kill_if_overdue(status)
            return status
        # The process writes its last status before it exits: read again now that it is gone,
        # so a run that just finished is not relabelled. Changed meanwhile (relaunched): look again.
        again = run.status
        if again == status:
            break
    else:
        return run.status
    if run.stop_requested():  # asked to stop, and it ended before it could say so
        state, message = RunState.STOPPED, "stopped before training started"
    else:
        last = run.checkpoint_path.exists()
        state, message = (
            RunState.INTERRUPTED,
            (
                "the training process died (killed, out of memory, or the machine restarted); "
                + ("Resume continues from the last checkpoint." if last else "no checkpoint was written yet.")
            ),
        )
    try:
        if state == RunState.STOPPED:
            run.clear_stop()
        run.set_status(state, message)
    except OSError as error:
        return {"state": state, "message": f"{message} ({storage_message(error)})"}
    return run.status


def _kill_if_overdue(status: dict) -> None:
    """Kill a trainer that outlived its time limit by :data:`KILL_GRACE_S` (it normally stops itself).

    Only runs launched by the server carry a limit (``time_limit_s`` in their status); terminal runs have none.
    """
    started, limit = status.get("started"), status.get("time_limit_s")
    if started and limit and time.time() - started > limit + KILL_GRACE_S:
        with contextlib.suppress(OSError):
            os.kill(status["pid"], signal.SIGKILL)  # the trainer only: its watcher then advances the queue


@contextlib.contextmanager
def _queue_lock(root: Path) -> Iterator[None]:
    """One process at a time decides what starts (an advisory lock file in the runs folder)."""
    root.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(root / ".queue.lock", os.O_RDWR | os.O_CREAT, 0o644)  # never truncates or writes
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def _reap(process: subprocess.Popen) -> None:
    """Wait for a child in a background thread so it never lingers as a zombie."""
    threading.Thread(target=process.wait, daemon=True, name=f"reap-{process.pid}").start()


def _launch(run: Run) -> None:
    """Start the trainer for ``run`` under a watcher: detached, niced, output to train.log.

    The watcher (:mod:`cnnviz.training.keeper`, no torch, a few MB) waits for the trainer and
    advances the queue when it ends for any reason, ``kill -9`` included.
    """
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    niceness = min(19, os.getpriority(os.PRIO_PROCESS, 0) + NICENESS)
    trainer = [sys.executable, "-m", "cnnviz.train", "--run-dir", str(run.path.resolve()), "--quiet"]
    keeper = [sys.executable, "-m", "cnnviz.training.keeper"]
    command = [*keeper, "--nice", str(niceness), "--runs", str(run.path.parent), "--"]
    with open(run.path / "train.log", "ab") as log:
        # Claimed before anything starts: on a full disk this write fails and nothing is launched
        # (a trainer whose status cannot be written would be launched again and again).
        me = os.getpid()
        run.set_status(RunState.RUNNING, "starting", pid=me, start_ticks=process_start_ticks(me), launched=time.time())
        try:
            process = subprocess.Popen(
                command + trainer,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C or crash of the server does not reach it
            )
        except OSError as error:
            run.set_status(
                RunState.QUEUED, f"could not start a training process ({error.strerror}); it will be retried"
            )
            raise
    with contextlib.suppress(OSError):  # lower priority before torch starts its threads (they inherit it)
        os.setpriority(os.PRIO_PROCESS, process.pid, niceness)
    # The trainer writes its own pid when it starts; until then the watcher's stands for it.
    with contextlib.suppress(OSError):
        run.set_status(
            RunState.RUNNING,
            "starting",
            pid=process.pid,
            start_ticks=process_start_ticks(process.pid),
            launched=time.time(),
        )
    _reap(process)


def _advance_locked(folder: Path, limits: Limits) -> list[Run]:
    """Start the oldest queued runs while fewer than ``limits.max_running`` train (the lock is held)."""
    runs = list_runs(folder)
    running = sum(1 for r in runs if refresh(r).get("state") == RunState.RUNNING)
    started = []
    for run in runs:
        if running >= limits.max_running:
            break
        if run.state == RunState.QUEUED:
            _launch(run)
            started.append(run)
            running += 1
    return started


def advance_queue(root: str | os.PathLike | None = None) -> list[Run]:
    """Start the oldest queued runs while fewer than :func:`max_parallel` train; return those started.

    Never raises for a full or read-only disk: nothing starts, and the pages say why when asked.
    """
    folder = Path(root or runs_dir())
    try:
        with _queue_lock(folder):
            return _advance_locked(folder, Limits.from_env())
    except OSError:
        return []


_keeper_lock = threading.Lock()
_keepers: dict[Path, threading.Event] = {}  # runs folder -> set to end its keeper


def start_queue_keeper(root: str | os.PathLike | None = None, interval: float = KEEPER_INTERVAL_S) -> bool:
    """Advance the queue now and every ``interval`` seconds in a daemon thread (once per folder per process).

    Called when the server starts (and by the Train page), so a queue left waiting by a
    restart or a killed trainer moves on with no page open. Returns False when a keeper
    already runs for the folder.
    """
    folder = Path(root or runs_dir()).resolve()
    with _keeper_lock:
        if folder in _keepers:
            return False
        done = _keepers[folder] = threading.Event()

    def keep() -> None:
        while True:
            with contextlib.suppress(Exception):  # a keeper must outlive any one bad moment
                advance_queue(folder)
            if done.wait(interval):
                return

    threading.Thread(target=keep, daemon=True, name=f"cnnviz-queue-keeper-{folder.name}").start()
    return True


def stop_queue_keepers() -> None:
    """End every keeper thread of this process (tests; a server simply exits)."""
    with _keeper_lock:
        for done in _keepers.values():
            done.set()
        _keepers.clear()


def queue_position(run: Run) -> int | None:
    """1 for the next queued run to start, 2 for the one after, ...; None when not queued."""
    queued = [r for r in list_runs(run.path.parent) if r.state == RunState.QUEUED]
    return queued.index(run) + 1 if run in queued else None


def live_version(run: Run) -> str:
    """What a page watching ``run`` compares to know that there is something new to show.

    Checked for liveness first (:func:`refresh`: a dead trainer's run becomes "interrupted", which changes the
    version); a queued run's version also changes when it moves up the queue.
    """
    state = refresh(run).get("state")
    return run.version() + (f"/place {queue_position(run)}" if state == RunState.QUEUED else "")


def find_finished(config: TrainConfig, root: str | os.PathLike | None = None) -> Run | None:
    """The newest finished run trained with exactly ``config``, or None."""
    for run in reversed(list_runs(root)):
        if run.state == RunState.FINISHED and run.meta.get("train") and run.config == config:
            return run
    return None


def request_of(run: Run) -> str:
    """What the per-owner limit counts: the batch of runs submitted together (a comparison), else the run itself."""
    batch = run.meta.get(BATCH_KEY)
    return batch if isinstance(batch, str) and batch else run.id


def _check_queue_room(runs: list[Run], owner: str, limits: Limits, exclude: Run | None = None, places: int = 1) -> None:
    """The owner's waiting requests (a batch counts once) and the queue's free places (``places`` needed)."""
    queued = [r for r in runs if r.state == RunState.QUEUED and r != exclude]
    mine = [r for r in queued if r.owner == owner]
    if len({request_of(r) for r in mine}) >= limits.max_queued_per_owner:
        batch = " (one of a comparison's runs: the comparison counts as one)" if BATCH_KEY in mine[0].meta else ""
        raise JobRefused(
            f"you already have a run waiting in the queue ({mine[0].name}{batch}); stop it or wait until it starts."
        )
    if len(queued) + places > limits.max_queued and places == 1:
        raise JobRefused(
            f"the queue is full ({len(queued)} runs waiting, at most {limits.max_queued}); try again when some "
            "have started."
        )
    if len(queued) + places > limits.max_queued:
        free = max(0, limits.max_queued - len(queued))
        raise JobRefused(
            f"the queue has room for {free} more runs ({len(queued)} waiting, at most {limits.max_queued}; teacher: "
            f"{MAX_QUEUED_ENV}) and this needs {places}; pick fewer sizes or try again when some have started."
        )


def _room_needed(config: TrainConfig, cost: TrainingEstimate) -> int:
    """Disk a new run may fill: its checkpoint and the temporary copy, logs, the replay's frames."""
    return 2 * cost.checkpoint_bytes + 2**20 + replay.disk_bytes(config.channels[0], config.kernel_size)


def _check_disk(folder: Path, needed: int, limits: Limits) -> None:
    used = disk_usage(folder)
    budget = limits.runs_disk_mb * 2**20
    if used + needed > budget:
        raise JobRefused(
            f"the runs folder holds {used / 2**20:,.0f} MB of its {limits.runs_disk_mb:,} MB budget and this run "
            f"needs about {needed / 2**20:,.0f} MB more; delete old runs first (teacher: {RUNS_DISK_ENV})."
        )


def submit(config: TrainConfig, owner: str, name: str = "", root: str | os.PathLike | None = None) -> Run:
    """Queue a run for ``owner`` and start it if the machine is free.

    The budget is checked first, then, under the queue lock, the owner's and the
    global queue limits and the disk budget, so simultaneous submits cannot both pass.

    Raises:
        JobRefused: over a limit (the message says which), or the runs folder cannot be written.
    """
    limits = Limits.from_env()
    cost = check_budget(config, limits)
    folder = Path(root or runs_dir())
    try:
        with _queue_lock(folder):
            _check_queue_room(list_runs(folder), owner, limits)
            _check_disk(folder, _room_needed(config, cost), limits)
            run = create_run(config, name=name, owner=owner, root=folder)
            _advance_locked(folder, limits)
    except OSError as error:
        raise JobRefused(storage_message(error)) from None
    return run


def submit_batch(
    configs: Sequence[TrainConfig],
    owner: str,
    names: Sequence[str],
    root: str | os.PathLike | None = None,
    prepare: Callable[[int, Run, str], None] | None = None,
) -> list[Run]:
    """Queue runs that belong together (the bottleneck comparison) as one request of ``owner``: all or none.

    The limits of :func:`submit`, read for a batch: each run within the model, memory and time budget,
    and all of them together within the wall time of one run (a request takes the machine for at most
    that long); the owner's queue limit counts the batch once; the queue must have a free place for
    every run; the disk budget must hold all their checkpoints.

    Args:
        configs: one per run, started in this order.
        owner: the browser session asking.
        names: the runs' display names, one per config.
        root: the runs folder; default :func:`runs_dir`.
        prepare: ``prepare(index, run, batch)`` for each new run, under the lock and before any of them can
            start (e.g. to write a file naming its place in the batch); an ``OSError`` undoes the whole batch.

    Raises:
        JobRefused: over a limit (the message says which), or the runs folder cannot be written.
    """
    if not configs or len(configs) != len(names):
        raise JobRefused("nothing to queue: give one name per run and at least one run.")
    limits = Limits.from_env()
    costs = [check_budget(config, limits) for config in configs]
    seconds = sum(cost.seconds for cost in costs)
    if seconds > limits.max_run_minutes * 60:
        raise JobRefused(
            f"These {len(configs)} runs would take about {seconds / 60:,.1f} minutes here together; runs asked for "
            f"together may take at most {limits.max_run_minutes} minutes in all, like one run (teacher: "
            f"{MAX_RUN_MINUTES_ENV}). Fewer sizes, fewer epochs or fewer training images bring it down."
        )
    folder = Path(root or runs_dir())
    batch = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
    created: list[Run] = []
    try:
        with _queue_lock(folder):
            _check_queue_room(list_runs(folder), owner, limits, places=len(configs))
            _check_disk(folder, sum(map(_room_needed, configs, costs)), limits)
            try:
                for index, (config, name) in enumerate(zip(configs, names)):
                    run = create_run(config, name=name, owner=owner, root=folder)
                    created.append(run)
                    atomic_write_text(run.path / "config.json", json.dumps({**run.meta, BATCH_KEY: batch}, indent=2))
                    if prepare is not None:
                        prepare(index, run, batch)
            except OSError:
                for run in created:  # a full disk half-way: no partial batch stays queued
                    run.delete()
                raise
            _advance_locked(folder, limits)
    except OSError as error:
        raise JobRefused(storage_message(error)) from None
    return created


def can_control(run: Run, owner: str, admin_token: str | None = None) -> bool:
    """Whether ``owner`` (or an admin) may stop, resume or delete ``run``."""
    return run.owner == owner or is_admin(admin_token)


def _stop_locked(run: Run, message: str) -> bool:
    """Cancel a queued run or ask a running one to stop (the lock is held); True if it was active."""
    state = refresh(run)["state"]
    if state == RunState.QUEUED:
        run.set_status(RunState.STOPPED, message)
        return True
    if state == RunState.RUNNING:
        # A flag file, not a signal: the process checks it before every step and evaluation batch,
        # writes its checkpoint and status, then starts the next queued run itself.
        run.request_stop()
        return True
    return False


def stop(run: Run, owner: str, admin_token: str | None = None) -> None:
    """Ask ``run`` to stop (it checkpoints and ends within about a step); cancel it if still queued.

    Decided under the queue lock: a run being launched at this moment is either
    cancelled before it starts or asked to stop once it runs, never both missed.

    Raises:
        JobRefused: ``owner`` is not the run's owner and holds no admin token, or the disk cannot be written.
    """
    if not can_control(run, owner, admin_token):
        raise JobRefused("this run belongs to another session; only its owner or the teacher can stop it.")
    try:
        with _queue_lock(run.path.parent):
            _stop_locked(run, "cancelled before it started")
    except OSError as error:
        raise JobRefused(storage_message(error)) from None


def stop_all(admin_token: str | None, root: str | os.PathLike | None = None) -> int:
    """The teacher's end of class: cancel every queued run and ask every running one to stop.

    Returns how many runs were cancelled or asked to stop. Trainers are separate
    processes that outlive the server by design; this is how to end them all.

    Raises:
        JobRefused: without the admin token, or when the runs folder cannot be written.
    """
    if not is_admin(admin_token):
        raise JobRefused("only the teacher (with the admin token) can stop every run.")
    folder = Path(root or runs_dir())
    try:
        with _queue_lock(folder):
            return sum(_stop_locked(run, "cancelled by the teacher") for run in list_runs(folder))
    except OSError as error:
        raise JobRefused(storage_message(error)) from None


def resume(run: Run, owner: str, admin_token: str | None = None) -> None:
    """Queue a stopped, interrupted or failed run to continue from its last checkpoint.

    A resumed run waits in the queue like a new one: the same per-owner and global limits apply.

    Raises:
        JobRefused: not the owner, nothing to resume from, the run is still active, or a queue limit.
    """
    if not can_control(run, owner, admin_token):
        raise JobRefused("this run belongs to another session; only its owner or the teacher can resume it.")
    limits = Limits.from_env()
    try:
        with _queue_lock(run.path.parent):
            state = refresh(run)["state"]
            if state in (RunState.QUEUED, RunState.RUNNING, RunState.FINISHED):
                raise JobRefused(f"the run is {state}; only a stopped, interrupted or failed run can be resumed.")
            if not run.checkpoint_path.exists():
                raise JobRefused("this run has no checkpoint to resume from; start a new run instead.")
            _check_queue_room(list_runs(run.path.parent), run.owner, limits, exclude=run)
            _check_disk(run.path.parent, run.checkpoint_path.stat().st_size + 2**20, limits)
            run.clear_stop()
            run.set_status(RunState.QUEUED, "waiting to resume")
            _advance_locked(run.path.parent, limits)
    except OSError as error:
        raise JobRefused(storage_message(error)) from None


def delete(run: Run, owner: str, admin_token: str | None = None) -> None:
    """Delete a run folder (stopping it first if it is active)."""
    if not can_control(run, owner, admin_token):
        raise JobRefused("this run belongs to another session; only its owner or the teacher can delete it.")
    with _queue_lock(run.path.parent):  # not while it is being launched
        if refresh(run)["state"] in (RunState.QUEUED, RunState.RUNNING):
            raise JobRefused("stop the run before deleting it.")
        run.delete()


def wait(
    run: Run,
    timeout: float,
    states: tuple[str, ...] = (RunState.FINISHED, RunState.STOPPED, RunState.FAILED, RunState.INTERRUPTED),
) -> str:
    """Poll until ``run`` reaches one of ``states`` or ``timeout`` seconds pass; return its state."""
    deadline = time.monotonic() + timeout
    while True:
        state = refresh(run)["state"]
        if state in states or time.monotonic() > deadline:
            return state
        time.sleep(0.05)


# `python -m cnnviz.training.jobs --advance DIR`: what cnnviz.training.keeper runs after a killed trainer
if __name__ == "__main__":
    import argparse

    arguments = argparse.ArgumentParser(description="Advance the training queue of a runs folder once.")
    arguments.add_argument("--advance", metavar="DIR", required=True, help="the runs folder")
    advance_queue(arguments.parse_args().advance)
