"""The training queue under a hostile or careless class (issue 9, findings 7-11), on the Huey queue.

No queue worker runs here (tests/training/test_jobs.py starts real ones): a submitted run stays queued, so
nothing is trained and each test takes a moment. Some tests also keep a pretend run "running", owned by this
very test process.
"""

from __future__ import annotations

import errno
import os
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
from cnnviz.training import jobs, runs, state, worker
from cnnviz.training.jobs import process_start_ticks
from cnnviz.training.recipe import TrainConfig, train
from cnnviz.training.runs import Run, RunRecorder, create_run, list_runs, runs_dir
from cnnviz.training.state import read_lease

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
    monkeypatch.setattr(state, "atomic_write_text", full)
    monkeypatch.setattr(runs, "atomic_torch_save", full)
    before = sorted(p.name for p in runs_dir().iterdir() if not p.name.startswith("."))
    with pytest.raises(jobs.JobRefused, match="the disk is full.*Runs already saved stay readable"):
        jobs.submit(TrainConfig(seed=4, train_images=1000, epochs=1), owner="alice")
    assert sorted(p.name for p in runs_dir().iterdir() if not p.name.startswith(".")) == before  # nothing half-made
    assert worker.open_queue().huey.pending_count() == 0  # nothing was queued for a worker to take
    status = jobs.refresh(dead)
    assert status.state == "interrupted" and "disk is full" in status.message
    with pytest.raises(jobs.JobRefused, match="disk is full"):
        jobs.stop(queued, owner="carol")
    assert [r.id for r in list_runs()] == [dead.id, queued.id]  # what was saved is still read


# --- 10: the queue moves with no page open (real workers: tests/training/test_jobs.py) ---------------------------


def test_a_queued_run_without_a_task_in_the_queue_gets_one():
    """Huey loses a task its worker took and never ran (killed in between); resync gives the run a new one."""
    queue = worker.open_queue()
    from_a_terminal = create_run(SMALL, owner="cli")  # python -m cnnviz.training.bottleneck --queue: no ticket
    assert jobs.enqueue_waiting() == [from_a_terminal.id]
    ticket = from_a_terminal.status.ticket
    assert [task.id for task in queue.huey.pending()] == [ticket] and jobs.enqueue_waiting() == []
    taken = queue.huey.dequeue()  # what a worker killed before it could claim the run leaves behind
    assert taken.id == ticket and taken.args == (from_a_terminal.id,)  # plain data: the run id alone
    assert worker.resync(queue, runs_dir()) == []  # within the grace period it may still be being claimed
    assert worker.resync(queue, runs_dir(), grace_s=0) == [from_a_terminal.id]
    again = from_a_terminal.status
    assert again.ticket != ticket and [task.id for task in queue.huey.pending()] == [again.ticket]
    assert jobs.queue_position(from_a_terminal) == 1


def test_a_task_starts_only_the_run_that_still_names_it():
    """A cancelled run's task, or one replaced by a newer ticket, is skipped by the worker."""
    queue = worker.open_queue()
    options = worker.WorkerOptions(runs=runs_dir(), queue_url=worker.queue_url())
    run = jobs.submit(SMALL, owner="alice")
    old = run.status.ticket
    jobs.stop(run, owner="alice")
    assert worker.claim(queue, run.path, old, options) is None and run.state == "stopped"
    run.save_checkpoint({"model": "classifier", "config": {}, "state_dict": {}})
    jobs.resume(run, owner="alice")
    assert worker.claim(queue, run.path, old, options) is None and run.state == "queued"  # the stale task
    lease = worker.claim(queue, run.path, run.status.ticket, options)
    assert lease is not None and run.state == "running" and read_lease(run.path) == lease
    assert worker.claim(queue, run.path, lease.ticket, options) is None  # a duplicate never starts it twice
    deleted = jobs.submit(TrainConfig(seed=1, train_images=1000, epochs=1), owner="bob")
    ticket = deleted.status.ticket
    deleted.delete()
    assert worker.claim(queue, deleted.path, ticket, options) is None


def test_a_queue_that_is_down_refuses_new_runs_with_one_clear_message(monkeypatch):
    occupy_the_slot()
    broken = runs_dir() / "not-a-folder"
    broken.write_text("a file where the queue's folder should be")
    for url, words in [
        (f"sqlite:///{broken}/huey.db", "FileExistsError"),
        ("redis://:s3cret@127.0.0.1:1/0", "127.0.0.1:1"),
        ("postgresql://cnnviz:s3cret@127.0.0.1:1/class", "127.0.0.1:1"),
        ("amqp://127.0.0.1", "must start with sqlite:///"),
    ]:
        monkeypatch.setenv(worker.QUEUE_URL_ENV, url)
        with pytest.raises(jobs.JobRefused, match="The training queue cannot be reached") as refused:
            jobs.submit(SMALL, owner="alice")
        message = str(refused.value)
        assert words in message and "s3cret" not in message and "runs already training go on" in message, message
    assert [r.owner for r in list_runs()] == ["teacher"]  # nothing half-made


# --- 11: races ---------------------------------------------------------------------------------------


def test_cancelling_a_run_while_a_worker_claims_it_is_never_lost(monkeypatch):
    """The stop flag comes first: a worker that claims the run between the page's look and its write starts a
    trainer that finds the flag before its first step."""
    queue = worker.open_queue()
    options = worker.WorkerOptions(runs=runs_dir(), queue_url=worker.queue_url())
    run = jobs.submit(SMALL, owner="alice")
    looked = jobs.refresh

    def look_then_a_worker_claims(target: Run) -> dict:
        status = looked(target)  # "queued"
        assert worker.claim(queue, run.path, run.status.ticket, options) is not None
        return status

    monkeypatch.setattr(jobs, "refresh", look_then_a_worker_claims)
    jobs.stop(run, owner="alice")
    monkeypatch.setattr(jobs, "refresh", looked)
    assert run.stop_requested(), "the cancel was lost: the trainer would train on"
    assert RunRecorder(run).should_stop()  # what the trainer asks before its first step

    later = jobs.submit(TrainConfig(seed=1, train_images=1000, epochs=1), owner="bob")
    jobs.stop(later, owner="bob")  # before any worker looked: the worker cancels it for good
    assert worker.claim(queue, later.path, later.status.ticket, options) is None
    assert later.state == "stopped"


def test_refresh_never_relabels_a_run_that_just_finished(monkeypatch):
    run = create_run(SMALL, owner="alice")
    run.set_status("running", "training", pid=2**22 + 9)

    def finishes_then_exits(pid, start_ticks=None):  # the process wrote its last status, then ended
        run.set_status("finished", "test accuracy 98.00%")
        return False

    monkeypatch.setattr(jobs, "process_alive", finishes_then_exits)
    assert jobs.refresh(run).state == "finished"
    assert run.status.message == "test accuracy 98.00%"


def test_resume_from_a_terminal_refuses_a_run_that_is_already_training(capsys):
    run = occupy_the_slot(owner="cli")
    assert train_cli.main(["--resume", run.id, "--quiet"]) == 2
    assert "is running already" in capsys.readouterr().err
    queued = create_run(SMALL, owner="cli")
    assert train_cli.main(["--resume", queued.id, "--quiet"]) == 2
    assert "is queued already" in capsys.readouterr().err
    assert run.status.message == "pretend" and queued.state == "queued"  # untouched


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
    assert all("cancelled by the teacher" in r.status.message for r in waiting)
    assert finished.state == "finished"


def test_a_trainer_stuck_past_its_time_limit_is_killed_but_a_terminal_run_never_is():
    queue = worker.open_queue()
    options = worker.WorkerOptions(runs=runs_dir(), queue_url=worker.queue_url(), lease_s=2, kill_after_s=0.5)
    app_run = jobs.submit(SMALL, owner="alice")
    lease = worker.claim(queue, app_run.path, app_run.status.ticket, options)
    stuck = [sys.executable, "-c", "import time; time.sleep(120)"]
    started = time.monotonic()
    assert worker.supervise(queue, app_run.path, lease, options, command=stuck) == "interrupted"
    assert time.monotonic() - started < 30 and "time limit" in app_run.status.message
    assert read_lease(app_run.path) is None
    terminal = subprocess.Popen(stuck)
    try:
        cli_run = create_run(TrainConfig(seed=1, train_images=1000, epochs=1), owner="cli")
        cli_run.set_status("running", "training", pid=terminal.pid, started=time.time() - 3 * 3600)
        assert jobs.refresh(cli_run).state == "running" and terminal.poll() is None
    finally:
        terminal.kill()
        terminal.wait()
