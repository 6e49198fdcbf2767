"""What the learned filters look for: the first layer's kernels, the test digits that excite each channel most,
and an input grown by gradient ascent to excite it (activation maximisation).

For a chosen layer, every channel gets:

- the **top 9** MNIST test digits: the digits whose strongest cell of that
  channel is highest, each cropped to that cell's receptive field (the
  unclipped box, zeros where it reaches past the image), so the crops line up;
- an **activation-maximisation** image: starting from faint noise drawn from
  a seeded ``torch.Generator``, pixels ``x = sigmoid(u)`` follow gradient
  ascent on the centre cell's activation minus a smoothness prior (total
  variation) and a small L2 penalty, which keeps the picture readable
  instead of high-frequency noise (Olah, Mordvintsev and Schubert, Distill 2017).

Both passes are done a slice at a time (:class:`FilterJob`), so a page can
show a progress bar and never block for more than about a second, and the
result is cached per checkpoint file and layer (:mod:`cnnviz.analysis.model_cache`).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnnviz.analysis.features import watched_layers
from cnnviz.analysis.model_cache import find_cached, save_cached
from cnnviz.analysis.receptive import Box, box, layer_field
from cnnviz.data.mnist import Split, test_digits, to_float
from cnnviz.device import model_device, one_thread, to_model

TOP = 9  # exciting test digits kept per channel
SCAN_BATCH = 128  # test digits per forward pass while scanning (under 0.1 s on one core of the 2-core machine)
ASCENT_STEPS = 96  # gradient-ascent steps of activation maximisation
ASCENT_RATE = 0.08  # Adam's learning rate on the pre-sigmoid pixels
SMOOTHNESS = 0.3  # weight of the total-variation prior (mean absolute difference of neighbouring pixels)
L2_WEIGHT = 0.05  # weight of the mean squared pixel (keeps the background dark)
CACHE_VERSION = 1  # bump when the stored fields change


@dataclass(frozen=True)
class FilterImages:
    """What each channel of one layer responds to."""

    layer: str  # as in model.named_modules()
    top_values: np.ndarray  # (C, TOP) the channel's strongest cell on each chosen digit, highest first
    top_digits: np.ndarray  # (C, TOP) indices into the MNIST test split
    top_cells: np.ndarray  # (C, TOP, 2) (row, col) of that cell
    crops: np.ndarray  # (C, TOP, r_h, r_w) the digits cut to that cell's receptive field (zeros past the border)
    maximised: np.ndarray  # (C, H, W) inputs grown to excite the channel's centre cell
    maximised_values: np.ndarray  # (C,) the centre cell's activation on its image
    centre: tuple[int, int]  # (row, col) of the centre cell
    centre_box: Box  # its clipped receptive field in the input

    @property
    def channels(self) -> int:
        return int(self.top_values.shape[0])


def first_convolution(model: nn.Module) -> str:
    """Name of the first ``Conv2d`` that runs on the input."""
    for path, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return path
    raise ValueError("this model has no convolution.")


def first_layer_kernels(model: nn.Module) -> np.ndarray:
    """``(C_out, C_in, k_h, k_w)`` the learned weights of the first convolution."""
    return dict(model.named_modules())[first_convolution(model)].weight.detach().float().cpu().numpy()


def filter_layers(model: nn.Module) -> list[str]:
    """Layers whose channels can be inspected: convolutions, residual blocks and pools before any flattening."""
    return [path for path, kind, _ in watched_layers(model) if "transposed" not in kind and "decoder" not in path]


def _crop(image: torch.Tensor, top: int, left: int, height: int, width: int) -> torch.Tensor:
    """``(height, width)`` window of ``(H, W)`` ``image`` starting at ``(top, left)``, zeros outside."""
    out = torch.zeros(height, width)
    rows = slice(max(top, 0), min(top + height, image.shape[0]))
    cols = slice(max(left, 0), min(left + width, image.shape[1]))
    if rows.start < rows.stop and cols.start < cols.stop:
        out[rows.start - top : rows.stop - top, cols.start - left : cols.stop - left] = image[rows, cols]
    return out


def _total_variation(x: torch.Tensor) -> torch.Tensor:
    return (x[..., 1:, :] - x[..., :-1, :]).abs().mean() + (x[..., :, 1:] - x[..., :, :-1]).abs().mean()


class _ReachedLayer(Exception):
    """Raised by a forward hook to skip the layers after the one inspected."""


class FilterJob:
    """Computes (or finds cached) one layer's :class:`FilterImages` a slice at a time.

    Call :meth:`advance` until :attr:`result` is set; :attr:`progress` goes from 0 to 1 (scan, then ascent).

    Args:
        model: the network ``source`` holds, in eval mode (a classifier or an autoencoder's encoder).
        source: its checkpoint file or uploaded bytes (the cache key is the file's SHA-256 and the layer).
        layer: as in ``model.named_modules()``, one of :func:`filter_layers`.
        test: the digits to scan; default the 10,000 MNIST test digits, or the 200 shipped ones
            (:attr:`shipped_digits`) when MNIST is missing.
        seed: seeds the activation-maximisation start.
    """

    def __init__(
        self,
        model: nn.Module,
        source: str | os.PathLike | bytes,
        layer: str,
        test: Split | None = None,
        seed: int = 0,
    ):
        if layer not in filter_layers(model):
            raise KeyError(f"{layer!r} is not a layer with channels to inspect; choose one of {filter_layers(model)}.")
        self.model, self.layer, self.seed = model, layer, seed
        self.module = dict(model.named_modules())[layer]
        self.result: FilterImages | None = None
        self.shipped_digits = False  # True: scans the 200 shipped digits, MNIST being missing
        self.path, self.digest, stored = find_cached(source, f"filters.{layer}")
        if stored is None or stored.get("version") != CACHE_VERSION or stored.get("seed") != seed:
            if test is None:
                test, full = test_digits()
                self.shipped_digits = not full
            if self.shipped_digits:  # top digits of the shipped 200 never stand in for the full set's
                self.path, self.digest, stored = find_cached(source, f"filters.{layer}.shipped")
        if stored is not None and stored.get("version") == CACHE_VERSION and stored.get("seed") == seed:
            self.result = FilterImages(
                layer=layer,
                centre=tuple(stored["centre"]),  # type: ignore[arg-type]
                centre_box=tuple(tuple(corner) for corner in stored["centre_box"]),  # type: ignore[arg-type]
                **{name: stored[name].numpy() for name in ("top_values", "top_digits", "top_cells", "crops")},
                maximised=stored["maximised"].numpy(),
                maximised_values=stored["maximised_values"].numpy(),
            )
            return
        self.test = test
        self.field = layer_field(model, layer, tuple(self.test.images.shape[1:]))
        self.scanned = 0
        self.best_values: torch.Tensor | None = None  # (C, TOP)
        self.best_digits: torch.Tensor | None = None  # (C, TOP)
        self.best_cells: torch.Tensor | None = None  # (C, TOP, 2)
        self.steps_done = 0
        self.pixels: torch.Tensor | None = None  # (C, 1, H, W) pre-sigmoid ascent variables
        self.optimizer: torch.optim.Optimizer | None = None

    def _maps(self, images: torch.Tensor) -> torch.Tensor:
        """The layer's output ``(B, C, h, w)`` for float ``images``; gradients flow if enabled.

        The forward pass stops at the layer: nothing after it is computed.
        """
        caught: list[torch.Tensor] = []

        def catch_and_stop(_module, _inputs, output):
            caught.append(output)
            raise _ReachedLayer

        hook = self.module.register_forward_hook(catch_and_stop)
        try:
            forward = getattr(self.model, "encode", self.model)  # an autoencoder's layers all sit in its encoder
            forward(to_model(images, self.model))
        except _ReachedLayer:
            pass
        finally:
            hook.remove()
        return caught[0]

    @property
    def progress(self) -> float:
        """0 to 1: 0.8 for scanning the test digits, 0.2 for the ascent."""
        if self.result is not None:
            return 1.0
        return 0.8 * self.scanned / len(self.test) + 0.2 * self.steps_done / (ASCENT_STEPS + 1)  # 1: storing

    def advance(self, seconds: float = 0.5) -> float:
        """Work for about ``seconds`` (at least one batch or step); set :attr:`result` when everything is done."""
        started = time.monotonic()
        with one_thread():  # a page's share of a busy machine; see cnnviz.device.one_thread
            self._work(started, seconds)
        return self.progress

    def _work(self, started: float, seconds: float) -> None:
        while self.result is None:
            if self.scanned < len(self.test):
                self._scan_batch()
            elif self.steps_done < ASCENT_STEPS:
                self._ascent_step()
            else:
                self._finish()
                break
            if time.monotonic() - started >= seconds:
                break

    def _scan_batch(self) -> None:
        images = self.test.images[self.scanned : self.scanned + SCAN_BATCH]
        with torch.inference_mode():
            maps = self._maps(to_float(images)).float().cpu()  # (B, C, h, w)
        batch, channels, _, width = maps.shape
        peak, where = maps.flatten(2).max(dim=2)  # (B, C) strongest cell of each channel per digit
        cells = torch.stack([where // width, where % width], dim=-1)  # (B, C, 2)
        digits = torch.arange(self.scanned, self.scanned + batch)[:, None].expand(batch, channels)  # (B, C)
        values, digit_ids, cell_ids = peak.T, digits.T, cells.transpose(0, 1)  # (C, B), (C, B), (C, B, 2)
        if self.best_values is not None:
            values = torch.cat([self.best_values, values], dim=1)
            digit_ids = torch.cat([self.best_digits, digit_ids], dim=1)
            cell_ids = torch.cat([self.best_cells, cell_ids], dim=1)
        keep = values.topk(min(TOP, values.shape[1]), dim=1).indices  # (C, TOP)
        self.best_values = values.gather(1, keep)
        self.best_digits = digit_ids.gather(1, keep)
        self.best_cells = cell_ids.gather(1, keep[..., None].expand(-1, -1, 2))
        self.scanned += batch

    def _centre(self, maps_shape: torch.Size) -> tuple[int, int]:
        return (maps_shape[-2] // 2, maps_shape[-1] // 2)

    def _ascent_step(self) -> None:
        channels = self.best_values.shape[0]
        if self.pixels is None:
            generator = torch.Generator().manual_seed(self.seed)
            start = 0.1 * torch.randn(channels, *self.test.images.shape[1:], generator=generator) - 2.0
            self.pixels = start.to(model_device(self.model)).requires_grad_(True)  # sigmoid(-2) = 0.12: faint
            self.optimizer = torch.optim.Adam([self.pixels], lr=ASCENT_RATE)
        with torch.enable_grad():
            x = torch.sigmoid(self.pixels)  # (C, 1, H, W) in [0, 1]
            maps = self._maps(x)  # (C, C, h, w): image c is grown for channel c
            row, col = self._centre(maps.shape)
            activation = maps[torch.arange(channels), torch.arange(channels), row, col]  # (C,)
            loss = -activation.sum() + channels * (SMOOTHNESS * _total_variation(x) + L2_WEIGHT * (x**2).mean())
            (gradient,) = torch.autograd.grad(loss, self.pixels)
        self.pixels.grad = gradient
        self.optimizer.step()
        self.steps_done += 1

    def _finish(self) -> None:
        height, width = self.test.images.shape[2:]
        with torch.inference_mode():
            maximised = torch.sigmoid(self.pixels).detach()  # (C, 1, H, W)
            maps = self._maps(maximised)
            row, col = self._centre(maps.shape)
            channels = maps.shape[1]
            values = maps[torch.arange(channels), torch.arange(channels), row, col].float().cpu()
        size_h, size_w = self.field.size
        crops = torch.zeros(channels, TOP, size_h, size_w)
        for c in range(channels):
            for k in range(self.best_digits.shape[1]):
                image = to_float(self.test.images[int(self.best_digits[c, k]), 0])
                (top, left), _ = box(self.field, int(self.best_cells[c, k, 0]), int(self.best_cells[c, k, 1]),
                                     (height, width), clip=False)  # fmt: skip
                crops[c, k] = _crop(image, top, left, size_h, size_w)
        centre_box = box(self.field, row, col, (height, width))
        record = {
            "version": CACHE_VERSION,
            "seed": self.seed,
            "top_values": self.best_values,
            "top_digits": self.best_digits,
            "top_cells": self.best_cells,
            "crops": crops,
            "maximised": maximised[:, 0].float().cpu(),
            "maximised_values": values,
            "centre": [row, col],
            "centre_box": [list(corner) for corner in centre_box],
        }
        save_cached(self.path, self.digest, record)
        self.result = FilterImages(
            layer=self.layer,
            top_values=self.best_values.numpy(),
            top_digits=self.best_digits.numpy(),
            top_cells=self.best_cells.numpy(),
            crops=crops.numpy(),
            maximised=maximised[:, 0].float().cpu().numpy(),
            maximised_values=values.numpy(),
            centre=(row, col),
            centre_box=centre_box,
        )


def filter_images(
    model: nn.Module, source: str | os.PathLike | bytes, layer: str, test: Split | None = None, seed: int = 0
) -> FilterImages:
    """:class:`FilterJob` run to the end (a notebook or a benchmark; pages advance the job themselves)."""
    job = FilterJob(model, source, layer, test, seed)
    while job.result is None:
        job.advance(seconds=60.0)
    return job.result
