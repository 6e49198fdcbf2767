"""The bottleneck comparison on real (short) training runs: more numbers in the code, lower test error."""

from __future__ import annotations

import errno
import json

import pytest

import cnnviz.training.cli
from cnnviz.data.mnist import MNIST
from cnnviz.training import bottleneck, jobs
from cnnviz.training.recipe import TrainConfig
from cnnviz.training.runs import list_runs
from cnnviz.views import train_view


def test_configs_share_the_architecture():
    found = bottleneck.configs([2, 36], TrainConfig(epochs=1))
    assert [c.bottleneck_channels for c in found] == [2, 36]  # four stages: the code is n x 1 x 1
    assert all(c.model == "autoencoder" and c.channels == bottleneck.CHANNELS and c.epochs == 1 for c in found)
    three_stages = bottleneck.configs([9, 36], TrainConfig(), channels=(16, 32, 32))
    assert [c.bottleneck_channels for c in three_stages] == [1, 4]  # c x 3 x 3
    with pytest.raises(ValueError, match="positive"):
        bottleneck.configs([0, 4], TrainConfig())
    with pytest.raises(ValueError, match="multiple of 9"):
        bottleneck.configs([2], TrainConfig(), channels=(16, 32, 32))


def test_mse_falls_as_the_bottleneck_grows(mnist, monkeypatch, capsys):
    # Real training, kept short: 3,000 training digits, 500 test digits, 2 epochs of batch 32 (188 steps) of a
    # narrow three-stage network per size, codes of 1, 4 and 16 x 3 x 3. About 5 s per model on 2 quiet cores
    # (measured: MSE 0.032, 0.027, 0.016). Four-stage 1 x 1 codes need longer runs to leave the blurry
    # "mean digit" plateau (all near 0.055 after 188 steps), so they are not what this test trains.
    small = MNIST(mnist.train.subset(3000), mnist.val.subset(100), mnist.test.subset(500))
    monkeypatch.setattr(cnnviz.training.cli, "load_mnist", lambda: small)
    arguments = ["--sizes", "9", "36", "144", "--channels", "8", "16", "16", "--epochs", "2", "--batch-size", "32"]
    options = ["--lr", "0.01", "--dropout", "0", "--train-images", "3000", "--val-images", "100", "--quiet"]
    code = bottleneck.main([*arguments, *options])
    assert code == 0
    entries = bottleneck.latest_comparison()
    assert [e.code_size for e in entries] == [9, 36, 144]
    errors = [e.test_mse for e in entries]
    assert errors[0] > errors[1] > errors[2], errors
    assert all(e.images.shape == e.reconstructions.shape == (16, 28, 28) for e in entries)
    assert (entries[0].images == entries[2].images).all()  # the same digits, side by side
    assert len(list_runs()) == 3 and all(run.state == "finished" for run in list_runs())
    assert "code size  test MSE" in capsys.readouterr().err


def test_bad_sizes_are_refused(capsys):
    assert bottleneck.main(["--sizes", "0"]) == 2
    assert "positive" in capsys.readouterr().err


# --- the Train page's comparison: the CLI's runs, through the queue and its limits ---------------------------------

QUICK = bottleneck.base_config(1, 1000)  # one epoch of 1,000 digits per size


@pytest.fixture
def slot_taken():
    """A pretend run holds the one training slot, so what is submitted stays queued and nothing trains."""
    from tests.training.test_hostile_queue import occupy_the_slot

    return occupy_the_slot(owner="teacher")


def _queued(owner: str) -> list:
    return [run for run in list_runs() if run.owner == owner and run.state == "queued"]


def test_a_submitted_comparison_queues_the_clis_runs_as_one_batch(slot_taken):
    runs = bottleneck.submit_comparison([8, 2], QUICK, owner="ann")
    assert [run.config for run in runs] == bottleneck.configs([2, 8], QUICK)  # smallest first, the CLI's configs
    assert [run.name for run in runs] == ["bottleneck 2 values", "bottleneck 8 values"]
    assert all(run.owner == "ann" and run.state == "queued" for run in runs)
    markers = [json.loads((run.path / bottleneck.MARKER).read_text()) for run in runs]
    assert [m["code_size"] for m in markers] == [2, 8]
    assert markers[0]["batch"] == markers[1]["batch"] == runs[0].meta[jobs.BATCH_KEY] == runs[1].meta[jobs.BATCH_KEY]
    progress = bottleneck.comparison_progress("ann")
    assert [(e.code_size, e.state, e.test_mse) for e in progress] == [(2, "queued", None), (8, "queued", None)]
    assert bottleneck.comparison_progress("bob") == []  # a browser sees only its own comparison
    assert train_view.comparison_summary(progress) == "0 of 2 sizes finished; 2 waiting."


def test_a_comparison_is_one_request_of_its_browser(slot_taken, monkeypatch):
    bottleneck.submit_comparison([2, 4, 8], QUICK, owner="ann")
    with pytest.raises(jobs.JobRefused, match=r"already have a run waiting .*the comparison counts as one"):
        bottleneck.submit_comparison([16], QUICK, owner="ann")
    with pytest.raises(jobs.JobRefused, match="already have a run waiting"):
        jobs.submit(TrainConfig(train_images=1000, epochs=1), owner="ann")
    jobs.submit(TrainConfig(train_images=1000, epochs=1), owner="bob")  # others are not held up by it
    monkeypatch.setenv(jobs.MAX_QUEUED_PER_OWNER_ENV, "2")
    jobs.submit(TrainConfig(train_images=1000, epochs=1, seed=1), owner="ann")  # three runs, two requests
    assert len(_queued("ann")) == 4


def test_a_comparison_needs_a_queue_place_for_every_size(slot_taken, monkeypatch):
    monkeypatch.setenv(jobs.MAX_QUEUED_ENV, "3")
    jobs.submit(TrainConfig(train_images=1000, epochs=1), owner="bob")
    with pytest.raises(jobs.JobRefused, match=r"room for 2 more runs \(1 waiting, at most 3.*this needs 3"):
        bottleneck.submit_comparison([2, 4, 8], QUICK, owner="ann")
    assert _queued("ann") == []  # all or none
    assert len(bottleneck.submit_comparison([2, 4], QUICK, owner="ann")) == 2


def test_a_comparison_together_gets_one_runs_wall_time(slot_taken, monkeypatch):
    monkeypatch.setenv(jobs.MAX_RUN_MINUTES_ENV, "1")
    each = bottleneck.base_config(1, 20_000)  # about 29 s per size here: each fits, three together do not
    with pytest.raises(jobs.JobRefused, match=r"These 3 runs would take about 1.4 minutes here together; .* at most 1"):
        bottleneck.submit_comparison([2, 4, 8], each, owner="ann")
    with pytest.raises(jobs.JobRefused, match="This run would take about"):
        bottleneck.submit_comparison([2], bottleneck.base_config(2), owner="ann")  # one size over the limit
    assert _queued("ann") == []
    assert len(bottleneck.submit_comparison([2, 4], bottleneck.base_config(1, 5000), owner="ann")) == 2


def test_bad_sizes_disk_and_a_full_disk_half_way_are_refused_whole(slot_taken, monkeypatch):
    with pytest.raises(ValueError, match="each code size once"):
        bottleneck.submit_comparison([2, 2], QUICK, owner="ann")
    with pytest.raises(ValueError, match="positive"):
        bottleneck.submit_comparison([0, 2], QUICK, owner="ann")
    with pytest.raises(jobs.JobRefused, match="nothing to queue"):
        jobs.submit_batch([], "ann", [])
    monkeypatch.setenv(jobs.RUNS_DISK_ENV, "5")
    with pytest.raises(jobs.JobRefused, match="the runs folder holds"):  # six checkpoints of 1.5 MB, twice each
        bottleneck.submit_comparison(list(bottleneck.SIZES), QUICK, owner="ann")
    monkeypatch.delenv(jobs.RUNS_DISK_ENV)
    before = len(list_runs())

    def disk_full_at_the_second(index, run, batch):
        if index == 1:
            raise OSError(errno.ENOSPC, "No space left on device")

    configs = bottleneck.configs([2, 4, 8], QUICK)
    with pytest.raises(jobs.JobRefused, match="the disk is full"):
        jobs.submit_batch(configs, "ann", ["a", "b", "c"], prepare=disk_full_at_the_second)
    assert len(list_runs()) == before  # no half batch stays behind


def test_the_progress_says_which_sizes_finished(slot_taken):
    runs = bottleneck.submit_comparison([2, 4, 8], QUICK, owner="ann")
    runs[0].append_metrics({"kind": "test", "test_loss": 0.0412})
    runs[0].set_status("finished", "done")
    runs[1].set_status("failed", "diverged")
    progress = bottleneck.comparison_progress("ann")
    assert [(e.code_size, e.state, e.test_mse) for e in progress] == [
        (2, "finished", 0.0412), (4, "failed", None), (8, "queued", None)
    ]  # fmt: skip
    assert train_view.comparison_summary(progress) == "1 of 3 sizes finished (2 values); 1 waiting; 4 values failed."
    rows = train_view.comparison_rows(progress)
    assert rows[0] == {"code size": "2 values", "state": "finished", "progress": "done", "test MSE": "0.0412",
                       "run": "bottleneck 2 values"}  # fmt: skip


def _finished_comparison(owner: str, sizes: list[int], loss: float) -> None:
    """A comparison whose runs finished (their results written as training writes them), nothing trained."""
    import torch

    from cnnviz.files import atomic_write_text
    from cnnviz.training.runs import create_run

    batch = f"{owner}-{loss}"
    for size, config in zip(sizes, bottleneck.configs(sizes, QUICK)):
        run = create_run(config, name=bottleneck.run_name(size), owner=owner)
        atomic_write_text(run.path / bottleneck.MARKER, json.dumps({"batch": batch, "code_size": size}))
        images = torch.zeros(16, 1, 28, 28, dtype=torch.uint8)
        run.save_results({"test_loss": loss, "images": images, "reconstructions": images.float()})
        run.set_status("finished")


def test_the_inside_page_shows_your_own_comparison_first_else_the_newest():
    assert bottleneck.latest_comparison(owner="ann") == []
    _finished_comparison("teacher", [2, 8], 0.05)
    assert [e.run.owner for e in bottleneck.latest_comparison(owner="ann")] == ["teacher", "teacher"]
    _finished_comparison("ann", [4, 16], 0.04)
    _finished_comparison("bob", [2, 36], 0.03)
    ann = bottleneck.latest_comparison(owner="ann")
    assert [(e.run.owner, e.code_size, e.test_mse) for e in ann] == [("ann", 4, 0.04), ("ann", 16, 0.04)]
    assert {e.run.owner for e in bottleneck.latest_comparison(owner="carl")} == {"bob"}  # the newest of anyone
