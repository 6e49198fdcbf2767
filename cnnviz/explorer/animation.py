"""Sliding-window steps for the explorer's animation: which input cells feed which output cell.

The grid is what the layer really slides over: the input with its padding;
for ``ConvTranspose2d`` the equivalent ordinary convolution's grid, with
``stride - 1`` zeros inserted between input pixels and ``dilation * (kernel -
1) - padding`` rows of implied padding around them (plus ``output_padding`` at
the bottom and right). Each :class:`Step` lists the grid cells one output cell
reads. Inputs larger than :data:`MAX_CELLS` are shown as their top-left
corner.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cnnviz.explorer.layer2d import ExplorerSettings, LayerReport
from cnnviz.layers.arithmetic import effective_kernel_size, upsample_sources  # noqa: F401 (where tests ask)
from cnnviz.layers.registry import GATHER, NO_WINDOW, TRANSPOSED, kind_named, stride_of

MAX_CELLS = 32  # input rows / columns drawn cell by cell; larger inputs show this corner
TICKS = 12  # at most this many numbered rows / columns per axis
MAX_TAP_MARKERS = 40_000  # tap markers over all frames (dilated kernels); beyond, fewer outputs are animated

# Cell kinds of the grid.
PADDING, INPUT, INSERTED, UNREAD, BEYOND = 0, 1, 2, 3, 4
# Cell colours (colour-blind safe: grey / light blue / cream / orange / lilac) and what each kind is.
KIND_COLOURS = {PADDING: "#e6e6e6", INPUT: "#c6dbef", INSERTED: "#fff3c4", UNREAD: "#f4a261", BEYOND: "#e7d4f0"}
TAP_COLOUR, OUTPUT_COLOUR = "#08306b", "#d95f02"
KIND_NAMES = {
    PADDING: "padding (zeros)",
    INPUT: "input pixel",
    INSERTED: "inserted zero",
    UNREAD: "never read (left over by the floor)",
    BEYOND: "beyond the edge (ceil_mode: ignored)",
}


@dataclass(frozen=True)
class Step:
    """One output cell and the grid cells it reads: every (row, column) pair of ``rows`` x ``cols``."""

    out_row: int  # output row
    out_col: int  # output column
    rows: tuple[int, ...]  # grid rows of the kernel taps, increasing
    cols: tuple[int, ...]  # grid columns of the kernel taps, increasing

    @property
    def taps(self) -> list[tuple[int, int]]:
        """(grid row, grid column) of every tap, in raster order."""
        return [(r, c) for r in self.rows for c in self.cols]


@dataclass(frozen=True)
class SlidingWindow:
    """Everything the animation draws."""

    grid: np.ndarray  # (R, C) int8 cell kinds (PADDING, INPUT, INSERTED, UNREAD, BEYOND)
    input_origin: tuple[int, int]  # grid (row, column) of input pixel (0, 0) (may be negative: cropped)
    input_step: tuple[int, int]  # grid cells between neighbouring input pixels (ConvTranspose2d: the stride)
    output_shown: tuple[int, int]  # output rows / columns animated
    output_full: tuple[int, int]  # the layer's whole output (H, W)
    steps: list[Step]  # in raster order
    contiguous: bool  # taps fill their bounding box (no dilation gaps): draw a box, not dots
    caption: str  # what the picture shows, including any cropping


def no_window(settings: ExplorerSettings) -> str | None:
    """Why the explored layer has no animation (it slides no window and gathers nothing), or None."""
    kind = kind_named(settings.layer)
    if kind.geometry != NO_WINDOW:
        return None
    return kind.window_text(settings.spec()) if kind.window_text else f"{kind.name} slides no window."


def sliding_window(settings: ExplorerSettings, report: LayerReport, max_cells: int = MAX_CELLS) -> SlidingWindow:
    """The steps of the explored layer (``report`` proves the settings are valid; :func:`no_window` says None).

    Args:
        settings: the layer.
        report: :func:`cnnviz.explorer.analyze` of the same settings.
        max_cells: input rows / columns drawn at most (a larger input shows its top-left corner).
    """
    spec = settings.spec()
    size = (settings.height, settings.width)
    out_full = report.output_shape[2:]
    kind = kind_named(settings.layer)  # the registry says how the kind is drawn
    if kind.geometry == NO_WINDOW:
        raise ValueError(f"{kind.name} has no window to animate: {no_window(settings)}")
    if kind.geometry == GATHER:
        return _gathered(settings, size, out_full, max_cells)
    if kind.geometry == TRANSPOSED:
        kernel, dilation, stride = spec.kernel_size, spec.dilation, (1, 1)
        implied = tuple(d * (k - 1) - p for d, k, p in zip(dilation, kernel, _numeric(spec.padding)))
        step = stride_of(spec)
        extent = [(n - 1) * s + 1 + 2 * q + op for n, s, q, op in zip(size, step, implied, spec.output_padding)]
        origin = implied
        leftover = (0, 0)
    else:
        kernel, stride = spec.kernel_size, stride_of(spec)
        dilation = spec.dilation if kind.sets("dilation") else (1, 1)
        pads = report.padding
        extent = [n + p0 + p1 for n, (p0, p1) in zip(size, pads)]
        if kind.sets("ceil_mode") and spec.ceil_mode:
            # ceil_mode keeps a last window that hangs over the edge: draw the cells it would cover.
            spans_ = [effective_kernel_size(k, d) for k, d in zip(kernel, dilation)]
            edge = list(extent)
            extent = [max(e, (o - 1) * s + sp) for e, o, s, sp in zip(extent, out_full, stride, spans_)]
        origin = (pads[0][0], pads[1][0])
        step = (1, 1)
        leftover = report.leftover or (0, 0)
    # Crop to the top-left corner: at most max_cells input pixels per dimension.
    shown, cropped = [], []
    for dim in range(2):
        last_input = origin[dim] + (min(size[dim], max_cells) - 1) * step[dim]  # grid index of the last shown pixel
        if size[dim] > max_cells:
            shown.append(max(0, min(extent[dim], last_input + 1)))
            cropped.append(True)
        else:
            shown.append(extent[dim])
            cropped.append(False)
    spans = [effective_kernel_size(k, d) for k, d in zip(kernel, dilation)]
    counts = [max(0, (r - sp) // s + 1) if r >= sp else 0 for r, sp, s in zip(shown, spans, stride)]
    counts = [min(c, o, max_cells) for c, o in zip(counts, out_full)]
    taps_per_step = kernel[0] * kernel[1]
    contiguous = dilation == (1, 1)
    if not contiguous:
        counts = _fit_markers(counts, taps_per_step)
    for dim in range(2):  # draw only the rows / columns the animated windows reach, plus what is left over
        needed = (counts[dim] - 1) * stride[dim] + spans[dim] if counts[dim] else shown[dim]
        if counts[dim] < out_full[dim] and needed < shown[dim] - leftover[dim]:
            shown[dim], cropped[dim] = needed, True
    grid = _grid(shown, size, origin, step, pads_kinds=kind.geometry == TRANSPOSED)
    if kind.sets("ceil_mode") and spec.ceil_mode:
        grid[edge[0] :, :] = BEYOND
        grid[:, edge[1] :] = BEYOND
    for dim, (left, crop) in enumerate(zip(leftover, cropped)):
        if left and not crop:
            index = [slice(None), slice(None)]
            index[dim] = slice(shown[dim] - left, shown[dim])
            grid[tuple(index)] = UNREAD
    steps = [
        Step(i, j, _taps(i * stride[0], kernel[0], dilation[0]), _taps(j * stride[1], kernel[1], dilation[1]))
        for i in range(counts[0])
        for j in range(counts[1])
    ]
    caption = _caption(settings, size, counts, out_full, max_cells)
    return SlidingWindow(grid, tuple(origin), tuple(step), tuple(counts), tuple(out_full), steps, contiguous, caption)


def _numeric(padding: tuple[int, int] | str) -> tuple[int, int]:
    return (0, 0) if isinstance(padding, str) else padding


def _fit_markers(counts: list[int], taps: int) -> list[int]:
    """Shrink the animated output corner until all frames' tap markers fit MAX_TAP_MARKERS."""
    rows, cols = counts
    while rows * cols * taps > MAX_TAP_MARKERS and max(rows, cols) > 1:
        rows, cols = max(1, rows - 1), max(1, cols - 1)
    return [rows, cols]


def _grid(shown: list[int], size: tuple[int, int], origin, step, pads_kinds: bool) -> np.ndarray:
    """Cell kinds: input pixels at ``origin + i * step``, inserted zeros between them, padding around."""
    grid = np.full(shown, PADDING, dtype=np.int8)
    masks = []
    for dim in range(2):
        index = np.arange(shown[dim]) - origin[dim]
        inside = (index >= 0) & (index <= (size[dim] - 1) * step[dim])
        on_pixel = inside & (index % step[dim] == 0)
        masks.append((inside, on_pixel))
    (in_r, px_r), (in_c, px_c) = masks
    if pads_kinds:
        grid[np.ix_(in_r, in_c)] = INSERTED
    grid[np.ix_(px_r, px_c)] = INPUT
    return grid


def _taps(start: int, kernel: int, dilation: int) -> tuple[int, ...]:
    return tuple(range(start, start + dilation * (kernel - 1) + 1, dilation))


def _caption(settings: ExplorerSettings, size, counts, out_full, max_cells: int) -> str:
    kind = kind_named(settings.layer)
    if kind.geometry == TRANSPOSED:
        text = (
            f"{kind.name} drawn as the equivalent ordinary convolution (stride 1, kernel flipped): "
            f"the {size[0]} x {size[1]} input with stride − 1 = {settings.stride[0] - 1}"
            + (f" x {settings.stride[1] - 1}" if settings.stride[0] != settings.stride[1] else "")
            + " zeros inserted between pixels and dilation × (kernel − 1) − padding rows of implied padding."
        )
    elif not kind.has_weights:  # a pool
        text = f"{kind.name} window sliding over the padded {size[0]} x {size[1]} input."
    else:
        text = f"The kernel sliding over the padded {size[0]} x {size[1]} input."
    if max(size) > max_cells:
        text += f" The input is larger than {max_cells} x {max_cells}, so only its top-left corner is drawn."
    if not counts[0] or not counts[1]:
        text += " No window fits in the corner drawn; the shapes above are still exact."
    elif tuple(counts) != tuple(out_full):
        text += (
            f" The animation covers the first {counts[0]} x {counts[1]} of the {out_full[0]} x {out_full[1]} "
            "output cells."
        )
    return text


def _gathered(settings: ExplorerSettings, size, out_full, max_cells: int) -> SlidingWindow:
    """Each output cell reads its own input cells per axis (the kind's sources): resampled, or uneven windows."""
    spec = settings.spec()
    kind = kind_named(settings.layer)
    shown_in = [min(n, max_cells) for n in size]
    counts = [min(o, max_cells) for o in out_full]
    sources = [kind.sources(spec, axis, n, o)[:c] for axis, (n, o, c) in enumerate(zip(size, out_full, counts))]  # type: ignore[misc]
    for dim in range(2):  # keep only output cells whose sources lie in the shown input
        while counts[dim] and max(sources[dim][counts[dim] - 1]) >= shown_in[dim]:
            counts[dim] -= 1
    steps = [Step(i, j, sources[0][i], sources[1][j]) for i in range(counts[0]) for j in range(counts[1])]
    contiguous = all(t == tuple(range(t[0], t[-1] + 1)) for axis in sources for t in axis)
    grid = np.full(shown_in, INPUT, dtype=np.int8)
    cropped = any(n > max_cells for n in size) or tuple(counts) != tuple(out_full)
    text = kind.window_text(spec) if kind.window_text else f"{kind.name}: each output cell reads its own input cells."
    if cropped:
        text += f" Shown: the top-left {counts[0]} x {counts[1]} of {out_full[0]} x {out_full[1]} output cells."
    return SlidingWindow(grid, (0, 0), (1, 1), tuple(counts), tuple(out_full), steps, contiguous, text)


@dataclass(frozen=True)
class AnimationPayload:
    """What ``widgets/sliding_window.js`` animates in the browser, for one window.

    Steps are separable (output cell ``(i, j)`` reads grid rows ``row_taps[i]`` x columns ``col_taps[j]``),
    so a few hundred bytes describe every frame.
    """

    grid: str  # one digit (cell kind) per grid cell, row by row
    rows: int  # grid rows
    cols: int  # grid columns
    row_taps: tuple[tuple[int, ...], ...]  # per animated output row: the grid rows it reads
    col_taps: tuple[tuple[int, ...], ...]  # per animated output column: the grid columns it reads
    output_full: tuple[int, int]  # the layer's whole output (H, W)
    contiguous: bool  # taps fill their bounding box: a box, not dots
    row_ticks: tuple[tuple[int, int], ...]  # (grid row, input row number) of the numbered rows
    col_ticks: tuple[tuple[int, int], ...]  # (grid column, input column number) of the numbered columns
    kinds: tuple[int, ...]  # the cell kinds the grid holds (its legend)
    frame_ms: int  # milliseconds per step when playing

    def as_json(self) -> dict[str, object]:
        """The component's data: these fields, the legend and the colours, as JSON types."""
        return {
            "grid": self.grid, "rows": self.rows, "cols": self.cols,
            "row_taps": [list(t) for t in self.row_taps], "col_taps": [list(t) for t in self.col_taps],
            "output_full": list(self.output_full), "contiguous": self.contiguous,
            "row_ticks": [list(t) for t in self.row_ticks], "col_ticks": [list(t) for t in self.col_ticks],
            "colours": {str(k): KIND_COLOURS[k] for k in KIND_COLOURS},
            "legend": [[KIND_COLOURS[k], KIND_NAMES[k]] for k in self.kinds],
            "tap_colour": TAP_COLOUR, "output_colour": OUTPUT_COLOUR, "frame_ms": self.frame_ms,
        }  # fmt: skip


def payload(window: SlidingWindow, frame_ms: int = 250) -> AnimationPayload:
    """The description ``widgets/sliding_window.js`` animates in the browser.

    Args:
        window: from :func:`sliding_window`.
        frame_ms: milliseconds per step when playing.
    """
    out_rows, out_cols = window.output_shown
    by_cell = {(s.out_row, s.out_col): s for s in window.steps}
    has_input = (window.grid == INPUT) | (window.grid == UNREAD)  # (R, C) cells holding input pixels
    return AnimationPayload(
        grid="".join(str(int(k)) for k in window.grid.ravel()),
        rows=int(window.grid.shape[0]),
        cols=int(window.grid.shape[1]),
        row_taps=tuple(by_cell[(i, 0)].rows for i in range(out_rows) if (i, 0) in by_cell),
        col_taps=tuple(by_cell[(0, j)].cols for j in range(out_cols) if (0, j) in by_cell),
        output_full=(int(window.output_full[0]), int(window.output_full[1])),
        contiguous=bool(window.contiguous),
        row_ticks=_ticks(has_input.any(axis=1), window.input_origin[0], window.input_step[0]),
        col_ticks=_ticks(has_input.any(axis=0), window.input_origin[1], window.input_step[1]),
        kinds=tuple(sorted(int(k) for k in np.unique(window.grid))),
        frame_ms=frame_ms,
    )


def _ticks(is_input: np.ndarray, origin: int, step: int) -> tuple[tuple[int, int], ...]:
    """``((grid index, input pixel number), ...)``: at most TICKS numbered rows (or columns).

    Args:
        is_input: per grid row (or column), whether it holds input pixels.
        origin: grid index of input pixel 0.
        step: grid cells between neighbouring input pixels.
    """
    positions = [int(p) for p in np.flatnonzero(is_input) if (p - origin) % step == 0]
    if len(positions) > TICKS:
        positions = positions[:: math.ceil(len(positions) / TICKS)]
    return tuple((p, (p - origin) // step) for p in positions)
