"""The training queue on Huey, and its worker: ``python -m cnnviz.training.worker``.

What the engine, `Huey <https://huey.readthedocs.io>`_, guarantees: a task enqueued is taken by one worker at
most (its storage pops it atomically), in order (FIFO within a priority). Its storage is SQLite by default (one
file, no server: ``<runs folder>/.queue/huey.db``), or Redis or PostgreSQL for several hosts
(``$CNNVIZ_QUEUE_URL``). What it does not do: acknowledge tasks. A worker killed mid-task loses that task (Huey's
issues #559, #733), and it knows nothing of cnnviz's limits.

What cnnviz adds, here and in the run folder (:mod:`cnnviz.training.state`):

- the run folder stays the truth the pages read; a task carries only a run id, a name cnnviz made (Huey pickles
  task arguments: nothing a student typed is ever unpickled);
- ``ticket`` in a queued run's status.json names the one task that may start it: a cancelled run's task or a
  duplicate is skipped (:func:`claim`);
- a **lease** per running run (``lease.json``), renewed every few seconds by the worker that trains it. A lease not
  renewed for ``$CNNVIZ_LEASE_SECONDS`` belongs to a dead worker: :func:`reclaim` (any worker, or a page looking at
  the run) queues the run again, to resume from its checkpoint, or after :data:`MAX_REQUEUES` marks it interrupted;
- :func:`resync` gives a new task to a queued run that has none in the queue (one lost by a worker killed between
  taking it and claiming the run);
- one **decision lock**, a key in the queue's storage (``put_if_empty``: atomic in SQLite, Redis and PostgreSQL),
  so that limits are checked by one process at a time on every host, with no file lock;
- the **stop flag** in the run folder, checked by the trainer before every step.

The worker runs each training as a child process, ``python -m cnnviz.train --run-dir DIR`` (this module never imports
torch), at lower CPU priority, killed with its worker (``PR_SET_PDEATHSIG``: a run is never trained twice at once).
Stopping the worker (SIGINT or SIGTERM) stops its trainings at their next step, keeping their checkpoints, and queues
them again; the next worker to start resumes them.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import dataclasses
import logging
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from huey import PostgresHuey, PriorityRedisHuey, SqliteHuey
from huey.api import Huey, TaskWrapper
from huey.constants import EmptyData
from huey.consumer import Consumer

from cnnviz.training.state import (
    HOST,
    RUN_ID,
    Lease,
    RunState,
    clear_stop,
    drop_lease,
    read_lease,
    read_status,
    request_stop,
    runs_dir,
    stop_requested,
    write_lease,
    write_status,
)

QUEUE_URL_ENV = "CNNVIZ_QUEUE_URL"
LEASE_SECONDS_ENV = "CNNVIZ_LEASE_SECONDS"
LOCAL_WORKER_ENV = "CNNVIZ_QUEUE_WORKER"
MAX_RUNS_ENV = "CNNVIZ_MAX_RUNS"
MAX_RUN_MINUTES_ENV = "CNNVIZ_MAX_RUN_MINUTES"
QUEUE_NAME = "cnnviz-training"
TASK_NAME = "train_run"
LOCK_KEY = "cnnviz.decisions"
LEASE_DEFAULT_S = 30  # a lease not renewed this long: its worker is dead
MAX_REQUEUES = 3  # a run whose worker died this many times is marked interrupted instead (a host that keeps dying)
LOCK_STALE_S = 30.0  # a decision lock older than this was left by a process that died holding it (decisions take ms)
LOCK_WAIT_S = 10.0  # how long a request waits for the decision lock before it is refused
RESYNC_GRACE_S = 30.0  # a queued run's task may be missing this long (taken, being claimed) before it gets a new one
RESYNC_EVERY_S = 30.0
POLL_MAX_S = 1.0  # the longest a worker waits between looks at an empty queue (a new run starts within it)
STOP_TIMEOUT_S = 60.0  # a stopping worker waits this long for its trainings to save and end
KILL_GRACE_S = 300  # a trainer still alive this long after its time limit is killed (it stops itself first)
NICENESS = 10  # how much lower than the worker the trainings run, so that pages on the same host stay fast
SQLITE_BUSY_S = 5.0
STORAGE_TIMEOUT_S = 5.0  # connecting to a Redis or PostgreSQL storage
CREATE_TRIES = 5  # opening a PostgreSQL storage whose tables another host is creating at the same moment
REPEAT_LOG_S = 60.0  # the same error is logged at most once a minute
PR_SET_PDEATHSIG = 1
ROOT = Path(__file__).resolve().parents[2]  # the repository: `python -m cnnviz.train` runs from here

log = logging.getLogger("cnnviz.queue")


def env_int(name: str, default: int, minimum: int = 1) -> int:
    try:
        return max(minimum, int(os.environ.get(name, str(default))))
    except ValueError:
        return default


def lease_seconds() -> int:
    """``$CNNVIZ_LEASE_SECONDS``: how long a running run's lease lasts without renewal (default 30)."""
    return env_int(LEASE_SECONDS_ENV, LEASE_DEFAULT_S, minimum=2)


class QueueDown(Exception):
    """The queue's storage cannot be reached (the message says so, for a student and for the teacher)."""

    def __init__(self, where: str, error: BaseException | str):
        reason = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        super().__init__(
            f"The training queue cannot be reached ({reason}): new runs cannot start now; runs already training "
            f"go on. Try again in a minute. Teacher: check the queue's storage, {where}."
        )


@dataclass(frozen=True)
class Queue:
    """A connection to the queue: the Huey instance, its one task kind, and where it is (password hidden)."""

    huey: Huey
    train: TaskWrapper
    where: str


def queue_url(root: str | os.PathLike | None = None) -> str:
    """``$CNNVIZ_QUEUE_URL``, else the SQLite file ``.queue/huey.db`` in the runs folder."""
    configured = os.environ.get(QUEUE_URL_ENV, "").strip()
    if configured:
        return configured
    return f"sqlite:///{(Path(root or runs_dir()) / '.queue' / 'huey.db').resolve()}"


def _hide_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
    return urlunsplit(parts._replace(netloc=netloc))


def _engine(url: str) -> Huey:
    scheme = urlsplit(url).scheme
    if scheme == "sqlite":
        path = Path(url.removeprefix("sqlite://"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(QUEUE_NAME, filename=str(path), results=False, timeout=SQLITE_BUSY_S)
    # Timeouts: a storage that does not answer makes a page wait seconds, not minutes, before it says so.
    if scheme in ("redis", "rediss"):  # the priority variant: a run whose worker died goes first
        return PriorityRedisHuey(QUEUE_NAME, url=url, results=False, socket_connect_timeout=STORAGE_TIMEOUT_S)
    if scheme in ("postgresql", "postgres"):
        for attempt in range(CREATE_TRIES):
            try:
                return PostgresHuey(QUEUE_NAME, dsn=url, results=False, connect_timeout=int(STORAGE_TIMEOUT_S))
            except Exception as error:
                # Huey creates its tables with CREATE TABLE IF NOT EXISTS, which PostgreSQL does not make atomic:
                # two hosts opening a new database at once, one of them fails with a duplicate key (a
                # UniqueViolation on pg_type). Once the other has made them, the next try finds them.
                if type(error).__name__ != "UniqueViolation" or attempt == CREATE_TRIES - 1:
                    raise
                time.sleep(0.2 * (attempt + 1))
    raise ValueError(f"{QUEUE_URL_ENV} must start with sqlite:///, redis:// or postgresql://, not {scheme}://")


_queues: dict[tuple[int, str], Queue] = {}
_queues_lock = threading.Lock()


def open_queue(url: str | None = None) -> Queue:
    """The queue at ``url`` (default :func:`queue_url`), opened once per process.

    Raises:
        QueueDown: its storage cannot be opened (a missing driver, a server that does not answer, a bad URL).
    """
    url = url or queue_url()
    key = (os.getpid(), url)  # a forked server worker opens its own connection
    with _queues_lock:
        if key not in _queues:
            where = _hide_password(url)
            try:
                huey = _engine(url)
            except Exception as error:  # noqa: BLE001 - any driver's error is the same message to a student
                raise QueueDown(where, error) from None
            # context=True: the task sees its own id, the ticket it must match to start the run.
            _queues[key] = Queue(huey, huey.task(name=TASK_NAME, context=True)(_train_task), where)
        return _queues[key]


def _storage_call(queue: Queue, call: Callable, *args):
    try:
        return call(*args)
    except Exception as error:  # noqa: BLE001 - sqlite3, redis and psycopg errors alike
        raise QueueDown(queue.where, error) from None


class QueueBusy(QueueDown):
    """The decision lock stayed taken: the storage answers, but other requests hold it (a burst of a class)."""

    def __init__(self, where: str):
        Exception.__init__(self, "The training queue is busy with other requests; try again in a few seconds.")


@contextlib.contextmanager
def decisions(queue: Queue, wait_s: float = LOCK_WAIT_S) -> Iterator[None]:
    """One process at a time, on any host, decides what is queued or started (a key in the queue's storage).

    A lock left by a process that died holding it is broken after :data:`LOCK_STALE_S`.

    Raises:
        QueueDown: the storage cannot be reached; QueueBusy: the lock stayed taken for ``wait_s``.
    """
    storage = queue.huey.storage
    mine = f"{time.time() + LOCK_STALE_S:.3f} {HOST}:{os.getpid()}:{secrets.token_hex(4)}".encode()
    deadline = time.monotonic() + wait_s
    while not _storage_call(queue, storage.put_if_empty, LOCK_KEY, mine):
        held = _storage_call(queue, storage.peek_data, LOCK_KEY)
        if held is not EmptyData and _lock_expired(bytes(held)):
            _storage_call(queue, storage.delete_data, LOCK_KEY)
            continue
        if time.monotonic() > deadline:
            raise QueueBusy(queue.where)
        time.sleep(0.005)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):  # an unreachable storage: the lock goes stale and is broken later
            if bytes(storage.peek_data(LOCK_KEY)) == mine:
                storage.delete_data(LOCK_KEY)


def _lock_expired(value: bytes) -> bool:
    try:
        return float(value.split()[0]) < time.time()
    except (IndexError, ValueError):
        return True


def queue_run(
    queue: Queue, folder: Path, message: str, priority: int = 0, queued_at: float | None = None, **extra
) -> str:
    """Mark the run in ``folder`` queued with a new ticket and put its task in the queue; return the ticket.

    Called under :func:`decisions`. Higher ``priority`` goes first: a run its worker lost waits before new ones.

    Raises:
        QueueDown: the task could not be stored (status.json then names a ticket no worker has: :func:`resync`
            gives it a new one when the queue is back; a new run's caller deletes the run instead).
    """
    task = queue.train.s(folder.name, priority=priority)  # the run id is the task's only argument
    at = time.time() if queued_at is None else queued_at
    write_status(folder, RunState.QUEUED, message, ticket=task.id, queued_at=at, priority=priority, **extra)
    _storage_call(queue, queue.huey.enqueue, task)
    return task.id


def _run_folders(root: Path) -> list[Path]:
    try:
        entries = list(os.scandir(root))
    except OSError:
        return []
    return [Path(e.path) for e in entries if e.is_dir() and not e.name.startswith(".") and RUN_ID.match(e.name)]


def resync(queue: Queue, root: Path, grace_s: float = RESYNC_GRACE_S) -> list[str]:
    """Give a new task to every queued run whose task is not in the queue; return their ids.

    A run queued without a ticket (``python -m cnnviz.training.bottleneck --queue``) gets one at once; one whose
    ticket is missing from the queue for ``grace_s`` (its task was taken by a worker that died before claiming it,
    or the storage lost it) gets a new one, keeping its place.
    """
    requeued = []
    with decisions(queue):
        pending = {task.id for task in _storage_call(queue, queue.huey.pending)}
        for folder in _run_folders(root):
            status = read_status(folder)
            if status.state != RunState.QUEUED or not (folder / "config.json").exists():
                continue
            ticket, at = status.ticket, status.queued_at
            if ticket in pending or (ticket and isinstance(at, (int, float)) and time.time() - at < grace_s):
                continue
            keep = {"requeues": status.requeues}
            queue_run(queue, folder, status.message or "waiting", int(status.priority or 0),
                      at if isinstance(at, (int, float)) else None, **keep)  # fmt: skip
            requeued.append(folder.name)
    return requeued


def reclaim(queue: Queue, folder: Path, timeout_s: float | None = None) -> bool:
    """Queue a running run again when its worker's lease expired (the worker died); True if it did something.

    The run resumes from its last checkpoint on whichever worker takes it; after :data:`MAX_REQUEUES` lost
    workers it is marked interrupted instead (a student may still resume it).
    """
    timeout_s = lease_seconds() if timeout_s is None else timeout_s

    def dead() -> Lease | None:
        lease = read_lease(folder)
        running = read_status(folder).state == RunState.RUNNING
        return lease if running and lease is not None and lease.expired(timeout_s) else None

    if dead() is None:
        return False
    with decisions(queue):
        lease = dead()  # again, under the lock: another process may have reclaimed it meanwhile
        if lease is None:
            return False
        drop_lease(folder)  # first: a worker that only stalled sees it gone and kills its trainer
        if lease.requeues >= MAX_REQUEUES:
            write_status(folder, RunState.INTERRUPTED,
                         f"its queue worker stopped answering {lease.requeues + 1} times; Resume continues from "
                         "the last checkpoint.")  # fmt: skip
        else:
            queue_run(queue, folder, f"waiting: its queue worker ({lease.worker}) stopped answering; it continues "
                      "from its last checkpoint", priority=1, requeues=lease.requeues + 1)  # fmt: skip
    log.warning("run %s: the lease of worker %s expired; %s", folder.name, lease.worker,
                "queued again" if lease.requeues < MAX_REQUEUES else "interrupted")  # fmt: skip
    return True


# --- the worker process ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WorkerOptions:
    """One worker process: where the runs are, how many it trains at once, on which GPU, how nicely."""

    runs: Path
    queue_url: str
    slots: int = 1  # trainings at once ($CNNVIZ_MAX_RUNS)
    gpu: str | None = None  # CUDA_VISIBLE_DEVICES of its trainings; None: inherited
    niceness: int = NICENESS
    lease_s: float = LEASE_DEFAULT_S
    kill_after_s: float = 60 * 60 + KILL_GRACE_S  # a trainer alive this long is killed ($CNNVIZ_MAX_RUN_MINUTES)

    @property
    def renew_s(self) -> float:
        """How often a running run's lease is renewed (and the trainer looked at)."""
        return max(0.2, min(2.0, self.lease_s / 5))

    @property
    def scan_s(self) -> float:
        """How often the runs folder is scanned for expired leases (a few ms for 200 runs)."""
        return max(0.5, self.lease_s / 3)

    @property
    def worker_id(self) -> str:
        return f"{HOST}:{os.getpid()}"


_options: WorkerOptions | None = None  # set by main(): only a worker process executes tasks
_shutdown = threading.Event()  # set when the worker is asked to stop: trainings save and are queued again


def _train_task(run_id: str, task=None) -> None:
    """Huey's task: train the run ``run_id`` if its status still names this task as its ticket."""
    options = _options
    if options is None:
        raise RuntimeError("trainings run only in a queue worker (python -m cnnviz.training.worker)")
    if not RUN_ID.match(run_id) or _shutdown.is_set():
        return  # a stopping worker takes nothing: resync hands the task to the next worker
    queue = open_queue(options.queue_url)
    folder = options.runs / run_id
    lease = claim(queue, folder, task.id, options)
    if lease is not None:
        supervise(queue, folder, lease, options)


def claim(queue: Queue, folder: Path, ticket: str, options: WorkerOptions) -> Lease | None:
    """Take the queued run in ``folder`` for this worker (its lease, status running), or None to skip the task."""
    with decisions(queue):
        status = read_status(folder)
        if not (folder / "config.json").exists():
            return None  # deleted meanwhile
        if status.state != RunState.QUEUED or status.ticket != ticket:
            return None  # cancelled, resumed elsewhere, or a task replaced by a newer one
        if stop_requested(folder):
            write_status(folder, RunState.STOPPED, "cancelled before it started")
            clear_stop(folder)
            return None
        lease = Lease(ticket, options.worker_id, time.time(), int(status.requeues or 0))
        write_lease(folder, lease)
        write_status(folder, RunState.RUNNING, f"starting on {HOST}", worker=options.worker_id, launched=time.time())
    return lease


def _libc_prctl() -> Callable | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_prctl = _libc_prctl()


def child_setup(death_signal: int, niceness: int | None = None) -> Callable[[], None]:
    """What a child runs before ``exec``: die with ``death_signal`` when its parent dies, then lower its priority.

    Linux sends the signal when the *thread* that started the child ends; Huey's worker threads live as long as
    their process. Resolved before the fork, so the child only makes system calls.
    """
    parent = os.getpid()

    def setup() -> None:
        if _prctl is not None:
            _prctl(PR_SET_PDEATHSIG, death_signal)
            if os.getppid() != parent:  # the parent died before the line above
                os._exit(1)
        if niceness is not None:
            os.setpriority(os.PRIO_PROCESS, 0, niceness)

    return setup


def trainer_command(folder: Path) -> list[str]:
    return [sys.executable, "-m", "cnnviz.train", "--run-dir", str(folder.resolve()), "--quiet"]


def supervise(
    queue: Queue, folder: Path, lease: Lease, options: WorkerOptions, command: list[str] | None = None
) -> str:
    """Train the claimed run in a child process, renewing its lease until it ends; return its final state.

    A trainer that dies without writing an end (``kill -9``, the out-of-memory killer) leaves the run
    interrupted: training it again could fail the same way, so its owner decides. A trainer stopped because this
    worker is stopping is queued again. ``command`` replaces the trainer (tests).
    """
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    if options.gpu is not None:
        env["CUDA_VISIBLE_DEVICES"] = options.gpu
    niceness = min(19, os.getpriority(os.PRIO_PROCESS, 0) + options.niceness)
    started = time.monotonic()
    with open(folder / "train.log", "ab") as output:
        try:
            trainer = subprocess.Popen(
                command or trainer_command(folder),
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                start_new_session=True,  # a Ctrl-C at the worker's terminal does not reach it: the worker decides
                preexec_fn=child_setup(signal.SIGKILL, niceness),
            )  # fmt: skip
        except OSError as error:
            drop_lease(folder)
            write_status(folder, RunState.INTERRUPTED, f"could not start a training process ({error.strerror})")
            return RunState.INTERRUPTED
    asked_to_stop = student_stop = overdue = False
    while True:
        try:
            trainer.wait(timeout=options.renew_s)
            break
        except subprocess.TimeoutExpired:
            pass
        current = read_lease(folder)
        if current is None or current.ticket != lease.ticket:  # reclaimed: this worker looked dead to the others
            log.warning("run %s: its lease was taken over; ending this worker's trainer", folder.name)
            trainer.kill()
            trainer.wait()
            return RunState.QUEUED
        lease = dataclasses.replace(lease, renewed=time.time())
        with contextlib.suppress(OSError):  # a full disk: the lease ages, and another worker may take over
            write_lease(folder, lease)
        if _shutdown.is_set() and not asked_to_stop:
            student_stop = stop_requested(folder)
            with contextlib.suppress(OSError):
                request_stop(folder)  # the trainer saves its checkpoint and ends at its next step
            asked_to_stop = True
        if time.monotonic() - started > options.kill_after_s and not overdue:
            trainer.kill()
            overdue = True
    status = read_status(folder)
    state = status.state
    if state == RunState.RUNNING:  # it ended without writing an end
        checkpoint = (folder / "checkpoint.pt").exists()
        if overdue:
            message = "killed: it was still training long after its time limit"
        elif stop_requested(folder):
            state, message = RunState.STOPPED, "stopped before training started"
            clear_stop(folder)
        else:
            message = "the training process died (killed, out of memory, or the machine restarted); "
        if state == RunState.RUNNING:
            state = RunState.INTERRUPTED
            message += " Resume continues from the last checkpoint." if checkpoint else " No checkpoint was written."
        with contextlib.suppress(OSError):
            write_status(folder, state, message.strip())
    drop_lease(folder)
    if asked_to_stop and not student_stop and state == RunState.STOPPED:
        try:
            with decisions(queue):
                queue_run(queue, folder, f"waiting: the queue worker on {HOST} was stopped; it continues from its "
                          "checkpoint", priority=1)  # fmt: skip
        except QueueDown as error:
            log.warning("run %s stays stopped: %s", folder.name, error)
        state = RunState.QUEUED
    return state


def keep(queue: Queue, options: WorkerOptions) -> None:
    """Every ``scan_s``: queue again the runs of dead workers; every :data:`RESYNC_EVERY_S`: lost tasks."""
    last_resync = 0.0
    while not _shutdown.is_set():
        with contextlib.suppress(QueueDown):  # storage away for a while: try again next time
            for folder in _run_folders(options.runs):
                if read_status(folder).state == RunState.RUNNING and read_lease(folder) is not None:
                    reclaim(queue, folder, options.lease_s)
            if time.monotonic() - last_resync > RESYNC_EVERY_S:
                resync(queue, options.runs)
                last_resync = time.monotonic()
        _shutdown.wait(options.scan_s)


class TrainingConsumer(Consumer):
    """Huey's consumer, whose stop (either signal) asks the trainings to save and waits for them."""

    def start(self) -> None:
        super().start()  # installs Huey's signal handlers last
        if _shutdown.is_set():  # a signal came before them (main's early handler caught it)
            self._handle_signal(signal.SIGTERM, None)

    def stop(self, graceful: bool = False) -> None:
        _shutdown.set()
        super().stop(graceful=True)


class _OneLine(logging.Filter):
    """Huey logs a storage error with its traceback at every poll (each second while the storage is away); a
    teacher reads it as one line, once a minute."""

    def __init__(self) -> None:
        super().__init__()
        self.said: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            record.msg = f"{record.getMessage()}: {type(record.exc_info[1]).__name__}: {record.exc_info[1]}"
            record.args, record.exc_info, record.exc_text = (), None, None
        text, now = record.getMessage(), time.monotonic()
        if record.levelno >= logging.ERROR and now - self.said.get(text, -REPEAT_LOG_S) < REPEAT_LOG_S:
            return False
        self.said[text] = now
        return True


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m cnnviz.training.worker",
        description="Train the runs queued in a runs folder, one child process per run (no torch in this one).",
    )
    p.add_argument("--runs", type=Path, default=None, help=f"the runs folder (default ${'{'}CNNVIZ_RUNS_DIR{'}'})")
    p.add_argument("--queue", default=None, help=f"the queue's storage URL (default ${QUEUE_URL_ENV}, else SQLite)")
    p.add_argument("--workers", type=int, default=None, help=f"trainings at once (default ${MAX_RUNS_ENV}, else 1)")
    p.add_argument("--gpu", default=None, help="CUDA_VISIBLE_DEVICES of the trainings, e.g. 0 (one worker per GPU)")
    p.add_argument("--nice", type=int, default=NICENESS, help="how much lower the trainings' CPU priority is")
    p.add_argument("--verbose", action="store_true", help="log every task (default: warnings only)")
    return p


def _stop_early(signum: int, frame) -> None:
    _shutdown.set()


def main(argv: list[str] | None = None) -> int:
    global _options
    for signum in (signal.SIGINT, signal.SIGTERM):  # until Huey's consumer takes over: stop, never a traceback
        signal.signal(signum, _stop_early)
    args = parser().parse_args(argv)
    runs = (args.runs or runs_dir()).resolve()
    runs.mkdir(parents=True, exist_ok=True)
    options = WorkerOptions(
        runs=runs,
        queue_url=args.queue or queue_url(runs),
        slots=max(1, args.workers or env_int(MAX_RUNS_ENV, 1)),
        gpu=args.gpu,
        niceness=max(0, args.nice),
        lease_s=lease_seconds(),
        kill_after_s=env_int(MAX_RUN_MINUTES_ENV, 60) * 60 + KILL_GRACE_S,
    )
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s cnnviz queue worker: %(message)s")  # fmt: skip
    one_line = _OneLine()
    for name in ("huey", "huey.consumer", "huey.consumer.Worker", "huey.consumer.Scheduler"):
        logging.getLogger(name).addFilter(one_line)  # a logger's filters do not apply to its children's records
    try:
        queue = open_queue(options.queue_url)
    except QueueDown as error:
        print(f"cnnviz queue worker: {error}", file=sys.stderr)
        return 2
    _options = options
    consumer = TrainingConsumer(
        queue.huey, workers=options.slots, worker_type="thread", periodic=False,
        initial_delay=0.1, max_delay=POLL_MAX_S, shutdown_timeout=STOP_TIMEOUT_S,
    )  # fmt: skip
    threading.Thread(target=keep, args=(queue, options), daemon=True, name="cnnviz-queue-keep").start()
    gpu = f", GPU {options.gpu}" if options.gpu is not None else ""
    print(f"cnnviz queue worker {options.worker_id}: {options.slots} at once{gpu}, runs in {runs}, "
          f"queue {queue.where}", file=sys.stderr, flush=True)  # fmt: skip
    consumer.run()
    return 0


# --- the server's own worker ---------------------------------------------------------------------------------


def start_local(app_dir: Path, environ: dict[str, str] | None = None) -> subprocess.Popen | None:
    """Start this host's queue worker for ``serve.py`` (None when ``$CNNVIZ_QUEUE_WORKER`` is 0: trainings run on
    other hosts). It gets SIGTERM if the server dies without stopping it, so no worker outlives its server."""
    environ = dict(os.environ if environ is None else environ)
    if environ.get(LOCAL_WORKER_ENV, "1").strip() == "0":
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "cnnviz.training.worker"],
        cwd=app_dir, env=environ, stdin=subprocess.DEVNULL,
        start_new_session=True,  # the server's Ctrl-C is not also the worker's: stop_local decides
        preexec_fn=child_setup(signal.SIGTERM),
    )  # fmt: skip


def stop_local(process: subprocess.Popen | None) -> None:
    """Stop the worker of :func:`start_local`: its trainings save their checkpoints and wait queued for its return."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(STOP_TIMEOUT_S + 10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


if __name__ == "__main__":
    # Run as cnnviz.training.worker, not __main__: Huey names a task by its function's module, and the app
    # (which imports this module) and the worker must agree on that name.
    from cnnviz.training.worker import main as worker_main

    sys.exit(worker_main())
