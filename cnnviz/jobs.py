"""Background training: start, stop and queue detached ``python -m cnnviz.train`` processes.

A run trains in its own process, in its own session (so the server's death
does not take it along) and at lower CPU priority (``nice``), so the
interactive pages keep their speed. Everything about a run lives in its
folder (:mod:`cnnviz.runs`), so any process (a page, a restarted server, the
CLI) sees the same truth:

- a run whose status says running but whose process is gone reads as
  **interrupted** (:func:`refresh`), and :func:`resume` continues it;
- at most :func:`max_parallel` runs train at once (``$CNNVIZ_MAX_RUNS``,
  default 1 for 2 cores); more wait **queued** and :func:`advance_queue` starts
  the oldest one. Every finishing training process calls it, so the queue
  advances with no page open;
- a run belongs to the browser session (``owner``) that asked for it; only it,
  or someone holding ``$CNNVIZ_ADMIN_TOKEN``, may stop it; each owner may have
  one run waiting in the queue.
"""

from __future__ import annotations

import contextlib
import fcntl
import hmac
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

from cnnviz.runs import Run, create_run, list_runs, runs_dir
from cnnviz.train import process_start_ticks
from cnnviz.training import TrainConfig

ADMIN_TOKEN_ENV = "CNNVIZ_ADMIN_TOKEN"
MAX_RUNS_ENV = "CNNVIZ_MAX_RUNS"
NICENESS = 10  # how much lower than the server the training processes run
ROOT = Path(__file__).resolve().parents[1]  # the repository: `python -m cnnviz.train` runs from here


class JobRefused(ValueError):
    """A request the queue cannot take (the message says why and what to do instead)."""


def max_parallel() -> int:
    """How many runs may train at once: ``$CNNVIZ_MAX_RUNS``, default 1."""
    try:
        return max(1, int(os.environ.get(MAX_RUNS_ENV, "1")))
    except ValueError:
        return 1


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
    """The run's status with liveness checked: a dead "running" process becomes "interrupted"."""
    status = run.status
    if status.get("state") == "running" and not process_alive(status.get("pid"), status.get("start_ticks")):
        if run.stop_requested():  # asked to stop, and it ended before it could say so
            run.clear_stop()
            run.set_status("stopped", "stopped before training started")
            return run.status
        last = run.checkpoint_path.exists()
        run.set_status(
            "interrupted",
            "the training process died (killed or the machine restarted); "
            + ("Resume continues from the last checkpoint." if last else "no checkpoint was written yet."),
        )
        status = run.status
    return status


@contextlib.contextmanager
def _queue_lock(root: Path) -> Iterator[None]:
    """One process at a time decides what starts (an advisory lock file in the runs folder)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".queue.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _reap(process: subprocess.Popen) -> None:
    """Wait for a child in a background thread so it never lingers as a zombie."""
    threading.Thread(target=process.wait, daemon=True, name=f"reap-{process.pid}").start()


def _launch(run: Run) -> None:
    """Start ``python -m cnnviz.train --run-dir`` for ``run``: detached, niced, output to train.log."""
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "OMP_WAIT_POLICY": "PASSIVE",  # see cnnviz/train.py: spinning threads starve a shared CPU
    }
    command = [sys.executable, "-m", "cnnviz.train", "--run-dir", str(run.path.resolve()), "--quiet"]
    with open(run.path / "train.log", "ab") as log:
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a Ctrl-C or crash of the server does not reach it
        )
    with contextlib.suppress(OSError):  # lower priority before torch starts its threads (they inherit it)
        os.setpriority(os.PRIO_PROCESS, process.pid, min(19, os.getpriority(os.PRIO_PROCESS, 0) + NICENESS))
    # The child writes its own pid when it starts; writing it here too closes the gap before that.
    run.set_status(
        "running", "starting", pid=process.pid, start_ticks=process_start_ticks(process.pid), launched=time.time()
    )
    _reap(process)


def advance_queue(root: str | os.PathLike | None = None) -> list[Run]:
    """Start the oldest queued runs while fewer than :func:`max_parallel` train; return those started."""
    folder = Path(root or runs_dir())
    started = []
    with _queue_lock(folder):
        runs = list_runs(folder)
        running = sum(1 for r in runs if refresh(r).get("state") == "running")
        for run in runs:
            if running >= max_parallel():
                break
            if run.state == "queued":
                _launch(run)
                started.append(run)
                running += 1
    return started


def queue_position(run: Run) -> int | None:
    """1 for the next queued run to start, 2 for the one after, ...; None when not queued."""
    queued = [r for r in list_runs(run.path.parent) if r.state == "queued"]
    return queued.index(run) + 1 if run in queued else None


def find_finished(config: TrainConfig, root: str | os.PathLike | None = None) -> Run | None:
    """The newest finished run trained with exactly ``config``, or None."""
    for run in reversed(list_runs(root)):
        if run.state == "finished" and run.meta.get("train") and run.config == config:
            return run
    return None


def submit(config: TrainConfig, owner: str, name: str = "", root: str | os.PathLike | None = None) -> Run:
    """Queue a run for ``owner`` and start it if the machine is free.

    Raises:
        JobRefused: ``owner`` already has a run waiting in the queue.
    """
    for run in list_runs(root):
        if run.owner == owner and run.state == "queued":
            raise JobRefused(
                f"you already have a run waiting in the queue ({run.name}); stop it or wait until it starts."
            )
    run = create_run(config, name=name, owner=owner, root=root)
    advance_queue(root)
    return run


def can_control(run: Run, owner: str, admin_token: str | None = None) -> bool:
    """Whether ``owner`` (or an admin) may stop, resume or delete ``run``."""
    return run.owner == owner or is_admin(admin_token)


def stop(run: Run, owner: str, admin_token: str | None = None) -> None:
    """Ask ``run`` to stop (it checkpoints and ends within about a step); cancel it if still queued.

    Raises:
        JobRefused: ``owner`` is not the run's owner and holds no admin token.
    """
    if not can_control(run, owner, admin_token):
        raise JobRefused("this run belongs to another session; only its owner or the teacher can stop it.")
    status = refresh(run)
    if status["state"] == "queued":
        run.set_status("stopped", "cancelled before it started")
        return
    if status["state"] != "running":
        return
    # A flag file, not a signal: the process checks it before every step and evaluation batch,
    # writes its checkpoint and status, then starts the next queued run itself.
    run.request_stop()


def resume(run: Run, owner: str, admin_token: str | None = None) -> None:
    """Queue a stopped, interrupted or failed run to continue from its last checkpoint.

    Raises:
        JobRefused: not the owner, nothing to resume from, or the run is still active.
    """
    if not can_control(run, owner, admin_token):
        raise JobRefused("this run belongs to another session; only its owner or the teacher can resume it.")
    state = refresh(run)["state"]
    if state in ("queued", "running", "finished"):
        raise JobRefused(f"the run is {state}; only a stopped, interrupted or failed run can be resumed.")
    if not run.checkpoint_path.exists():
        raise JobRefused("this run has no checkpoint to resume from; start a new run instead.")
    run.clear_stop()
    run.set_status("queued", "waiting to resume")
    advance_queue(run.path.parent)


def delete(run: Run, owner: str, admin_token: str | None = None) -> None:
    """Delete a run folder (stopping it first if it is active)."""
    if not can_control(run, owner, admin_token):
        raise JobRefused("this run belongs to another session; only its owner or the teacher can delete it.")
    if refresh(run)["state"] in ("queued", "running"):
        raise JobRefused("stop the run before deleting it.")
    run.delete()


def wait(run: Run, timeout: float, states: tuple[str, ...] = ("finished", "stopped", "failed", "interrupted")) -> str:
    """Poll until ``run`` reaches one of ``states`` or ``timeout`` seconds pass; return its state."""
    deadline = time.monotonic() + timeout
    while True:
        state = refresh(run)["state"]
        if state in states or time.monotonic() > deadline:
            return state
        time.sleep(0.05)
