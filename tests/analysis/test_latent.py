"""The latent plane: cached and reproducible per model, decodes codes faithfully, interpolates between digits."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch

from cnnviz.analysis import latent
from cnnviz.analysis.model_cache import cache_path
from cnnviz.data.mnist import to_float
from models import PRETRAINED_DIR, AutoencoderConfig, BackboneConfig, ConvAutoencoder, load_pretrained, save_checkpoint

SUBSET = 600  # test digits projected in these tests (the page uses all 10,000)


@pytest.fixture(scope="module")
def shipped_autoencoder():
    return load_pretrained("autoencoder")


def test_projection_is_cached_beside_runs_and_reproducible(shipped_autoencoder, mnist):
    source = PRETRAINED_DIR / "autoencoder.pt"
    shipped_before = sorted(os.listdir(PRETRAINED_DIR))
    test = mnist.test.subset(SUBSET)
    job = latent.ProjectionJob(shipped_autoencoder, source, test)
    assert job.result is None and job.progress == 0
    progress = job.advance(seconds=0)  # one batch per call at least, so a page can show a bar
    assert 0 < progress < 1
    while job.result is None:
        job.advance()
    first = job.result
    cached = cache_path(source, "latent")
    assert cached.exists() and str(cached).startswith(os.environ["CNNVIZ_RUNS_DIR"])
    assert sorted(os.listdir(PRETRAINED_DIR)) == shipped_before  # shipped files stay read-only
    again = latent.projection(shipped_autoencoder, source)  # from the cache: no MNIST pass
    np.testing.assert_array_equal(again.coordinates, first.coordinates)
    cached.unlink()
    fresh = latent.projection(shipped_autoencoder, source, test)
    np.testing.assert_allclose(fresh.coordinates, first.coordinates, atol=1e-5)
    np.testing.assert_allclose(fresh.directions, first.directions, atol=1e-8)
    assert first.points.shape == (SUBSET, 2) and first.code_shape == (4, 3, 3) and not first.exact
    np.testing.assert_allclose(first.directions @ first.directions.T, np.eye(36), atol=1e-8)
    assert first.variance[0] >= first.variance[1] >= first.variance[-1]
    # Coordinates are the codes seen along the directions: the plane is the codes' own PCA.
    codes = latent.encode(shipped_autoencoder, test.images)
    np.testing.assert_allclose(first.coordinates[:, :2], (codes - codes.mean(0)) @ first.directions[:2].T, atol=1e-4)


def test_a_changed_checkpoint_is_recomputed(tmp_path, mnist):
    path = tmp_path / "checkpoint.pt"
    model = ConvAutoencoder().eval()
    save_checkpoint(model, path)
    first = latent.projection(model, path, mnist.test.subset(200))
    assert (tmp_path / "checkpoint.latent.pt").exists()  # beside the model
    torch.nn.init.normal_(model.bottleneck.weight)
    save_checkpoint(model, path)
    second = latent.projection(model, path, mnist.test.subset(200))
    assert not np.allclose(first.coordinates, second.coordinates)


def test_decoding_a_digits_own_code_gives_its_reconstruction(shipped_autoencoder, mnist):
    source = PRETRAINED_DIR / "autoencoder.pt"
    plane = latent.projection(shipped_autoencoder, source, mnist.test.subset(SUBSET))
    digit = to_float(mnist.test.images[7:8])
    with torch.inference_mode():
        code = shipped_autoencoder.encode(digit)[0].numpy()
        reconstruction = shipped_autoencoder(digit)[0, 0].numpy()
    coordinates = plane.project(code)
    np.testing.assert_allclose(plane.to_code(coordinates), code, atol=1e-5)
    decoded = latent.decode(shipped_autoencoder, plane.to_code(coordinates))[0]
    np.testing.assert_allclose(decoded, reconstruction, atol=1e-5)
    no_move = latent.along_directions(shipped_autoencoder, plane, code, [0.0, 0.0, 0.0])
    np.testing.assert_allclose(no_move, reconstruction, atol=1e-5)
    moved = latent.along_directions(shipped_autoencoder, plane, code, [2.0])
    assert np.abs(moved - reconstruction).max() > 0.05
    # A plane point keeps only two coordinates: the decoded image is the mean code moved in the plane.
    point = latent.decode_point(shipped_autoencoder, plane, *coordinates[:2])
    np.testing.assert_allclose(point, latent.decode(shipped_autoencoder, plane.to_code(coordinates[:2]))[0])


def test_two_value_code_is_exact(tmp_path, mnist):
    config = AutoencoderConfig(BackboneConfig(channels=(8, 8, 8, 8)), bottleneck_channels=2)
    torch.manual_seed(0)
    model = ConvAutoencoder(config).eval()
    save_checkpoint(model, tmp_path / "two.pt")
    plane = latent.projection(model, tmp_path / "two.pt", mnist.test.subset(100))
    assert plane.exact and plane.code_shape == (2, 1, 1)
    digit = to_float(mnist.test.images[:1])
    with torch.inference_mode():
        code = model.encode(digit)[0].numpy()
        reconstruction = model(digit)[0, 0].numpy()
    np.testing.assert_allclose(plane.project(code), code.reshape(-1), atol=1e-6)
    np.testing.assert_allclose(latent.decode_point(model, plane, *code.reshape(-1)), reconstruction, atol=1e-6)


def test_interpolation_ends_at_the_two_reconstructions(shipped_autoencoder, mnist):
    first, second = to_float(mnist.test.images[0:1]), to_float(mnist.test.images[1:2])
    strip = latent.interpolate(shipped_autoencoder, first, second, count=9)
    assert strip.decoded.shape == strip.pixels.shape == (9, 28, 28)
    with torch.inference_mode():
        ends = shipped_autoencoder(torch.cat([first, second]))[:, 0].numpy()
    np.testing.assert_allclose(strip.decoded[0], ends[0], atol=1e-5)
    np.testing.assert_allclose(strip.decoded[-1], ends[1], atol=1e-5)
    np.testing.assert_allclose(strip.pixels[0], first[0, 0].numpy())
    np.testing.assert_allclose(strip.pixels[4], 0.5 * (first + second)[0, 0].numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="at least 2"):
        latent.interpolate(shipped_autoencoder, first, second, count=1)


def test_without_mnist_the_plane_is_of_the_shipped_digits_and_cached_apart(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path / "empty"))  # a fresh offline clone
    path = tmp_path / "checkpoint.pt"
    model = ConvAutoencoder().eval()
    save_checkpoint(model, path)
    job = latent.ProjectionJob(model, path)
    assert job.shipped_digits
    plane = latent.projection(model, path)
    assert plane.points.shape == (200, 2)
    assert (tmp_path / "checkpoint.latent.shipped.pt").exists() and not (tmp_path / "checkpoint.latent.pt").exists()
    assert latent.ProjectionJob(model, path).result is not None  # from its own cache
