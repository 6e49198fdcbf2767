"""The training queue with real queue workers and real trainers on MNIST: queue, ownership, stop, resume, a killed
trainer, a killed or stopped worker, divergence; and the liveness rules without processes."""

import os
import signal
import time

import pytest

from cnnviz.training import jobs, worker
from cnnviz.training.recipe import TrainConfig
from cnnviz.training.runs import create_run, list_runs
from cnnviz.training.state import Lease, read_lease, write_lease
from tests.conftest import worker_logs

QUICK = dict(train_images=1000, val_images=500, batch_size=32, log_every=5, checkpoint_every=10)
ACTIVE_TIMEOUT = 120  # generous: the CPU is shared; the benchmark measures the real stop latency


def wait_for(condition, what: str, timeout: float = ACTIVE_TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"{what}: not in {timeout} s\n{worker_logs()}"
        time.sleep(0.05)


def wait_for_steps(run, count: int = 1) -> None:
    """Until the run has logged ``count`` step records (or fail after ACTIVE_TIMEOUT seconds)."""

    def logged() -> bool:
        assert jobs.refresh(run).state in ("queued", "running"), (run.status, (run.path / "train.log").read_text())
        return len(run.metrics("step")) >= count

    wait_for(logged, f"{count} steps of {run.id}")


def trainer_pid(run) -> int:
    """The training process's pid, written by the trainer itself once it runs."""
    wait_for(lambda: run.status.pid is not None, f"the trainer of {run.id}")
    return run.status.pid


def gone(pid: int) -> bool:
    return not jobs.process_alive(pid)


def test_queue_ownership_stop_and_resume(mnist, monkeypatch, start_worker):
    monkeypatch.setenv(jobs.ADMIN_TOKEN_ENV, "s3cret")
    first = jobs.submit(TrainConfig(epochs=3, **QUICK), owner="alice")
    second = jobs.submit(TrainConfig(epochs=1, seed=1, **QUICK), owner="bob")
    # No worker yet: both wait, in order.
    assert first.state == second.state == "queued" and first.owner == "alice"
    assert (jobs.queue_position(first), jobs.queue_position(second)) == (1, 2)
    with pytest.raises(jobs.JobRefused, match="already have a run waiting"):
        jobs.submit(TrainConfig(epochs=1, seed=2, **QUICK), owner="bob")
    with pytest.raises(jobs.JobRefused, match="belongs to another session"):
        jobs.stop(first, owner="bob")
    with pytest.raises(jobs.JobRefused, match="belongs to another session"):
        jobs.stop(first, owner="bob", admin_token="wrong")

    queue_worker = start_worker()  # the queued runs start when a worker is there
    assert jobs.wait(first, ACTIVE_TIMEOUT, states=("running",)) == "running", worker_logs()
    pid = trainer_pid(first)
    assert pid not in (os.getpid(), queue_worker.pid)
    assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + worker.NICENESS)
    assert jobs.queue_position(second) == 1 and second.state == "queued"
    assert read_lease(first.path).worker.endswith(f":{queue_worker.pid}")

    # The queue's storage goes down (for this process): new runs are refused, the running one goes on.
    monkeypatch.setenv(worker.QUEUE_URL_ENV, "postgresql://cnnviz:hunter2@127.0.0.1:1/nothing")
    with pytest.raises(jobs.JobRefused, match="training queue cannot be reached") as refused:
        jobs.submit(TrainConfig(epochs=1, seed=3, **QUICK), owner="carol")
    assert "hunter2" not in str(refused.value) and "127.0.0.1:1" in str(refused.value)
    assert [r.owner for r in list_runs()] == ["alice", "bob"]
    wait_for_steps(first)
    jobs.stop(first, owner="alice")  # needs no queue: the flag in the run folder
    assert jobs.wait(first, ACTIVE_TIMEOUT) == "stopped"
    monkeypatch.delenv(worker.QUEUE_URL_ENV)
    stopped_at = first.load_checkpoint()["step"]
    assert stopped_at > 0 and not first.stop_requested()
    wait_for(lambda: read_lease(first.path) is None, "the worker let go of the run once its trainer exited")

    # The worker took the queued run by itself: no page, no call from here.
    assert jobs.wait(second, ACTIVE_TIMEOUT) == "finished", worker_logs()
    assert "test accuracy" in second.status.message
    assert jobs.find_finished(TrainConfig(epochs=1, seed=1, **QUICK)) == second
    assert jobs.find_finished(TrainConfig(epochs=2, seed=1, **QUICK)) is None

    with pytest.raises(jobs.JobRefused, match="belongs to another session"):
        jobs.resume(first, owner="bob")
    jobs.resume(first, owner="bob", admin_token="s3cret")  # the teacher may
    assert jobs.wait(first, ACTIVE_TIMEOUT) == "finished"
    steps = [r["step"] for r in first.metrics("step")]
    assert steps == sorted(set(steps))  # one curve across the stop: no step logged twice
    assert [(r["epoch"], r["step"]) for r in first.metrics("epoch")] == [(1, 32), (2, 64), (3, 96)]
    jobs.delete(first, owner="alice")
    assert first not in list_runs()


def test_a_killed_trainer_hands_over_the_slot_reads_as_interrupted_and_resumes(mnist, start_worker):
    """``kill -9`` of a trainer: its worker marks the run interrupted and takes the next; nothing here asks it to."""
    run = jobs.submit(TrainConfig(epochs=3, **QUICK), owner="carol")
    waiting = jobs.submit(TrainConfig(epochs=1, seed=1, **QUICK), owner="dan")
    start_worker()
    wait_for_steps(run, int.from_bytes(os.urandom(1), "big") % 4 + 2)  # a random moment of training
    os.kill(trainer_pid(run), signal.SIGKILL)
    wait_for(lambda: run.status.state == "interrupted", "the killed run read as interrupted")  # the raw file
    assert "died" in run.status.message and "Resume continues" in run.status.message
    wait_for(lambda: waiting.status.state != "queued", "the next run started")
    jobs.stop(waiting, owner="dan")
    assert jobs.wait(waiting, ACTIVE_TIMEOUT) == "stopped"

    checkpoint_step = run.load_checkpoint()["step"]
    jobs.resume(run, owner="carol")
    assert jobs.wait(run, ACTIVE_TIMEOUT) == "finished", worker_logs()
    steps = [r["step"] for r in run.metrics("step")]
    assert steps == sorted(set(steps)) and run.metrics("epoch")[-1]["step"] == 3 * 32
    assert run.load_checkpoint()["step"] == 3 * 32 > checkpoint_step


def test_a_stopped_or_killed_worker_leaves_the_run_to_the_next_worker(mnist, monkeypatch, start_worker):
    """Huey loses a task whose worker dies; the lease gets it back, and the run resumes from its checkpoint."""
    monkeypatch.setenv(worker.LEASE_SECONDS_ENV, "3")
    quick = {**QUICK, "log_every": 2, "checkpoint_every": 4}
    run = jobs.submit(TrainConfig(epochs=3, **quick), owner="erin")

    # A worker asked to stop (Ctrl-C, serve.py ending): the training saves and waits queued, first in line.
    first = start_worker()
    wait_for_steps(run, 2)
    trainer = trainer_pid(run)
    first.send_signal(signal.SIGTERM)
    assert first.wait(ACTIVE_TIMEOUT) == 0 and gone(trainer)
    status = run.status
    assert status.state == "queued" and status.priority == 1 and "was stopped" in status.message, status
    saved = run.load_checkpoint()["step"]
    assert saved > 0

    # The next worker resumes it; that one is killed with SIGKILL, and its trainer dies with it.
    second = start_worker()
    wait_for(lambda: len(run.metrics("step")) > 0 and run.metrics("step")[-1]["step"] > saved + 4, "training on")
    trainer = trainer_pid(run)
    second.kill()
    killed_at = time.time()
    wait_for(lambda: gone(trainer), "the trainer died with its worker", timeout=10)
    assert run.status.state == "running"  # nothing said otherwise: only the lease tells
    saved = run.load_checkpoint()["step"]

    # A third worker finds the expired lease, queues the run again and resumes it from the checkpoint
    # (the raw file is read here: no refresh from this process takes part).
    start_worker()
    wait_for(lambda: run.status.state == "finished", "the third worker finished the run")
    assert f"the lease of worker {worker.HOST}:{second.pid} expired; queued again" in worker_logs()
    steps = [r["step"] for r in run.metrics("step")]
    assert steps == sorted(set(steps)) and run.metrics("epoch")[-1]["step"] == 3 * 32
    before = [r["step"] for r in run.metrics("step") if r["time"] < killed_at]
    assert before and max(before) <= saved  # kept from before the kill: resumed, not started again


def test_a_diverging_run_fails_with_its_step_and_keeps_a_good_checkpoint(mnist, start_worker):
    config = TrainConfig(optimizer="sgd", lr=10.0, schedule="constant", epochs=1, **QUICK)
    run = jobs.submit(config, owner="dave")
    start_worker()
    assert jobs.wait(run, ACTIVE_TIMEOUT) == "failed", worker_logs()
    message = run.status.message
    assert message.startswith("training diverged at step ")
    step = int(message.split("step ")[1].split(";")[0])
    if run.checkpoint_path.exists():  # only checkpoints from before the divergence were kept
        assert run.load_checkpoint()["step"] < step


def test_liveness_ownership_and_admin_token_without_processes(monkeypatch):
    run = create_run(TrainConfig(), owner="erin")
    run.set_status("running", "training", pid=2**22 + 12345)  # beyond pid_max: never a live process
    assert jobs.refresh(run).state == "interrupted"
    assert jobs.process_alive(os.getpid()) and not jobs.process_alive(None)
    assert not jobs.process_alive(os.getpid(), start_ticks=1)  # same pid, different process
    elsewhere = create_run(TrainConfig(seed=1), owner="erin")  # a terminal run on another host sharing the folder
    elsewhere.set_status("running", "training", pid=2**22 + 12345, host="another-host")
    assert jobs.refresh(elsewhere).state == "running"
    monkeypatch.delenv(jobs.ADMIN_TOKEN_ENV, raising=False)
    assert not jobs.is_admin("") and not jobs.is_admin("anything")
    monkeypatch.setenv(jobs.ADMIN_TOKEN_ENV, "t")
    assert jobs.is_admin("t") and not jobs.is_admin("T")
    assert jobs.can_control(run, "erin") and not jobs.can_control(run, "frank")
    with pytest.raises(jobs.JobRefused, match="no checkpoint"):
        jobs.resume(run, owner="erin")
    queued = jobs.submit(TrainConfig(train_images=1000, epochs=1), owner="erin")
    jobs.stop(queued, owner="erin")
    assert queued.state == "stopped" and "cancelled" in queued.status.message
    monkeypatch.setenv(jobs.MAX_RUNS_ENV, "3")
    assert jobs.max_parallel() == 3


def test_a_lease_that_is_not_renewed_queues_the_run_again_until_it_has_failed_too_often(monkeypatch):
    monkeypatch.setenv(worker.LEASE_SECONDS_ENV, "5")
    run = create_run(TrainConfig(), owner="gus")
    run.set_status("running", "training", pid=os.getpid())  # a pid of this host that lives: the lease decides
    write_lease(run.path, Lease("old-ticket", "elsewhere:1", time.time()))
    assert jobs.refresh(run).state == "running"  # renewed just now
    queue = worker.open_queue()
    for lost in range(worker.MAX_REQUEUES):
        write_lease(run.path, Lease("old-ticket", "elsewhere:1", time.time() - 6, requeues=lost))
        status = jobs.refresh(run)
        assert status.state == "queued" and status.priority == 1 and status.requeues == lost + 1
        assert "elsewhere:1" in status.message and read_lease(run.path) is None
        assert status.ticket in {task.id for task in queue.huey.pending()}
        run.set_status("running", "training", pid=os.getpid())
    write_lease(run.path, Lease("old-ticket", "elsewhere:1", time.time() - 6, requeues=worker.MAX_REQUEUES))
    status = jobs.refresh(run)
    assert status.state == "interrupted" and "stopped answering 4 times" in status.message


def test_the_live_version_sees_a_dead_trainer_and_a_move_up_the_queue():
    first, second = create_run(TrainConfig(), owner="a"), create_run(TrainConfig(), owner="b")
    waiting = jobs.live_version(second)
    assert waiting.endswith("/place 2") and jobs.live_version(second) == waiting
    first.set_status("finished")
    assert jobs.live_version(second).endswith("/place 1")
    second.set_status("running", "training", pid=2**22 + 12345)  # beyond pid_max: the trainer is gone
    running = second.version()
    assert jobs.live_version(second) != running and second.state == "interrupted"
