"""Everything the Inside page draws, as plotly figures built without Streamlit.

Pictures follow the project's rules: digits in greys, signed values
(gradients, saliency, Grad-CAM, kernels) blue-white-red centred on zero,
labels colour-blind-safe (Okabe-Ito colours *and* a marker shape per digit).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from cnnviz.analysis.receptive import Box
from cnnviz.views import palette
from cnnviz.views.grids import MapGrid, map_grid
from cnnviz.views.palette import BLACK, DIVERGING, TEN_CLASS_COLOURS, VERMILLION, color_range, colormap_lut, fast_figure

# One colour per digit; shapes tell them apart without colour.
DIGIT_COLOURS = TEN_CLASS_COLOURS
DIGIT_SYMBOLS = (
    "circle", "square", "diamond", "cross", "x", "triangle-up", "triangle-down", "star", "hexagon", "pentagon",
)  # fmt: skip
PLANE_GRID = 21  # clickable points per side of the latent plane's background grid
PLANE_POINTS = 3000  # test digits drawn on the plane (all 10,000 are projected; fewer keep the page light)
FONT = dict(size=14)
GREYS = [[0.0, "#000000"], [1.0, "#ffffff"]]  # digits: ink 1 is white on black, as MNIST shows them
# The project's blue-white-red map (cnnviz.views.palette.DIVERGING) as a plotly colorscale, 11 stops.
BLUE_RED = [[i / 10, "rgb({},{},{})".format(*colormap_lut(DIVERGING, 11)[i])] for i in range(11)]


@dataclass(frozen=True)
class Panel:
    """One picture in a row of :func:`image_row`."""

    title: str  # shown above the picture
    values: np.ndarray  # (H, W)
    signed: bool = False  # False: a digit in [0, 1], greys; True: signed, blue-white-red centred on 0


def image_row(panels: Sequence[Panel], *, height: int = 300, title: str | None = None) -> go.Figure:
    """Pictures side by side, each on its own axes (x, x2, ...) with row and column numbers."""
    count = len(panels)
    gap = 0.08 if count > 1 else 0.0
    width = (1 - gap * (count - 1)) / count
    data, layout, annotations = [], {}, []
    for i, panel in enumerate(panels):
        suffix = "" if i == 0 else str(i + 1)
        values = np.asarray(panel.values, dtype=np.float32)
        h, w = values.shape
        low, high = color_range(values, True) if panel.signed else (0.0, 1.0)
        x0 = min(i * (width + gap), 1.0)
        x1 = min(x0 + width, 1.0)
        data.append(
            dict(
                type="heatmap", z=values, xaxis=f"x{suffix}", yaxis=f"y{suffix}", zmin=low, zmax=high,
                colorscale=BLUE_RED if panel.signed else GREYS, showscale=panel.signed,
                colorbar=dict(x=x1 + 0.005, xanchor="left", thickness=10, len=0.8),
                hovertemplate="row %{y}, column %{x}<br>%{z:.3f}<extra>" + panel.title + "</extra>",
            )
        )  # fmt: skip
        layout[f"xaxis{suffix}"] = dict(
            domain=[x0, x1], anchor=f"y{suffix}", range=[-0.5, w - 0.5], title=dict(text="column")
        )
        layout[f"yaxis{suffix}"] = dict(
            anchor=f"x{suffix}", range=[h - 0.5, -0.5], scaleanchor=f"x{suffix}",
            title=dict(text="row" if i == 0 else ""),
        )  # fmt: skip
        annotations.append(
            dict(text=panel.title, x=(x0 + x1) / 2, y=1.0, xref="paper", yref="paper", yanchor="bottom",
                 showarrow=False, font=dict(size=14))
        )  # fmt: skip
    layout.update(
        annotations=annotations, height=height, margin=dict(l=50, r=40, t=60 if title else 35, b=45),
        font=dict(size=12), plot_bgcolor="white",
    )  # fmt: skip
    if title:
        layout["title"] = dict(text=title, font=dict(size=17))
    return fast_figure(data, layout)


def _box_shape(box_: Box, xref: str = "x", yref: str = "y", colour: str = VERMILLION) -> dict:
    (top, left), (bottom, right) = box_
    return dict(
        type="rect", xref=xref, yref=yref, x0=left - 0.5, x1=right + 0.5, y0=top - 0.5, y1=bottom + 0.5,
        line=dict(color=colour, width=3),
    )  # fmt: skip


def cell_picker(values: np.ndarray, title: str) -> MapGrid:
    """One channel's ``(h, w)`` map for the browser's map grid, whose cells the student clicks."""
    return map_grid(values, titles=["click a cell"], title=title)


def attribution_grids(
    digit: np.ndarray, saliency: np.ndarray, gradcam: np.ndarray, target: int
) -> tuple[MapGrid, MapGrid, MapGrid]:
    """The input, saliency and signed Grad-CAM for ``target``, for the browser's map grid (side by side).

    Args:
        digit: ``(28, 28)`` the input in [0, 1].
        saliency: ``(28, 28)`` gradient x input (zero off the ink).
        gradcam: ``(28, 28)`` signed Grad-CAM, upsampled to the input.
        target: the explained class.
    """
    return (
        map_grid(digit, titles=["input"], colormap=palette.GREYS, value_range=(0.0, 1.0), title="The digit"),
        map_grid(saliency, titles=[f"towards {target}: red, away: blue"], colormap=DIVERGING,
                 title=f"Saliency (gradient x input) for {target}"),
        map_grid(gradcam, titles=[f"towards {target}: red, away: blue"], colormap=DIVERGING,
                 title=f"Grad-CAM for {target}"),
    )  # fmt: skip


def digit_strip(images: Sequence[np.ndarray], titles: Sequence[str], title: str) -> MapGrid:
    """Digits in [0, 1] side by side, for the browser's map grid (greys, one shared range)."""
    pictures = np.stack([np.asarray(image, dtype=np.float32) for image in images])  # (n, 28, 28)
    return map_grid(pictures, titles=list(titles), colormap=palette.GREYS, value_range=(0.0, 1.0), title=title,
                    per_row=len(pictures))  # fmt: skip


def digit_row(
    images: Sequence[np.ndarray], titles: Sequence[str], title: str | None = None, height: int = 230, signed=False
) -> go.Figure:
    """Pictures side by side in one heatmap with a blank column between them (light to send).

    Digits in [0, 1] in greys; ``signed`` values (kernels) blue-white-red centred on zero, with a colour bar.
    """
    pictures = [np.asarray(image, dtype=np.float32) for image in images]
    h = max(p.shape[0] for p in pictures)
    gap = np.full((h, 1), np.nan, dtype=np.float32)
    columns, centres, x = [], [], 0
    for picture in pictures:
        padded = np.full((h, picture.shape[1]), np.nan, dtype=np.float32)
        padded[: picture.shape[0]] = picture
        columns += [padded, gap]
        centres.append(x + (picture.shape[1] - 1) / 2)
        x += picture.shape[1] + 1
    strip = np.concatenate(columns[:-1], axis=1)  # (h, total width)
    limit = max(float(np.nanmax(np.abs(strip))), 1e-6)
    data = [
        dict(
            type="heatmap", z=np.where(np.isnan(strip), None, strip.round(3)).tolist(),
            zmin=-limit if signed else 0.0, zmax=limit if signed else 1.0,
            colorscale=BLUE_RED if signed else GREYS, showscale=signed, colorbar=dict(thickness=10),
            hoverongaps=False,
            hovertemplate="row %{y}<br>value %{z:.3f}<extra></extra>",
        )
    ]  # fmt: skip
    annotations = [
        dict(text=t, x=c, y=-0.5, xref="x", yref="y", yanchor="bottom", showarrow=False, font=dict(size=13))
        for t, c in zip(titles, centres)
    ]  # fmt: skip
    layout = dict(
        xaxis=dict(visible=False, range=[-0.5, strip.shape[1] - 0.5]),
        yaxis=dict(visible=False, range=[h - 0.5, -0.5], scaleanchor="x"),
        annotations=annotations, height=height, margin=dict(l=10, r=10, t=60 if title else 30, b=10),
        plot_bgcolor="white", font=FONT,
    )  # fmt: skip
    if title:
        layout["title"] = dict(text=title, font=dict(size=16))
    return fast_figure(data, layout)


def maximised_figure(image: np.ndarray, box_: Box, value: float) -> go.Figure:
    figure = image_row([Panel(f"grown input (centre cell {value:.2f})", image)], height=300)
    figure.add_shape(**_box_shape(box_))
    return figure


def latent_plane(
    points: np.ndarray, labels: np.ndarray, current: tuple[float, float] | None, exact: bool, explained: Sequence[float]
) -> go.Figure:
    """The test digits on the plane (one trace per digit), a faint clickable grid, the current digit as a star."""
    shown = np.linspace(0, len(points) - 1, min(PLANE_POINTS, len(points))).astype(int)
    low, high = points.min(0), points.max(0)
    pad = 0.05 * (high - low)
    low, high = low - pad, high + pad
    xs, ys = np.meshgrid(np.linspace(low[0], high[0], PLANE_GRID), np.linspace(low[1], high[1], PLANE_GRID))
    data = [
        dict(
            type="scatter", mode="markers", x=xs.ravel().round(4).tolist(), y=ys.ravel().round(4).tolist(),
            marker=dict(size=7, color="rgba(120,120,120,0.18)"), name="anywhere (click)",
            hovertemplate="(%{x:.2f}, %{y:.2f})<extra>decode this point</extra>",
        ),
    ]  # fmt: skip
    for digit in range(10):
        mine = shown[labels[shown] == digit]
        data.append(
            dict(
                type="scatter", mode="markers", x=points[mine, 0].round(4).tolist(),
                y=points[mine, 1].round(4).tolist(), name=str(digit),
                marker=dict(size=6, color=DIGIT_COLOURS[digit], symbol=DIGIT_SYMBOLS[digit], opacity=0.75),
                hovertemplate=f"a {digit}" + " at (%{x:.2f}, %{y:.2f})<extra></extra>",
            )
        )  # fmt: skip
    if current is not None:
        data.append(
            dict(
                type="scatter", mode="markers", x=[current[0]], y=[current[1]], name="this digit",
                marker=dict(size=20, color="#FFFFFF", symbol="star", line=dict(color=BLACK, width=2)),
                hovertemplate="this digit<extra></extra>",
            )
        )  # fmt: skip
    if exact:
        names = ("code value 1", "code value 2")
        title = "The whole latent space: every code has exactly 2 numbers"
    else:
        names = tuple(f"principal direction {i + 1} ({explained[i]:.0%} of the variance)" for i in range(2))
        title = "The codes of the test digits, seen along their first two principal directions"
    layout = dict(
        title=dict(text=title, font=dict(size=16)),
        xaxis=dict(title=dict(text=names[0]), range=[low[0], high[0]]),
        yaxis=dict(title=dict(text=names[1]), range=[low[1], high[1]]),
        height=560, margin=dict(l=60, r=20, t=50, b=50), legend=dict(title=dict(text="label")),
        clickmode="event+select", dragmode=False, font=FONT, plot_bgcolor="white",
    )  # fmt: skip
    return fast_figure(data, layout)


def bottleneck_chart(sizes: Sequence[int], errors: Sequence[float]) -> go.Figure:
    """Test MSE against the number of values in the code (log scale)."""
    data = [
        dict(
            type="scatter", mode="lines+markers+text", x=list(sizes), y=list(errors),
            text=[f"{e:.4f}" for e in errors], textposition="top center",
            marker=dict(size=10, color=DIGIT_COLOURS[0]), line=dict(color=DIGIT_COLOURS[0]),
            hovertemplate="%{x} values: test MSE %{y:.4f}<extra></extra>",
        )
    ]  # fmt: skip
    layout = dict(
        title=dict(text="Reconstruction error against bottleneck size", font=dict(size=16)),
        xaxis=dict(type="log", title=dict(text="numbers in the code (log scale)"), tickvals=list(sizes)),
        yaxis=dict(title=dict(text="test mean squared error"), rangemode="tozero"),
        height=380, margin=dict(l=60, r=20, t=50, b=50), font=FONT, plot_bgcolor="white",
    )  # fmt: skip
    return fast_figure(data, layout)
