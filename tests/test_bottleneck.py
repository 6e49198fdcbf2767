"""The bottleneck comparison on real (short) training runs: more numbers in the code, lower test error."""

from __future__ import annotations

import pytest

import cnnviz.train
from cnnviz import bottleneck
from cnnviz.data import MNIST
from cnnviz.runs import list_runs
from cnnviz.training import TrainConfig


def test_configs_share_the_architecture():
    found = bottleneck.configs([2, 36], TrainConfig(epochs=1))
    assert [c.bottleneck_channels for c in found] == [2, 36]
    assert all(c.model == "autoencoder" and c.channels == bottleneck.CHANNELS and c.epochs == 1 for c in found)
    with pytest.raises(ValueError, match="positive"):
        bottleneck.configs([0, 4], TrainConfig())


def test_mse_falls_as_the_bottleneck_grows(mnist, monkeypatch, capsys):
    # Real training, kept short: 3,000 training digits, 500 test digits, 2 epochs of batch 32 (188 steps)
    # of a narrow (8-channel) network per size.
    small = MNIST(mnist.train.subset(3000), mnist.val.subset(200), mnist.test.subset(500))
    monkeypatch.setattr(cnnviz.train, "load_mnist", lambda: small)
    arguments = ["--sizes", "2", "8", "32", "--channels", "8", "8", "8", "8", "--epochs", "2", "--batch-size", "32"]
    code = bottleneck.main([*arguments, "--train-images", "3000", "--quiet"])
    assert code == 0
    entries = bottleneck.latest_comparison()
    assert [e.code_size for e in entries] == [2, 8, 32]
    errors = [e.test_mse for e in entries]
    assert errors[0] > errors[1] > errors[2], errors
    assert all(e.images.shape == e.reconstructions.shape == (16, 28, 28) for e in entries)
    assert (entries[0].images == entries[2].images).all()  # the same digits, side by side
    assert len(list_runs()) == 3 and all(run.state == "finished" for run in list_runs())
    assert "code size  test MSE" in capsys.readouterr().err


def test_bad_sizes_are_refused(capsys):
    assert bottleneck.main(["--sizes", "0"]) == 2
    assert "positive" in capsys.readouterr().err
