"""How the receptive field grows, layer by layer: one box per layer over the input, as a small SVG.

The network builder follows one output cell per layer and draws the input
region it reads (Araujo, Norris and Sim, Distill 2019: cell ``y`` of a stack
with field size ``r``, effective stride ``S`` and effective padding ``P`` reads
``[y*S - P, y*S - P + r - 1]``, :func:`cnnviz.layers.receptive_field.axis_region`). Which
cell: either cell 0 of every layer (the table's "first cell reads" column,
where the padding shows best), or at every layer the cell whose field is
centred closest to one input pixel (the field growing around a point).

Layers that move no pixel (ReLU, BatchNorm, Dropout) keep the field of the
layer before and share its box. Past an upsampling layer, or a flattening one,
an output cell's input is no longer one box: those layers get a note instead.

The picture is an SVG string (a few kB; the page shows it with ``st.image``: ``st.html`` sanitises SVG away),
drawn with the Okabe-Ito colours (colour-blind safe) and, past seven boxes,
dashed outlines as well, so no two boxes differ by colour alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from cnnviz.layers.receptive_field import axis_region
from cnnviz.layers.stack import StackReport
from cnnviz.views.palette import OKABE_ITO, YELLOW

BOX_COLOURS = tuple(colour for colour in OKABE_ITO if colour != YELLOW)  # yellow boxes vanish on the white input
BOX_DASHES = ("", "9 5", "3 4")  # after every colour has been used once, the outlines are dashed
GRID_LINES_UP_TO = 40  # input sides up to this many pixels get a line per pixel (more would be a grey blur)
PICTURE_PX = 360  # the longest side of the drawn input and its padding
ROW_PX = 26  # one legend line (2-D) or one bar's lane (1-D)
MIN_MARK_PX = 2.0  # the narrowest box, bar or pixel mark drawn (a field on a large input)
CHARACTER_PX = 8.2  # a generous width of one character of the 15 px legend text


@dataclass(frozen=True)
class GrowthStep:
    """One box: the input region the followed cell of a layer reads."""

    layers: tuple[int, ...]  # table rows (from 1) sharing this box: the first made it, the rest keep it
    kind: str  # the layer kind of the first of them (cell, size and stride below are its too)
    cell: tuple[int, ...]  # the followed output cell of that layer: (row, col) or (position,)
    size: tuple[int, ...]  # field size r per axis
    stride: tuple[int, ...]  # effective stride S per axis: input pixels between neighbouring cells
    region: tuple[tuple[int, int], ...]  # per axis the inclusive (first, last) input index, unclipped
    clipped: tuple[tuple[int, int], ...]  # the same, inside the input

    @property
    def reaches_padding(self) -> bool:
        """True when part of the region lies outside the input (the layer reads zeros there)."""
        return self.region != self.clipped

    @property
    def label(self) -> str:
        """``"4 MaxPool2d: 6 x 6"`` (with the rows that keep the field, ``"1-2 Conv2d: 3 x 3"``)."""
        rows = str(self.layers[0]) if len(self.layers) == 1 else f"{self.layers[0]}-{self.layers[-1]}"
        return f"{rows} {self.kind}: {' x '.join(map(str, self.size))}"


@dataclass(frozen=True)
class FieldGrowth:
    """The boxes of one stack, from the first layer on, and why later layers have none."""

    input_size: tuple[int, ...]  # (H, W) of an image or (L,) of a sequence
    over: tuple[int, ...] | None  # the input pixel the followed cells sit over; None: cell 0 of every layer
    steps: tuple[GrowthStep, ...]  # in layer order; sizes never shrink
    notes: tuple[str, ...]  # layers without a box and why, in words

    @property
    def extent(self) -> tuple[tuple[int, int], ...]:
        """Per axis the inclusive range the picture covers: the input and every box (padding included)."""
        ranges = []
        for axis, size in enumerate(self.input_size):
            starts = [0, *(step.region[axis][0] for step in self.steps)]
            ends = [size - 1, *(step.region[axis][1] for step in self.steps)]
            ranges.append((min(starts), max(ends)))
        return tuple(ranges)


def _cell_over(pixel: int, start0: int, size: int, stride: int, cells: int) -> int:
    """The output index whose field is centred closest to input ``pixel`` (``start0``: cell 0's first input)."""
    centre0 = start0 + (size - 1) / 2
    return min(cells - 1, max(0, math.floor((pixel - centre0) / stride + 0.5)))


def field_growth(report: StackReport, over: Sequence[int] | None = None) -> FieldGrowth:
    """The followed cell's input region after each layer of an evaluated stack.

    Args:
        report: ``cnnviz.layers.stack.evaluate_stack(specs, input_shape)``, of ``(C, H, W)`` or ``(C, L)``.
        over: an input pixel ``(row, col)`` (or ``(position,)``): follow, at every layer, the cell whose
            field is centred closest to it. None: follow cell 0 (what the table's "first cell reads" shows).

    Raises:
        ValueError: ``over`` has the wrong number of values or lies outside the input.
    """
    input_size = tuple(int(n) for n in report.input_shape[1:])
    if over is not None:
        over = tuple(int(v) for v in over)
        if len(over) != len(input_size) or not all(0 <= v < n for v, n in zip(over, input_size)):
            raise ValueError(f"the pixel {over} is not inside the input {' x '.join(map(str, input_size))}.")
    steps: list[GrowthStep] = []
    notes: list[str] = []
    for number, row in enumerate(report.rows, start=1):
        if row.error is not None:
            notes.append(f"Layer {number} ({row.spec.kind}) cannot work, so it and the layers after it get no box.")
            break
        out = row.output_shape
        if out is not None and len(out) != len(row.input_shape):
            notes.append(f"Layer {number} ({row.spec.kind}) and the layers after it get no box: every output of a "
                         "flat layer reads the whole input.")  # fmt: skip
            break
        if row.field is None:
            notes.append(f"Layer {number} ({row.spec.kind}) and the layers after it get no box: past an upsampling "
                         "layer one cell reads several overlapping windows, not one box.")  # fmt: skip
            break
        field, cells = row.field, tuple(int(n) for n in out[1:])
        if not field.exact and (number == 1 or report.rows[number - 2].field.exact):
            notes.append(f"Layer {number} ({row.spec.kind}) reads windows of uneven size: its box, and the "
                         "boxes after it, use its largest window and a whole stride, so a cell may read a "
                         "little less.")  # fmt: skip
        cell, regions = [], []
        for axis, size in enumerate(input_size):
            first = axis_region(field, axis, 0, size)
            index = 0
            if over is not None:
                index = _cell_over(over[axis], first.start, field.size[axis], field.jump[axis], cells[axis])
            cell.append(index)
            regions.append(axis_region(field, axis, index, size))
        region = tuple((r.start, r.end) for r in regions)
        if steps and steps[-1].region == region:  # the same box (a ReLU, or a 1 x 1 layer): one outline
            previous = steps[-1]
            steps[-1] = GrowthStep((*previous.layers, number), previous.kind, previous.cell, previous.size,
                                   previous.stride, previous.region, previous.clipped)  # fmt: skip
            continue
        steps.append(
            GrowthStep(
                layers=(number,),
                kind=row.spec.kind,
                cell=tuple(cell),
                size=tuple(field.size[: len(input_size)]),
                stride=tuple(field.jump[: len(input_size)]),
                region=region,
                clipped=tuple(r.clipped for r in regions),
            )
        )
    return FieldGrowth(input_size, over, tuple(steps), tuple(notes))


# --- the picture ------------------------------------------------------------------------------------------------------


def _style(index: int) -> tuple[str, str]:
    return BOX_COLOURS[index % len(BOX_COLOURS)], BOX_DASHES[(index // len(BOX_COLOURS)) % len(BOX_DASHES)]


def _title(growth: FieldGrowth) -> str:
    if growth.over is None:
        return "What the first cell of each layer reads"
    where = ", ".join(map(str, growth.over))
    return f"What the cell over input {'pixel' if len(growth.over) == 2 else 'position'} ({where}) reads"


_DEFS = (
    '<defs><pattern id="fg-pad" width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">'
    '<rect width="8" height="8" fill="#ffffff"/><line x1="0" y1="0" x2="0" y2="8" stroke="#c8c8c8" stroke-width="3"/>'
    "</pattern></defs>"
)


def _text(x: float, y: float, text: str, size: int = 15, anchor: str = "start", weight: str = "normal",
          fill: str = "#222") -> str:  # fmt: skip
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" font-weight="{weight}" '
            f'fill="{fill}">{escape(text)}</text>')  # fmt: skip


def _legend_item(x: float, y: float, index: int, text: str) -> str:
    colour, dash = _style(index)
    return (f'<line x1="{x}" y1="{y - 5}" x2="{x + 26}" y2="{y - 5}" stroke="{colour}" stroke-width="4" '
            f'stroke-dasharray="{dash}"/>' + _text(x + 34, y, text))  # fmt: skip


def _step_text(step: GrowthStep) -> str:
    return step.label + (" (reads padding)" if step.reaches_padding else "")


def growth_svg(growth: FieldGrowth) -> str:
    """The picture: the input (grey, a line per pixel when small), the padding (hatched), one box per step."""
    return _svg_2d(growth) if len(growth.input_size) == 2 else _svg_1d(growth)


def _svg_2d(growth: FieldGrowth) -> str:
    (top, bottom), (left, right) = growth.extent
    rows, cols = bottom - top + 1, right - left + 1
    unit = PICTURE_PX / max(rows, cols)
    x0, y0 = 20.0, 44.0  # the picture's corner (the title above it)
    legend_x = x0 + cols * unit + 36

    def px(col: float) -> float:
        return x0 + (col - left) * unit

    def py(row: float) -> float:
        return y0 + (row - top) * unit

    height, width = growth.input_size
    parts = [_DEFS, _text(4, 22, _title(growth), size=18, weight="600")]
    parts.append(f'<rect x="{x0}" y="{y0}" width="{cols * unit:.1f}" height="{rows * unit:.1f}" fill="url(#fg-pad)"/>')
    parts.append(f'<rect x="{px(0):.1f}" y="{py(0):.1f}" width="{width * unit:.1f}" height="{height * unit:.1f}" '
                 'fill="#e9e9e9" stroke="#555" stroke-width="1.5"><title>the input</title></rect>')  # fmt: skip
    if max(height, width) <= GRID_LINES_UP_TO:
        lines = [f"M{px(c):.1f} {py(0):.1f}V{py(height):.1f}" for c in range(1, width)]
        lines += [f"M{px(0):.1f} {py(r):.1f}H{px(width):.1f}" for r in range(1, height)]
        parts.append(f'<path d="{"".join(lines)}" stroke="#ffffff" stroke-width="1"/>')
    if growth.over is not None:
        r, c = growth.over
        mark = max(unit, MIN_MARK_PX)
        parts.append(f'<rect x="{px(c):.1f}" y="{py(r):.1f}" width="{mark:.1f}" height="{mark:.1f}" fill="#222">'
                     f"<title>input pixel ({r}, {c})</title></rect>")  # fmt: skip
    for index, step in enumerate(growth.steps):
        colour, dash = _style(index)
        (r0, r1), (c0, c1) = step.region
        inset = min(unit / 2, 1.5 + 0.8 * (index % 3))  # boxes sharing an edge stay visible side by side
        # On a large input a small field is under a pixel of the picture: drawn at least 2 px wide.
        box_width = max(MIN_MARK_PX, (c1 - c0 + 1) * unit - 2 * inset)
        box_height = max(MIN_MARK_PX, (r1 - r0 + 1) * unit - 2 * inset)
        parts.append(
            f'<rect x="{px(c0) + inset:.1f}" y="{py(r0) + inset:.1f}" width="{box_width:.1f}" '
            f'height="{box_height:.1f}" fill="none" stroke="{colour}" stroke-width="3" '
            f'stroke-dasharray="{dash}" class="fg-box"><title>{escape(_step_text(step))}: rows {r0} to {r1}, '
            f"columns {c0} to {c1}</title></rect>"
        )
        parts.append(_text(px(c1 + 1) - inset - 3, py(r1 + 1) - inset - 4, str(step.layers[0]), size=13,
                           anchor="end", weight="700", fill=colour))  # fmt: skip
    lines = [f"input {height} x {width} (grey)", "padding: zeros (hatched)"]
    y = y0 + 14
    for text in lines:
        parts.append(_text(legend_x, y, text, fill="#444"))
        y += ROW_PX
    for index, step in enumerate(growth.steps):
        parts.append(_legend_item(legend_x, y, index, _step_text(step)))
        y += ROW_PX
    total_height = max(y0 + rows * unit + 16, y + 4)
    longest = max([len(text) for text in lines] + [len(_step_text(step)) + 5 for step in growth.steps])
    return _svg(legend_x + CHARACTER_PX * longest, total_height, parts)


def _svg_1d(growth: FieldGrowth) -> str:
    ((lo, hi),) = growth.extent
    (length,) = growth.input_size
    unit = 560 / (hi - lo + 1)
    x0 = 20.0

    def px(position: float) -> float:
        return x0 + (position - lo) * unit

    parts = [_DEFS, _text(4, 22, _title(growth), size=18, weight="600")]
    y = 40.0
    parts.append(f'<rect x="{px(lo):.1f}" y="{y}" width="{(hi - lo + 1) * unit:.1f}" height="16" fill="url(#fg-pad)"/>')
    parts.append(f'<rect x="{px(0):.1f}" y="{y}" width="{length * unit:.1f}" height="16" fill="#e9e9e9" '
                 'stroke="#555"><title>the input</title></rect>')  # fmt: skip
    if growth.over is not None:
        parts.append(f'<rect x="{px(growth.over[0]):.1f}" y="{y}" width="{max(unit, MIN_MARK_PX):.1f}" height="16" '
                     'fill="#222"/>')  # fmt: skip
    parts.append(_text(px(0), y + 34, "0", size=13, anchor="middle", fill="#444"))
    parts.append(_text(px(length - 1) + unit, y + 34, str(length - 1), size=13, anchor="middle", fill="#444"))
    parts.append(_text(x0 + 580, y + 13, f"input, {length} positions (padding hatched)", fill="#444"))
    y += 48
    for index, step in enumerate(growth.steps):
        colour, dash = _style(index)
        ((start, end),) = step.region
        parts.append(
            f'<line x1="{px(start):.1f}" y1="{y}" x2="{max(px(end + 1), px(start) + MIN_MARK_PX):.1f}" y2="{y}" '
            f'stroke="{colour}" stroke-width="8" '
            f'stroke-dasharray="{dash}" class="fg-box"><title>{escape(_step_text(step))}: positions {start} to {end}'
            "</title></line>"
        )
        parts.append(_text(x0 + 580, y + 5, _step_text(step)))
        y += ROW_PX
    longest = max([42] + [len(_step_text(step)) for step in growth.steps])
    return _svg(x0 + 580 + CHARACTER_PX * longest, y, parts)


def _svg(width: float, height: float, parts: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="How the receptive field grows" '
        f'class="fg-picture" font-family="Helvetica, Arial, sans-serif">'  # an <img> cannot use the page's fonts
        + "".join(parts)
        + "</svg>"
    )
