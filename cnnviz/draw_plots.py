"""Charts of the draw page: class probabilities and invariance sweeps.

Pictures (digits, feature maps, the error) are :mod:`cnnviz.map_grid` grids;
these are the page's plotly charts. Colours are colour-blind safe: the
Okabe-Ito palette for lines, blue for the top guess.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from cnnviz.plots import fast_figure, format_value

OKABE_ITO = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")
TOP_COLOUR, OTHER_COLOUR, COMPARE_COLOUR = "#0072B2", "#9aa5b1", "#E69F00"
FONT = dict(size=15)


def probability_chart(
    probabilities: np.ndarray,
    *,
    compare: np.ndarray | None = None,
    compare_name: str = "naive resize",
    title: str = "What the classifier thinks",
) -> go.Figure:
    """Bars of the probability of each digit; the top guess in blue, the rest grey.

    Args:
        probabilities: ``(10,)`` summing to 1.
        compare: another ``(10,)`` set of probabilities drawn beside them (orange), or None.
        compare_name: the legend name of ``compare``.
        title: the chart's title.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    classes = [str(c) for c in range(len(probabilities))]
    top = int(np.argmax(probabilities))
    colours = [TOP_COLOUR if c == top else OTHER_COLOUR for c in range(len(probabilities))]
    data = [
        dict(
            type="bar",
            name="drawing as MNIST" if compare is not None else "probability",
            x=classes,
            y=probabilities.tolist(),
            marker=dict(color=colours),
            text=[f"{p:.0%}" if p >= 0.005 else "" for p in probabilities],
            textposition="outside",
            textfont=dict(size=14),
            hovertemplate="digit %{x}: %{y:.1%}<extra></extra>",
        )
    ]
    if compare is not None:
        compare = np.asarray(compare, dtype=float)
        data.append(
            dict(
                type="bar",
                name=compare_name,
                x=classes,
                y=compare.tolist(),
                marker=dict(color=COMPARE_COLOUR, pattern=dict(shape="/")),
                text=[f"{p:.0%}" if p >= 0.005 else "" for p in compare],
                textposition="outside",
                textfont=dict(size=14),
                hovertemplate=f"{compare_name}, digit %{{x}}: %{{y:.1%}}<extra></extra>",
            )
        )
    layout = dict(
        title=dict(text=title, font=dict(size=17)),
        xaxis=dict(title=dict(text="digit"), type="category", tickvals=classes, tickfont=dict(size=18)),
        yaxis=dict(title=dict(text="probability"), range=[0, 1.12], tickformat=".0%", dtick=0.25),
        barmode="group",
        height=330 if compare is None else 370,
        margin=dict(l=60, r=10, t=50, b=50 if compare is None else 90),
        showlegend=compare is not None,
        legend=dict(orientation="h", y=-0.22, x=0.5, xanchor="center", yanchor="top"),
        font=FONT,
        plot_bgcolor="white",
    )
    return fast_figure(data, layout)


def sweep_chart(
    values: Sequence[float],
    probabilities: np.ndarray,
    *,
    x_title: str,
    current: float,
    lines: int = 3,
    title: str | None = None,
) -> go.Figure:
    """How the probabilities of the leading digits change along a sweep (shift or rotation).

    Args:
        values: the sweep's x values, e.g. shifts in pixels.
        probabilities: ``(len(values), classes)``.
        x_title: the x axis' label, with units.
        current: x of the input shown now (a dashed line marks it).
        lines: digits drawn: those with the highest peak probability along the sweep.
        title: the chart's title, or None.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    leaders = np.argsort(-probabilities.max(axis=0))[:lines]
    dashes = ("solid", "dash", "dot", "dashdot")
    data = [
        dict(
            type="scatter",
            mode="lines+markers",
            name=f"digit {digit}",
            x=list(values),
            y=probabilities[:, digit].tolist(),
            line=dict(color=OKABE_ITO[rank % len(OKABE_ITO)], width=3, dash=dashes[rank % len(dashes)]),
            hovertemplate=f"digit {digit}" + ": %{y:.1%} at %{x}<extra></extra>",
        )
        for rank, digit in enumerate(leaders)
    ]
    layout = dict(
        xaxis=dict(title=dict(text=x_title), zeroline=True),
        yaxis=dict(title=dict(text="probability"), range=[-0.02, 1.02], tickformat=".0%"),
        shapes=[dict(type="line", x0=current, x1=current, y0=0, y1=1, yref="paper", line=dict(dash="dash", width=1))],
        annotations=[
            dict(
                x=current,
                y=1,
                yref="paper",
                text=f"now: {format_value(current)}",
                showarrow=False,
                yanchor="bottom",
                font=dict(size=12),
            )
        ],
        height=300,
        margin=dict(l=60, r=10, t=50 if title else 25, b=50),
        legend=dict(orientation="h", y=-0.3),
        font=dict(size=13),
        plot_bgcolor="white",
    )
    if title:
        layout["title"] = dict(text=title, font=dict(size=16))
    return fast_figure(data, layout)
