"""MNIST from CNNVIZ_DATA_DIR: the lab's split, in-memory batches, clear message when missing."""

import numpy as np
import pytest
import torch

from cnnviz import data


def test_split_sizes(mnist):
    assert (len(mnist.train), len(mnist.val), len(mnist.test)) == (48_000, 12_000, 10_000)
    assert mnist.train.images.shape == (48_000, 1, 28, 28)
    assert mnist.train.images.dtype == torch.uint8


def test_split_is_the_labs_seeded_permutation(mnist):
    np.random.seed(42)  # exactly the lab's code
    lab_train, lab_val = np.split(np.random.permutation(60_000), [int(60_000 * 0.8)])
    ours_train, ours_val = data.split_indices(60_000)
    assert np.array_equal(ours_train.numpy(), lab_train)
    assert np.array_equal(ours_val.numpy(), lab_val)
    assert len(set(lab_train) & set(lab_val)) == 0


def test_pixel_statistics_of_the_real_data(mnist):
    pixels = data.to_float(mnist.train.images)
    assert float(pixels.min()) == 0.0 and float(pixels.max()) == 1.0
    assert abs(float(pixels.mean()) - 0.1307) < 0.002
    assert abs(float(pixels.std()) - 0.3081) < 0.002
    counts = torch.bincount(mnist.test.labels, minlength=10)
    assert counts.sum() == 10_000 and counts.min() > 800  # every digit is there


def test_batches_cover_the_split_once(mnist):
    small = mnist.val.subset(1000)
    seen = 0
    for x, y in data.batches(small, 300, shuffle=True, generator=torch.Generator().manual_seed(0)):
        assert x.dtype == torch.float32 and x.shape[1:] == (1, 28, 28)
        assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0
        seen += len(y)
    assert seen == 1000


def test_missing_data_says_where_it_looked_and_how_to_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path))
    with pytest.raises(data.MNISTNotFound) as raised:
        data.load_mnist()
    message = str(raised.value)
    assert str(tmp_path) in message
    assert "CNNVIZ_DATA_DIR" in message and "download" in message
