"""The reverse question: which layer configurations turn this input size into the wanted output size?"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Sequence
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
from cnnviz.layers.registry import IMAGE, KINDS

SOLVER_KINDS = tuple(name for name, kind in KINDS.items() if kind.solver_family)  # in the registry's order
MAX_SOLVER_BOUND = 64  # largest kernel / stride / padding / dilation bound solve() accepts (keeps it instant)


@dataclass(frozen=True)
class Solution:
    """One layer configuration that turns the input size into the wanted output size.

    1-D kinds hold ints; 2-D kinds hold ``(h, w)`` pairs. A family sets only the options its kinds have
    (:meth:`changes`); the others stay at their defaults.
    """

    kind: str  # one of SOLVER_KINDS
    kernel_size: int | tuple[int, int] = 1  # window taps
    stride: int | tuple[int, int] = 1  # step between windows (given explicitly, also for pools)
    padding: int | tuple[int, ...] | str = 0  # zeros per side (h, w), "same" (convolutions), or four sides
    dilation: int | tuple[int, int] = 1  # tap spacing; only > 1 with kernels of 2 or more
    output_padding: int | tuple[int, int] = 0  # ConvTranspose: extra cells on one side
    ceil_mode: bool = False  # MaxPool: round up
    output_size: int | tuple[int, int] | None = None  # adaptive pools: the wanted size itself
    upscale_factor: int | None = None  # PixelShuffle-like: the factor r

    def changes(self) -> dict[str, object]:
        """The :class:`~cnnviz.layers.spec.LayerSpec` fields this answer sets (those the kind has options for)."""
        kind = KINDS[self.kind]
        values = {
            "kernel_size": self.kernel_size, "stride": self.stride, "padding": self.padding,
            "dilation": self.dilation, "output_padding": self.output_padding, "ceil_mode": self.ceil_mode,
            "output_size": self.output_size, "upscale_factor": self.upscale_factor,
        }  # fmt: skip
        return {name: value for name, value in values.items() if kind.sets(name)}

    def options(self) -> dict[str, object]:
        """Keyword arguments for the PyTorch layer (``nn.<kind>(..., **options)``), defaults left out."""
        defaults = {"stride": 1, "padding": 0, "dilation": 1, "output_padding": 0, "ceil_mode": False}
        if KINDS[self.kind].stride_is_kernel:
            defaults["stride"] = self.kernel_size
        shown = {}
        for name, value in self.changes().items():
            default = defaults.get(name)
            if name in defaults and (value == default or (isinstance(value, tuple) and set(value) == {default})):
                continue
            shown[name] = value[0] if isinstance(value, tuple) and len(set(value)) == 1 else value
        return shown

    def simplicity(self) -> tuple:
        """Sort key, simplest first: smaller kernel, no dilation, square, then stride, padding and the rest."""

        def values(value: int | tuple[int, ...] | str | None) -> tuple[int, ...]:
            return value if isinstance(value, tuple) else (value or 0,)  # type: ignore[return-value]

        kernel, dilation, stride = values(self.kernel_size), values(self.dilation), values(self.stride)
        square = len(set(kernel)) == len(set(stride)) == len(set(dilation)) == 1
        pads = _same_sides(kernel[0], dilation[0]) if self.padding == "same" else tuple(map(abs, values(self.padding)))
        return (max(kernel), max(dilation) > 1, not square, sum(kernel), sum(stride), sum(pads), not square,
                sum(dilation), sum(values(self.output_padding)), self.ceil_mode, max(pads) - min(pads),
                values(self.upscale_factor), pads)  # fmt: skip


# One dimension's option: what a family sets in that dimension. Sliding windows: (kernel, stride, padding,
# dilation, output_padding, ceil_mode); explicit padding: (before, after); upscaling: (r,); an output size: (size,).
_DimOption = tuple
_Bounds = tuple[int, int, int, int]  # max_kernel, max_stride, max_padding, max_dilation


@functools.lru_cache(maxsize=256)
def _sliding_options(family: str, n: int, bounds: _Bounds) -> tuple[tuple[_DimOption, int], ...]:
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


def _sliding_solution(kind: str, options: tuple[_DimOption, ...]) -> Solution:
    if len(options) == 1:
        return Solution(kind, *options[0])
    (kh, sh, ph, dh, oph, ceil), (kw, sw, pw, dw, opw, _) = options
    return Solution(kind, (kh, kw), (sh, sw), (ph, pw), (dh, dw), (oph, opw), ceil)


def _padding_solution(kind: str, options: tuple[_DimOption, ...]) -> Solution:
    """PyTorch's sides: (left, right) in 1-D, (left, right, top, bottom) in 2-D."""
    sides = options[0] if len(options) == 1 else (*options[1], *options[0])
    return Solution(kind, padding=sides)


def _padding_options(n: int, max_padding: int) -> list[tuple[_DimOption, int]]:
    """Sides (before, after) within +-max_padding that PyTorch accepts (it crops first: no more than n)."""
    sides = range(-max_padding, max_padding + 1)
    return [((b, a), n + b + a) for b in sides for a in sides if -min(b, 0) - min(a, 0) <= n and n + b + a >= 1]


def _one_or_pair(values: tuple[int, ...]) -> int | tuple[int, int]:
    return values[0] if len(values) == 1 else (values[0], values[1])


@dataclass(frozen=True)
class _Family:
    """How the solver answers for the kinds of one family (a kind names its family in the registry)."""

    # One dimension's options within the bounds, with their output sizes, from (input size, bounds, wanted size).
    dimension: Callable[[int, _Bounds, int], Sequence[tuple[_DimOption, int]]]
    solution: Callable[[str, tuple[_DimOption, ...]], Solution]  # the answer from one option per dimension
    shared: Callable[[_DimOption], object]  # what every dimension of one answer shares (a pool's ceil_mode)
    shrinks: bool  # it can make the input smaller (else it only enlarges it)


_FAMILIES = {
    "conv": _Family(lambda n, bounds, _: _sliding_options("conv", n, bounds), _sliding_solution,
                    lambda option: None, shrinks=True),
    "pool": _Family(lambda n, bounds, _: _sliding_options("pool", n, bounds), _sliding_solution,
                    lambda option: option[5], shrinks=True),
    "transpose": _Family(lambda n, bounds, _: _sliding_options("transpose", n, bounds), _sliding_solution,
                         lambda option: None, shrinks=False),
    # explicit padding (before, after) per dimension, each side -max_padding (cropping) to max_padding
    "padding": _Family(lambda n, bounds, _: _padding_options(n, bounds[2]), _padding_solution, lambda option: None,
                       shrinks=True),
    # one whole factor r for every dimension, up to max_kernel
    "upscale": _Family(lambda n, bounds, _: [((r,), n * r) for r in range(1, bounds[0] + 1)],
                       lambda kind, options: Solution(kind, upscale_factor=options[0][0]),
                       lambda option: option[0], shrinks=False),
    # the wanted size is the option itself: one answer, always
    "output_size": _Family(lambda n, bounds, wanted: [((wanted,), wanted)],
                           lambda kind, options: Solution(kind, output_size=_one_or_pair(tuple(o[0] for o in options))),
                           lambda option: None, shrinks=True),
}  # fmt: skip


def family_of(kind: str) -> _Family:
    """The solver family answering for ``kind`` (raises for a kind the solver does not know)."""
    family = KINDS[kind].solver_family if kind in KINDS else None
    if family is None:
        raise InvalidLayerConfig(f"The solver knows {', '.join(SOLVER_KINDS)}, not {kind!r}.",
                                 f"choose one of {', '.join(SOLVER_KINDS)}.")  # fmt: skip
    return _FAMILIES[family]


def shrinks(kind: str) -> bool:
    """Whether the solver can make ``kind`` shrink its input."""
    return family_of(kind).shrinks


def _same_options(n: int, target: int, bounds: _Bounds) -> list[tuple[int, int]]:
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
    kind: str, input_size: IntPair, output_size: IntPair | None, bounds: _Bounds
) -> tuple[_Family, bool, tuple[int, ...], tuple[int, ...] | None]:
    family = family_of(kind)
    for name, value, low in zip(("max_kernel", "max_stride", "max_padding", "max_dilation"), bounds, (1, 1, 0, 1)):
        if not low <= integer(value, name) <= MAX_SOLVER_BOUND:
            raise InvalidLayerConfig(f"{name} must be between {low} and {MAX_SOLVER_BOUND}, got {value}.")
    two_d = KINDS[kind].input_dims == IMAGE
    axes = _AXES_2D if two_d else _AXES_1D
    size = pair(input_size, "input size") if two_d else (integer(input_size, "input length"),)
    _require_at_least(size, 1, "input size", axes)
    wanted = None
    if output_size is not None:
        wanted = pair(output_size, "output size") if two_d else (integer(output_size, "output length"),)
        _require_at_least(wanted, 1, "output size", axes)
    return family, two_d, size, wanted


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

    Sliding windows (the families conv, pool, transpose): kernel sizes 1 .. max_kernel, strides 1 ..
    max_stride, padding 0 .. max_padding (convolutions also ``"same"`` where it pads unevenly, which no
    number can say, and its larger side fits max_padding), dilation 1 .. max_dilation (only for kernels
    of 2 or more: with kernel 1 it changes nothing), every ``output_padding`` PyTorch allows and both
    ``ceil_mode`` values. Explicit padding: each side -max_padding (cropping) .. max_padding. Upscaling: one factor 1 ..
    max_kernel. An adaptive pool: its output_size is the wanted size, one answer. 2-D kinds take ints
    (square) or ``(h, w)`` pairs and answer with pairs, one ``ceil_mode`` for both dimensions. Sorted
    simplest first (:meth:`Solution.simplicity`).

    Raises:
        InvalidLayerConfig: for an unknown kind, sizes below 1 or bounds outside 0 .. MAX_SOLVER_BOUND.
    """
    bounds = (max_kernel, max_stride, max_padding, max_dilation)
    family, two_d, size, wanted = _solver_inputs(kind, input_size, output_size, bounds)
    per_dim = [[option for option, out in family.dimension(n, bounds, t) if out == t] for n, t in zip(size, wanted)]
    solutions = [family.solution(kind, options) for options in itertools.product(*per_dim)
                 if len({family.shared(option) for option in options}) == 1]  # fmt: skip
    if family is _FAMILIES["conv"]:  # an uneven "same" (an even one is a numeric answer already)
        sames = [[(k, d) for k, d in _same_options(n, t, bounds)] for n, t in zip(size, wanted)]
        for chosen in itertools.product(*sames):
            if any(_uneven(k, d) for k, d in chosen):
                kernel, dilation = tuple(k for k, _ in chosen), tuple(d for _, d in chosen)
                solutions.append(Solution(kind, _one_or_pair(kernel), _one_or_pair((1,) * len(size)), "same",
                                          _one_or_pair(dilation), _one_or_pair((0,) * len(size))))  # fmt: skip
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
    options = [family.dimension(n, bounds, t) for n, t in zip(size, wanted)]
    candidates: set[tuple[int, ...]] = set()
    for shared in {family.shared(option) for option, _ in options[0]}:
        near_per_dim = []
        for dim_options, t in zip(options, wanted):
            reachable = sorted({out for option, out in dim_options if family.shared(option) == shared})
            near_per_dim.append(sorted(reachable, key=lambda o, t=t: (abs(o - t), o))[: max(count, 2)])
        candidates.update(itertools.product(*near_per_dim))
    ranked = sorted(candidates, key=lambda c: (sum(abs(o - t) for o, t in zip(c, wanted)), c))[:count]
    return [(c[0], c[1]) for c in ranked] if two_d else [c[0] for c in ranked]
