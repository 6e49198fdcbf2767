"""Plotly figure builders: feature-map grids, and the colormaps they share.

Colormaps are colour-blind safe and chosen by the data: a sequential map
(viridis) for non-negative values, a diverging one (blue-white-red, centred on
zero) when any value is negative. Large maps travel to the browser as PNG data
URIs coloured here with a lookup table, not as heatmap JSON: a 256 x 256 map is
a few kilobytes of PNG instead of a quarter megabyte of numbers.
"""

from __future__ import annotations

import base64
import functools
import io
import math
from collections.abc import Callable

import numpy as np
import plotly.colors
import plotly.graph_objects as go
from PIL import Image

SEQUENTIAL = "viridis"  # non-negative values: dark = low, yellow = high
DIVERGING = "blue-red"  # signed values: blue < 0 < red, white at zero
GREYS = "greys"  # pictures of digits: 0 black, 1 white (ink is white, as MNIST shows it)

# Maps with at most this many pixels are sent as heatmaps, so hovering shows
# each value; larger ones are sent as PNG images.
HEATMAP_MAX_PIXELS = 32 * 32
# All maps of one grid together send at most this many pixels (one byte each
# as palette PNGs, so well under 1 MB even for noise); more are block-averaged.
MAX_SENT_PIXELS = 2**19
PANEL_PX = 180  # height of one panel in the grid, in CSS pixels


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


def plotly_colorscale(name: str) -> list[list[float | str]]:
    """The colormap ``name`` as a plotly colorscale ``[[position, colour], ...]``."""
    colors = _colorscale_colors(name)
    return [[i / (len(colors) - 1), c] for i, c in enumerate(colors)]


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


def is_signed(values: np.ndarray) -> bool:
    """Whether ``values`` need a diverging colormap (any value below zero)."""
    return bool(values.size) and float(np.nanmin(values)) < 0.0


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


def colorize(values: np.ndarray, low: float, high: float, cmap: str) -> np.ndarray:
    """Map a ``(H, W)`` float array to ``(H, W, 3)`` uint8 RGB through the colormap ``cmap``.

    Args:
        values: the map; NaNs get the lowest colour.
        low: the value drawn with the first colour.
        high: the value drawn with the last colour (must exceed ``low``).
        cmap: a name accepted by :func:`colormap_lut`.
    """
    lut = colormap_lut(cmap)
    return lut[quantize(values, low, high, len(lut))]


def png_data_uri(values: np.ndarray, low: float, high: float, cmap: str) -> str:
    """A ``(H, W)`` float map as a ``data:image/png;base64,...`` URI coloured by ``cmap``.

    The PNG is a palette image (one byte per pixel, the colormap as its
    palette): a third of the size of RGB, and quick to encode.

    Args:
        values: the map.
        low: the value drawn with the first colour.
        high: the value drawn with the last colour (must exceed ``low``).
        cmap: a name accepted by :func:`colormap_lut`.
    """
    lut = colormap_lut(cmap)
    index = quantize(values, low, high, len(lut))
    image = Image.frombytes("P", (index.shape[1], index.shape[0]), index.tobytes())
    image.putpalette(lut.tobytes())
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def quantize(values: np.ndarray, low: float, high: float, levels: int = 256) -> np.ndarray:
    """``(H, W)`` floats -> uint8 indices ``0 .. levels - 1`` spanning ``[low, high]`` (NaN -> 0)."""
    scaled = (np.nan_to_num(values, nan=low) - low) * ((levels - 1) / (high - low))
    return np.clip(np.rint(scaled), 0, levels - 1).astype(np.uint8)


def format_value(value: float) -> str:
    """A number short enough for a panel label: 3 significant digits."""
    return f"{value + 0.0:.3g}"  # + 0.0 turns -0.0 into 0.0, so no "-0" label


def downsample_factor(count: int, height: int, width: int, budget: int = MAX_SENT_PIXELS) -> int:
    """Smallest integer factor that brings ``count`` maps of ``height x width`` under ``budget`` pixels."""
    return max(1, math.ceil(math.sqrt(count * height * width / budget)))


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


def fast_figure(
    data: list[dict], layout: dict, animation: Callable[[], tuple[list[dict], dict]] | None = None
) -> go.Figure:
    """A ``go.Figure`` from plain dicts, skipping plotly's per-property validation.

    Validation costs about 5 ms per trace (80 ms for a 16-panel grid) and
    about 1 ms per animation frame, which is most of an interaction's budget;
    the tests rebuild each figure with validation on to prove the dicts are valid.

    Args:
        data: traces.
        layout: the layout.
        animation: builds ``(frames, layout entries that grow with them)`` when
            the figure is serialised (see :class:`LazyFrames`).
    """
    if animation is not None:
        return LazyFrames(data, layout, animation)
    return go.Figure(data=data, layout=layout, _validate=False)


class LazyFrames(go.Figure):
    """A figure whose animation frames and slider steps are built only in ``to_dict``.

    Plotly turns every frame into validated objects (0.5 s for 700 frames) and
    deep-copies and walks every slider step. Streamlit only calls ``to_dict``,
    so the frames are made there, as plain dicts that live only as long as the
    serialisation: a cached figure then holds no thousands of small objects,
    which would make every full garbage collection of the server slower.
    Read them with ``to_dict()["frames"]`` and ``to_dict()["layout"]["sliders"]``.
    """

    def __init__(self, data: list[dict], layout: dict, animation: Callable[[], tuple[list[dict], dict]]):
        super().__init__(data=data, layout=layout, _validate=False)
        self._animation = animation

    def to_dict(self) -> dict:
        spec = super().to_dict()
        frames, animation_layout = self._animation()
        spec["layout"].update(animation_layout)
        spec["frames"] = frames
        return spec


def _axis_key(letter: str, index: int) -> tuple[str, str]:
    """``("xaxis3", "x3")`` for panel 2; the first panel's axes are ``xaxis``/``x``."""
    suffix = "" if index == 0 else str(index + 1)
    return f"{letter}axis{suffix}", f"{letter}{suffix}"


def _panel_trace(values: np.ndarray, low: float, high: float, cmap: str, name: str, factor: int, index: int) -> dict:
    _, x_ref = _axis_key("x", index)
    _, y_ref = _axis_key("y", index)
    # Pixel (i, j) of a downsampled map covers original rows i*f .. i*f+f-1: centre it there.
    origin = (factor - 1) / 2
    common = dict(name=name, xaxis=x_ref, yaxis=y_ref, x0=origin, dx=factor, y0=origin, dy=factor)
    if values.size <= HEATMAP_MAX_PIXELS:
        return dict(
            type="heatmap",
            z=values.astype(np.float32),
            zmin=low,
            zmax=high,
            colorscale=plotly_colorscale(cmap),
            showscale=False,
            hovertemplate="row %{y}, column %{x}<br>value %{z:.4g}<extra>" + name + "</extra>",
            **common,
        )
    return dict(type="image", source=png_data_uri(values, low, high, cmap), hoverinfo="x+y", **common)


def feature_map_grid(
    maps: np.ndarray,
    *,
    titles: list[str] | None = None,
    columns: int = 8,
    signed: bool | None = None,
    title: str | None = None,
) -> go.Figure:
    """A grid of 2-D maps (one panel per channel), each labelled with its title and value range.

    Each panel is coloured over its own range (shown under its title); one
    colour bar explains the colours: low -> high for non-negative maps, or
    -max -> 0 -> +max for signed ones. Maps of at most ``HEATMAP_MAX_PIXELS``
    pixels are heatmaps (hover shows each value); larger ones are PNG images,
    averaged down in blocks when all maps together exceed ``MAX_SENT_PIXELS``
    (the title then says so; axes keep the original row and column numbers).

    Args:
        maps: ``(C, H, W)`` float values (a single ``(H, W)`` map is taken as ``C = 1``).
        titles: one label per channel; default ``"channel 0"``, ``"channel 1"``, ...
        columns: panels per row (fewer if there are fewer maps).
        signed: diverging colormap centred on zero (True), sequential (False),
            or decide from the data (None: diverging when any value is negative).
        title: the figure's title; default names the shape ``C x H x W``.
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim == 2:
        maps = maps[None]
    if maps.ndim != 3 or 0 in maps.shape:
        raise ValueError(f"maps must be (C, H, W) with every size at least 1, got shape {maps.shape}.")
    count, height, width = maps.shape
    if titles is None:
        titles = [f"channel {i}" for i in range(count)]
    if len(titles) != count:
        raise ValueError(f"got {len(titles)} titles for {count} maps.")
    lows = np.nanmin(maps, axis=(1, 2)) if maps.size else np.zeros(count)  # (C,) one pass for all maps
    highs = np.nanmax(maps, axis=(1, 2)) if maps.size else np.zeros(count)
    # Each map picks its own colormap (auto), or all follow ``signed``.
    panel_signed = [bool(low < 0) for low in lows] if signed is None else [signed] * count
    factor = downsample_factor(count, height, width)
    shown = block_mean(maps, factor)
    if title is None:
        title = f"{count} map{'s' if count != 1 else ''}, each {height} x {width} (rows x columns)"
    if factor > 1:
        title += f"; shown at 1/{factor} resolution to keep the page light"

    columns = max(1, min(columns, count))
    rows = math.ceil(count / columns)
    # Few panels get more room each; tall maps get taller panels (within limits).
    panel_px = PANEL_PX * (2.0 if columns == 1 else 1.5 if columns <= 3 else 1.0) * min(1.6, max(0.6, height / width))
    title_px, top_px, bottom_px = 44, 60, 10
    figure_px = rows * (panel_px + title_px) + top_px + bottom_px
    area_px = figure_px - top_px - bottom_px
    gap = 0.02 if columns > 1 else 0.0
    panel_w = (1 - gap * (columns - 1)) / columns

    data: list[dict] = []
    layout: dict = {}
    annotations = []
    for i in range(count):
        row, col = divmod(i, columns)
        if np.isfinite(lows[i]) and np.isfinite(highs[i]):
            low, high = range_from_extremes(float(lows[i]), float(highs[i]), panel_signed[i])
        else:  # infinities or all-NaN: look at the finite values only
            low, high = color_range(maps[i], panel_signed[i])
        cmap = DIVERGING if panel_signed[i] else SEQUENTIAL
        data.append(_panel_trace(shown[i], low, high, cmap, titles[i], factor, i))
        x0 = col * (panel_w + gap)
        top = 1 - (row * (panel_px + title_px) + title_px) / area_px
        x_key, x_ref = _axis_key("x", i)
        y_key, y_ref = _axis_key("y", i)
        axis_style = dict(showticklabels=False, ticks="", showgrid=False, zeroline=False, constrain="domain")
        layout[x_key] = dict(domain=[x0, x0 + panel_w], anchor=y_ref, range=[-0.5, width - 0.5], **axis_style)
        layout[y_key] = dict(
            domain=[max(0.0, top - panel_px / area_px), top],
            anchor=x_ref,
            range=[height - 0.5, -0.5],  # row 0 at the top, as in an image
            scaleanchor=x_ref,
            **axis_style,
        )
        low_v, high_v = float(lows[i]), float(highs[i])
        annotations.append(
            dict(
                text=f"{titles[i]}<br><span style='font-size:11px'>[{format_value(low_v)}, "
                f"{format_value(high_v)}]</span>",
                x=x0 + panel_w / 2,
                y=top,
                xref="paper",
                yref="paper",
                xanchor="center",
                yanchor="bottom",
                showarrow=False,
                font=dict(size=13),
            )
        )
    kinds = sorted(set(panel_signed))  # one colour bar per colormap in use
    bar_px = max(60, min(260, (figure_px - 120) / len(kinds)))
    for k, kind_signed in enumerate(kinds):
        top = 1.0 - k * (bar_px + 40) / (figure_px - top_px - bottom_px)
        data.append(_colorbar_trace(kind_signed, DIVERGING if kind_signed else SEQUENTIAL, bar_px, top))
    layout.update(
        title=dict(text=title, font=dict(size=16)),
        annotations=annotations,
        height=int(figure_px),
        margin=dict(l=10, r=80, t=top_px, b=bottom_px),
        showlegend=False,
        plot_bgcolor="white",
    )
    return fast_figure(data, layout)


def _colorbar_trace(signed: bool, cmap: str, length_px: float, top: float) -> dict:
    """One colour bar for the whole grid, carried by an invisible marker trace."""
    labels, values = (["-max", "0", "+max"], [-1.0, 0.0, 1.0]) if signed else (["min", "max"], [0.0, 1.0])
    return dict(
        type="scatter",
        x=[None],
        y=[None],
        mode="markers",
        hoverinfo="skip",
        showlegend=False,
        marker=dict(
            colorscale=plotly_colorscale(cmap),
            cmin=values[0],
            cmax=values[-1],
            color=[values[0]],
            showscale=True,
            colorbar=dict(
                tickvals=values,
                ticktext=labels,
                thickness=14,
                lenmode="pixels",
                len=length_px,
                y=top,
                yanchor="top",
                title=dict(text="signed<br>maps" if signed else "maps<br>≥ 0", side="top"),
            ),
        ),
    )


# --- the sliding-window animation -------------------------------------------------

# Cell colours of the animation grid (colour-blind safe: light blue / grey / cream / orange).
CELL_COLOURS = {0: "#e6e6e6", 1: "#c6dbef", 2: "#fff3c4", 3: "#f4a261", 4: "#e7d4f0"}
TAP_COLOUR, OUTPUT_COLOUR = "#08306b", "#d95f02"


def sliding_window_figure(window, frame_ms: int = 250) -> go.Figure:
    """The animation: the grid on the left with the window's taps, the output on the right.

    Played in the browser with plotly frames (play, pause, step scrubber); the
    server sends every frame once.

    Args:
        window: a :class:`cnnviz.animation.SlidingWindow`.
        frame_ms: milliseconds per frame when playing.
    """
    from cnnviz.animation import KIND_NAMES

    grid = window.grid
    rows, cols = grid.shape
    out_rows, out_cols = window.output_shown
    kinds = sorted(int(k) for k in np.unique(grid))
    # A discrete colorscale: kind k gets one flat band.
    scale = []
    kinds_total = len(CELL_COLOURS)
    for k in range(kinds_total):
        scale += [[k / kinds_total, CELL_COLOURS[k]], [(k + 1) / kinds_total, CELL_COLOURS[k]]]
    gap = 1 if max(rows, cols) <= 64 else 0  # cell borders only where cells are big enough to see them
    input_axis = dict(xaxis="x", yaxis="y")
    output_axis = dict(xaxis="x2", yaxis="y2")
    data: list[dict] = [
        dict(type="heatmap", z=grid.astype(np.int8), zmin=-0.5, zmax=kinds_total - 0.5, colorscale=scale,
             showscale=False, xgap=gap, ygap=gap, hoverinfo="skip", **input_axis),
        dict(type="heatmap", z=np.zeros((max(out_rows, 1), max(out_cols, 1)), dtype=np.int8), zmin=0, zmax=1,
             colorscale=[[0, "#dceaf6"], [1, "#dceaf6"]], showscale=False, xgap=1, ygap=1, hoverinfo="skip",
             **output_axis),
    ]  # fmt: skip
    first = window.steps[0] if window.steps else None
    data.append(dict(type="scatter", mode="lines", fill="toself", fillcolor="rgba(8,48,107,0.25)",
                     line=dict(color=TAP_COLOUR, width=3), hoverinfo="skip", name="window", showlegend=False,
                     **input_axis, **_window_xy(first)))  # fmt: skip
    data.append(dict(type="scatter", mode="markers", marker=dict(color=TAP_COLOUR, size=9, symbol="circle"),
                     hoverinfo="skip", name="kernel taps", showlegend=False, **input_axis,
                     **_taps_xy(first, window.contiguous)))  # fmt: skip
    data.append(dict(type="scatter", mode="markers",
                     marker=dict(color=OUTPUT_COLOUR, size=14, symbol="square", line=dict(color="black", width=1)),
                     hoverinfo="skip", name="output cell", showlegend=False, **output_axis,
                     x=[first.out_col] if first else [], y=[first.out_row] if first else []))  # fmt: skip
    for k in kinds:  # legend entries for the cell kinds present
        data.append(dict(type="scatter", mode="markers", x=[None], y=[None], name=KIND_NAMES[k],
                         marker=dict(color=CELL_COLOURS[k], size=14, symbol="square",
                                     line=dict(color="#888", width=1)), **input_axis))  # fmt: skip
    data.append(dict(type="scatter", mode="markers", x=[None], y=[None], name="output cell being computed",
                     marker=dict(color=OUTPUT_COLOUR, size=14, symbol="square"), **output_axis))  # fmt: skip
    in_ratio = cols / max(rows, 1)
    split = min(0.62, max(0.4, (cols / (cols + out_cols + 1e-9)) if out_cols else 0.6))
    has_input = (grid == 1) | (grid == 3)  # input pixels (read or left over)
    row_ticks = _input_ticks(has_input.any(axis=1), window.input_origin[0], window.input_step[0])
    col_ticks = _input_ticks(has_input.any(axis=0), window.input_origin[1], window.input_step[1])
    layout = dict(
        xaxis=dict(domain=[0, split - 0.04], range=[-0.5, cols - 0.5], side="top",
                   title=dict(text=f"<b>input</b> {rows} x {cols} grid: column", font=dict(size=14)),
                   constrain="domain", showgrid=False, zeroline=False, **col_ticks),
        yaxis=dict(range=[rows - 0.5, -0.5], title=dict(text="input row"), scaleanchor="x", constrain="domain",
                   showgrid=False, zeroline=False, **row_ticks),
        xaxis2=dict(domain=[split + 0.04, 1], range=[-0.5, max(out_cols, 1) - 0.5],
                    title=dict(text=f"<b>output</b> {window.output_full[0]} x {window.output_full[1]}"
                               + ("" if tuple(window.output_shown) == tuple(window.output_full)
                                  else f" (first {out_rows} x {out_cols} shown)") + ": column", font=dict(size=14)),
                    side="top", constrain="domain", showgrid=False, zeroline=False,
                    dtick=max(1, math.ceil(out_cols / 12))),
        yaxis2=dict(range=[max(out_rows, 1) - 0.5, -0.5], title=dict(text="output row"), scaleanchor="x2", anchor="x2",
                    constrain="domain", showgrid=False, zeroline=False, dtick=max(1, math.ceil(out_rows / 12))),
        height=int(min(760, max(380, 560 / max(in_ratio, 0.5)))),
        margin=dict(l=60, r=20, t=70, b=110),
        legend=dict(orientation="h", y=-0.05, x=0, yanchor="top"),
        plot_bgcolor="white",
    )  # fmt: skip
    if not window.steps:
        return fast_figure(data, layout)
    layout["margin"]["b"] = 150
    return fast_figure(data, layout, functools.partial(_animation, window, frame_ms))


def _animation(window, frame_ms: int) -> tuple[list[dict], dict]:
    """The frames, the play / pause buttons and the step scrubber of the sliding-window figure."""
    frames = _frames(window)
    buttons = dict(
        type="buttons", direction="left", x=0, y=-0.16, xanchor="left", yanchor="top", showactive=False,
        buttons=[
            dict(label="▶ play", method="animate",
                 args=[None, dict(frame=dict(duration=frame_ms, redraw=True), fromcurrent=True,
                                  transition=dict(duration=0), mode="immediate")]),
            dict(label="❚❚ pause", method="animate",
                 args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate",
                                    transition=dict(duration=0))]),
        ],
    )  # fmt: skip
    step_args = dict(mode="immediate", frame=dict(duration=0, redraw=True), transition=dict(duration=0))
    slider = dict(
        active=0, x=0.2, len=0.8, y=-0.12, yanchor="top", pad=dict(t=0),
        currentvalue=dict(prefix="step ", font=dict(size=12)),
        steps=[dict(method="animate", label=str(i + 1), args=[[str(i)], step_args]) for i in range(len(frames))],
    )  # fmt: skip
    return frames, {"updatemenus": [buttons], "sliders": [slider]}


def _frames(window) -> list[dict]:
    """One frame per step: the window's outline, its tap dots (if not contiguous), the output cell."""
    steps = window.steps
    if not steps:
        return []
    # Outlines for all steps at once: (N, 5) corner coordinates of each bounding box.
    top = np.array([s.rows[0] for s in steps]) - 0.5
    bottom = np.array([s.rows[-1] for s in steps]) + 0.5
    left = np.array([s.cols[0] for s in steps]) - 0.5
    right = np.array([s.cols[-1] for s in steps]) + 0.5
    xs = np.stack([left, right, right, left, left], axis=1).tolist()
    ys = np.stack([top, top, bottom, bottom, top], axis=1).tolist()
    if window.contiguous:  # the box says it all: no tap dots to move
        return [
            {"name": str(i), "traces": [2, 4], "data": [{"x": xs[i], "y": ys[i]}, {"x": [s.out_col], "y": [s.out_row]}]}
            for i, s in enumerate(steps)
        ]
    return [
        {
            "name": str(i),
            "traces": [2, 3, 4],
            "data": [{"x": xs[i], "y": ys[i]}, _taps_xy(s, False), {"x": [s.out_col], "y": [s.out_row]}],
        }
        for i, s in enumerate(steps)
    ]


def _window_xy(step) -> dict:
    """The closed outline of the cells a step reads (its bounding box)."""
    if step is None:
        return dict(x=[], y=[])
    top, bottom, left, right = step.rows[0] - 0.5, step.rows[-1] + 0.5, step.cols[0] - 0.5, step.cols[-1] + 0.5
    return dict(x=[left, right, right, left, left], y=[top, top, bottom, bottom, top])


def _taps_xy(step, contiguous: bool) -> dict:
    """Dots on the taps when they do not fill their box (dilation, bilinear upsampling)."""
    if step is None or contiguous:
        return dict(x=[], y=[])
    return dict(x=list(step.cols) * len(step.rows), y=[r for r in step.rows for _ in step.cols])


def _input_ticks(is_input: np.ndarray, origin: int, step: int) -> dict:
    """Axis ticks labelled with input pixel numbers (padding and inserted zeros get none).

    Args:
        is_input: per grid row (or column), whether it holds input pixels.
        origin: grid index of input pixel 0.
        step: grid cells between neighbouring input pixels.
    """
    positions = [int(p) for p in np.flatnonzero(is_input) if (p - origin) % step == 0]
    if len(positions) > 12:
        stride = math.ceil(len(positions) / 12)
        positions = positions[::stride]
    return dict(tickmode="array", tickvals=positions, ticktext=[str((p - origin) // step) for p in positions])
