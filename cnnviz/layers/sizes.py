"""How layer sizes are read and refused: :class:`InvalidLayerConfig`, :class:`ParameterCount`, pairs and axes.

What every size rule of :mod:`cnnviz.layers.arithmetic` (and :mod:`cnnviz.layers.resizing`) shares; import
these names from :mod:`cnnviz.layers.arithmetic`, which re-exports them.
"""

from __future__ import annotations

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
