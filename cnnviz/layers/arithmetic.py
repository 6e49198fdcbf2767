"""Exact shape and parameter arithmetic for 1-D and 2-D CNN layers.

The one place in cnnviz where layer formulas live. Every function agrees with
PyTorch (the tests build the real layer and compare), both on the shape it
returns and on whether PyTorch refuses the configuration. A refused
configuration raises :class:`InvalidLayerConfig`, whose message names the
constraint that fails, with the actual numbers, and the smallest change that
fixes it where one exists.

2-D sizes are given as an int (square) or an ``(h, w)`` pair and returned as
an ``(h, w)`` tuple of ints; 1-D sizes (sequences) are ints in and out. Both
share one per-dimension implementation (the shared names are in :mod:`cnnviz.layers.sizes`, the
layers without a regular window in :mod:`cnnviz.layers.resizing`; both are re-exported here); the
``*_terms`` functions return each formula's terms (padded size, effective kernel, numerator, rounding) so that
views only format them. Receptive fields: :mod:`cnnviz.layers.receptive_field`; the reverse
question (which layer gives this size?): :mod:`cnnviz.layers.size_solver`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from cnnviz.layers.resizing import (  # noqa: F401 (the formulas of layers without a regular window, here too)
    AdaptiveTerms,
    PadTerms,
    ScaleTerms,
    adaptive_pool2d_terms,
    adaptive_windows,
    pad2d_terms,
    scale_terms,
    sides,
    upsample_output_size,
    upsample_sources,
)
from cnnviz.layers.sizes import (  # noqa: F401 (re-exported: every size rule's shared names)
    _AXES_1D,
    _AXES_2D,
    _DIMS,
    IntPair,
    InvalidLayerConfig,
    ParameterCount,
    _Axis,
    _require_at_least,
    integer,
    pair,
)


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
    resolved = _resolve_padding(padding, pair(kernel_size, "kernel_size"), pair(stride, "stride"),
                                pair(dilation, "dilation"))  # fmt: skip
    return (resolved[0], resolved[1])


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
    axis: _Axis, n: int, k: int, s: int, pad_sides: tuple[int, int], d: int, ceil_mode: bool, pooling: bool
) -> WindowTerms:
    """The size formula in one dimension; raises where PyTorch refuses (window larger than the padded input)."""
    p0, p1 = pad_sides
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
    resolved = _resolve_padding(padding, kernel, strides, dil)
    return tuple(
        _window_terms(axis, n, k, s, side, d, ceil_mode=False, pooling=False)
        for axis, n, k, s, side, d in zip(axes, size, kernel, strides, resolved, dil)
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
