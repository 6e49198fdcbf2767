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
from cnnviz.layers import arithmetic, size_solver
from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.layers.code_export import pytorch_line
from cnnviz.layers.registry import IMAGE, KINDS, kind_named
from cnnviz.layers.size_solver import Solution
from cnnviz.layers.spec import LayerSpec
from cnnviz.layers.stack import output_shape

MAX_ROWS = 200  # answers listed at most (the simplest ones)
# The bounds the page offers: (lowest, highest, default) for each.
BOUND_LIMITS = {"max_kernel": (1, 15, 11), "max_stride": (1, 8, 4), "max_padding": (0, 10, 5),
                "max_dilation": (1, 4, 3)}  # fmt: skip
MAX_SIZE_2D = layer2d.MAX_INPUT  # input height / width the page takes (what the explorer can open)
MAX_LENGTH = 4096  # input length for 1-D kinds
MAX_WANTED = 4096  # largest wanted output size
# Where an answer opens: 2-D kinds in the layer explorer, 1-D kinds in the 1-D explorer (kinds they show).
EXPLORER_PATHS = {**{name: "explorer" for name in layer2d.EXPLORER_LAYERS},
                  **{name: "explorer1d" for name in layer1d.SEQUENCE_LAYERS}}  # fmt: skip


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
    return LayerSpec(solution.kind, out_channels=out_channels, **solution.changes())  # type: ignore[arg-type]


def _two_d(kind: str) -> bool:
    return kind_named(kind).input_dims == IMAGE


def explorer_link(solution: Solution, input_size: tuple[int, ...], in_channels: int, out_channels: int) -> str | None:
    """The relative URL that opens the explorer on ``solution`` (None when no explorer can show it)."""
    path = EXPLORER_PATHS.get(solution.kind)
    if path == "explorer1d":
        settings_1d = layer1d.settings_for(solution, input_size[0], out_channels)
        return None if settings_1d is None else f"/{path}?{urlencode(layer1d.to_query(settings_1d))}"
    if path is None:
        return None
    settings = layer2d.settings_for(_spec(solution, out_channels), (in_channels, input_size[0], input_size[-1]))
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
    two_d = _two_d(kind) if kind in KINDS else False  # an unknown kind: the solver says which it knows
    solutions = size_solver.solve(kind, input_size, output_size, **bounds)
    size = arithmetic.pair(input_size) if two_d else (input_size,)
    shape = (in_channels, *size)
    working, refusal = [], None
    for solution in solutions:  # the size is right; the channels may not suit it (PixelShuffle: C divisible by r^2)
        try:
            output_shape(_spec(solution, out_channels), shape)
            working.append(solution)
        except InvalidLayerConfig as error:
            refusal = error
    solutions = working
    found = len(solutions)
    if square_only:
        solutions = [s for s in solutions if _square(s)]
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
    if refusal is not None and not found:
        return SolverView(
            kind,
            (),
            0,
            (),
            f"{kind} gives {wanted} from {given}, but not on {in_channels} input "
            f"channel(s): {refusal.constraint}" + (f" Fix: {refusal.fix}" if refusal.fix else ""),
        )
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
    wanted_pair = arithmetic.pair(output_size) if two_d else (output_size,)
    larger = any(o > n for o, n in zip(wanted_pair, size))
    dims = kind_named(kind).input_dims
    if larger and size_solver.shrinks(kind):
        message += f" {kind} grows its input only by its padding; to enlarge, ask for {_families(dims, 'transpose')}."
    elif not larger and not size_solver.shrinks(kind):
        message += f" To shrink, ask for {_families(dims, 'conv', 'pool')}."
    return SolverView(kind, (), 0, nearest, message)


def _families(dims: int | None, *families: str) -> str:
    """The solver's kinds of these families for inputs of ``dims``: "Conv2d or MaxPool2d"."""
    names = [name for name in size_solver.SOLVER_KINDS
             if KINDS[name].input_dims == dims and KINDS[name].solver_family in families]  # fmt: skip
    return " or ".join(names)
