"""The autoencoder's latent space: every test digit's code on a plane, and the decoder's image of any point.

The bottleneck codes of the 10,000 MNIST test digits are flattened to
``D = c * h * w`` numbers and rotated onto their principal directions (PCA):
the first two coordinates are the plane the page draws; keeping all ``D``
directions makes the rotation exactly invertible, so a digit's full
coordinates decode to its own reconstruction. A model whose code has exactly
2 numbers needs no projection: its plane *is* the latent space (identity
directions, no centring).

The projection is computed once per checkpoint file and cached on disk
(:mod:`cnnviz.analysis.model_cache`); a click only runs the decoder (~2 ms).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnnviz.analysis.model_cache import find_cached, save_cached
from cnnviz.data.mnist import Split, test_digits, to_float
from cnnviz.device import model_device, one_thread, to_model

ENCODE_BATCH = 200  # test digits per encoder pass while projecting (about 0.2 s on the 2-core machine)
KEPT_COORDINATES = 8  # coordinates stored per test digit (the plane and the sliders' directions)
CACHE_NAME = "latent"
CACHE_VERSION = 1  # bump when the stored fields change


@dataclass(frozen=True)
class LatentProjection:
    """The test digits' codes on their principal directions."""

    mean: np.ndarray  # (D,) mean code (zeros for an exact 2-D latent space)
    directions: np.ndarray  # (D, D) rows: orthonormal principal directions, most variance first
    variance: np.ndarray  # (D,) variance of the codes along each direction
    coordinates: np.ndarray  # (N, min(D, KEPT_COORDINATES)) float32: each test digit's first coordinates
    labels: np.ndarray  # (N,) int64: the digits' labels
    code_shape: tuple[int, int, int]  # (c, h, w) of one bottleneck code

    @property
    def exact(self) -> bool:
        """The code has 2 numbers: the plane is the latent space itself, nothing is projected away."""
        return self.mean.size == 2

    @property
    def points(self) -> np.ndarray:
        """``(N, 2)`` the test digits on the plane."""
        return self.coordinates[:, :2]

    @property
    def explained(self) -> np.ndarray:
        """``(D,)`` share of the codes' total variance along each direction."""
        return self.variance / max(float(self.variance.sum()), 1e-12)

    def project(self, code: np.ndarray) -> np.ndarray:
        """``(D,)`` coordinates of one code (any shape with ``D`` numbers)."""
        return (np.asarray(code, dtype=np.float64).reshape(-1) - self.mean) @ self.directions.T

    def to_code(self, coordinates: Sequence[float]) -> np.ndarray:
        """The ``(c, h, w)`` code at ``coordinates``; missing trailing coordinates are 0 (the mean)."""
        full = np.zeros(self.mean.size)
        given = np.asarray(coordinates, dtype=np.float64).reshape(-1)[: self.mean.size]
        full[: given.size] = given
        return (self.mean + full @ self.directions).reshape(self.code_shape).astype(np.float32)


def encode(autoencoder: nn.Module, images: torch.Tensor) -> np.ndarray:
    """``(N, D)`` flattened codes of uint8 or float ``(N, 1, 28, 28)`` images."""
    codes = []
    with torch.inference_mode():
        for start in range(0, len(images), ENCODE_BATCH):
            batch = images[start : start + ENCODE_BATCH]
            batch = to_float(batch) if batch.dtype == torch.uint8 else batch.float()
            codes.append(autoencoder.encode(to_model(batch, autoencoder)).flatten(1).double().cpu())
    return torch.cat(codes).numpy()


def decode(autoencoder: nn.Module, codes: np.ndarray) -> np.ndarray:
    """``(B, 28, 28)`` images in [0, 1] from ``(B, c, h, w)`` (or one ``(c, h, w)``) codes."""
    batch = torch.as_tensor(np.asarray(codes, dtype=np.float32))
    if batch.dim() == 3:
        batch = batch[None]
    with torch.inference_mode():
        return autoencoder.decode(to_model(batch, autoencoder))[:, 0].float().cpu().numpy()


def _code_shape(autoencoder: nn.Module) -> tuple[int, int, int]:
    with torch.inference_mode():
        return tuple(autoencoder.encode(torch.zeros(1, 1, 28, 28, device=model_device(autoencoder))).shape[1:])  # type: ignore[return-value]


def fit_projection(codes: np.ndarray, labels: np.ndarray, code_shape: tuple[int, int, int]) -> LatentProjection:
    """Principal directions of ``(N, D)`` codes (deterministic signs: each direction's largest entry > 0)."""
    size = codes.shape[1]
    if size == 2:
        mean, directions = np.zeros(2), np.eye(2)
    else:
        mean = codes.mean(0)
        _, _, vt = np.linalg.svd(codes - mean, full_matrices=True)  # rows of vt: directions
        largest = vt[np.arange(size), np.abs(vt).argmax(1)]
        directions = vt * np.sign(largest)[:, None]
    coordinates = (codes - mean) @ directions.T  # (N, D)
    return LatentProjection(
        mean=mean,
        directions=directions,
        variance=coordinates.var(0),
        coordinates=coordinates[:, :KEPT_COORDINATES].astype(np.float32),
        labels=np.asarray(labels, dtype=np.int64),
        code_shape=code_shape,
    )


def _from_stored(stored: dict) -> LatentProjection:
    return LatentProjection(
        mean=stored["mean"].numpy(),
        directions=stored["directions"].numpy(),
        variance=stored["variance"].numpy(),
        coordinates=stored["coordinates"].numpy(),
        labels=stored["labels"].numpy(),
        code_shape=tuple(stored["code_shape"]),  # type: ignore[arg-type]
    )


class ProjectionJob:
    """Computes (or finds cached) one checkpoint's projection a slice at a time, so a page never blocks long.

    Call :meth:`advance` until :attr:`result` is set; :attr:`progress` goes from 0 to 1.

    Args:
        autoencoder: the model ``source`` holds, in eval mode.
        source: its checkpoint file or uploaded bytes (the cache key is the file's SHA-256).
        test: the digits to project; default the 10,000 MNIST test digits, or the 200 shipped ones
            (:attr:`shipped_digits`) when MNIST is missing.
    """

    def __init__(self, autoencoder: nn.Module, source: str | os.PathLike | bytes, test: Split | None = None):
        self.autoencoder = autoencoder
        self.result: LatentProjection | None = None
        self.shipped_digits = False  # True: projects the 200 shipped digits, MNIST being missing
        self.path, self.digest, stored = find_cached(source, CACHE_NAME)
        if stored is None or stored.get("version") != CACHE_VERSION:
            if test is None:
                test, full = test_digits()
                self.shipped_digits = not full
            if self.shipped_digits:  # a plane of the shipped digits never stands in for the full one
                self.path, self.digest, stored = find_cached(source, f"{CACHE_NAME}.shipped")
        if stored is not None and stored.get("version") == CACHE_VERSION:
            self.result = _from_stored(stored)
            return
        self.test = test
        self.codes: list[np.ndarray] = []
        self.done_images = 0

    @property
    def progress(self) -> float:
        """Share of the test digits encoded so far (1.0 when the result is ready)."""
        return 1.0 if self.result is not None else self.done_images / len(self.test)

    def advance(self, seconds: float = 0.5) -> float:
        """Encode batches for about ``seconds`` (at least one); fit, store and set :attr:`result` at the end."""
        started = time.monotonic()
        with one_thread():  # a page's share of a busy machine; see cnnviz.device.one_thread
            while self.result is None:
                batch = self.test.images[self.done_images : self.done_images + ENCODE_BATCH]
                self.codes.append(encode(self.autoencoder, batch))
                self.done_images += len(batch)
                if self.done_images >= len(self.test):
                    self._finish()
                elif time.monotonic() - started >= seconds:
                    break
        return self.progress

    def _finish(self) -> None:
        fitted = fit_projection(np.concatenate(self.codes), self.test.labels.numpy(), _code_shape(self.autoencoder))
        save_cached(
            self.path,
            self.digest,
            {
                "version": CACHE_VERSION,
                "mean": torch.from_numpy(fitted.mean),
                "directions": torch.from_numpy(fitted.directions),
                "variance": torch.from_numpy(fitted.variance),
                "coordinates": torch.from_numpy(fitted.coordinates),
                "labels": torch.from_numpy(fitted.labels),
                "code_shape": list(fitted.code_shape),
            },
        )
        self.result = fitted


def projection(
    autoencoder: nn.Module, source: str | os.PathLike | bytes, test: Split | None = None
) -> LatentProjection:
    """The cached projection of the autoencoder loaded from ``source`` (computed and stored the first time).

    Args:
        autoencoder: the model ``source`` holds, in eval mode.
        source: its checkpoint file or uploaded bytes (the cache key is the file's SHA-256).
        test: the digits to project; default the 10,000 MNIST test digits, or the 200 shipped ones
            (:attr:`shipped_digits`) when MNIST is missing.
    """
    job = ProjectionJob(autoencoder, source, test)
    while job.result is None:
        job.advance(seconds=60.0)
    return job.result


def decode_point(autoencoder: nn.Module, latent: LatentProjection, x: float, y: float) -> np.ndarray:
    """``(28, 28)`` the decoder's image of the plane point ``(x, y)`` (other directions at the mean)."""
    return decode(autoencoder, latent.to_code([x, y]))[0]


def along_directions(
    autoencoder: nn.Module, latent: LatentProjection, code: np.ndarray, steps: Sequence[float]
) -> np.ndarray:
    """``(28, 28)`` the decoder's image after moving ``code`` by ``steps[i]`` standard deviations along direction i."""
    coordinates = latent.project(code)
    for i, step in enumerate(steps[: coordinates.size]):
        coordinates[i] += step * math.sqrt(float(latent.variance[i]))
    return decode(autoencoder, latent.to_code(coordinates))[0]


@dataclass(frozen=True)
class Interpolation:
    """Two digits blended along a straight line, in code space and in pixel space."""

    weights: np.ndarray  # (K,) from 0 (the first digit) to 1 (the second)
    decoded: np.ndarray  # (K, 28, 28) decoder((1 - w) * code_a + w * code_b)
    pixels: np.ndarray  # (K, 28, 28) (1 - w) * image_a + w * image_b


def interpolate(autoencoder: nn.Module, first: torch.Tensor, second: torch.Tensor, count: int = 10) -> Interpolation:
    """Strips of ``count`` images from ``first`` to ``second`` (each ``(1, 1, 28, 28)`` in [0, 1]).

    The code-space strip starts and ends with the two reconstructions; the pixel-space strip with the two inputs.
    """
    if count < 2:
        raise ValueError(f"an interpolation needs at least 2 images, got {count}.")
    weights = np.linspace(0.0, 1.0, count)
    images = torch.cat([first, second]).float()  # (2, 1, 28, 28)
    with torch.inference_mode():
        codes = autoencoder.encode(to_model(images, autoencoder)).cpu()  # (2, c, h, w)
    w = torch.as_tensor(weights, dtype=torch.float32)[:, None, None, None]  # (K, 1, 1, 1)
    blended_codes = (1 - w) * codes[0] + w * codes[1]  # (K, c, h, w)
    pixels = (1 - w) * images[0] + w * images[1]  # (K, 1, 28, 28)
    return Interpolation(weights, decode(autoencoder, blended_codes.numpy()), pixels[:, 0].numpy())
