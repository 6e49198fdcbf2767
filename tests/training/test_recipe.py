"""The training loop on real MNIST: it learns, stops, resumes on the same curve, and detects divergence."""

import math

import pytest
import torch

from cnnviz.training.recipe import (
    Milestone,
    TrainConfig,
    TrainingCallbacks,
    TrainingDiverged,
    confusion_matrix,
    count_parameters,
    evaluate,
    make_model,
    milestones,
    train,
)

SMALL = dict(train_images=5000, val_images=2000, batch_size=64, log_every=10, checkpoint_every=1000)


class Recorder(TrainingCallbacks):
    """Keeps everything train() reports; stops after ``stop_after`` steps if given."""

    def __init__(self, stop_after: int | None = None):
        self.records, self.checkpoints, self.samples = [], [], []
        self.stop_after = stop_after
        self.steps = 0

    def on_record(self, record):
        self.records.append(record)
        if record["kind"] == "step":
            self.steps = record["step"]

    def on_checkpoint(self, checkpoint):
        self.checkpoints.append(checkpoint)

    def on_samples(self, epoch, samples):
        self.samples.append((epoch, samples))

    def should_stop(self):
        return self.stop_after is not None and self.steps >= self.stop_after


def test_a_short_real_run_reaches_90_percent_validation_accuracy(mnist):
    recorder = Recorder()
    result = train(TrainConfig(epochs=1, **SMALL), mnist, recorder)
    epochs = [r for r in recorder.records if r["kind"] == "epoch"]
    assert [r["epoch"] for r in epochs] == [1] and not result.stopped
    assert epochs[-1]["val_accuracy"] >= 0.90
    steps = [r for r in recorder.records if r["kind"] == "step"]
    assert steps[0]["step"] == 10 and all(r["images_per_s"] > 0 for r in steps)
    assert steps[-1]["loss"] < steps[0]["loss"]
    assert result.step == math.ceil(5000 / 64) and recorder.checkpoints[-1]["step"] == result.step
    # The final model agrees with the reported validation accuracy.
    assert evaluate(result.model, mnist.val.subset(2000)).accuracy == pytest.approx(epochs[-1]["val_accuracy"])


def test_stop_then_resume_continues_the_same_curve(mnist):
    config = TrainConfig(epochs=1, dropout=0.2, **SMALL)
    straight = Recorder()
    train(config, mnist, straight)

    first = Recorder(stop_after=40)  # stops inside the epoch (79 steps)
    stopped = train(config, mnist, first)
    assert stopped.stopped and stopped.step == 40
    checkpoint = first.checkpoints[-1]
    assert checkpoint["step"] == 40 and checkpoint["step_in_epoch"] == 40
    second = Recorder()
    train(config, mnist, second, resume=checkpoint)

    def losses(records):
        return {r["step"]: r["loss"] for r in records if r["kind"] == "step"}

    resumed = {**losses(first.records), **losses(second.records)}
    expected = losses(straight.records)
    assert sorted(resumed) == sorted(expected)
    for step, loss in expected.items():  # same batches, same dropout masks, same optimizer state
        assert resumed[step] == pytest.approx(loss, rel=1e-3, abs=1e-4), step


def test_sgd_at_learning_rate_10_diverges_with_the_step(mnist):
    recorder = Recorder()
    config = TrainConfig(optimizer="sgd", lr=10.0, schedule="constant", epochs=1, **SMALL)
    with pytest.raises(TrainingDiverged, match=r"training diverged at step \d+") as caught:
        train(config, mnist, recorder)
    assert caught.value.step >= 1
    # Nothing after the divergence was reported as a checkpoint.
    assert all(c["step"] < caught.value.step for c in recorder.checkpoints)


def test_autoencoder_learns_and_reports_reconstructions(mnist):
    recorder = Recorder()
    config = TrainConfig(model="autoencoder", epochs=1, **SMALL)
    result = train(config, mnist, recorder)
    epoch = [r for r in recorder.records if r["kind"] == "epoch"][0]
    assert epoch["accuracy"] is None and epoch["val_accuracy"] is None
    assert epoch["val_loss"] < 0.06  # predicting the mean image scores about 0.067
    (number, samples) = recorder.samples[0]
    assert number == 1 and samples["images"].shape == (8, 1, 28, 28) == samples["reconstructions"].shape
    assert samples["images"].dtype == torch.uint8 and 0 <= samples["reconstructions"].min()
    assert evaluate(result.model, mnist.val.subset(2000)).loss == pytest.approx(epoch["val_loss"], rel=1e-4)


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    labels = torch.tensor([0, 0, 1, 2, 2, 2])
    predicted = torch.tensor([0, 1, 1, 2, 0, 2])
    matrix = confusion_matrix(predicted, labels, classes=3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_config_validation_and_model_building():
    with pytest.raises(ValueError, match="optimizer"):
        TrainConfig(optimizer="lbfgs")
    with pytest.raises(ValueError, match="learning rate"):
        TrainConfig(lr=float("nan"))
    with pytest.raises(ValueError, match="unknown training options"):
        TrainConfig.from_dict({"epochs": 1, "colour": "red"})
    assert TrainConfig.from_dict({"channels": [8, 8, 8]}).channels == (8, 8, 8)
    model = make_model(TrainConfig())
    assert count_parameters(model) < 100_000
    torch.testing.assert_close(make_model(TrainConfig()).state_dict(), model.state_dict())  # seeded


def test_milestones_are_the_first_validation_pass_at_or_above_each_target():
    records = [
        {"kind": "step", "images": 1000, "train_seconds": 0.5, "loss": 1.0},
        {"kind": "val", "images": 2000, "train_seconds": 1.0, "val_accuracy": 0.975},
        {"kind": "val", "images": 4000, "train_seconds": 2.0, "val_accuracy": 0.9801},
        {"kind": "val", "images": 6000, "train_seconds": 3.0, "val_accuracy": 0.979},  # a dip changes nothing
        {"kind": "epoch", "images": 8000, "train_seconds": 4.0, "val_accuracy": 0.99},
    ]
    assert milestones(records) == [Milestone(0.98, 4000, 2.0), Milestone(0.99, 8000, 4.0)]
    assert milestones(records[:3]) == [Milestone(0.98, 4000, 2.0)]  # 99% not reached: left out
    assert milestones([{"kind": "epoch", "images": 10, "train_seconds": 1.0, "val_accuracy": None}]) == []
