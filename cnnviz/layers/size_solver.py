"""The reverse question: which layer configurations turn this input size into the wanted output size?"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

from cnnviz.layers.arithmetic import (
    _AXES_1D,
    _AXES_2D,
    IntPair,
    InvalidLayerConfig,
    _conv_terms,
    _pool_terms,
    _require_at_least,
    _same_sides,
    _transpose_terms,
    integer,
    pair,
)

SOLVER_KINDS = ("Conv2d", "MaxPool2d", "ConvTranspose2d", "Conv1d", "MaxPool1d", "ConvTranspose1d")
_SOLVER_FAMILY = {"Conv2d": "conv", "Conv1d": "conv", "MaxPool2d": "pool", "MaxPool1d": "pool",
                  "ConvTranspose2d": "transpose", "ConvTranspose1d": "transpose"}  # fmt: skip
MAX_SOLVER_BOUND = 64  # largest kernel / stride / padding / dilation bound solve() accepts (keeps it instant)


@dataclass(frozen=True)
class Solution:
    """One layer configuration that turns the input size into the wanted output size.

    1-D kinds hold ints; 2-D kinds hold ``(h, w)`` pairs.
    """

    kind: str  # one of SOLVER_KINDS
    kernel_size: int | tuple[int, int]  # window taps
    stride: int | tuple[int, int]  # step between windows (given explicitly, also for pools)
    padding: int | tuple[int, int] | str  # zeros per side, or "same" (convolutions, stride 1)
    dilation: int | tuple[int, int]  # tap spacing; only > 1 with kernels of 2 or more
    output_padding: int | tuple[int, int] = 0  # ConvTranspose: extra cells on one side
    ceil_mode: bool = False  # MaxPool: round up

    def options(self) -> dict[str, object]:
        """Keyword arguments for the PyTorch layer (``nn.<kind>(..., **options)``), defaults left out."""
        defaults = {"stride": 1, "padding": 0, "dilation": 1, "output_padding": 0, "ceil_mode": False}
        if self.kind.startswith("MaxPool"):
            defaults["stride"] = self.kernel_size
        values = {
            "kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding,
            "dilation": self.dilation, "output_padding": self.output_padding, "ceil_mode": self.ceil_mode,
        }  # fmt: skip
        shown = {}
        for name, value in values.items():
            default = defaults.get(name)
            if name in defaults and (value == default or (isinstance(value, tuple) and set(value) == {default})):
                continue
            shown[name] = value[0] if isinstance(value, tuple) and value[0] == value[1] else value
        return shown

    def simplicity(self) -> tuple:
        """Sort key, simplest first: smaller kernel, no dilation, square, then stride, padding and the rest."""

        def values(value: int | tuple[int, int] | str) -> tuple[int, ...]:
            return value if isinstance(value, tuple) else (value,)  # type: ignore[return-value]

        kernel, dilation, stride = values(self.kernel_size), values(self.dilation), values(self.stride)
        square = len(set(kernel)) == len(set(stride)) == len(set(dilation)) == 1
        pads = _same_sides(kernel[0], dilation[0]) if self.padding == "same" else values(self.padding)
        return (max(kernel), max(dilation) > 1, not square, sum(kernel), sum(stride), sum(pads), not square,
                sum(dilation), sum(values(self.output_padding)), self.ceil_mode)  # fmt: skip


# One dimension's options: (kernel, stride, padding, dilation, output_padding, ceil_mode) -> output size.
_DimOption = tuple[int, int, int, int, int, bool]


@functools.lru_cache(maxsize=256)
def _dimension_options(family: str, n: int, bounds: tuple[int, int, int, int]) -> tuple[tuple[_DimOption, int], ...]:
    """Every configuration of one dimension within ``bounds`` that PyTorch accepts, with its output size."""
    max_kernel, max_stride, max_padding, max_dilation = bounds
    found = []
    for k in range(1, max_kernel + 1):
        for d in range(1, (max_dilation if k > 1 else 1) + 1):  # dilation changes nothing for kernel 1
            for s in range(1, max_stride + 1):
                for p in range(0, max_padding + 1):
                    try:
                        if family == "conv":
                            (terms,) = _conv_terms(_AXES_1D, (n,), (k,), (s,), (p,), (d,))
                            found.append(((k, s, p, d, 0, False), terms.output))
                        elif family == "pool":
                            for ceil in (False, True):
                                (terms,) = _pool_terms(_AXES_1D, (n,), (k,), (s,), (p,), (d,), ceil)
                                found.append(((k, s, p, d, 0, ceil), terms.output))
                        else:
                            for op in range(max(s, d)):
                                (t,) = _transpose_terms(_AXES_1D, (n,), (k,), (s,), (p,), (op,), (d,))
                                found.append(((k, s, p, d, op, False), t.output))
                    except InvalidLayerConfig:
                        continue
    return tuple(found)


def _same_options(n: int, target: int, bounds: tuple[int, int, int, int]) -> list[tuple[int, int]]:
    """``(kernel, dilation)`` for which ``padding="same"`` keeps ``n == target`` within the bounds."""
    max_kernel, _, max_padding, max_dilation = bounds
    if n != target:
        return []
    return [(k, d) for k in range(1, max_kernel + 1) for d in range(1, (max_dilation if k > 1 else 1) + 1)
            if max(_same_sides(k, d)) <= max_padding]  # fmt: skip


def _uneven(kernel: int, dilation: int) -> bool:
    """``padding="same"`` pads one more after than before: no number can say it."""
    return dilation * (kernel - 1) % 2 == 1


def _solver_inputs(
    kind: str, input_size: IntPair, output_size: IntPair | None, bounds: tuple[int, int, int, int]
) -> tuple[str, bool, tuple[int, ...], tuple[int, ...] | None]:
    if kind not in _SOLVER_FAMILY:
        raise InvalidLayerConfig(f"The solver knows {', '.join(SOLVER_KINDS)}, not {kind!r}.",
                                 f"choose one of {', '.join(SOLVER_KINDS)}.")  # fmt: skip
    for name, value, low in zip(("max_kernel", "max_stride", "max_padding", "max_dilation"), bounds, (1, 1, 0, 1)):
        if not low <= integer(value, name) <= MAX_SOLVER_BOUND:
            raise InvalidLayerConfig(f"{name} must be between {low} and {MAX_SOLVER_BOUND}, got {value}.")
    two_d = kind.endswith("2d")
    axes = _AXES_2D if two_d else _AXES_1D
    size = pair(input_size, "input size") if two_d else (integer(input_size, "input length"),)
    _require_at_least(size, 1, "input size", axes)
    wanted = None
    if output_size is not None:
        wanted = pair(output_size, "output size") if two_d else (integer(output_size, "output length"),)
        _require_at_least(wanted, 1, "output size", axes)
    return _SOLVER_FAMILY[kind], two_d, size, wanted


def solve(
    kind: str,
    input_size: IntPair,
    output_size: IntPair,
    *,
    max_kernel: int = 11,
    max_stride: int = 4,
    max_padding: int = 5,
    max_dilation: int = 3,
) -> list[Solution]:
    """Every configuration of ``kind`` within the bounds that PyTorch accepts and that gives ``output_size``.

    Kernel sizes 1 .. max_kernel, strides 1 .. max_stride, padding 0 ..
    max_padding (convolutions also ``"same"`` where it pads unevenly, which no
    number can say, and its larger side fits max_padding), dilation 1 .. max_dilation (only for kernels
    of 2 or more: with kernel 1 it changes nothing), every ``output_padding``
    PyTorch allows and both ``ceil_mode`` values. 2-D kinds take ints (square)
    or ``(h, w)`` pairs and answer with pairs, one ``ceil_mode`` for both
    dimensions. Sorted simplest first (:meth:`Solution.simplicity`).

    Raises:
        InvalidLayerConfig: for an unknown kind, sizes below 1 or bounds outside 0 .. MAX_SOLVER_BOUND.
    """
    bounds = (max_kernel, max_stride, max_padding, max_dilation)
    family, two_d, size, wanted = _solver_inputs(kind, input_size, output_size, bounds)
    per_dim = [[option for option, out in _dimension_options(family, n, bounds) if out == t]
               for n, t in zip(size, wanted)]  # fmt: skip
    solutions = []
    if not two_d:
        for k, s, p, d, op, ceil in per_dim[0]:
            solutions.append(Solution(kind, k, s, p, d, op, ceil))
        if family == "conv":
            solutions += [Solution(kind, k, 1, "same", d) for k, d in _same_options(size[0], wanted[0], bounds)
                          if _uneven(k, d)]  # fmt: skip
    else:
        for kh, sh, ph, dh, oph, ceil_h in per_dim[0]:
            for kw, sw, pw, dw, opw, ceil_w in per_dim[1]:
                if ceil_h == ceil_w:
                    solutions.append(Solution(kind, (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oph, opw), ceil_h))
        if family == "conv":
            for kh, dh in _same_options(size[0], wanted[0], bounds):
                for kw, dw in _same_options(size[1], wanted[1], bounds):
                    if _uneven(kh, dh) or _uneven(kw, dw):  # an even "same" is a numeric answer already
                        solutions.append(Solution(kind, (kh, kw), (1, 1), "same", (dh, dw), (0, 0)))
    return sorted(solutions, key=Solution.simplicity)


def nearest_sizes(
    kind: str,
    input_size: IntPair,
    output_size: IntPair,
    *,
    count: int = 4,
    max_kernel: int = 11,
    max_stride: int = 4,
    max_padding: int = 5,
    max_dilation: int = 3,
) -> list[int] | list[tuple[int, int]]:
    """The ``count`` output sizes within the bounds closest to ``output_size`` (itself first when reachable).

    For 2-D kinds the distance is ``|dh| + |dw|`` and only pairs one
    configuration reaches are given (pools share ``ceil_mode`` between
    dimensions). Ties list the smaller size first.
    """
    bounds = (max_kernel, max_stride, max_padding, max_dilation)
    family, two_d, size, wanted = _solver_inputs(kind, input_size, output_size, bounds)
    candidates: set[tuple[int, ...]] = set()
    for ceil in (False, True) if family == "pool" else (False,):
        near_per_dim = []
        for n, t in zip(size, wanted):
            reachable = sorted({out for option, out in _dimension_options(family, n, bounds) if option[5] == ceil})
            near_per_dim.append(sorted(reachable, key=lambda o, t=t: (abs(o - t), o))[: max(count, 2)])
        candidates.update(itertools.product(*near_per_dim))
    ranked = sorted(candidates, key=lambda c: (sum(abs(o - t) for o, t in zip(c, wanted)), c))[:count]
    return [(c[0], c[1]) for c in ranked] if two_d else [c[0] for c in ranked]
