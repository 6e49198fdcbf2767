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
    monkeypatch.setattr(cnnviz.train, "load_mnist", lambda: small)
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
