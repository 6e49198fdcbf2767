"""Classic image kernels, seeded random ones, and the weight tensors built from them.

A preset is a 2-D ``(kh, kw)`` array. The 3 x 3 classics (Sobel, Laplacian,
sharpen, emboss) are placed at the centre of a larger kernel, with zeros
around, which computes the same thing; box blur and Gaussian are made at any
size.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

IDENTITY, BOX, GAUSSIAN, SHARPEN = "identity", "box blur", "Gaussian blur", "sharpen"
SOBEL_X, SOBEL_Y, LAPLACIAN, EMBOSS = "Sobel x (vertical edges)", "Sobel y (horizontal edges)", "Laplacian", "emboss"
PRESETS = (IDENTITY, BOX, GAUSSIAN, SHARPEN, SOBEL_X, SOBEL_Y, LAPLACIAN, EMBOSS)

# What each preset does to an image, in one sentence, for the page.
DESCRIPTIONS = {
    IDENTITY: "copies the input: a single 1 at the centre.",
    BOX: "averages each neighbourhood: a blur with equal weights that sum to 1.",
    GAUSSIAN: "a smoother blur: weights fall off with distance from the centre.",
    SHARPEN: "adds the difference from the neighbours back: edges get crisper.",
    SOBEL_X: "responds to left-right changes in brightness (vertical edges); signed.",
    SOBEL_Y: "responds to top-bottom changes in brightness (horizontal edges); signed.",
    LAPLACIAN: "responds to spots and edges in every direction; zero on flat areas.",
    EMBOSS: "a diagonal difference that makes the image look carved.",
}

_CLASSIC_3X3 = {
    IDENTITY: [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    SHARPEN: [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    SOBEL_X: [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    SOBEL_Y: [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    LAPLACIAN: [[0, 1, 0], [1, -4, 1], [0, 1, 0]],
    EMBOSS: [[-2, -1, 0], [-1, 1, 1], [0, 1, 2]],
}


class KernelError(ValueError):
    """A kernel that cannot be made at the requested size; the message says why."""


def preset_kernel(name: str, size: tuple[int, int]) -> np.ndarray:
    """The preset ``name`` as a ``(kh, kw)`` float32 array.

    Args:
        name: one of :data:`PRESETS`.
        size: ``(kh, kw)``; the 3 x 3 classics need at least 3 x 3 and are centred
            (an even size puts them just above and left of the middle).
    """
    kh, kw = size
    if kh < 1 or kw < 1:
        raise KernelError(f"a kernel needs at least 1 x 1, got {kh} x {kw}.")
    if name == BOX:
        return np.full((kh, kw), 1.0 / (kh * kw), dtype=np.float32)
    if name == GAUSSIAN:
        rows, cols = _gaussian_1d(kh), _gaussian_1d(kw)
        return np.outer(rows, cols).astype(np.float32)
    if name not in _CLASSIC_3X3:
        raise KernelError(f"unknown kernel preset {name!r}; choose one of {', '.join(PRESETS)}.")
    if name == IDENTITY:
        kernel = np.zeros((kh, kw), dtype=np.float32)
        kernel[(kh - 1) // 2, (kw - 1) // 2] = 1.0
        return kernel
    if kh < 3 or kw < 3:
        raise KernelError(f"the {name} kernel is 3 x 3; a {kh} x {kw} kernel is too small for it. Use 3 or more.")
    kernel = np.zeros((kh, kw), dtype=np.float32)
    top, left = (kh - 3) // 2, (kw - 3) // 2
    kernel[top : top + 3, left : left + 3] = _CLASSIC_3X3[name]
    return kernel


def _gaussian_1d(size: int) -> np.ndarray:
    """Normalised Gaussian weights over ``size`` taps, sigma chosen so the ends are about 1/10 of the middle."""
    if size == 1:
        return np.ones(1)
    centre = (size - 1) / 2
    sigma = max(0.5, centre / math.sqrt(2 * math.log(10)))
    weights = np.exp(-((np.arange(size) - centre) ** 2) / (2 * sigma**2))
    return weights / weights.sum()


def random_conv(
    in_channels: int,
    out_channels: int,
    kernel_size: tuple[int, int],
    groups: int = 1,
    seed: int = 0,
    transposed: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(weight, bias)`` exactly as PyTorch initialises a fresh layer, reproducibly from ``seed``.

    The layer's own initialisation (Kaiming-uniform weights with ``a = sqrt(5)``,
    biases uniform in +-1/sqrt(fan_in)), drawn in the same order from a private
    ``torch.Generator`` seeded with ``seed``: the same numbers as
    ``torch.manual_seed(seed)`` then a new layer, but without touching the global
    random state, which other sessions' threads share (under load, the global
    state gave different weights for the same seed).
    """
    cls = nn.ConvTranspose2d if transposed else nn.Conv2d
    with torch.device("meta"):  # the layer's shapes only; its own random draws would use the global state
        shapes = cls(in_channels, out_channels, kernel_size, groups=groups)
    generator = torch.Generator().manual_seed(seed)
    weight = torch.empty(shapes.weight.shape)  # Conv2d (out, in/g, kh, kw); ConvTranspose2d (in, out/g, kh, kw)
    nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(weight)
    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
    bias = torch.empty(out_channels).uniform_(-bound, bound, generator=generator)  # (out,)
    return weight, bias


def parse_kernel_grid(rows: list[list[object]], size: tuple[int, int]) -> np.ndarray:
    """Kernel values typed into a grid -> ``(kh, kw)`` float32; blanks count as 0.

    Raises:
        KernelError: for a cell that is not a finite number, or a grid of the wrong size.
    """
    kh, kw = size
    if len(rows) != kh or any(len(r) != kw for r in rows):
        raise KernelError(f"the kernel grid must be {kh} x {kw} to match kernel_size.")
    kernel = np.zeros((kh, kw), dtype=np.float32)
    for i, row in enumerate(rows):
        for j, cell in enumerate(row):
            if cell is None or (isinstance(cell, str) and not cell.strip()):
                continue
            if isinstance(cell, float) and math.isnan(cell):  # an emptied cell of a numeric editor
                continue
            try:
                value = float(cell)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise KernelError(f"kernel cell ({i}, {j}) is {cell!r}, not a number.") from None
            if not math.isfinite(value):
                raise KernelError(f"kernel cell ({i}, {j}) must be a finite number, got {cell!r}.")
            kernel[i, j] = value
    return kernel
