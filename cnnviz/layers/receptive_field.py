"""Receptive-field arithmetic: how far one output cell reaches back into the input, layer after layer."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cnnviz.layers.arithmetic import IntPair, effective_kernel_size, pair


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
    exact: bool = True  # False: windows of uneven size (an adaptive pool), given by the largest and a whole stride


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
    exact: bool = True  # False after windows of uneven size: size is the largest field, the box an estimate


def receptive_fields(windows: Iterable[Window]) -> list[ReceptiveField]:
    """Receptive field and jump after each layer of a stack.

    Starting from ``r = 1, j = 1`` at the input, each layer gives::

        r_out = r_in + (dilation * (kernel_size - 1)) * j_in
        p_out = p_in + padding * j_in
        j_out = j_in * stride
    """
    size, jump, padding, exact = (1, 1), (1, 1), (0, 0), True
    fields = []
    for window in windows:
        kernel, strides, dil = pair(window.kernel_size), pair(window.stride), pair(window.dilation)
        size = tuple(r + (effective_kernel_size(k, d) - 1) * j for r, k, d, j in zip(size, kernel, dil, jump))  # type: ignore[assignment]
        padding = tuple(p + q * j for p, q, j in zip(padding, pair(window.padding), jump))  # type: ignore[assignment]
        jump = tuple(j * s for j, s in zip(jump, strides))  # type: ignore[assignment]
        exact = exact and window.exact
        fields.append(ReceptiveField(size=size, jump=jump, padding=padding, exact=exact))
    return fields


Box = tuple[tuple[int, int], tuple[int, int]]  # ((top, left), (bottom, right)), inclusive, in input pixels


@dataclass(frozen=True)
class AxisRegion:
    """The input interval one output index reads, along one axis."""

    start: int  # first input index, may be negative (padding)
    end: int  # last input index (inclusive), may be past the image (padding)
    size: int  # pixels of the image along this axis

    @property
    def clipped(self) -> tuple[int, int]:
        """``(first, last)`` inside the image."""
        return max(self.start, 0), min(self.end, self.size - 1)


def axis_region(field: ReceptiveField, axis: int, index: int, size: int) -> AxisRegion:
    """Input interval of output ``index`` along ``axis`` (0 rows, 1 columns) for an image ``size`` long.

    ``[index * S - P, index * S - P + r - 1]`` with the field's effective stride ``S``, padding ``P``, size ``r``.
    """
    start = index * field.jump[axis] - field.padding[axis]
    return AxisRegion(start, start + field.size[axis] - 1, size)


def box(field: ReceptiveField, row: int, col: int, image: tuple[int, int], clip: bool = True) -> Box:
    """The inclusive box ``((top, left), (bottom, right))`` cell ``(row, col)`` reads in an ``image`` (H, W).

    Args:
        field: the stack's receptive field (size, effective stride, effective padding).
        row, col: the output cell.
        image: the input's height and width.
        clip: clip to the image (``False``: the unclipped interval, reaching into the padding).
    """
    rows, cols = axis_region(field, 0, row, image[0]), axis_region(field, 1, col, image[1])
    if clip:
        (top, bottom), (left, right) = rows.clipped, cols.clipped
    else:
        (top, bottom), (left, right) = (rows.start, rows.end), (cols.start, cols.end)
    return (top, left), (bottom, right)
