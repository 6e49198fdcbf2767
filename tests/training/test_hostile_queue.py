"""The training queue under a hostile or careless class (issue 9, findings 7-11).

Most tests keep the one training slot busy with a pretend run owned by this very test
process, so nothing real is launched and each test takes a moment.
"""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
import torch

from cnnviz.data.mnist import MNIST, Split
from cnnviz.training import cli as train_cli
from cnnviz.training import jobs, runs
from cnnviz.training.jobs import process_start_ticks
from cnnviz.training.recipe import TrainConfig, train
from cnnviz.training.runs import Run, RunRecorder, create_run, list_runs, runs_dir

ROOT = Path(__file__).resolve().parents[2]
SMALL = TrainConfig(train_images=1000, val_images=500, epochs=1)


def occupy_the_slot(owner: str = "teacher") -> Run:
    """A run that reads as running: its pid is this test process (alive)."""
    run = create_run(SMALL, owner=owner)
    run.set_status("running", "pretend", pid=os.getpid(), start_ticks=process_start_ticks(os.getpid()))
    return run


def queued_of(owner: str) -> list[Run]:
    return [r for r in list_runs() if r.owner == owner and r.state == "queued"]


# --- 7: limits under the lock ----------------------------------------------------------------------


def submit_together(owner: str, count: int) -> list[str]:
    """``count`` threads submit for ``owner`` at the same instant; "queued" or "refused" each."""
    barrier = threading.Barrier(count)
    outcomes: list[str] = []

    def submit(seed: int) -> None:
        barrier.wait()
        try:
            jobs.submit(TrainConfig(seed=seed, train_images=1000, epochs=1), owner=owner)
            outcomes.append("queued")
        except jobs.JobRefused as error:
            assert "already have a run waiting" in str(error)
            outcomes.append("refused")

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(outcomes)


def test_simultaneous_submits_from_one_owner_in_threads_queue_exactly_one():
    occupy_the_slot()
    for round_ in range(8):
        assert submit_together(f"mallory{round_}", 4) == ["queued", "refused", "refused", "refused"]
        assert len(queued_of(f"mallory{round_}")) == 1


def test_simultaneous_submits_from_two_processes_queue_exactly_one(tmp_path):
    occupy_the_slot()
    script = textwrap.dedent(
        """
        import sys, time
        from pathlib import Path
        from cnnviz.training import jobs
        from cnnviz.training.recipe import TrainConfig
        config = TrainConfig(train_images=1000, epochs=1, seed=int(sys.argv[2]))
        Path(sys.argv[1], f"ready-{sys.argv[2]}").touch()  # imported: ready to submit
        while len(list(Path(sys.argv[1]).glob("ready-*"))) < 2:  # both at the same instant
            time.sleep(0.001)
        try:
            jobs.submit(config, owner="mallory")
            print("queued")
        except jobs.JobRefused as error:
            print("refused:", error)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "CNNVIZ_RUNS_DIR": str(runs_dir())}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(tmp_path), str(i)], env=env, stdout=subprocess.PIPE, text=True
        )
        for i in range(2)
    ]
    outputs = sorted(p.communicate(timeout=120)[0].strip() for p in processes)
    assert outputs[0] == "queued" and outputs[1].startswith("refused: you already have a run waiting"), outputs
    assert len(queued_of("mallory")) == 1


def test_resume_counts_against_the_owners_queue_limit():
    occupy_the_slot()
    stopped = []
    for seed in range(3):
        run = create_run(TrainConfig(seed=seed, **{"train_images": 1000, "epochs": 1}), owner="mallory")
        run.save_checkpoint({"model": "classifier", "config": {}, "state_dict": {}})
        run.set_status("stopped", "stopped at step 3")
        stopped.append(run)
    jobs.resume(stopped[0], owner="mallory")
    for run in stopped[1:]:
        with pytest.raises(jobs.JobRefused, match="already have a run waiting"):
            jobs.resume(run, owner="mallory")
    assert len(queued_of("mallory")) == 1


def test_the_queue_has_a_global_length_whoever_asks(monkeypatch):
    """Private windows are new owners each time; the queue still ends."""
    monkeypatch.setenv(jobs.MAX_QUEUED_ENV, "3")
    occupy_the_slot()
    for window in range(3):
        jobs.submit(TrainConfig(seed=window, train_images=1000, epochs=1), owner=f"private-window-{window}")
    with pytest.raises(jobs.JobRefused, match=r"the queue is full \(3 runs waiting, at most 3\)"):
        jobs.submit(TrainConfig(seed=9, train_images=1000, epochs=1), owner="private-window-4")


def test_the_runs_folder_has_a_disk_budget(monkeypatch):
    monkeypatch.setenv(jobs.RUNS_DISK_ENV, "3")
    occupy_the_slot()
    (runs_dir() / "old-run-leftovers.bin").write_bytes(bytes(3 * 2**20))
    with pytest.raises(jobs.JobRefused, match=r"holds 3 MB of its 3 MB budget.*delete old runs"):
        jobs.submit(SMALL, owner="alice")
    monkeypatch.setenv(jobs.RUNS_DISK_ENV, "10")
    assert jobs.submit(SMALL, owner="alice").state == "queued"


def test_a_run_stops_itself_at_the_wall_time_limit_and_stopping_at_step_0_writes_no_checkpoint(tmp_path):
    """Also the "submit, stop, repeat fills the disk" half of finding 8: no step, no file."""
    images = torch.randint(0, 256, (64, 1, 28, 28), dtype=torch.uint8)
    labels = torch.randint(0, 10, (64,))
    data = MNIST(Split(images, labels), Split(images[:32], labels[:32]), Split(images[:32], labels[:32]))
    run = create_run(TrainConfig(epochs=1, batch_size=32), root=tmp_path)
    recorder = RunRecorder(run, time_limit_s=0.0)
    result = train(run.config, data, recorder)
    assert result.stopped and recorder.timed_out and result.step == 0
    assert not run.checkpoint_path.exists()
    patient = RunRecorder(run, time_limit_s=3600)
    assert not patient.should_stop() and not patient.timed_out


# --- 8: the form's settings are bounded -------------------------------------------------------------


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (TrainConfig(channels=(256, 256, 256, 256), blocks_per_stage=4, kernel_size=7), "too big for the shared"),
        (TrainConfig(model="autoencoder", channels=(256, 256, 256, 256), blocks_per_stage=4, kernel_size=7),
         "too big for the shared"),
        (TrainConfig(channels=(32, 32, 32), blocks_per_stage=4, kernel_size=7, epochs=50), "minutes here; one run"),
        (TrainConfig(channels=(48, 48, 48), kernel_size=5, batch_size=512, epochs=1, train_images=1000),
         "MB of memory"),
    ],
)  # fmt: skip
def test_runs_that_cannot_end_well_are_refused_before_they_start(config, words, monkeypatch):
    monkeypatch.setenv(jobs.MAX_TRAIN_MEMORY_ENV, "256")
    with pytest.raises(jobs.JobRefused, match=words):
        jobs.submit(config, owner="alice")
    assert list_runs() == []


def test_the_default_runs_fit_every_budget():
    for model in ("classifier", "autoencoder"):
        cost = jobs.check_budget(TrainConfig(model=model))
        assert cost.seconds < 15 * 60 and cost.checkpoint_bytes < 2 * 2**20


# --- 9: a full disk ------------------------------------------------------------------------------


def test_a_full_disk_refuses_politely_and_breaks_nothing(monkeypatch):
    dead = create_run(SMALL, owner="bob")
    dead.set_status("running", "training", pid=2**22 + 7)  # a process that no longer exists
    queued = create_run(TrainConfig(seed=3, train_images=1000, epochs=1), owner="carol")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runs, "atomic_write_text", full)
    monkeypatch.setattr(runs, "atomic_torch_save", full)

    def forbidden(*args, **kwargs):
        raise AssertionError("a trainer was launched although its status could not be written")

    monkeypatch.setattr(jobs.subprocess, "Popen", forbidden)
    before = sorted(p.name for p in runs_dir().iterdir() if not p.name.startswith("."))
    with pytest.raises(jobs.JobRefused, match="the disk is full.*Runs already saved stay readable"):
        jobs.submit(TrainConfig(seed=4, train_images=1000, epochs=1), owner="alice")
    assert sorted(p.name for p in runs_dir().iterdir() if not p.name.startswith(".")) == before  # nothing half-made
    status = jobs.refresh(dead)
    assert status["state"] == "interrupted" and "disk is full" in status["message"]
    assert jobs.advance_queue() == []
    with pytest.raises(jobs.JobRefused, match="disk is full"):
        jobs.stop(queued, owner="carol")
    assert [r.id for r in list_runs()] == [dead.id, queued.id]  # what was saved is still read


# --- 10: the queue moves with no page open -------------------------------------------------------


def test_the_keeper_starts_a_waiting_queue_without_any_page(monkeypatch):
    launched: list[str] = []

    def pretend_launch(run: Run) -> None:
        launched.append(run.id)
        run.set_status("running", "pretend", pid=os.getpid(), start_ticks=process_start_ticks(os.getpid()))

    monkeypatch.setattr(jobs, "_launch", pretend_launch)
    left_over = create_run(SMALL, owner="alice")  # queued when the server went down
    assert jobs.start_queue_keeper(interval=0.05)
    assert not jobs.start_queue_keeper(interval=0.05)  # one keeper per folder
    deadline = time.monotonic() + 10
    while left_over.id not in launched and time.monotonic() < deadline:
        time.sleep(0.02)
    assert launched == [left_over.id]
    left_over.set_status("finished", "done")
    later = create_run(TrainConfig(seed=5, train_images=1000, epochs=1), owner="bob")
    while later.id not in launched and time.monotonic() < deadline:
        time.sleep(0.02)
    assert launched == [left_over.id, later.id]


def test_a_trainer_killed_with_sigkill_still_hands_over_the_slot(mnist):
    """The watcher advances the queue when its trainer is killed; nothing here calls jobs at all."""
    quick = {"train_images": 600, "val_images": 200, "batch_size": 50, "log_every": 1, "checkpoint_every": 2}
    first = jobs.submit(TrainConfig(epochs=2, **quick), owner="alice")
    second = jobs.submit(TrainConfig(epochs=1, seed=1, **quick), owner="bob")
    assert second.state == "queued"
    deadline = time.monotonic() + 120
    steps = int.from_bytes(os.urandom(1), "big") % 6 + 1  # a random moment of training
    while len(first.metrics("step")) < steps:
        assert time.monotonic() < deadline, (first.status, (first.path / "train.log").read_text())
        time.sleep(0.05)
    trainer = first.status["pid"]
    os.kill(trainer, signal.SIGKILL)
    while second.state == "queued":  # the raw file: no refresh, no advance from this test
        assert time.monotonic() < deadline, (first.path / "train.log").read_text()
        time.sleep(0.1)
    assert first.status["state"] == "interrupted" and "died" in first.status["message"]
    jobs.stop(second, owner="bob")  # it started: that is all this test needs (test_jobs resumes a killed run)
    assert jobs.wait(second, 120) == "stopped"


# --- 11: races ---------------------------------------------------------------------------------------


def test_cancelling_a_run_while_it_is_being_launched_is_never_lost(monkeypatch):
    launched: list[str] = []

    def slow_launch(run: Run) -> None:
        time.sleep(0.3)  # Popen, imports: the window in which a cancel used to get lost
        launched.append(run.id)
        run.set_status("running", "pretend", pid=os.getpid(), start_ticks=process_start_ticks(os.getpid()))

    monkeypatch.setattr(jobs, "_launch", slow_launch)
    run = create_run(SMALL, owner="alice")
    launcher = threading.Thread(target=jobs.advance_queue)
    launcher.start()
    time.sleep(0.1)
    jobs.stop(run, owner="alice")  # while the launch is in progress
    launcher.join()
    assert launched == [run.id]
    assert run.state == "running" and run.stop_requested(), "the cancel was lost: the run trains on"


def test_refresh_never_relabels_a_run_that_just_finished(monkeypatch):
    run = create_run(SMALL, owner="alice")
    run.set_status("running", "training", pid=2**22 + 9)

    def finishes_then_exits(pid, start_ticks=None):  # the process wrote its last status, then ended
        run.set_status("finished", "test accuracy 98.00%")
        return False

    monkeypatch.setattr(jobs, "process_alive", finishes_then_exits)
    assert jobs.refresh(run)["state"] == "finished"
    assert run.status["message"] == "test accuracy 98.00%"


def test_resume_from_a_terminal_refuses_a_run_that_is_already_training(capsys):
    run = occupy_the_slot(owner="cli")
    assert train_cli.main(["--resume", run.id, "--quiet"]) == 2
    assert "is running already" in capsys.readouterr().err
    queued = create_run(SMALL, owner="cli")
    assert train_cli.main(["--resume", queued.id, "--quiet"]) == 2
    assert "is queued already" in capsys.readouterr().err
    assert run.status["message"] == "pretend" and queued.state == "queued"  # untouched


def test_the_teacher_stops_everything_at_the_end_of_class(monkeypatch):
    monkeypatch.setenv(jobs.ADMIN_TOKEN_ENV, "s3cret")
    running = occupy_the_slot(owner="alice")
    waiting = [jobs.submit(TrainConfig(seed=i, train_images=1000, epochs=1), owner=f"s{i}") for i in range(3)]
    finished = create_run(TrainConfig(seed=7, train_images=1000, epochs=1), owner="bob")
    finished.set_status("finished", "done")
    with pytest.raises(jobs.JobRefused, match="only the teacher"):
        jobs.stop_all("guess")
    assert jobs.stop_all("s3cret") == 4
    assert running.stop_requested() and all(r.state == "stopped" for r in waiting)
    assert all("cancelled by the teacher" in r.status["message"] for r in waiting)
    assert finished.state == "finished"


def test_a_trainer_stuck_past_its_time_limit_is_killed_but_a_terminal_run_never_is():
    stuck = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    terminal = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        long_ago = time.time() - 3 * 3600
        app_run = create_run(SMALL, owner="alice")
        app_run.set_status("running", "training", pid=stuck.pid, started=long_ago, time_limit_s=60)
        cli_run = create_run(TrainConfig(seed=1, train_images=1000, epochs=1), owner="cli")
        cli_run.set_status("running", "training", pid=terminal.pid, started=long_ago)
        jobs.refresh(app_run)
        jobs.refresh(cli_run)
        assert stuck.wait(10) == -signal.SIGKILL
        assert jobs.refresh(app_run)["state"] == "interrupted"
        assert terminal.poll() is None and jobs.refresh(cli_run)["state"] == "running"
    finally:
        stuck.kill()
        terminal.kill()
        stuck.wait()
        terminal.wait()
