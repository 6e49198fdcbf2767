"""Checkpoints rebuild their model alone and refuse anything that is not one."""

import dataclasses
import pickle

import pytest
import torch

from models import (
    AutoencoderConfig,
    BackboneConfig,
    CheckpointError,
    ClassifierConfig,
    CNNClassifier,
    ConvAutoencoder,
    load_model,
    save_checkpoint,
)


@pytest.mark.parametrize(
    "model",
    [
        CNNClassifier(ClassifierConfig(BackboneConfig(channels=(8, 16), blocks_per_stage=2))),
        ConvAutoencoder(AutoencoderConfig(BackboneConfig(channels=(8, 8, 8)), bottleneck_channels=2)),
    ],
)
def test_checkpoint_rebuilds_the_model_from_the_file_alone(tmp_path, model):
    path = tmp_path / "model.pt"
    save_checkpoint(model.eval(), path, epoch=3)
    raw = torch.load(path, weights_only=True)  # plain types only
    assert raw["config"] == dataclasses.asdict(model.config) and raw["epoch"] == 3
    loaded = load_model(path)
    assert loaded.config == model.config and not loaded.training
    x = torch.rand(2, 1, 28, 28)
    torch.testing.assert_close(loaded(x), model(x))


class _RunsCode:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_pickle_that_would_run_code_is_refused(tmp_path, capsys):
    path = tmp_path / "evil.pt"
    torch.save({"model": "classifier", "config": {}, "state_dict": {}, "payload": _RunsCode()}, path)
    with pytest.raises(CheckpointError, match="could run code"):
        load_model(path)
    assert "must never run" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"not a checkpoint at all", "not a readable PyTorch checkpoint"),
        (pickle.dumps([1, 2, 3]), "not a readable PyTorch checkpoint"),
    ],
)
def test_garbage_is_refused_politely(content, words):
    with pytest.raises(CheckpointError, match=words):
        load_model(content)


def test_truncated_checkpoint_is_refused(tmp_path):
    path = tmp_path / "model.pt"
    save_checkpoint(CNNClassifier(), path)
    with pytest.raises(CheckpointError):
        load_model(path.read_bytes()[:5000])


def test_a_torch_file_that_is_not_ours_or_does_not_fit(tmp_path):
    torch.save({"weights": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match="not a cnnviz checkpoint"):
        load_model(tmp_path / "other.pt")
    small = CNNClassifier(ClassifierConfig(BackboneConfig(channels=(4, 4, 4))))
    data = {"model": "classifier", "config": dataclasses.asdict(ClassifierConfig()), "state_dict": small.state_dict()}
    torch.save(data, tmp_path / "mismatch.pt")
    with pytest.raises(CheckpointError, match="do not fit"):
        load_model(tmp_path / "mismatch.pt")
