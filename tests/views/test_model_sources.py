"""cnnviz.views.model_sources: the models the draw page offers, and loading them safely."""

from __future__ import annotations

import io
import os

import pytest
import torch

from cnnviz.data.mnist import mnist_test_digit
from cnnviz.device import to_model
from cnnviz.training.recipe import TrainConfig
from cnnviz.training.runs import create_run
from cnnviz.views.model_sources import file_stamp, load_checked, model_sources
from models import CheckpointError, CNNClassifier, ConvAutoencoder
from models.checkpoint import checkpoint_dict


def checkpoint_bytes(model: torch.nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.save(checkpoint_dict(model), buffer)
    return buffer.getvalue()


def test_load_checked_returns_the_model_of_the_asked_kind_in_eval_mode():
    torch.manual_seed(0)
    original = CNNClassifier()
    loaded = load_checked(checkpoint_bytes(original), "classifier")
    assert isinstance(loaded, CNNClassifier) and not loaded.training
    x = torch.rand(2, 1, 28, 28)
    with torch.inference_mode():
        assert torch.allclose(loaded(x), original.eval()(x))


def test_loaded_models_keep_their_convolution_weights_channels_last_and_give_the_same_numbers():
    torch.manual_seed(1)
    original = ConvAutoencoder().eval()
    loaded = load_checked(checkpoint_bytes(original), "autoencoder")
    convolutions = [m for m in loaded.modules() if isinstance(m, torch.nn.Conv2d)]
    assert convolutions and all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in convolutions)
    assert not all(m.weight.is_contiguous(memory_format=torch.channels_last) for m in original.modules()
                   if isinstance(m, torch.nn.Conv2d))  # fmt: skip
    x = torch.rand(3, 1, 28, 28)
    with torch.inference_mode():
        assert torch.allclose(loaded(to_model(x, loaded)), original(x), atol=1e-5)


def test_a_model_of_the_other_kind_is_refused_by_name():
    with pytest.raises(CheckpointError, match="holds an autoencoder; pick a classifier"):
        load_checked(checkpoint_bytes(ConvAutoencoder()), "classifier")
    with pytest.raises(CheckpointError, match="holds a classifier; pick an autoencoder"):
        load_checked(checkpoint_bytes(CNNClassifier()), "autoencoder")


def test_missing_and_hostile_files_give_clear_messages(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at"):
        load_checked(tmp_path / "nothing.pt", "classifier")
    hostile = io.BytesIO()
    torch.save({"model": "classifier", "config": {}, "state_dict": {}, "code": os.getcwd}, hostile)
    with pytest.raises(CheckpointError, match="refused"):
        load_checked(hostile.getvalue(), "classifier")


def test_sources_are_the_shipped_model_then_finished_runs_of_that_kind_newest_first():
    older = create_run(TrainConfig(model="classifier"), name="older")
    older.save_checkpoint(checkpoint_dict(CNNClassifier()))
    older.set_status("finished")
    newer = create_run(TrainConfig(model="classifier"), name="newer")
    newer.save_checkpoint(checkpoint_dict(CNNClassifier()))
    newer.set_status("finished")
    stopped = create_run(TrainConfig(model="classifier"), name="stopped")
    stopped.save_checkpoint(checkpoint_dict(CNNClassifier()))
    stopped.set_status("stopped")
    damaged = create_run(TrainConfig(model="classifier"), name="damaged")
    damaged.set_status("finished")
    (damaged.path / "config.json").write_text("{not json")
    labels = [source.label for source in model_sources("classifier")]
    assert labels == ["shipped classifier", "run: newer", "run: older"]
    assert [source.label for source in model_sources("autoencoder")] == ["shipped autoencoder"]
    assert model_sources("classifier")[1].path == newer.checkpoint_path


def test_file_stamp_changes_when_the_file_is_rewritten(tmp_path):
    path = tmp_path / "model.pt"
    assert file_stamp(path) == (str(path), 0.0)
    path.write_bytes(b"one")
    first = file_stamp(path)
    os.utime(path, (first[1] + 5, first[1] + 5))
    assert file_stamp(path)[1] == first[1] + 5


def test_mnist_test_digits_come_with_their_labels(mnist):
    digit = mnist_test_digit(10_000 + 7)  # wraps around to #7
    assert digit.pixels.shape == (28, 28) and digit.pixels.dtype.name == "uint8" and digit.number == 7
    assert digit.label == int(mnist.test.labels[7]) and (digit.pixels == mnist.test.images[7, 0].numpy()).all()
