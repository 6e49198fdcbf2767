"""Colours shared by every picture: colour-blind-safe colormaps, their lookup tables, value ranges.

Colormaps are chosen by the data: a sequential map (viridis) for non-negative
values, a diverging one (blue-white-red, centred on zero) when any value is
negative, greys for digits. The browser components build their tables from the
same anchors (:func:`colormap_anchors`). :func:`fast_figure` makes the pages'
few plotly charts without plotly's per-property validation.
"""

from __future__ import annotations

import functools

import numpy as np
import plotly.colors
import plotly.graph_objects as go

# Okabe-Ito colours, the one list: distinguishable with every common colour-vision deficiency. Lines, bars and
# boxes take them in this order; the browser components get them as PALETTE (widgets.assets.palette_constants).
BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILLION, BLACK, YELLOW = (
    "#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442",
)  # fmt: skip
OKABE_ITO = (BLUE, ORANGE, GREEN, PURPLE, SKY, VERMILLION, BLACK, YELLOW)
NAMED_COLOURS = {
    "blue": BLUE, "orange": ORANGE, "green": GREEN, "purple": PURPLE,
    "sky": SKY, "vermillion": VERMILLION, "black": BLACK, "yellow": YELLOW,
}  # fmt: skip

# Ten classes (the digits) need two more: Paul Tol's wine and a mid grey, apart from every Okabe-Ito colour.
WINE, GREY = "#882255", "#999999"
TEN_CLASS_COLOURS = (*OKABE_ITO, WINE, GREY)
LIGHT_GREY = "#9aa5b1"  # the bars that are not the point of a chart

SEQUENTIAL = "viridis"  # non-negative values: dark = low, yellow = high
DIVERGING = "blue-red"  # signed values: blue < 0 < red, white at zero
GREYS = "greys"  # pictures of digits: 0 black, 1 white (ink is white, as MNIST shows it)


def _colorscale_colors(name: str) -> list[str]:
    if name == SEQUENTIAL:
        return list(plotly.colors.sequential.Viridis)
    if name == "cividis":
        return list(plotly.colors.sequential.Cividis)
    if name == DIVERGING:
        return list(plotly.colors.diverging.RdBu)[::-1]  # RdBu runs red -> blue; we want blue -> red
    if name == GREYS:
        return ["rgb(0, 0, 0)", "rgb(255, 255, 255)"]
    if name == "PuOr":
        return list(plotly.colors.diverging.PuOr)
    raise ValueError(f"unknown colormap {name!r}; use {SEQUENTIAL!r}, 'cividis', {DIVERGING!r} or 'PuOr'.")


def colormap_anchors(name: str) -> np.ndarray:
    """The ``(n, 3)`` RGB anchor colours of the colormap ``name``, evenly spaced from its low to its high end."""
    colors = _colorscale_colors(name)
    return np.array([plotly.colors.unlabel_rgb(plotly.colors.convert_colors_to_same_type(c)[0][0]) for c in colors])


@functools.lru_cache(maxsize=8)
def colormap_lut(name: str, levels: int = 256) -> np.ndarray:
    """A ``(levels, 3)`` uint8 lookup table interpolating the colormap ``name`` linearly.

    The browser components build the same table from the same anchors (``widgets/map_grid.js``).

    Args:
        name: ``"viridis"``, ``"cividis"``, ``"blue-red"``, ``"greys"`` or ``"PuOr"``.
        levels: entries in the table.
    """
    anchors = colormap_anchors(name)
    positions = np.linspace(0.0, 1.0, len(anchors))
    grid = np.linspace(0.0, 1.0, levels)
    lut = np.stack([np.interp(grid, positions, anchors[:, k]) for k in range(3)], axis=1)
    lut = np.rint(lut).astype(np.uint8)
    lut.setflags(write=False)
    return lut


def color_range(values: np.ndarray, signed: bool) -> tuple[float, float]:
    """The ``(low, high)`` the colormap spans for ``values``.

    Signed: symmetric about zero (``-m, m`` with ``m = max |v|``) so that white
    means exactly zero. Unsigned: the values' own minimum and maximum. A
    constant map gets a range of width 1, so it shows one flat colour.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return (-1.0, 1.0) if signed else (0.0, 1.0)
    return range_from_extremes(float(finite.min()), float(finite.max()), signed)


def range_from_extremes(low: float, high: float, signed: bool) -> tuple[float, float]:
    """:func:`color_range` from a map's finite minimum and maximum."""
    if signed:
        m = max(abs(low), abs(high))
        return (-m, m) if m > 0 else (-1.0, 1.0)
    return (low, high) if high > low else (low, low + 1.0)


def quantize(values: np.ndarray, low: float | np.ndarray, high: float | np.ndarray, levels: int = 256) -> np.ndarray:
    """Floats -> uint8 indices ``0 .. levels - 1`` spanning ``[low, high]`` (NaN -> 0).

    ``low`` and ``high`` are numbers or arrays that broadcast against ``values``: ``(C, 1, 1)`` ranges
    quantise ``(C, H, W)`` maps each over its own range in one pass (a loop over 32 panels costs ten times more).
    """
    low = np.asarray(low, dtype=np.float32)
    scale = (levels - 1) / (np.asarray(high, dtype=np.float32) - low)
    scaled = np.nan_to_num((values - low) * scale, nan=0.0)  # +-inf: the largest floats, clipped below
    return np.clip(np.rint(scaled), 0, levels - 1).astype(np.uint8)


def format_value(value: float) -> str:
    """A number short enough for a panel label: 3 significant digits."""
    return f"{value + 0.0:.3g}"  # + 0.0 turns -0.0 into 0.0, so no "-0" label


def block_mean(maps: np.ndarray, factor: int) -> np.ndarray:
    """Average ``factor x factor`` blocks of ``(C, H, W)`` maps (edge blocks repeat the edge values).

    Summing the ``factor ** 2`` strided views is about ten times faster than a
    reshaped ``mean`` over two axes.
    """
    if factor == 1:
        return maps
    count, height, width = maps.shape
    pad_h, pad_w = -height % factor, -width % factor
    padded = np.pad(maps, ((0, 0), (0, pad_h), (0, pad_w)), mode="edge") if pad_h or pad_w else maps
    total = np.zeros((count, (height + pad_h) // factor, (width + pad_w) // factor), dtype=np.float32)
    for i in range(factor):
        for j in range(factor):
            total += padded[:, i::factor, j::factor]
    return total / (factor * factor)


def fast_figure(data: list[dict], layout: dict) -> go.Figure:
    """A ``go.Figure`` from plain dicts, skipping plotly's per-property validation.

    Validation costs about 5 ms per trace; the tests rebuild each figure with
    validation on to prove the dicts are valid.
    """
    return go.Figure(data=data, layout=layout, _validate=False)
