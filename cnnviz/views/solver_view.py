"""What the "Which layer gives this size?" page shows, computed without Streamlit.

:func:`build` asks :func:`cnnviz.layers.size_solver.solve` for every configuration
within the bounds, and turns each into a row: its options, its PyTorch line
(from the registry) and a link that opens the explorer on it. With no
answer it explains why, with the nearest sizes that are reachable.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from cnnviz.explorer import layer1d, layer2d
from cnnviz.explorer.layer2d import ExplorerSettings
from cnnviz.layers import arithmetic, size_solver
from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.layers.code_export import pytorch_line
from cnnviz.layers.registry import stride_of
from cnnviz.layers.size_solver import Solution
from cnnviz.layers.spec import LayerSpec

MAX_ROWS = 200  # answers listed at most (the simplest ones)
# The bounds the page offers: (lowest, highest, default) for each.
BOUND_LIMITS = {"max_kernel": (1, 15, 11), "max_stride": (1, 8, 4), "max_padding": (0, 10, 5),
                "max_dilation": (1, 4, 3)}  # fmt: skip
MAX_SIZE_2D = layer2d.MAX_INPUT  # input height / width the page takes (what the explorer can open)
MAX_LENGTH = 4096  # input length for 1-D kinds
MAX_WANTED = 4096  # largest wanted output size
# Where an answer opens: 2-D kinds in the layer explorer, 1-D kinds in the 1-D explorer.
EXPLORER_PATHS = {"Conv2d": "explorer", "MaxPool2d": "explorer", "ConvTranspose2d": "explorer",
                  "Conv1d": "explorer1d", "MaxPool1d": "explorer1d", "ConvTranspose1d": "explorer1d"}  # fmt: skip


@dataclass(frozen=True)
class SolverRow:
    """One answer, as the page lists it."""

    options: str  # "kernel_size=3, stride=2, padding=1" (PyTorch's defaults left out)
    pytorch: str  # the constructor call with the channels filled in
    link: str | None  # relative URL that opens the explorer on it (None: no explorer for this kind)


@dataclass(frozen=True)
class SolverView:
    """Everything the page shows for one question."""

    kind: str  # the layer asked about
    rows: tuple[SolverRow, ...]  # at most MAX_ROWS, simplest first
    total: int  # answers found (rows may list fewer)
    nearest: tuple[int | tuple[int, int], ...]  # reachable sizes closest to the wanted one (when total == 0)
    message: str  # one sentence: how many answers, or why there is none


def _spec(solution: Solution, out_channels: int) -> LayerSpec:
    return LayerSpec(
        solution.kind, out_channels=out_channels, kernel_size=solution.kernel_size, stride=solution.stride,
        padding=solution.padding, dilation=solution.dilation, output_padding=solution.output_padding,
        ceil_mode=solution.ceil_mode,
    )  # type: ignore[arg-type]  # fmt: skip


def explorer_link(solution: Solution, input_size: tuple[int, ...], in_channels: int, out_channels: int) -> str | None:
    """The relative URL that opens the explorer on ``solution`` (None when no explorer can show it)."""
    path = EXPLORER_PATHS.get(solution.kind)
    if path == "explorer1d":
        settings_1d = layer1d.settings_for(solution, input_size[0], out_channels)
        return None if settings_1d is None else f"/{path}?{urlencode(layer1d.to_query(settings_1d))}"
    if path is None:
        return None
    spec = _spec(solution, out_channels)
    settings = ExplorerSettings(
        layer=solution.kind, in_channels=in_channels, height=input_size[0], width=input_size[-1],
        out_channels=out_channels, groups=1, kernel=spec.kernel_size, stride=stride_of(spec),
        padding=spec.padding, dilation=spec.dilation, ceil_mode=spec.ceil_mode, output_padding=spec.output_padding,
    )  # fmt: skip
    return f"/{path}?{urlencode(layer2d.to_query(settings))}"


def _square(solution: Solution) -> bool:
    values = (solution.kernel_size, solution.stride, solution.padding, solution.dilation, solution.output_padding)
    return all(not isinstance(v, tuple) or v[0] == v[1] for v in values)


def _show_size(size: int | tuple[int, int]) -> str:
    return str(size) if isinstance(size, int) else f"{size[0]} x {size[1]}"


def build(
    kind: str,
    input_size: int | tuple[int, int],
    output_size: int | tuple[int, int],
    in_channels: int = 1,
    out_channels: int = 8,
    square_only: bool = False,
    **bounds: int,
) -> SolverView:
    """The answers to "which ``kind`` turns ``input_size`` into ``output_size``?" within ``bounds``.

    ``square_only`` keeps the 2-D answers that use one number for height and
    width in every option (what most networks use; the count says how many
    there are in all).

    Raises:
        InvalidLayerConfig: for sizes or bounds the solver refuses (the message says which).
    """
    for name, value in bounds.items():
        low, high, _ = BOUND_LIMITS[name]
        if not low <= value <= high:
            raise InvalidLayerConfig(f"{name} must be between {low} and {high} here, got {value}.")
    solutions = size_solver.solve(kind, input_size, output_size, **bounds)
    found = len(solutions)
    if square_only:
        solutions = [s for s in solutions if _square(s)]
    size = arithmetic.pair(input_size) if kind.endswith("2d") else (input_size,)
    shape = (in_channels, *size)
    rows = []
    for solution in solutions[:MAX_ROWS]:
        options = ", ".join(
            f"{name}={value!r}" if isinstance(value, str) else f"{name}={value}"
            for name, value in solution.options().items()
        )
        rows.append(SolverRow(options, pytorch_line(_spec(solution, out_channels), shape),
                              explorer_link(solution, size, in_channels, out_channels)))  # fmt: skip
    limits = ", ".join(f"{name} {value}" for name, value in bounds.items())
    wanted, given = _show_size(output_size), _show_size(input_size)
    if solutions:
        shown = "" if len(solutions) <= MAX_ROWS else f"; the {MAX_ROWS} simplest are listed"
        square = f" ({len(solutions)} of them square)" if square_only else ""
        message = f"{found} configurations of {kind} turn {given} into {wanted}{square}{shown}."
        return SolverView(kind, tuple(rows), len(solutions), (), message)
    if found:
        message = (f"{found} configurations of {kind} turn {given} into {wanted}, but none uses one number for "
                   "height and width: allow rectangular ones to see them.")  # fmt: skip
        return SolverView(kind, (), 0, (), message)
    nearest = tuple(size_solver.nearest_sizes(kind, input_size, output_size, **bounds))
    message = (
        f"No configuration of {kind} within these bounds ({limits or 'the defaults'}) turns {given} into "
        f"{wanted}. The nearest sizes it can reach from {given} are "
        f"{', '.join(_show_size(n) for n in nearest)}."
    )
    wanted_pair = arithmetic.pair(output_size) if kind.endswith("2d") else (output_size,)
    larger = any(o > n for o, n in zip(wanted_pair, size))
    if larger and "Transpose" not in kind:
        message += (f" {kind} grows its input only by its padding; to enlarge, ask for "
                    f"ConvTranspose{kind[-2:]}.")  # fmt: skip
    elif not larger and "Transpose" in kind:
        message += f" To shrink, ask for Conv{kind[-2:]} or MaxPool{kind[-2:]}."
    return SolverView(kind, (), 0, nearest, message)
