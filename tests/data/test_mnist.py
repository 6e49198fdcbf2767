"""MNIST from CNNVIZ_DATA_DIR: the lab's split, in-memory batches, clear message when missing."""

import numpy as np
import pytest
import torch

from cnnviz import data
from cnnviz.data import mnist as shipped


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


@pytest.fixture
def without_mnist(tmp_path, monkeypatch):
    """An empty data folder, as in a fresh offline clone."""
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path))
    return tmp_path


def test_without_mnist_the_shipped_digits_stand_in(without_mnist):
    digits, full = shipped.test_digits()
    assert not full and len(digits) == 200 and digits.images.shape == (200, 1, 28, 28)
    assert digits.images.dtype == torch.uint8 and digits.labels.dtype == torch.int64
    assert torch.bincount(digits.labels, minlength=10).tolist() == [shipped.SHIPPED_PER_LABEL] * 10
    first = shipped.mnist_test_digit(0)
    assert first.pixels.shape == (28, 28) and first.pixels.dtype == np.uint8
    assert first.label == 7 and first.number == 0  # MNIST test digit #0 is a 7
    assert shipped.mnist_test_digit(200 + 3).number == shipped.mnist_test_digit(3).number  # wraps around the 200
    later = shipped.mnist_test_digit(150)
    assert later.number > 150  # the shipped digits are picked across the set: each says its own number
    assert later.number in shipped.shipped_test_numbers()


def test_without_mnist_or_the_shipped_digits_the_message_stays(without_mnist, monkeypatch):
    monkeypatch.setattr(shipped, "SHIPPED_DIGITS", without_mnist / "none.npz")
    with pytest.raises(shipped.MNISTNotFound, match="CNNVIZ_DATA_DIR"):
        shipped.mnist_test_digit(0)


def test_the_shipped_digits_are_the_first_20_of_each_label_and_regenerate_the_same(mnist, tmp_path):
    with np.load(shipped.SHIPPED_DIGITS, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in ("indices", "images", "labels")}
    indices, images, labels = arrays["indices"], arrays["images"], arrays["labels"]
    expected = np.sort(np.concatenate([np.flatnonzero(mnist.test.labels.numpy() == d)[:20] for d in range(10)]))
    np.testing.assert_array_equal(indices, expected)
    np.testing.assert_array_equal(images, mnist.test.images[indices, 0].numpy())
    np.testing.assert_array_equal(labels, mnist.test.labels[indices].numpy())
    assert shipped.SHIPPED_DIGITS.stat().st_size < 60_000
    assert (shipped.SHIPPED_DIGITS.parent / "MNIST_DIGITS_LICENSE.md").read_text().count("CC BY-SA 3.0") == 1
    again = shipped.write_shipped_digits(tmp_path / "again.npz")
    with np.load(again, allow_pickle=False) as regenerated:
        for name, array in arrays.items():
            np.testing.assert_array_equal(regenerated[name], array)
