"""Exact shape and parameter arithmetic for 1-D and 2-D CNN layers.

The one place in cnnviz where layer formulas live. Every function agrees with
PyTorch (the tests build the real layer and compare), both on the shape it
returns and on whether PyTorch refuses the configuration. A refused
configuration raises :class:`InvalidLayerConfig`, whose message names the
constraint that fails, with the actual numbers, and the smallest change that
fixes it where one exists.

2-D sizes are given as an int (square) or an ``(h, w)`` pair and returned as
an ``(h, w)`` tuple of ints; 1-D sizes (sequences) are ints in and out. Both
share one per-dimension implementation; the ``*_terms`` functions return each
formula's terms (padded size, effective kernel, numerator, rounding) so that
views only format them. Receptive fields: :mod:`cnnviz.layers.receptive_field`; the reverse
question (which layer gives this size?): :mod:`cnnviz.layers.size_solver`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass

IntPair = int | tuple[int, int]

_DIMS = ("height", "width")


class InvalidLayerConfig(ValueError):
    """A layer configuration that PyTorch would refuse.

    Attributes:
        constraint: the rule that fails, with the numbers filled in.
        fix: the smallest change that makes it work, or ``None``.
    """

    def __init__(self, constraint: str, fix: str | None = None):
        self.constraint = constraint
        self.fix = fix
        super().__init__(constraint if fix is None else f"{constraint} Fix: {fix}")


@dataclass(frozen=True)
class ParameterCount:
    """Learnable parameters of one layer, split as in the lab's thought exercise."""

    weights: int
    biases: int

    @property
    def total(self) -> int:
        return self.weights + self.biases


def pair(value: IntPair | Sequence[int], name: str = "value") -> tuple[int, int]:
    """Return ``value`` as an ``(h, w)`` tuple; an int means the same for both."""
    if isinstance(value, bool):
        raise InvalidLayerConfig(f"{name} must be an integer or an (h, w) pair, got {value!r}.")
    if isinstance(value, int):
        return (value, value)
    try:
        h, w = value  # type: ignore[misc]
    except (TypeError, ValueError):
        raise InvalidLayerConfig(f"{name} must be an integer or an (h, w) pair, got {value!r}.") from None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (h, w)):
        raise InvalidLayerConfig(f"{name} must hold integers, got {value!r}.")
    return (int(h), int(w))


@dataclass(frozen=True)
class _Axis:
    """How messages name one dimension."""

    name: str  # "height", "width" or "length"
    where: str  # "in height", "along the length"
    cells: str  # what one step along it is called: "rows", "columns", "positions"


_HEIGHT = _Axis("height", "in height", "rows")
_WIDTH = _Axis("width", "in width", "columns")
_LENGTH = _Axis("length", "along the length", "positions")
_AXES_2D = (_HEIGHT, _WIDTH)
_AXES_1D = (_LENGTH,)


def integer(value: object, name: str = "value") -> int:
    """``value`` as an int; anything else (a bool, a float, a pair) is refused by name."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidLayerConfig(f"{name} must be a whole number, got {value!r}.")
    return int(value)


def _require_at_least(values: Sequence[int], minimum: int, name: str, axes: Sequence[_Axis] = _AXES_2D) -> None:
    for axis, v in zip(axes, values):
        if v < minimum:
            where = "it is" if len(axes) == 1 else f"the {axis.name} is"
            raise InvalidLayerConfig(f"{name} must be at least {minimum}, but {where} {v}.",
                                     f"set {name} to {minimum} or more.")  # fmt: skip


def effective_kernel_size(kernel_size: int, dilation: int = 1) -> int:
    """Input rows (or columns) one kernel window spans: ``dilation * (kernel_size - 1) + 1``."""
    return dilation * (kernel_size - 1) + 1


def _same_sides(kernel_size: int, dilation: int) -> tuple[int, int]:
    """``padding="same"`` in one dimension: ``total = dilation * (kernel_size - 1)``, ``total // 2`` before."""
    total = dilation * (kernel_size - 1)
    return (total // 2, total - total // 2)


def same_padding(kernel_size: IntPair, dilation: IntPair = 1) -> tuple[tuple[int, int], tuple[int, int]]:
    """Padding that ``padding="same"`` implies, as ``((top, bottom), (left, right))``.

    PyTorch pads ``total = dilation * (kernel_size - 1)`` per dimension, putting
    ``total // 2`` before and the rest after (so an even kernel pads one more
    row at the bottom and one more column on the right).
    """
    kernel, dil = pair(kernel_size, "kernel_size"), pair(dilation, "dilation")
    _require_at_least(kernel, 1, "kernel_size")
    _require_at_least(dil, 1, "dilation")
    return (_same_sides(kernel[0], dil[0]), _same_sides(kernel[1], dil[1]))


def _resolve_padding(
    padding: Sequence[int] | str, kernel: Sequence[int], strides: Sequence[int], dil: Sequence[int]
) -> list[tuple[int, int]]:
    """A convolution's padding argument (numbers per dimension, "same" or "valid") as (before, after) sides."""
    if isinstance(padding, str):
        if padding == "valid":
            return [(0, 0) for _ in kernel]
        if padding == "same":
            if any(s != 1 for s in strides):
                shown = str(strides[0]) if len(set(strides)) == 1 else str(tuple(strides))
                raise InvalidLayerConfig(
                    f'padding="same" needs stride 1, but stride is {shown}: '
                    "PyTorch does not support it for strided convolutions.",
                    "set stride to 1, or give padding as a number.",
                )
            return [_same_sides(k, d) for k, d in zip(kernel, dil)]
        shapes = "an (h, w) pair, " if len(kernel) == 2 else ""
        raise InvalidLayerConfig(f'padding must be a number, {shapes}"same" or "valid", got {padding!r}.')
    return [(p, p) for p in padding]


def conv2d_padding(
    padding: IntPair | str, kernel_size: IntPair, stride: IntPair = 1, dilation: IntPair = 1
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Resolve ``Conv2d``'s ``padding`` argument to ``((top, bottom), (left, right))``."""
    if not isinstance(padding, str):
        pads = pair(padding, "padding")
        _require_at_least(pads, 0, "padding")
        return ((pads[0], pads[0]), (pads[1], pads[1]))
    sides = _resolve_padding(padding, pair(kernel_size, "kernel_size"), pair(stride, "stride"),
                             pair(dilation, "dilation"))  # fmt: skip
    return (sides[0], sides[1])


def conv1d_padding(padding: int | str, kernel_size: int, stride: int = 1, dilation: int = 1) -> tuple[int, int]:
    """Resolve ``Conv1d``'s ``padding`` argument to ``(before, after)``."""
    if not isinstance(padding, str):
        pad = integer(padding, "padding")
        _require_at_least((pad,), 0, "padding", _AXES_1D)
        return (pad, pad)
    return _resolve_padding(padding, (kernel_size,), (stride,), (dilation,))[0]


def _show(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(set(values)) == 1 else str(values)


# --- one dimension, term by term ------------------------------------------------------


@dataclass(frozen=True)
class WindowTerms:
    """One dimension of a sliding-window layer's output size (convolution or pooling), term by term.

    ``output = round((padded - span) / stride) + 1``, rounding down, or up with
    ``ceil_mode`` (then minus one when the last window would start in the
    right padding).
    """

    size: int  # input rows / columns / positions
    kernel_size: int  # taps of the window
    stride: int  # step between neighbouring windows
    dilation: int  # spacing of the taps (1 = touching)
    pad_before: int  # zeros before the input (top / left)
    pad_after: int  # zeros after the input (bottom / right)
    ceil_mode: bool  # pools only: round up instead of down
    padded: int  # size + pad_before + pad_after
    span: int  # effective kernel: dilation * (kernel_size - 1) + 1
    numerator: int  # padded - span: how far the window can travel
    rounded: int  # numerator / stride rounded (down, or up with ceil_mode), plus 1
    output: int  # the output size (rounded, or rounded - 1 when ceil_mode drops a last window)
    leftover: int  # padded cells after the last window that no window reads (0 with ceil_mode)

    @property
    def dropped_last(self) -> bool:
        """ceil_mode's last window would start in the right padding, so PyTorch drops it."""
        return self.output != self.rounded


def _window_terms(
    axis: _Axis, n: int, k: int, s: int, sides: tuple[int, int], d: int, ceil_mode: bool, pooling: bool
) -> WindowTerms:
    """The size formula in one dimension; raises where PyTorch refuses (window larger than the padded input)."""
    p0, p1 = sides
    span = effective_kernel_size(k, d)
    padded = n + p0 + p1
    numerator = padded - span
    if not pooling and numerator < 0:
        raise InvalidLayerConfig(
            f"The kernel is larger than the padded input {axis.where}: kernel_size {k} "
            f"with dilation {d} spans {span} {axis.cells}, but the padded input has only "
            f"{padded} ({n} + {p0} + {p1} padding).",
            _window_fix(n, k, d, p0 + p1),
        )
    rounded = (numerator + (s - 1 if ceil_mode else 0)) // s + 1
    output = rounded - 1 if ceil_mode and (rounded - 1) * s >= n + p0 else rounded
    if output < 1:
        raise InvalidLayerConfig(
            f"The pooling window is larger than the padded input {axis.where}: kernel_size {k} "
            f"with dilation {d} spans {span} {axis.cells}, but the padded input has only "
            f"{padded} ({n} + 2 * {p0} padding), so the output would be {output}.",
            _window_fix(n, k, d, p0 + p1, max_padding=k // 2),
        )
    leftover = 0 if ceil_mode else padded - ((output - 1) * s + span)
    return WindowTerms(n, k, s, d, p0, p1, ceil_mode, padded, span, numerator, rounded, output, leftover)


def _window_fix(n: int, k: int, d: int, total_pad: int, max_padding: int | None = None) -> str:
    """Smallest changes that let a window of size k (dilation d) fit n + padding.

    ``max_padding`` caps the padding that may be suggested (pooling allows at most ``k // 2``).
    """
    padded = n + total_pad
    options = [f"kernel_size <= {max(1, (padded - 1) // d + 1)}"]
    if d > 1:
        options.append(f"dilation <= {max(1, (padded - 1) // max(k - 1, 1))}")
    needed = math.ceil((effective_kernel_size(k, d) - n) / 2)
    if max_padding is None or needed <= max_padding:
        options.append(f"padding >= {needed}")
    options.append(f"an input of at least {effective_kernel_size(k, d) - total_pad}")
    return "use " + ", or ".join(options) + "."


def _conv_terms(
    axes: Sequence[_Axis], size: Sequence[int], kernel: Sequence[int], strides: Sequence[int],
    padding: Sequence[int] | str, dil: Sequence[int],
) -> tuple[WindowTerms, ...]:  # fmt: skip
    for name, values, low in (("input size", size, 1), ("kernel_size", kernel, 1), ("stride", strides, 1),
                              ("dilation", dil, 1)):  # fmt: skip
        _require_at_least(values, low, name, axes)
    if not isinstance(padding, str):
        _require_at_least(padding, 0, "padding", axes)
    sides = _resolve_padding(padding, kernel, strides, dil)
    return tuple(
        _window_terms(axis, n, k, s, side, d, ceil_mode=False, pooling=False)
        for axis, n, k, s, side, d in zip(axes, size, kernel, strides, sides, dil)
    )


def _pool_terms(
    axes: Sequence[_Axis], size: Sequence[int], kernel: Sequence[int], strides: Sequence[int],
    pads: Sequence[int], dil: Sequence[int], ceil_mode: bool,
) -> tuple[WindowTerms, ...]:  # fmt: skip
    for name, values, low in (("input size", size, 1), ("kernel_size", kernel, 1), ("stride", strides, 1),
                              ("dilation", dil, 1), ("padding", pads, 0)):  # fmt: skip
        _require_at_least(values, low, name, axes)
    for axis, k, p in zip(axes, kernel, pads):
        if p > k // 2:
            raise InvalidLayerConfig(
                f"Pooling padding may be at most half the kernel size: {axis.where}, padding {p} "
                f"> kernel_size {k} // 2 = {k // 2}.",
                f"use padding <= {k // 2}, or kernel_size >= {2 * p}.",
            )
    return tuple(
        _window_terms(axis, n, k, s, (p, p), d, ceil_mode=bool(ceil_mode), pooling=True)
        for axis, n, k, s, p, d in zip(axes, size, kernel, strides, pads, dil)
    )


@dataclass(frozen=True)
class TransposeTerms:
    """One dimension of a transposed convolution's output size, term by term.

    ``output = (size - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1``
    """

    size: int  # input rows / columns / positions
    kernel_size: int  # taps of the kernel
    stride: int  # input pixels land this far apart in the output
    padding: int  # rows / columns removed from each side of the full output
    output_padding: int  # extra rows / columns added on one side (bottom / right)
    dilation: int  # spacing of the taps
    stretched: int  # (size - 1) * stride: from the first input pixel's place to the last one's
    output: int  # the output size


def _transpose_terms(
    axes: Sequence[_Axis], size: Sequence[int], kernel: Sequence[int], strides: Sequence[int],
    pads: Sequence[int], out_pads: Sequence[int], dil: Sequence[int],
) -> tuple[TransposeTerms, ...]:  # fmt: skip
    for name, values, low in (("input size", size, 1), ("kernel_size", kernel, 1), ("stride", strides, 1),
                              ("dilation", dil, 1), ("padding", pads, 0), ("output_padding", out_pads, 0)):  # fmt: skip
        _require_at_least(values, low, name, axes)
    for axis, op, s, d in zip(axes, out_pads, strides, dil):
        if op >= max(s, d):
            raise InvalidLayerConfig(
                f"output_padding must be smaller than either the stride or the dilation, but {axis.where} "
                f"output_padding is {op} with stride {s} and dilation {d}.",
                f"use output_padding <= {max(s, d) - 1}"
                + ("." if max(s, d) > 1 else ", or a stride of at least 2 to make room for it."),
            )
    terms = []
    for axis, n, k, s, p, op, d in zip(axes, size, kernel, strides, pads, out_pads, dil):
        o = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        if o < 1:
            max_pad = ((n - 1) * s + d * (k - 1) + op) // 2
            raise InvalidLayerConfig(
                f"The output would be empty {axis.where}: ({n} - 1) * {s} - 2 * {p} + {d} * ({k} - 1) "
                f"+ {op} + 1 = {o}, and it must be at least 1.",
                f"use padding <= {max_pad}.",
            )
        terms.append(TransposeTerms(n, k, s, p, op, d, (n - 1) * s, o))
    return tuple(terms)


# --- 2-D layers ---------------------------------------------------------------------------


def conv2d_terms(
    input_size: IntPair,
    kernel_size: IntPair,
    stride: IntPair = 1,
    padding: IntPair | str = 0,
    dilation: IntPair = 1,
) -> tuple[WindowTerms, WindowTerms]:
    """The terms of :func:`conv2d_output_size`'s formula for height and width."""
    size = pair(input_size, "input size")
    kernel, strides, dil = pair(kernel_size, "kernel_size"), pair(stride, "stride"), pair(dilation, "dilation")
    pads = padding if isinstance(padding, str) else pair(padding, "padding")
    h, w = _conv_terms(_AXES_2D, size, kernel, strides, pads, dil)
    return (h, w)


def conv2d_output_size(
    input_size: IntPair,
    kernel_size: IntPair,
    stride: IntPair = 1,
    padding: IntPair | str = 0,
    dilation: IntPair = 1,
) -> tuple[int, int]:
    """Output ``(h, w)`` of ``nn.Conv2d``.

    PyTorch's formula, per dimension::

        H_out = floor((H_in + 2 * padding - dilation * (kernel_size - 1) - 1) / stride + 1)

    ``padding="same"`` (stride 1 only) keeps ``H_out == H_in``; ``"valid"`` is 0.

    Raises:
        InvalidLayerConfig: when PyTorch would refuse the layer, e.g. the
            (dilated) kernel is larger than the padded input.
    """
    h, w = conv2d_terms(input_size, kernel_size, stride, padding, dilation)
    return (h.output, w.output)


def conv2d_leftover(
    input_size: IntPair,
    kernel_size: IntPair,
    stride: IntPair = 1,
    padding: IntPair | str = 0,
    dilation: IntPair = 1,
) -> tuple[int, int]:
    """Rows and columns at the end of the padded input that no window reaches.

    The floor in the formula drops them: with input 6, kernel 3, stride 2 the
    windows start at 0 and 2, and row 5 is never read. Counted in the padded
    input, so trailing padding is included.
    """
    h, w = conv2d_terms(input_size, kernel_size, stride, padding, dilation)
    return (h.leftover, w.leftover)


def pool2d_terms(
    input_size: IntPair,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
) -> tuple[WindowTerms, WindowTerms]:
    """The terms of :func:`pool2d_output_size`'s formula for height and width."""
    size, kernel = pair(input_size, "input size"), pair(kernel_size, "kernel_size")
    strides = kernel if stride is None else pair(stride, "stride")
    h, w = _pool_terms(_AXES_2D, size, kernel, strides, pair(padding, "padding"), pair(dilation, "dilation"),
                       ceil_mode)  # fmt: skip
    return (h, w)


def pool2d_output_size(
    input_size: IntPair,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    ceil_mode: bool = False,
) -> tuple[int, int]:
    """Output ``(h, w)`` of ``nn.MaxPool2d`` (``nn.AvgPool2d`` is the same with dilation 1).

    PyTorch's formula, per dimension (``stride`` defaults to ``kernel_size``)::

        H_out = floor((H_in + 2 * padding - dilation * (kernel_size - 1) - 1) / stride + 1)

    with ``ceil`` instead of ``floor`` when ``ceil_mode=True``; then a last
    window that would start in the right padding is dropped. ``padding`` may be
    at most half the kernel size (``padding <= kernel_size // 2``) and the
    output must be at least 1.
    """
    h, w = pool2d_terms(input_size, kernel_size, stride, padding, dilation, ceil_mode)
    return (h.output, w.output)


def conv_transpose2d_terms(
    input_size: IntPair,
    kernel_size: IntPair,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    dilation: IntPair = 1,
) -> tuple[TransposeTerms, TransposeTerms]:
    """The terms of :func:`conv_transpose2d_output_size`'s formula for height and width."""
    h, w = _transpose_terms(
        _AXES_2D, pair(input_size, "input size"), pair(kernel_size, "kernel_size"), pair(stride, "stride"),
        pair(padding, "padding"), pair(output_padding, "output_padding"), pair(dilation, "dilation"),
    )  # fmt: skip
    return (h, w)


def conv_transpose2d_output_size(
    input_size: IntPair,
    kernel_size: IntPair,
    stride: IntPair = 1,
    padding: IntPair = 0,
    output_padding: IntPair = 0,
    dilation: IntPair = 1,
) -> tuple[int, int]:
    """Output ``(h, w)`` of ``nn.ConvTranspose2d``.

    PyTorch's formula, per dimension::

        H_out = (H_in - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1

    In each dimension ``output_padding`` must be smaller than the stride or
    the dilation, and the output must be at least 1. (For an output of
    exactly 0, some of PyTorch's CPU kernels return an empty tensor where
    others refuse; an empty layer is never usable, so this always refuses.)
    """
    h, w = conv_transpose2d_terms(input_size, kernel_size, stride, padding, output_padding, dilation)
    return (h.output, w.output)


# --- 1-D layers (sequences: (N, C, L)) ---------------------------------------------------------


def conv1d_terms(
    length: int, kernel_size: int, stride: int = 1, padding: int | str = 0, dilation: int = 1
) -> WindowTerms:
    """The terms of :func:`conv1d_output_size`'s formula."""
    pads = padding if isinstance(padding, str) else (integer(padding, "padding"),)
    (terms,) = _conv_terms(
        _AXES_1D, (integer(length, "length"),), (integer(kernel_size, "kernel_size"),),
        (integer(stride, "stride"),), pads, (integer(dilation, "dilation"),),
    )  # fmt: skip
    return terms


def conv1d_output_size(length: int, kernel_size: int, stride: int = 1, padding: int | str = 0,
                       dilation: int = 1) -> int:  # fmt: skip
    """Output length of ``nn.Conv1d``: the same formula as :func:`conv2d_output_size`, in one dimension::

        L_out = floor((L_in + 2 * padding - dilation * (kernel_size - 1) - 1) / stride + 1)

    ``padding="same"`` (stride 1 only) keeps the length; ``"valid"`` is 0.

    Raises:
        InvalidLayerConfig: where PyTorch refuses, with the constraint and the fix.
    """
    return conv1d_terms(length, kernel_size, stride, padding, dilation).output


def pool1d_terms(
    length: int, kernel_size: int, stride: int | None = None, padding: int = 0, dilation: int = 1,
    ceil_mode: bool = False,
) -> WindowTerms:  # fmt: skip
    """The terms of :func:`pool1d_output_size`'s formula."""
    kernel = integer(kernel_size, "kernel_size")
    (terms,) = _pool_terms(
        _AXES_1D, (integer(length, "length"),), (kernel,), (kernel if stride is None else integer(stride, "stride"),),
        (integer(padding, "padding"),), (integer(dilation, "dilation"),), ceil_mode,
    )  # fmt: skip
    return terms


def pool1d_output_size(
    length: int, kernel_size: int, stride: int | None = None, padding: int = 0, dilation: int = 1,
    ceil_mode: bool = False,
) -> int:  # fmt: skip
    """Output length of ``nn.MaxPool1d`` (``nn.AvgPool1d`` is the same with dilation 1).

    As :func:`pool2d_output_size` in one dimension: ``stride`` defaults to
    ``kernel_size``, ``padding <= kernel_size // 2``, ``ceil_mode`` rounds up
    but drops a last window that would start in the right padding.
    """
    return pool1d_terms(length, kernel_size, stride, padding, dilation, ceil_mode).output


def conv_transpose1d_terms(
    length: int, kernel_size: int, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1
) -> TransposeTerms:
    """The terms of :func:`conv_transpose1d_output_size`'s formula."""
    (terms,) = _transpose_terms(
        _AXES_1D, (integer(length, "length"),), (integer(kernel_size, "kernel_size"),), (integer(stride, "stride"),),
        (integer(padding, "padding"),), (integer(output_padding, "output_padding"),), (integer(dilation, "dilation"),),
    )  # fmt: skip
    return terms


def conv_transpose1d_output_size(
    length: int, kernel_size: int, stride: int = 1, padding: int = 0, output_padding: int = 0, dilation: int = 1
) -> int:
    """Output length of ``nn.ConvTranspose1d``::

        L_out = (L_in - 1) * stride - 2 * padding + dilation * (kernel_size - 1) + output_padding + 1

    ``output_padding`` must be smaller than the stride or the dilation, and the
    output at least 1 (as :func:`conv_transpose2d_output_size`).
    """
    return conv_transpose1d_terms(length, kernel_size, stride, padding, output_padding, dilation).output


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


# --- parameter counts -------------------------------------------------------


def _check_groups(in_channels: int, out_channels: int, groups: int) -> None:
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels), ("groups", groups)):
        if value < 1:
            raise InvalidLayerConfig(f"{name} must be at least 1, got {value}.", f"set {name} to 1 or more.")
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
        if value % groups:
            divisors = [g for g in range(1, value + 1) if value % g == 0]
            raise InvalidLayerConfig(
                f"{name} must be divisible by groups, but {value} % {groups} = {value % groups}.",
                f"use groups in {divisors}.",
            )


def _conv_parameters(in_channels: int, out_channels: int, taps: int, groups: int, bias: bool) -> ParameterCount:
    """Every output channel has ``in / groups * taps`` weights (the transposed layout stores the same number)."""
    _check_groups(in_channels, out_channels, groups)
    return ParameterCount(out_channels * (in_channels // groups) * taps, out_channels if bias else 0)


def conv2d_parameters(
    in_channels: int, out_channels: int, kernel_size: IntPair, groups: int = 1, bias: bool = True
) -> ParameterCount:
    """Parameters of ``nn.Conv2d``: weight ``(out, in / groups, kh, kw)`` plus ``out`` biases."""
    return _conv_parameters(in_channels, out_channels, math.prod(pair(kernel_size, "kernel_size")), groups, bias)


def conv_transpose2d_parameters(
    in_channels: int, out_channels: int, kernel_size: IntPair, groups: int = 1, bias: bool = True
) -> ParameterCount:
    """Parameters of ``nn.ConvTranspose2d``: weight ``(in, out / groups, kh, kw)`` plus ``out`` biases."""
    return _conv_parameters(in_channels, out_channels, math.prod(pair(kernel_size, "kernel_size")), groups, bias)


def conv1d_parameters(
    in_channels: int, out_channels: int, kernel_size: int, groups: int = 1, bias: bool = True
) -> ParameterCount:
    """Parameters of ``nn.Conv1d``: weight ``(out, in / groups, k)`` plus ``out`` biases."""
    return _conv_parameters(in_channels, out_channels, integer(kernel_size, "kernel_size"), groups, bias)


def conv_transpose1d_parameters(
    in_channels: int, out_channels: int, kernel_size: int, groups: int = 1, bias: bool = True
) -> ParameterCount:
    """Parameters of ``nn.ConvTranspose1d``: weight ``(in, out / groups, k)`` plus ``out`` biases."""
    return _conv_parameters(in_channels, out_channels, integer(kernel_size, "kernel_size"), groups, bias)


def linear_parameters(in_features: int, out_features: int, bias: bool = True) -> ParameterCount:
    """Parameters of ``nn.Linear``: weight ``(out, in)`` plus ``out`` biases."""
    return ParameterCount(in_features * out_features, out_features if bias else 0)


def batchnorm2d_parameters(num_features: int, affine: bool = True) -> ParameterCount:
    """Learnable parameters of ``nn.BatchNorm2d`` (and ``BatchNorm1d``): a scale and a shift per channel.

    The running mean and variance are buffers, not parameters.
    """
    return ParameterCount(num_features if affine else 0, num_features if affine else 0)
