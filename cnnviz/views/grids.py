"""Feature-map grids as compact data that the browser colours and lays out itself.

A grid of 16-32 plotly heatmaps kept Chromium's main thread busy for half a
second per update and cost the server 15-20 ms to build and serialise. Here a
grid is the maps quantised to one byte per value (0-255 over each panel's
colour range) and packed into one greyscale PNG, plus a title, a label and a
range per panel: a 16 x 28 x 28 grid is a few kilobytes and a millisecond of
server time. The browser side (``widgets/map_grid.js``) paints each panel
through the colormap's lookup table, prints the labels and the colour bar, and
shows a value on hover (read back from the byte: within 1/255 of the panel's
range) and a channel enlarged on click, without asking the server.

Colours follow :mod:`cnnviz.views.palette`: viridis for maps without negative values,
blue-white-red centred on zero for signed ones, greys for pictures of digits;
each panel over its own range.
"""

from __future__ import annotations

import base64
import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image

from cnnviz.views.palette import (
    DIVERGING,
    GREYS,
    SEQUENTIAL,
    block_mean,
    color_range,
    format_value,
    quantize,
    range_from_extremes,
)

COLORMAPS = (SEQUENTIAL, DIVERGING, GREYS)
MAX_SIDE = 128  # maps are block-averaged until their longer side is at most this many values
MAX_VALUES = 2**17  # and all maps of a grid together at most this many (128 KB before PNG compression)


@dataclass(frozen=True)
class MapPanel:
    """One channel of a grid."""

    title: str  # the label above the panel
    low: float  # the smallest value of the map (shown in the label)
    high: float  # the largest value
    colour_low: float  # the value the first colour stands for (signed maps: -max |value|)
    colour_high: float  # the value the last colour stands for
    colormap: str  # one of COLORMAPS
    box: tuple[tuple[int, int], tuple[int, int]] | None = None  # ((top, left), (bottom, right)) outlined, inclusive


@dataclass(frozen=True)
class MapGrid:
    """A grid of maps, ready to send to the browser."""

    title: str  # drawn above the grid
    panels: tuple[MapPanel, ...]  # one per channel
    rows: int  # rows of every map as sent (after block averaging)
    columns: int  # columns of every map as sent
    factor: int  # block-averaging factor (1: every value sent)
    per_row: int  # panels per row of the grid
    indices: np.ndarray  # (C, rows, columns) uint8 colour indices

    def payload(self, *, panel_px: int = 112, clickable: bool = False, enlarge: bool = True) -> dict:
        """The JSON-ready description the browser component draws.

        Args:
            panel_px: on-screen size of a panel's longer side, in CSS pixels.
            clickable: report clicked cells to Python (the page gets ``channel``, ``row`` and
                ``column`` in original map coordinates).
            enlarge: a click on a panel also draws it enlarged below the grid.
        """
        count = len(self.panels)
        stacked = self.indices.reshape(count * self.rows, self.columns)  # panels one below the other
        buffer = io.BytesIO()
        Image.fromarray(stacked, mode="L").save(buffer, format="PNG", compress_level=1)
        return {
            "title": self.title,
            "rows": self.rows,
            "columns": self.columns,
            "factor": self.factor,
            "per_row": self.per_row,
            "panel_px": panel_px,
            "clickable": clickable,
            "enlarge": enlarge,
            "png": "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii"),
            "panels": [
                {
                    "title": p.title,
                    "range": f"[{format_value(p.low)}, {format_value(p.high)}]",
                    "low": p.colour_low,
                    "high": p.colour_high,
                    "cmap": p.colormap,
                    **({} if p.box is None else {"box": self._sent_box(p.box)}),
                }
                for p in self.panels
            ],
        }

    def _sent_box(self, box: tuple[tuple[int, int], tuple[int, int]]) -> list[int]:
        """``[top, left, bottom, right]`` in the values as sent (block-averaged ones when ``factor > 1``)."""
        (top, left), (bottom, right) = box
        return [top // self.factor, left // self.factor, bottom // self.factor, right // self.factor]


def map_grid(
    maps: np.ndarray,
    *,
    titles: list[str] | None = None,
    per_row: int = 8,
    colormap: str | None = None,
    title: str | None = None,
    value_range: tuple[float, float] | None = None,
    boxes: list[tuple[tuple[int, int], tuple[int, int]] | None] | None = None,
) -> MapGrid:
    """A grid of 2-D maps (one panel per channel), each coloured over its own range.

    Args:
        maps: ``(C, H, W)`` float values (a single ``(H, W)`` map is taken as ``C = 1``).
        titles: one label per channel; default ``"channel 0"``, ``"channel 1"``, ...
        per_row: panels per row (fewer if there are fewer maps).
        colormap: one of :data:`COLORMAPS` for every panel, or None: per map, diverging
            when any value is negative, else sequential.
        title: drawn above the grid; default names the shape ``C x H x W``.
        value_range: the values the first and last colour stand for, for every panel
            (e.g. ``(0, 1)`` for digits); default each map's own range.
        boxes: per channel, an inclusive box ``((top, left), (bottom, right))`` in map coordinates
            to outline on it (e.g. a receptive field), or None; default no boxes.
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 2:
        maps = maps[None]
    if maps.ndim != 3 or 0 in maps.shape:
        raise ValueError(f"maps must be (C, H, W) with every size at least 1, got shape {maps.shape}.")
    if colormap is not None and colormap not in COLORMAPS:
        raise ValueError(f"unknown colormap {colormap!r}; use one of {COLORMAPS}.")
    count, height, width = maps.shape
    titles = [f"channel {i}" for i in range(count)] if titles is None else list(titles)
    if len(titles) != count:
        raise ValueError(f"got {len(titles)} titles for {count} maps.")
    boxes = [None] * count if boxes is None else list(boxes)
    if len(boxes) != count:
        raise ValueError(f"got {len(boxes)} boxes for {count} maps.")
    for box in boxes:
        if box is not None and not (0 <= box[0][0] <= box[1][0] < height and 0 <= box[0][1] <= box[1][1] < width):
            raise ValueError(f"box {box} is not inside a {height} x {width} map (inclusive, top-left first).")
    factor = max(math.ceil(max(height, width) / MAX_SIDE), math.ceil(math.sqrt(count * height * width / MAX_VALUES)))
    shown = block_mean(maps, factor)  # (C, h, w)
    if title is None:
        title = f"{count} map{'s' if count != 1 else ''}, each {height} x {width} (rows x columns)"
    if factor > 1:
        title += f"; drawn at 1/{factor} resolution"
    lows = np.nanmin(maps, axis=(1, 2))  # (C,) one pass for all maps
    highs = np.nanmax(maps, axis=(1, 2))
    panels = []
    ranges = np.empty((2, count, 1, 1), dtype=np.float32)  # each panel's colour range, quantised in one pass
    for i in range(count):
        cmap = colormap or (DIVERGING if lows[i] < 0 else SEQUENTIAL)
        signed = cmap == DIVERGING
        if value_range is not None:
            low, high = value_range
        elif np.isfinite(lows[i]) and np.isfinite(highs[i]):
            low, high = range_from_extremes(float(lows[i]), float(highs[i]), signed)
        else:  # infinities or all-NaN: look at the finite values only
            low, high = color_range(maps[i], signed)
        ranges[:, i, 0, 0] = low, high
        panels.append(MapPanel(titles[i], float(lows[i]), float(highs[i]), low, high, cmap, boxes[i]))
    indices = quantize(shown, ranges[0], ranges[1])  # (C, h, w)
    return MapGrid(title, tuple(panels), shown.shape[1], shown.shape[2], factor, max(1, min(per_row, count)), indices)
