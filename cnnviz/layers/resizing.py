"""Sizes of layers that slide no regular window: scaling (Upsample, PixelShuffle), uneven adaptive windows and
explicit four-sided padding, each as the terms of its formula.

Re-exported by :mod:`cnnviz.layers.arithmetic`, the one place to import layer formulas from.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

from cnnviz.layers.sizes import _AXES_2D, _DIMS, IntPair, InvalidLayerConfig, _require_at_least, pair


@dataclass(frozen=True)
class ScaleTerms:
    """One dimension of a layer with no sliding window that scales its input: ``output = floor(size * factor)``.

    ``nn.Upsample`` scales by any factor, ``nn.PixelShuffle`` by its whole ``upscale_factor``.
    """

    size: int  # input rows / columns
    factor: float  # the scale factor in this dimension
    product: float  # size * factor, before rounding down
    output: int  # floor(product)


def scale_terms(
    input_size: IntPair, factor: float | int | Sequence[float], layer: str = "The layer"
) -> tuple[ScaleTerms, ScaleTerms]:
    """The terms of ``floor(size * factor)`` for height and width; refuses an output below 1 (PyTorch's too).

    ``layer`` names the layer in the message (``"Upsample"``).
    """
    in_size = pair(input_size, "input size")
    _require_at_least(in_size, 1, "input size")
    if isinstance(factor, numbers.Real) and not isinstance(factor, bool):
        scales = (float(factor), float(factor))
    else:
        scales = tuple(float(s) for s in factor)  # type: ignore[union-attr]
        if len(scales) != 2:
            raise InvalidLayerConfig(f"scale_factor must be a number or an (h, w) pair, got {factor!r}.")
    if not all(math.isfinite(s) for s in scales):
        raise InvalidLayerConfig(f"scale_factor must be finite, got {factor!r}.")
    terms = []
    for dim, n, scale in zip(_DIMS, in_size, scales):
        out = math.floor(n * scale)
        if out < 1:
            raise InvalidLayerConfig(
                f"{layer}'s output must be at least 1 in {dim}, but it would be {out} (input {n} x {scale:g}).",
                f"use a scale_factor of at least {1 / n:.4g}.",
            )
        terms.append(ScaleTerms(n, scale, n * scale, out))
    return (terms[0], terms[1])


def upsample_output_size(
    input_size: IntPair,
    size: IntPair | None = None,
    scale_factor: float | tuple[float, float] | None = None,
) -> tuple[int, int]:
    """Output ``(h, w)`` of ``nn.Upsample`` (any mode).

    Exactly one of ``size`` and ``scale_factor`` is given. With a scale factor
    PyTorch computes, per dimension::

        H_out = floor(H_in * scale_factor)
    """
    in_size = pair(input_size, "input size")
    _require_at_least(in_size, 1, "input size")
    if (size is None) == (scale_factor is None):
        raise InvalidLayerConfig(
            "Upsample needs exactly one of size and scale_factor, "
            + ("but neither is given." if size is None else "but both are given."),
            "give only size, or only scale_factor.",
        )
    if size is None:
        h, w = scale_terms(in_size, scale_factor, "Upsample")  # type: ignore[arg-type]
        return (h.output, w.output)
    out = pair(size, "size")
    for dim, n, o in zip(_DIMS, in_size, out):
        if o < 1:
            raise InvalidLayerConfig(
                f"Upsample's output must be at least 1 in {dim}, but it would be {o} (input {n}).",
                "use a size of at least 1.",
            )
    return out


# --- uneven windows and explicit sides ----------------------------------------------


@dataclass(frozen=True)
class AdaptiveTerms:
    """One dimension of an adaptive pool: ``output`` windows that together cover the input, of uneven size.

    Window ``i`` reads input ``floor(i * size / output)`` up to ``ceil((i + 1) * size / output) - 1``
    (PyTorch's ``start_index`` / ``end_index``): neighbouring windows may differ by one and may overlap.
    """

    size: int  # input rows / columns
    output: int  # the wanted output size (output_size)
    windows: tuple[tuple[int, int], ...]  # per output index: (first, last) input index, inclusive

    @property
    def sizes(self) -> tuple[int, ...]:
        """Input cells each window reads."""
        return tuple(last - first + 1 for first, last in self.windows)


def adaptive_windows(size: int, output: int) -> tuple[tuple[int, int], ...]:
    """``(first, last)`` input index of each of ``output`` adaptive windows over ``size`` cells."""
    return tuple((i * size // output, -(-(i + 1) * size // output) - 1) for i in range(output))


def adaptive_pool2d_terms(input_size: IntPair, output_size: IntPair) -> tuple[AdaptiveTerms, AdaptiveTerms]:
    """The windows of ``nn.AdaptiveAvgPool2d(output_size)`` (or the max one) for height and width.

    The output is ``output_size`` whatever the input; an output below 1 is refused (PyTorch returns an
    empty tensor, which no layer after it can use).
    """
    size, out = pair(input_size, "input size"), pair(output_size, "output_size")
    _require_at_least(size, 1, "input size")
    _require_at_least(out, 1, "output_size")
    h, w = (AdaptiveTerms(n, o, adaptive_windows(n, o)) for n, o in zip(size, out))
    return (h, w)


@dataclass(frozen=True)
class PadTerms:
    """One dimension of explicit padding: ``output = size + before + after`` (a negative side crops)."""

    size: int  # input rows / columns
    before: int  # added at the top / left (negative: removed)
    after: int  # added at the bottom / right
    output: int  # size + before + after


def sides(padding: IntPair | Sequence[int]) -> tuple[int, int, int, int]:
    """Padding as PyTorch's four sides ``(left, right, top, bottom)``: an int is all four, ``(h, w)`` a pair."""
    if isinstance(padding, bool):
        raise InvalidLayerConfig(f"padding must be a whole number or four sides, got {padding!r}.")
    if isinstance(padding, int):
        return (padding, padding, padding, padding)
    values = tuple(padding)
    if len(values) == 2:
        h, w = pair(values, "padding")  # type: ignore[arg-type]
        return (w, w, h, h)
    if len(values) != 4 or not all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        raise InvalidLayerConfig(
            f"padding must be a whole number or four sides (left, right, top, bottom), got {padding!r}.",
            "write padding as 1, or as 1,2,0,3 (left, right, top, bottom).",
        )
    return values  # type: ignore[return-value]


def pad2d_terms(input_size: IntPair, padding: IntPair | Sequence[int]) -> tuple[PadTerms, PadTerms]:
    """The terms of ``nn.ZeroPad2d(padding)``'s output for height and width (``padding`` as :func:`sides`)."""
    size = pair(input_size, "input size")
    _require_at_least(size, 1, "input size")
    left, right, top, bottom = sides(padding)
    terms = []
    for axis, n, before, after in zip(_AXES_2D, size, (top, left), (bottom, right)):
        cropped = -min(before, 0) - min(after, 0)
        if cropped > n:  # PyTorch crops first, then pads
            raise InvalidLayerConfig(
                f"The padding crops {cropped} {axis.cells} {axis.where}, but the input has only {n}.",
                f"crop at most {n} {axis.cells} {axis.where} in all.",
            )
        out = n + before + after
        if out < 1:
            raise InvalidLayerConfig(
                f"The padding leaves nothing {axis.where}: {n} + {before} + {after} = {out} {axis.cells}, and the "
                "output must be at least 1.",
                f"crop less: the two sides {axis.where} must add up to at least {1 - n}.",
            )
        terms.append(PadTerms(n, before, after, out))
    return (terms[0], terms[1])


def upsample_sources(out_index: int, in_size: int, scale: float, mode: str) -> tuple[int, ...]:
    """Input indices one output index reads in ``nn.Upsample(scale_factor=scale, mode=mode)`` (one dimension).

    Nearest: ``floor(out / scale)``. Bilinear (``align_corners=False``): the two
    neighbours of ``(out + 0.5) / scale - 0.5`` (clamped at 0 and the edge).
    """
    if mode == "nearest":
        return (min(math.floor(out_index * (1.0 / scale)), in_size - 1),)
    position = max((out_index + 0.5) / scale - 0.5, 0.0)
    low = min(math.floor(position), in_size - 1)
    high = min(low + 1, in_size - 1)
    return (low,) if high == low or position == low else (low, high)
