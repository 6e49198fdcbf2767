"""Exact shape, parameter and receptive-field arithmetic for 2-D CNN layers.

The one place in cnnviz where layer formulas live. Every function agrees with
PyTorch (the tests build the real layer and compare), both on the shape it
returns and on whether PyTorch refuses the configuration. A refused
configuration raises :class:`InvalidLayerConfig`, whose message names the
constraint that fails, with the actual numbers, and the smallest change that
fixes it where one exists.

Sizes are given as an int (square) or an ``(h, w)`` pair and returned as an
``(h, w)`` tuple of ints.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
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


def _require_at_least(values: tuple[int, int], minimum: int, name: str) -> None:
    for dim, v in zip(_DIMS, values):
        if v < minimum:
            raise InvalidLayerConfig(
                f"{name} must be at least {minimum}, but the {dim} is {v}.",
                f"set {name} to {minimum} or more.",
            )


def effective_kernel_size(kernel_size: int, dilation: int = 1) -> int:
    """Input rows (or columns) one kernel window spans: ``dilation * (kernel_size - 1) + 1``."""
    return dilation * (kernel_size - 1) + 1


def same_padding(kernel_size: IntPair, dilation: IntPair = 1) -> tuple[tuple[int, int], tuple[int, int]]:
    """Padding that ``padding="same"`` implies, as ``((top, bottom), (left, right))``.

    PyTorch pads ``total = dilation * (kernel_size - 1)`` per dimension, putting
    ``total // 2`` before and the rest after (so an even kernel pads one more
    row at the bottom and one more column on the right).
    """
    kernel, dil = pair(kernel_size, "kernel_size"), pair(dilation, "dilation")
    _require_at_least(kernel, 1, "kernel_size")
    _require_at_least(dil, 1, "dilation")
    sides = []
    for k, d in zip(kernel, dil):
        total = d * (k - 1)
        sides.append((total // 2, total - total // 2))
    return (sides[0], sides[1])


def conv2d_padding(
    padding: IntPair | str, kernel_size: IntPair, stride: IntPair = 1, dilation: IntPair = 1
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Resolve ``Conv2d``'s ``padding`` argument to ``((top, bottom), (left, right))``."""
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0), (0, 0))
        if padding == "same":
            strides = pair(stride, "stride")
            if strides != (1, 1):
                raise InvalidLayerConfig(
                    f'padding="same" needs stride 1, but stride is {_show(strides)}: '
                    "PyTorch does not support it for strided convolutions.",
                    "set stride to 1, or give padding as a number.",
                )
            return same_padding(kernel_size, dilation)
        raise InvalidLayerConfig(f'padding must be a number, an (h, w) pair, "same" or "valid", got {padding!r}.')
    pads = pair(padding, "padding")
    _require_at_least(pads, 0, "padding")
    return ((pads[0], pads[0]), (pads[1], pads[1]))


def _show(values: tuple[int, int]) -> str:
    return str(values[0]) if values[0] == values[1] else str(values)


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
    size = pair(input_size, "input size")
    kernel, strides, dil = pair(kernel_size, "kernel_size"), pair(stride, "stride"), pair(dilation, "dilation")
    _require_at_least(size, 1, "input size")
    _require_at_least(kernel, 1, "kernel_size")
    _require_at_least(strides, 1, "stride")
    _require_at_least(dil, 1, "dilation")
    pads = conv2d_padding(padding, kernel, strides, dil)
    out = []
    for dim, n, k, s, (p0, p1), d in zip(_DIMS, size, kernel, strides, pads, dil):
        span = effective_kernel_size(k, d)
        padded = n + p0 + p1
        if padded < span:
            raise InvalidLayerConfig(
                f"The kernel is larger than the padded input in {dim}: kernel_size {k} "
                f"with dilation {d} spans {span} rows, but the padded input has only "
                f"{padded} ({n} + {p0} + {p1} padding).",
                _window_fix(n, k, d, p0 + p1),
            )
        out.append((padded - span) // s + 1)
    return (out[0], out[1])


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
    out = conv2d_output_size(input_size, kernel_size, stride, padding, dilation)
    size, kernel = pair(input_size), pair(kernel_size)
    strides, dil = pair(stride), pair(dilation)
    pads = conv2d_padding(padding, kernel, strides, dil)
    leftover = []
    for n, k, s, (p0, p1), d, o in zip(size, kernel, strides, pads, dil, out):
        leftover.append(n + p0 + p1 - ((o - 1) * s + effective_kernel_size(k, d)))
    return (leftover[0], leftover[1])


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
    size = pair(input_size, "input size")
    kernel = pair(kernel_size, "kernel_size")
    strides = kernel if stride is None else pair(stride, "stride")
    pads, dil = pair(padding, "padding"), pair(dilation, "dilation")
    _require_at_least(size, 1, "input size")
    _require_at_least(kernel, 1, "kernel_size")
    _require_at_least(strides, 1, "stride")
    _require_at_least(dil, 1, "dilation")
    _require_at_least(pads, 0, "padding")
    for dim, k, p in zip(_DIMS, kernel, pads):
        if p > k // 2:
            raise InvalidLayerConfig(
                f"Pooling padding may be at most half the kernel size: in {dim}, padding {p} "
                f"> kernel_size {k} // 2 = {k // 2}.",
                f"use padding <= {k // 2}, or kernel_size >= {2 * p}.",
            )
    out = []
    for dim, n, k, s, p, d in zip(_DIMS, size, kernel, strides, pads, dil):
        span = effective_kernel_size(k, d)
        numerator = n + 2 * p - span + (s - 1 if ceil_mode else 0)
        o = numerator // s + 1
        if ceil_mode and (o - 1) * s >= n + p:
            o -= 1
        if o < 1:
            raise InvalidLayerConfig(
                f"The pooling window is larger than the padded input in {dim}: kernel_size {k} "
                f"with dilation {d} spans {span} rows, but the padded input has only "
                f"{n + 2 * p} ({n} + 2 * {p} padding), so the output would be {o}.",
                _window_fix(n, k, d, 2 * p, max_padding=k // 2),
            )
        out.append(o)
    return (out[0], out[1])


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
    size = pair(input_size, "input size")
    kernel, strides = pair(kernel_size, "kernel_size"), pair(stride, "stride")
    pads, out_pads, dil = pair(padding, "padding"), pair(output_padding, "output_padding"), pair(dilation, "dilation")
    _require_at_least(size, 1, "input size")
    _require_at_least(kernel, 1, "kernel_size")
    _require_at_least(strides, 1, "stride")
    _require_at_least(dil, 1, "dilation")
    _require_at_least(pads, 0, "padding")
    _require_at_least(out_pads, 0, "output_padding")
    for dim, op, s, d in zip(_DIMS, out_pads, strides, dil):
        if op >= max(s, d):
            raise InvalidLayerConfig(
                f"output_padding must be smaller than either the stride or the dilation, but in {dim} "
                f"output_padding is {op} with stride {s} and dilation {d}.",
                f"use output_padding <= {max(s, d) - 1}"
                + ("." if max(s, d) > 1 else ", or a stride of at least 2 to make room for it."),
            )
    out = []
    for dim, n, k, s, p, op, d in zip(_DIMS, size, kernel, strides, pads, out_pads, dil):
        o = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
        if o < 1:
            max_pad = ((n - 1) * s + d * (k - 1) + op) // 2
            raise InvalidLayerConfig(
                f"The output would be empty in {dim}: ({n} - 1) * {s} - 2 * {p} + {d} * ({k} - 1) "
                f"+ {op} + 1 = {o}, and it must be at least 1.",
                f"use padding <= {max_pad}.",
            )
        out.append(o)
    return (out[0], out[1])


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
    if size is not None:
        out = pair(size, "size")
    else:
        if isinstance(scale_factor, (int, float)) and not isinstance(scale_factor, bool):
            scales = (float(scale_factor), float(scale_factor))
        else:
            scales = tuple(float(s) for s in scale_factor)  # type: ignore[union-attr]
            if len(scales) != 2:
                raise InvalidLayerConfig(f"scale_factor must be a number or an (h, w) pair, got {scale_factor!r}.")
        if not all(math.isfinite(s) for s in scales):
            raise InvalidLayerConfig(f"scale_factor must be finite, got {scale_factor!r}.")
        out = tuple(math.floor(n * s) for n, s in zip(in_size, scales))  # type: ignore[assignment]
    for dim, n, o in zip(_DIMS, in_size, out):
        if o < 1:
            raise InvalidLayerConfig(
                f"Upsample's output must be at least 1 in {dim}, but it would be {o} (input {n}).",
                "use a size of at least 1, or a scale_factor of at least " + f"{1 / n:.4g}.",
            )
    return (int(out[0]), int(out[1]))


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


def conv2d_parameters(
    in_channels: int, out_channels: int, kernel_size: IntPair, groups: int = 1, bias: bool = True
) -> ParameterCount:
    """Parameters of ``nn.Conv2d``: weight ``(out, in / groups, kh, kw)`` plus ``out`` biases."""
    _check_groups(in_channels, out_channels, groups)
    kh, kw = pair(kernel_size, "kernel_size")
    return ParameterCount(out_channels * (in_channels // groups) * kh * kw, out_channels if bias else 0)


def conv_transpose2d_parameters(
    in_channels: int, out_channels: int, kernel_size: IntPair, groups: int = 1, bias: bool = True
) -> ParameterCount:
    """Parameters of ``nn.ConvTranspose2d``: weight ``(in, out / groups, kh, kw)`` plus ``out`` biases."""
    _check_groups(in_channels, out_channels, groups)
    kh, kw = pair(kernel_size, "kernel_size")
    return ParameterCount(in_channels * (out_channels // groups) * kh * kw, out_channels if bias else 0)


def linear_parameters(in_features: int, out_features: int, bias: bool = True) -> ParameterCount:
    """Parameters of ``nn.Linear``: weight ``(out, in)`` plus ``out`` biases."""
    return ParameterCount(in_features * out_features, out_features if bias else 0)


def batchnorm2d_parameters(num_features: int, affine: bool = True) -> ParameterCount:
    """Learnable parameters of ``nn.BatchNorm2d``: a scale and a shift per channel.

    The running mean and variance are buffers, not parameters.
    """
    return ParameterCount(num_features if affine else 0, num_features if affine else 0)


# --- receptive field ----------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """The sliding window of one layer, for receptive-field arithmetic.

    A layer that does not slide a window (ReLU, BatchNorm, Dropout) is
    ``Window(1, 1, 1)``.
    """

    kernel_size: IntPair = 1
    stride: IntPair = 1
    dilation: IntPair = 1
    padding: IntPair = 0  # rows / columns padded before the first one (top, left); moves the field, not its size


@dataclass(frozen=True)
class ReceptiveField:
    """Receptive field after a layer, per dimension ``(h, w)``.

    Attributes:
        size: input pixels one output pixel depends on.
        jump: input pixels between two neighbouring output pixels (the effective stride).
        padding: effective padding: output pixel ``y`` reads input pixels ``y * jump - padding``
            to ``y * jump - padding + size - 1`` (Araujo, Norris and Sim, Distill 2019).
    """

    size: tuple[int, int]
    jump: tuple[int, int]
    padding: tuple[int, int] = (0, 0)


def receptive_fields(windows: Iterable[Window]) -> list[ReceptiveField]:
    """Receptive field and jump after each layer of a stack.

    Starting from ``r = 1, j = 1`` at the input, each layer gives::

        r_out = r_in + (dilation * (kernel_size - 1)) * j_in
        p_out = p_in + padding * j_in
        j_out = j_in * stride
    """
    size, jump, padding = (1, 1), (1, 1), (0, 0)
    fields = []
    for window in windows:
        kernel, strides, dil = pair(window.kernel_size), pair(window.stride), pair(window.dilation)
        size = tuple(r + (effective_kernel_size(k, d) - 1) * j for r, k, d, j in zip(size, kernel, dil, jump))  # type: ignore[assignment]
        padding = tuple(p + q * j for p, q, j in zip(padding, pair(window.padding), jump))  # type: ignore[assignment]
        jump = tuple(j * s for j, s in zip(jump, strides))  # type: ignore[assignment]
        fields.append(ReceptiveField(size=size, jump=jump, padding=padding))
    return fields
