"""What the filters look for: kernels, top digits by brute force, activation maximisation, the incremental job."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnviz.analysis import filters
from cnnviz.analysis.model_cache import cache_path
from cnnviz.analysis.receptive import region
from cnnviz.data.mnist import to_float
from models import PRETRAINED_DIR, load_model

SUBSET = 300  # test digits scanned here (the page scans all 10,000)
SOURCE = PRETRAINED_DIR / "classifier.pt"


def _maps(model, layer: str, images: torch.Tensor) -> torch.Tensor:
    caught = []
    hook = dict(model.named_modules())[layer].register_forward_hook(lambda _m, _i, out: caught.append(out))
    with torch.inference_mode():
        model(images)
    hook.remove()
    return caught[0]


def test_first_layer_kernels_are_the_weights(trained_classifier):
    kernels = filters.first_layer_kernels(trained_classifier)
    assert kernels.shape == (16, 1, 3, 3)
    np.testing.assert_array_equal(kernels, trained_classifier.backbone.layers.conv1.weight.detach().numpy())
    assert filters.filter_layers(trained_classifier)[0] == "backbone.layers.conv1"


def test_job_is_incremental_cached_and_right(trained_classifier, mnist):
    layer = "backbone.layers.conv2"
    test = mnist.test.subset(SUBSET)
    job = filters.FilterJob(trained_classifier, SOURCE, layer, test)
    progress = [job.progress]
    while job.result is None:
        progress.append(job.advance(seconds=0))  # one batch or one ascent step per call
    assert progress[0] == 0 and progress[-1] == 1 and len(progress) > 5
    assert all(a < b for a, b in zip(progress, progress[1:]))
    found = job.result
    assert cache_path(SOURCE, f"filters.{layer}").exists()

    # Brute force: each channel's strongest cell on every digit, the 9 best digits.
    maps = _maps(trained_classifier, layer, to_float(test.images))  # (N, 32, 14, 14)
    peaks = maps.flatten(2).max(dim=2).values  # (N, 32)
    expected = peaks.T.topk(filters.TOP, dim=1).values.numpy()
    np.testing.assert_allclose(found.top_values, expected, rtol=1e-5)
    for channel in (0, 31):
        digit, (row, col) = found.top_digits[channel, 0], found.top_cells[channel, 0]
        assert maps[digit, channel, row, col] == pytest.approx(found.top_values[channel, 0], rel=1e-5)
        (top, left), (bottom, right) = region(trained_classifier, layer, int(row), int(col))
        crop = found.crops[channel, 0]
        assert crop.shape == (10, 10)  # conv1, res1, pool1, conv2: a 10 x 10 field
        image = to_float(test.images[digit, 0]).numpy()
        inside = crop[top - (row * 2 - 4) :, left - (col * 2 - 4) :][: bottom - top + 1, : right - left + 1]
        np.testing.assert_array_equal(inside, image[top : bottom + 1, left : right + 1])

    # Activation maximisation: each image excites its own channel's centre cell more than the faint start does.
    start = torch.full((1, 1, 28, 28), torch.sigmoid(torch.tensor(-2.0)).item())
    baseline = _maps(trained_classifier, layer, start)[0, :, found.centre[0], found.centre[1]].numpy()
    grown = _maps(trained_classifier, layer, torch.as_tensor(found.maximised)[:, None])
    own = grown[torch.arange(32), torch.arange(32), found.centre[0], found.centre[1]].numpy()
    np.testing.assert_allclose(own, found.maximised_values, rtol=1e-4, atol=1e-5)
    assert (own > baseline).mean() > 0.9
    assert found.maximised.min() >= 0 and found.maximised.max() <= 1

    # Cached: a second job is done at once and identical; the seed decides the result.
    again = filters.FilterJob(trained_classifier, SOURCE, layer, test)
    assert again.result is not None and again.progress == 1
    np.testing.assert_array_equal(again.result.maximised, found.maximised)
    assert filters.FilterJob(trained_classifier, SOURCE, layer, test, seed=1).result is None


def test_unknown_layer_is_refused(trained_classifier):
    with pytest.raises(KeyError, match="not a layer with channels"):
        filters.FilterJob(trained_classifier, SOURCE, "head")


def test_without_mnist_the_top_digits_are_of_the_shipped_digits_and_cached_apart(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path / "empty"))  # a fresh offline clone
    path = tmp_path / "classifier.pt"
    path.write_bytes(SOURCE.read_bytes())
    model = load_model(path)
    layer = "backbone.layers.conv1"
    job = filters.FilterJob(model, path, layer)
    assert job.shipped_digits and len(job.test) == 200
    while job.result is None:
        job.advance()
    assert job.result.top_digits.max() < 200
    assert cache_path(path, f"filters.{layer}.shipped").exists() and not cache_path(path, f"filters.{layer}").exists()
    assert filters.FilterJob(model, path, layer).result is not None  # from its own cache
