"""The run folder: readable at any time, atomic checkpoints, hostile files refused."""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from cnnviz.training.recipe import TrainConfig, make_model
from cnnviz.training.runs import Run, RunRecorder, RunState, create_run, get_run, list_runs, runs_dir
from models import CheckpointError
from models.checkpoint import checkpoint_dict

ROOT = Path(__file__).resolve().parents[2]


def test_a_new_run_folder_holds_config_and_queued_status():
    config = TrainConfig(epochs=2, channels=(8, 8, 8))
    run = create_run(config, name="first try", owner="alice")
    assert run.path.parent == runs_dir() and run.path.is_dir()
    assert run.config == config and run.name == "first try" and run.owner == "alice"
    assert run.state == "queued"
    assert json.loads((run.path / "config.json").read_text())["train"]["channels"] == [8, 8, 8]
    assert get_run(run.id) == run and list_runs() == [run]
    run.rename("  better   name ")
    assert run.name == "better name" and run.config == config
    with pytest.raises(ValueError, match="empty"):
        run.rename("   ")
    run.delete()
    assert list_runs() == []


def test_run_ids_cannot_reach_outside_the_runs_folder():
    for bad in ("../etc", "a/b", "", ".hidden"):
        with pytest.raises(KeyError):
            get_run(bad)


def test_metrics_survive_a_half_written_line_and_truncate_for_resume():
    run = create_run(TrainConfig())
    for step in (10, 20, 30):
        run.append_metrics({"kind": "step", "step": step, "loss": 1.0 / step})
    run.append_metrics({"kind": "epoch", "step": 30, "val_loss": 0.5})
    with open(run.path / "metrics.jsonl", "a") as f:
        f.write('{"kind": "step", "st')  # a writer caught mid-line
    assert [r["step"] for r in run.metrics("step")] == [10, 20, 30]
    assert run.metrics("epoch")[0]["val_loss"] == 0.5
    run.truncate_metrics(20)
    assert [r["step"] for r in run.metrics()] == [10, 20]


def test_the_version_changes_with_status_metrics_and_samples_and_only_then():
    run = create_run(TrainConfig())
    seen = [run.version()]
    assert run.version() == seen[-1]  # reading changes nothing
    run.metrics(), run.status, run.samples()
    assert run.version() == seen[-1]
    run.append_metrics({"kind": "step", "step": 10, "loss": 0.5})
    seen.append(run.version())
    run.set_status("running", "training", pid=123)
    seen.append(run.version())
    digits = torch.zeros(8, 1, 28, 28)
    run.save_samples(1, {"images": digits.to(torch.uint8), "reconstructions": digits})
    seen.append(run.version())
    assert len(set(seen)) == 4
    assert re.fullmatch(r"[0-9./-]+", seen[-1])  # sizes and times only: it goes to any browser that asks


def test_status_is_replaced_whole_and_states_are_checked():
    run = create_run(TrainConfig())
    run.set_status("running", "training", pid=123)
    assert run.status.pid == 123 and run.state == "running"
    run.set_status("stopped", "stopped at step 5")
    assert run.status.pid is None and run.status.message == "stopped at step 5"
    with pytest.raises(ValueError, match="unknown run state"):
        run.set_status("paused")


def test_recorder_writes_the_folder_and_obeys_the_stop_flag():
    run = create_run(TrainConfig())
    recorder = RunRecorder(run)
    recorder.on_record({"kind": "step", "step": 1, "loss": 2.3})
    assert run.metrics()[0]["loss"] == 2.3 and "time" in run.metrics()[0]
    model = make_model(TrainConfig())
    recorder.on_checkpoint(checkpoint_dict(model, step=1))
    assert run.load_checkpoint()["step"] == 1
    assert not recorder.should_stop()
    run.request_stop()
    assert recorder.should_stop()
    run.clear_stop()
    assert not recorder.should_stop()
    recorder.on_samples(1, {"images": torch.zeros(8, 1, 28, 28, dtype=torch.uint8)})
    assert run.samples()["epoch"] == 1


WRITER = textwrap.dedent(
    """
    import os, sys, time, torch
    from cnnviz.training.runs import Run
    run = Run(sys.argv[1])
    real_replace = os.replace
    def never_finish(src, dst):  # the temp file is complete but the rename never comes
        print("writing", flush=True)
        time.sleep(600)
    os.replace = never_finish
    run.save_checkpoint({"model": "classifier", "config": {}, "state_dict": {"w": torch.ones(300_000)}, "step": 2})
    """
)


def test_a_process_killed_during_a_checkpoint_write_leaves_the_previous_one(tmp_path):
    run = create_run(TrainConfig())
    model = make_model(TrainConfig())
    run.save_checkpoint(checkpoint_dict(model, step=1))
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(run.path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert writer.stdout.readline().strip() == "writing"
        assert list(run.path.glob(".checkpoint.pt.*.tmp"))  # the half-done write is there...
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.wait()
    loaded = run.load_checkpoint()  # ...but the checkpoint is still the previous, complete one
    assert loaded["step"] == 1
    model.load_state_dict(loaded["state_dict"])


class _Payload:
    def __reduce__(self):
        return (Path.touch, (Path(os.environ["CNNVIZ_RUNS_DIR"]) / "pwned",))


def test_corrupt_or_code_carrying_checkpoints_are_refused_and_nothing_runs():
    run = create_run(TrainConfig())
    with pytest.raises(CheckpointError, match="no checkpoint yet"):
        run.load_checkpoint()
    run.checkpoint_path.write_bytes(b"\x80\x04garbage" * 10)
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        run.load_checkpoint()
    torch.save({"model": "classifier", "config": {}, "state_dict": {}, "x": _Payload()}, run.checkpoint_path)
    with pytest.raises(CheckpointError, match="could run code"):
        run.load_checkpoint()
    time.sleep(0.1)
    assert not (runs_dir() / "pwned").exists()
    assert run.samples() is None and run.results() is None  # missing files read as "nothing yet"


def test_list_runs_ignores_stray_files_and_sorts_oldest_first():
    first = create_run(TrainConfig())
    time.sleep(0.01)
    second = create_run(TrainConfig(model="autoencoder"))
    (runs_dir() / "notes.txt").write_text("not a run")
    (runs_dir() / "empty-folder").mkdir()
    assert list_runs() == [first, second]
    assert Run(second.path).config.model == "autoencoder"


def test_run_states_are_the_plain_words_on_disk():
    run = create_run(TrainConfig())
    run.set_status(RunState.STOPPED, "by hand")
    assert json.loads((run.path / "status.json").read_text())["state"] == "stopped"  # unchanged file format
    assert run.state == RunState.STOPPED == "stopped"
    assert [str(s) for s in RunState] == ["queued", "running", "finished", "stopped", "failed", "interrupted"]


def test_the_shown_mark_is_its_own_file_so_a_rename_at_the_same_time_keeps_both(tmp_path):
    run = create_run(TrainConfig(), name="before", root=tmp_path)
    assert not run.shown_to_class
    run.mark_shown(True)
    run.rename("after")
    assert run.shown_to_class and run.name == "after"
    run.mark_shown(False)
    run.mark_shown(False)  # unmarking twice is fine
    assert not run.shown_to_class and run.name == "after"


def test_a_status_is_a_typed_record_that_reads_newer_and_damaged_files(tmp_path):
    from cnnviz.training.state import RunStatus, read_status, write_status

    write_status(tmp_path, "running", "training", pid=123, host="here")
    status = read_status(tmp_path)
    assert status.state is RunState.RUNNING and status.pid == 123 and status.host == "here" and status.active
    assert "ticket" not in json.loads((tmp_path / "status.json").read_text())  # unset fields are not written
    with pytest.raises(TypeError):
        write_status(tmp_path, "running", "training", pdi=123)  # a misspelt field fails where it is written
    (tmp_path / "status.json").write_text(json.dumps({"state": "paused", "message": "m", "colour": "red"}))
    assert read_status(tmp_path) == RunStatus(RunState.INTERRUPTED, "m")  # an unknown state is not running here
    (tmp_path / "status.json").write_text("[1, 2")
    assert read_status(tmp_path) == RunStatus()  # damaged: reads as queued, as a missing one does
