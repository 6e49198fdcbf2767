"""A run's replay: frames on schedule from a real (tiny) training, in the run folder within its budget, read back."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from cnnviz.training import jobs, replay
from cnnviz.training.cli import execute
from cnnviz.training.jobs import process_start_ticks
from cnnviz.training.recipe import TrainConfig, make_model, train
from cnnviz.training.replay import ReplayFrame, Schedule
from cnnviz.training.runs import RunRecorder, create_run, disk_usage, runs_dir
from models import PRETRAINED_DIR

TINY = TrainConfig(epochs=1, train_images=1024, val_images=200, batch_size=64, log_every=4, checkpoint_every=1000)


def a_frame(images: int = 0, seed: int = 0) -> ReplayFrame:
    digit = torch.randint(0, 256, (1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))
    return replay.capture(make_model(TrainConfig(seed=seed)), digit, 3, images, images / 48_000)


def test_the_schedule_gives_30_to_60_frames_dense_early_whatever_the_length():
    for total in (1_024, 12_000, 48_000, 288_000, 50 * 48_000):
        moments = Schedule(total).moments
        assert 30 <= len(moments) <= 60 and len(moments) <= replay.MAX_FRAMES, (total, len(moments))
        assert moments[0] == 0 and moments[-1] == total
    early = Schedule(288_000).moments[:8]  # the untrained network, then doubling from 256 images
    assert early == (0, 256, 512, 1_024, 2_048, 4_096, 7_200, 8_192)
    schedule = Schedule(288_000)
    assert schedule.due(0, 256) and not schedule.due(256, 511) and schedule.due(511, 512)
    assert schedule.due(100, 1_100)  # a step across two moments captures once (the caller asks once per step)


@pytest.fixture(scope="module")
def tiny_run(mnist, tmp_path_factory):
    """A real training of 16 steps written to a run folder: the run, its result and its frames."""
    run = create_run(TINY, root=tmp_path_factory.mktemp("runs"))
    result = train(TINY, mnist, RunRecorder(run))
    return run, result, replay.load_replay(run.path)


def test_a_real_run_writes_a_frame_per_moment_of_its_schedule(tiny_run, mnist):
    run, result, frames = tiny_run
    images = [frame.images for frame in frames]
    # 0, then each 64-image step passes a moment of 1,024 images' schedule (one every 25.6 images)
    assert images == list(range(0, 1_025, 64))
    assert [round(frame.epoch, 4) for frame in frames] == [i / 16 for i in range(17)]
    first, last = frames[0], frames[-1]
    assert first.kernels.shape == (16, 1, 3, 3) and first.maps.shape == (16, 28, 28)
    assert np.array_equal(first.digit, mnist.val.images[0, 0].numpy()) and first.label == int(mnist.val.labels[0])
    trained = result.model.backbone.layers.conv1.weight.detach().numpy()
    np.testing.assert_allclose(last.kernels.astype(np.float32), trained, atol=2e-3)  # float16 of the final weights
    assert not np.allclose(first.kernels, last.kernels, atol=1e-3)  # the filters moved
    for frame in frames:
        assert frame.probabilities.shape == (10,) and abs(float(frame.probabilities.sum()) - 1) < 1e-4
    assert last.probabilities[last.label] > first.probabilities[first.label]  # it learnt this digit


def test_the_replay_is_a_few_kb_a_frame_and_counted_in_the_disk_budget(tiny_run):
    run, _, frames = tiny_run
    files = sorted((run.path / replay.FOLDER).iterdir())
    sizes = [path.stat().st_size for path in files]
    assert len(files) == len(frames) and max(sizes) < 8 * 1024, sizes
    assert sum(sizes) * replay.MAX_FRAMES / len(files) < replay.disk_bytes(16, 3) < 2 * 2**20
    assert replay.disk_bytes(512, 15) < 3 * 2**20  # the widest first layer the form allows, reserved per run
    without_replay = disk_usage(run.path) - sum(sizes)
    assert disk_usage(run.path) == without_replay + sum(sizes) and sum(sizes) > 0


def test_a_new_run_reserves_room_for_its_replay(monkeypatch):
    running = create_run(TINY, owner="teacher")  # holds the one training slot: nothing is launched here
    running.set_status("running", "pretend", pid=os.getpid(), start_ticks=process_start_ticks(os.getpid()))
    cost = jobs.check_budget(TINY)
    without_replay = 2 * cost.checkpoint_bytes + 2**20
    monkeypatch.setenv(jobs.RUNS_DISK_ENV, "4")
    free = 4 * 2**20 - disk_usage(runs_dir())
    leftovers = runs_dir() / "leftovers.bin"
    leftovers.write_bytes(bytes(free - without_replay - replay.disk_bytes(16, 3) // 2))  # room but for the replay
    with pytest.raises(jobs.JobRefused, match="the runs folder holds"):
        jobs.submit(TINY, owner="ann")
    leftovers.unlink()
    free = 4 * 2**20 - disk_usage(runs_dir())  # again: the refused submit opened the queue's storage there
    leftovers.write_bytes(bytes(free - without_replay - replay.disk_bytes(16, 3) - 2**17))  # the queue's journal
    assert jobs.submit(TINY, owner="ann").state == "queued"


def test_frames_round_trip_and_damaged_or_foreign_files_are_skipped(tmp_path):
    frame = a_frame(512, seed=1)
    back = ReplayFrame.from_bytes(frame.to_bytes())
    for name in ("kernels", "digit", "maps", "map_high", "probabilities"):
        assert np.array_equal(getattr(back, name), getattr(frame, name)), name
    assert (back.images, back.epoch, back.label) == (512, frame.epoch, 3)
    np.testing.assert_allclose(back.map_values().max(axis=(1, 2)), frame.map_high, rtol=1e-6)
    assert replay.write_frame(tmp_path, frame) and replay.write_frame(tmp_path, a_frame(0))
    folder = tmp_path / replay.FOLDER
    (folder / "000000000100.npz").write_bytes(b"half a frame")
    np.savez(folder / "000000000200.npz", kernels=np.array([object()], dtype=object))  # a pickle, refused
    (folder / ".000000000300.npz.tmp").write_bytes(frame.to_bytes())  # a write in progress
    assert [f.images for f in replay.load_replay(tmp_path)] == [0, 512]
    with pytest.raises(ValueError, match="not a replay frame"):
        ReplayFrame.from_bytes(b"PK\x03\x04 not really")


def test_old_runs_and_the_shipped_model_have_no_replay_and_say_nothing_wrong(tmp_path):
    run = create_run(TINY, root=tmp_path)
    assert replay.load_replay(run.path) == ()
    assert replay.replay_of_checkpoint(run.checkpoint_path) == ()
    assert replay.replay_of_checkpoint(PRETRAINED_DIR / "classifier.pt") == ()
    assert replay.replay_of_checkpoint(tmp_path / "missing" / "checkpoint.pt") == ()


def test_a_frame_over_the_limits_is_not_written(tmp_path, monkeypatch):
    monkeypatch.setattr(replay, "MAX_FRAMES", 2)
    assert replay.write_frame(tmp_path, a_frame(0)) and replay.write_frame(tmp_path, a_frame(64))
    assert not replay.write_frame(tmp_path, a_frame(128))  # the run's frames are all taken
    assert replay.write_frame(tmp_path, a_frame(64, seed=2))  # the same moment again (a resume) replaces its frame
    monkeypatch.setattr(replay, "MAX_FRAME_BYTES", 100)
    assert not replay.write_frame(tmp_path, a_frame(0, seed=3))
    assert [f.images for f in replay.load_replay(tmp_path)] == [0, 64]


def test_resume_keeps_appending_the_same_frames(tiny_run, mnist):
    """Stopped after 5 steps, then resumed: the same moments as the uninterrupted run, and the same final filters."""
    uninterrupted = tiny_run[2]
    run = create_run(TINY)

    def stop_at_step_8(record):
        if record["kind"] == "step" and record["step"] >= 8:
            run.request_stop()

    assert execute(run, on_progress=stop_at_step_8) == "stopped"
    stopped_at = run.load_checkpoint()["images"]
    assert 0 < stopped_at < 1024
    replay.write_frame(run.path, a_frame(stopped_at + 32))  # taken after the checkpoint, then the trainer died
    assert execute(run, resume=True) == "finished"
    frames = replay.load_replay(run.path)
    assert [f.images for f in frames] == [f.images for f in uninterrupted]
    np.testing.assert_allclose(
        frames[-1].kernels.astype(np.float32), uninterrupted[-1].kernels.astype(np.float32), atol=2e-3
    )


def test_a_run_about_to_diverge_still_gives_a_finite_frame():
    model = make_model(TrainConfig())
    with torch.no_grad():
        replay.first_convolution(model).weight[0, 0, 0, 0] = float("inf")
        replay.first_convolution(model).weight[1, 0, 0, 0] = float("nan")
        replay.first_convolution(model).weight[2, 0, 0, 0] = 1e9
    frame = replay.capture(model, torch.full((1, 28, 28), 200, dtype=torch.uint8), 0, 64, 0.0)
    for values in (frame.kernels, frame.map_high, frame.probabilities):
        assert np.isfinite(values).all()
    assert ReplayFrame.from_bytes(frame.to_bytes()).kernels[2, 0, 0, 0] == np.float16(65504)


def test_an_autoencoder_run_has_a_replay_without_a_prediction():
    model = make_model(TrainConfig(model="autoencoder"))
    frame = replay.capture(model, torch.full((1, 28, 28), 100, dtype=torch.uint8), 0, 0, 0.0)
    assert frame.probabilities.shape == (0,) and frame.kernels.shape == (16, 1, 3, 3)
    assert ReplayFrame.from_bytes(frame.to_bytes()).probabilities.shape == (0,)
