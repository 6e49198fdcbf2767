"""The training queue as the pages see it: submit, stop, resume and delete runs, within the server's limits.

Runs are trained by queue workers (:mod:`cnnviz.training.worker`, on Huey): ``serve.py`` starts one on its own
host, and any host that shares the runs folder and the queue's storage may run more (one per GPU). Everything
about a run lives in its folder (:mod:`cnnviz.training.runs`), so any process (a page, a restarted server, the
CLI, a worker on another host) sees the same truth:

- a run is **queued** with a ticket (its task in the queue) and the oldest starts when a worker is free; a
  worker that dies is noticed by its lease (the run is queued again and resumes from its checkpoint), a trainer
  that dies leaves its run **interrupted**, and :func:`resume` continues it;
- a run belongs to the browser session (``owner``) that asked for it; only it, or someone holding
  ``$CNNVIZ_ADMIN_TOKEN``, may stop it;
- the decisions that check a limit (submit, resume) are taken under the queue's decision lock (a key in its
  storage, :func:`cnnviz.training.worker.decisions`), so two requests at once, from any host, cannot both pass
  a limit; stopping needs no lock (the stop flag in the run folder), so it works while the queue is down;
- limits (each an environment variable, see :class:`Limits`): runs waiting per owner and in all, wall time per
  run, the model and time budget of a new run, and the disk budget of the runs folder. Each refusal says which
  and why. Runs submitted together (:func:`submit_batch`, the bottleneck comparison) are one request for the
  per-owner limit, and share one run's wall time.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cnnviz.files import atomic_write_text
from cnnviz.training import replay, worker
from cnnviz.training.recipe import TrainConfig, TrainingEstimate, estimate
from cnnviz.training.runs import Run, RunState, create_run, disk_usage, list_runs, runs_dir
from cnnviz.training.state import HOST, read_lease
from cnnviz.training.worker import MAX_RUN_MINUTES_ENV, MAX_RUNS_ENV, env_int
from models.checkpoint import CheckpointError

ADMIN_TOKEN_ENV = "CNNVIZ_ADMIN_TOKEN"
MAX_QUEUED_ENV = "CNNVIZ_MAX_QUEUED"
MAX_QUEUED_PER_OWNER_ENV = "CNNVIZ_MAX_QUEUED_PER_OWNER"
MAX_TRAIN_MEMORY_ENV = "CNNVIZ_MAX_TRAIN_MEMORY_MB"
RUNS_DISK_ENV = "CNNVIZ_RUNS_DISK_MB"
BATCH_KEY = "batch"  # in config.json: runs submitted together (a comparison) share it and count as one request
__all__ = ["MAX_RUNS_ENV", "MAX_RUN_MINUTES_ENV"]  # named here too: the pages and tests read every limit from jobs


class JobRefused(ValueError):
    """A request the queue cannot take (the message says why and what to do instead)."""


def process_start_ticks(pid: int) -> int | None:
    """Start time of process ``pid`` in clock ticks since boot (tells a reused pid apart), or None."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return int(fields[19])  # field 22 of stat; fields[0] is field 3
    except (OSError, IndexError, ValueError):
        return None


@dataclass(frozen=True)
class Limits:
    """What the shared server allows; each field is read from its environment variable."""

    max_running: int  # runs one queue worker trains at once ($CNNVIZ_MAX_RUNS, default 1)
    max_queued: int  # runs waiting, all owners together ($CNNVIZ_MAX_QUEUED, default 10)
    max_queued_per_owner: int  # runs one browser may have waiting, resumes included (default 1)
    max_run_minutes: int  # wall time of one training process; it then stops, resumable (default 60)
    max_train_memory_mb: int  # estimated memory of one training step (default 2048)
    runs_disk_mb: int  # disk budget of the runs folder (default 2048)

    @classmethod
    def from_env(cls) -> Limits:
        return cls(
            max_running=env_int(MAX_RUNS_ENV, 1),
            max_queued=env_int(MAX_QUEUED_ENV, 10),
            max_queued_per_owner=env_int(MAX_QUEUED_PER_OWNER_ENV, 1),
            max_run_minutes=env_int(MAX_RUN_MINUTES_ENV, 60),
            max_train_memory_mb=env_int(MAX_TRAIN_MEMORY_ENV, 2048),
            runs_disk_mb=env_int(RUNS_DISK_ENV, 2048),
        )


def max_parallel() -> int:
    """How many runs a queue worker trains at once: ``$CNNVIZ_MAX_RUNS``, default 1."""
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


def _queue(folder: Path) -> worker.Queue:
    try:
        return worker.open_queue(worker.queue_url(folder))
    except worker.QueueDown as error:
        raise JobRefused(str(error)) from None


@contextlib.contextmanager
def queue_decisions(root: str | os.PathLike | None = None) -> Iterator[worker.Queue]:
    """The queue of the runs folder, with its decision lock held (one process at a time, on any host).

    Raises:
        JobRefused: the queue's storage cannot be reached, or the runs folder cannot be written.
    """
    folder = Path(root or runs_dir())
    queue = _queue(folder)
    try:
        with worker.decisions(queue):
            yield queue
    except worker.QueueDown as error:
        raise JobRefused(str(error)) from None
    except OSError as error:
        raise JobRefused(storage_message(error)) from None


def refresh(run: Run) -> dict:
    """The run's status with liveness checked.

    A run trained by a queue worker has a lease: one that expired means the worker died, and the run is
    queued again (:func:`cnnviz.training.worker.reclaim`; while the queue is down it reads as running until
    it is back). A terminal run (``python -m cnnviz.train``, no lease) whose process is gone becomes
    "interrupted". Never raises for a full disk: the corrected status is then returned without being saved.
    """
    for _ in range(3):
        status = run.status
        if status.state != RunState.RUNNING:
            return status
        lease = read_lease(run.path)
        if lease is not None:
            if lease.expired(worker.lease_seconds()):
                with contextlib.suppress(worker.QueueDown, JobRefused, OSError):
                    worker.reclaim(_queue(run.path.parent), run.path)
                return run.status
            return status
        if (status.host or HOST) != HOST:
            return status  # a terminal run on another host: its pid means nothing here
        if process_alive(status.pid, status.start_ticks):
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
        return dataclasses.replace(status, state=state, message=f"{message} ({storage_message(error)})")
    return run.status


def enqueue_waiting(root: str | os.PathLike | None = None) -> list[str]:
    """Give a queue task to every queued run of the folder that has none (runs made by a command line tool).

    Raises:
        JobRefused: the queue's storage cannot be reached.
    """
    folder = Path(root or runs_dir())
    try:
        return worker.resync(_queue(folder), folder)
    except worker.QueueDown as error:
        raise JobRefused(str(error)) from None


def _queue_order(run: Run) -> tuple[float, float]:
    """The queue's own order: higher priority first (runs whose worker died), then the time they were queued."""
    status = run.status
    at = status.queued_at
    priority = status.priority
    return (
        -(priority if isinstance(priority, (int, float)) else 0),
        at if isinstance(at, (int, float)) else run.meta.get("created", 0),
    )


def queue_position(run: Run) -> int | None:
    """1 for the next queued run to start, 2 for the one after, ...; None when not queued."""
    queued = sorted((r for r in list_runs(run.path.parent) if r.state == RunState.QUEUED), key=_queue_order)
    return queued.index(run) + 1 if run in queued else None


def live_version(run: Run) -> str:
    """What a page watching ``run`` compares to know that there is something new to show.

    Checked for liveness first (:func:`refresh`: a dead trainer's run becomes "interrupted", which changes the
    version); a queued run's version also changes when it moves up the queue.
    """
    state = refresh(run).state
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
    """Queue a run for ``owner``; a free queue worker starts it.

    The budget is checked first, then, under the queue's decision lock, the owner's and the
    global queue limits and the disk budget, so simultaneous submits cannot both pass.

    Raises:
        JobRefused: over a limit (the message says which), the runs folder cannot be written, or the queue's
            storage cannot be reached.
    """
    limits = Limits.from_env()
    cost = check_budget(config, limits)
    folder = Path(root or runs_dir())
    with queue_decisions(folder) as queue:
        _check_queue_room(list_runs(folder), owner, limits)
        _check_disk(folder, _room_needed(config, cost), limits)
        run = create_run(config, name=name, owner=owner, root=folder)
        try:
            worker.queue_run(queue, run.path, "waiting for a free training slot")
        except BaseException:
            run.delete()  # never a queued run that no worker will take
            raise
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
        JobRefused: over a limit (the message says which), the runs folder cannot be written, or the queue's
            storage cannot be reached.
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
    with queue_decisions(folder) as queue:
        _check_queue_room(list_runs(folder), owner, limits, places=len(configs))
        _check_disk(folder, sum(map(_room_needed, configs, costs)), limits)
        try:
            for index, (config, name) in enumerate(zip(configs, names)):
                run = create_run(config, name=name, owner=owner, root=folder)
                created.append(run)
                atomic_write_text(run.path / "config.json", json.dumps({**run.meta, BATCH_KEY: batch}, indent=2))
                if prepare is not None:
                    prepare(index, run, batch)
            for run in created:  # only once all exist: a worker never starts half a batch that is then undone
                worker.queue_run(queue, run.path, "waiting for a free training slot")
        except BaseException:
            for run in created:  # a full disk or the queue gone half-way: no partial batch stays queued
                run.delete()
            raise
    return created


def can_control(run: Run, owner: str, admin_token: str | None = None) -> bool:
    """Whether ``owner`` (or an admin) may stop, resume or delete ``run``."""
    return run.owner == owner or is_admin(admin_token)


def _stop_one(run: Run, message: str) -> bool:
    """Cancel a queued run or ask a running one to stop; True if it was active.

    The flag comes first, in both cases: a worker claiming the run at this moment either sees it and cancels
    the run, or starts a trainer that sees it before its first step. Needs no lock, so it works while the
    queue's storage is down.
    """
    state = refresh(run).state
    if state not in (RunState.QUEUED, RunState.RUNNING):
        return False
    # A flag file, not a signal: the trainer may run on another host. It checks the flag before every step
    # and evaluation batch, writes its checkpoint and status, and its worker takes the next queued run.
    run.request_stop()
    if state == RunState.QUEUED:
        run.set_status(RunState.STOPPED, message)
    return True


def stop(run: Run, owner: str, admin_token: str | None = None) -> None:
    """Ask ``run`` to stop (it checkpoints and ends within about a step); cancel it if still queued.

    Raises:
        JobRefused: ``owner`` is not the run's owner and holds no admin token, or the disk cannot be written.
    """
    if not can_control(run, owner, admin_token):
        raise JobRefused("this run belongs to another session; only its owner or the teacher can stop it.")
    try:
        _stop_one(run, "cancelled before it started")
    except OSError as error:
        raise JobRefused(storage_message(error)) from None


def stop_all(admin_token: str | None, root: str | os.PathLike | None = None) -> int:
    """The teacher's end of class: cancel every queued run and ask every running one to stop.

    Returns how many runs were cancelled or asked to stop.

    Raises:
        JobRefused: without the admin token, or when the runs folder cannot be written.
    """
    if not is_admin(admin_token):
        raise JobRefused("only the teacher (with the admin token) can stop every run.")
    try:
        return sum(_stop_one(run, "cancelled by the teacher") for run in list_runs(root))
    except OSError as error:
        raise JobRefused(storage_message(error)) from None


def resume(run: Run, owner: str, admin_token: str | None = None) -> None:
    """Queue a stopped, interrupted or failed run to continue from its last checkpoint.

    A resumed run waits in the queue like a new one: the same per-owner and global limits apply.

    Raises:
        JobRefused: not the owner, nothing to resume from, the run is still active, a queue limit, or the
            queue's storage cannot be reached.
    """
    if not can_control(run, owner, admin_token):
        raise JobRefused("this run belongs to another session; only its owner or the teacher can resume it.")
    limits = Limits.from_env()
    with queue_decisions(run.path.parent) as queue:
        state = refresh(run).state
        if state in (RunState.QUEUED, RunState.RUNNING, RunState.FINISHED):
            raise JobRefused(f"the run is {state}; only a stopped, interrupted or failed run can be resumed.")
        if not run.checkpoint_path.exists():
            raise JobRefused("this run has no checkpoint to resume from; start a new run instead.")
        _check_queue_room(list_runs(run.path.parent), run.owner, limits, exclude=run)
        _check_disk(run.path.parent, run.checkpoint_path.stat().st_size + 2**20, limits)
        run.clear_stop()
        previous = run.status
        try:
            worker.queue_run(queue, run.path, "waiting to resume")
        except worker.QueueDown:
            run.set_status(previous.state, previous.message)
            raise


def delete(run: Run, owner: str, admin_token: str | None = None) -> None:
    """Delete a run folder; an active run must be stopped first."""
    if not can_control(run, owner, admin_token):
        raise JobRefused("this run belongs to another session; only its owner or the teacher can delete it.")
    if refresh(run).state in (RunState.QUEUED, RunState.RUNNING):
        raise JobRefused("stop the run before deleting it.")
    run.delete()  # a worker holding its stale task skips it (no config.json)


def wait(
    run: Run,
    timeout: float,
    states: tuple[str, ...] = (RunState.FINISHED, RunState.STOPPED, RunState.FAILED, RunState.INTERRUPTED),
) -> str:
    """Poll until ``run`` reaches one of ``states`` or ``timeout`` seconds pass; return its state."""
    deadline = time.monotonic() + timeout
    while True:
        state = refresh(run).state
        if state in states or time.monotonic() > deadline:
            return state
        time.sleep(0.05)
