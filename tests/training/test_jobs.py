"""Detached training processes: queue, ownership, stop, interrupted runs and resume, divergence."""

import os
import signal

import pytest

from cnnviz.training import jobs
from cnnviz.training.recipe import TrainConfig
from cnnviz.training.runs import create_run, list_runs

QUICK = dict(train_images=1000, val_images=500, batch_size=32, log_every=5, checkpoint_every=10)
ACTIVE_TIMEOUT = 90  # generous: the CPU is shared; the benchmark measures the real stop latency


def wait_for_steps(run, count: int = 1) -> None:
    """Until the run has logged ``count`` step records (or fail after ACTIVE_TIMEOUT seconds)."""
    import time

    deadline = time.monotonic() + ACTIVE_TIMEOUT
    while len(run.metrics("step")) < count:
        assert jobs.refresh(run)["state"] in ("queued", "running"), (run.status, (run.path / "train.log").read_text())
        assert time.monotonic() < deadline, "the run logged no steps in time"
        time.sleep(0.05)


def test_queue_ownership_stop_and_resume(mnist, monkeypatch):
    monkeypatch.setenv(jobs.ADMIN_TOKEN_ENV, "s3cret")
    first = jobs.submit(TrainConfig(epochs=3, **QUICK), owner="alice")
    assert jobs.refresh(first)["state"] == "running" and first.owner == "alice"
    assert first.status["pid"] != os.getpid()
    assert os.getpriority(os.PRIO_PROCESS, first.status["pid"]) == min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)
    second = jobs.submit(TrainConfig(epochs=1, seed=1, **QUICK), owner="bob")
    assert second.state == "queued" and jobs.queue_position(second) == 1
    with pytest.raises(jobs.JobRefused, match="already have a run waiting"):
        jobs.submit(TrainConfig(epochs=1, seed=2, **QUICK), owner="bob")
    with pytest.raises(jobs.JobRefused, match="belongs to another session"):
        jobs.stop(first, owner="bob")
    with pytest.raises(jobs.JobRefused, match="belongs to another session"):
        jobs.stop(first, owner="bob", admin_token="wrong")

    wait_for_steps(first)
    jobs.stop(first, owner="alice")
    assert jobs.wait(first, ACTIVE_TIMEOUT) == "stopped"
    stopped_at = first.load_checkpoint()["step"]
    assert stopped_at > 0 and not first.stop_requested()

    # The stopped run's own process started the queued one: no page, no call from here.
    assert jobs.wait(second, ACTIVE_TIMEOUT, states=("running", "finished")) in ("running", "finished")
    assert jobs.wait(second, ACTIVE_TIMEOUT) == "finished"
    assert "test accuracy" in second.status["message"]
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


def test_a_killed_process_reads_as_interrupted_and_resumes(mnist):
    run = jobs.submit(TrainConfig(epochs=3, **QUICK), owner="carol")
    wait_for_steps(run, 3)
    os.kill(run.status["pid"], signal.SIGKILL)
    assert jobs.wait(run, ACTIVE_TIMEOUT) == "interrupted"
    assert "died" in run.status["message"]
    checkpoint_step = run.load_checkpoint()["step"]
    jobs.resume(run, owner="carol")
    assert jobs.wait(run, ACTIVE_TIMEOUT) == "finished"
    steps = [r["step"] for r in run.metrics("step")]
    assert steps == sorted(set(steps)) and run.metrics("epoch")[-1]["step"] == 3 * 32
    assert run.load_checkpoint()["step"] == 3 * 32 > checkpoint_step


def test_a_diverging_run_fails_with_its_step_and_keeps_a_good_checkpoint(mnist):
    config = TrainConfig(optimizer="sgd", lr=10.0, schedule="constant", epochs=1, **QUICK)
    run = jobs.submit(config, owner="dave")
    assert jobs.wait(run, ACTIVE_TIMEOUT) == "failed"
    message = run.status["message"]
    assert message.startswith("training diverged at step ")
    step = int(message.split("step ")[1].split(";")[0])
    if run.checkpoint_path.exists():  # only checkpoints from before the divergence were kept
        assert run.load_checkpoint()["step"] < step


def test_liveness_ownership_and_admin_token_without_processes(monkeypatch):
    run = create_run(TrainConfig(), owner="erin")
    run.set_status("running", "training", pid=2**22 + 12345)  # beyond pid_max: never a live process
    assert jobs.refresh(run)["state"] == "interrupted"
    assert jobs.process_alive(os.getpid()) and not jobs.process_alive(None)
    assert not jobs.process_alive(os.getpid(), start_ticks=1)  # same pid, different process
    monkeypatch.delenv(jobs.ADMIN_TOKEN_ENV, raising=False)
    assert not jobs.is_admin("") and not jobs.is_admin("anything")
    monkeypatch.setenv(jobs.ADMIN_TOKEN_ENV, "t")
    assert jobs.is_admin("t") and not jobs.is_admin("T")
    assert jobs.can_control(run, "erin") and not jobs.can_control(run, "frank")
    with pytest.raises(jobs.JobRefused, match="no checkpoint"):
        jobs.resume(run, owner="erin")
    queued = create_run(TrainConfig(), owner="erin")
    jobs.stop(queued, owner="erin")
    assert queued.state == "stopped" and "cancelled" in queued.status["message"]
    monkeypatch.setenv(jobs.MAX_RUNS_ENV, "3")
    assert jobs.max_parallel() == 3


def test_the_live_version_sees_a_dead_trainer_and_a_move_up_the_queue():
    first, second = create_run(TrainConfig(), owner="a"), create_run(TrainConfig(), owner="b")
    waiting = jobs.live_version(second)
    assert waiting.endswith("/place 2") and jobs.live_version(second) == waiting
    first.set_status("finished")
    assert jobs.live_version(second).endswith("/place 1")
    second.set_status("running", "training", pid=2**22 + 12345)  # beyond pid_max: the trainer is gone
    running = second.version()
    assert jobs.live_version(second) != running and second.state == "interrupted"
