"""Charts of the draw page: class probabilities and invariance sweeps, as small data the browser draws.

Pictures (digits, feature maps, the error) are :mod:`cnnviz.views.grids` grids;
these two charts are drawn as SVG by ``widgets/chart.js`` from a
:class:`Chart` (a few hundred bytes, painted in a millisecond; plotly took
tens of milliseconds of server time and more of the browser's per stroke).
Colours are colour-blind safe: the Okabe-Ito palette for lines (with
different dashes too), blue for the top guess, grey for the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from cnnviz.views.palette import BLUE, LIGHT_GREY, OKABE_ITO, ORANGE

TOP_COLOUR, OTHER_COLOUR, COMPARE_COLOUR = BLUE, LIGHT_GREY, ORANGE
DASHES = ("solid", "dash", "dot", "dashdot")


@dataclass(frozen=True)
class Series:
    """One set of values: a row of bars or a line."""

    name: str  # in the legend and the hover text
    values: tuple[float, ...]  # one per x, probabilities in [0, 1]
    colours: tuple[str, ...]  # one colour per value (bars) or a single colour (lines)
    dash: str = "solid"  # lines: "solid", "dash", "dot" or "dashdot"
    hatched: bool = False  # bars: striped, so the second set differs by more than colour


@dataclass(frozen=True)
class Chart:
    """A probability chart: bars per digit, or lines along a sweep."""

    kind: str  # "bars" or "lines"
    title: str  # above the chart
    x_title: str  # under the x axis, with units
    x: tuple[str, ...] | tuple[float, ...]  # digit names (bars) or sweep values (lines)
    series: tuple[Series, ...]  # drawn in this order
    marker: float | None = None  # lines: x of the input shown now (a dashed line)

    def payload(self) -> dict:
        """The JSON-ready description ``widgets/chart.js`` draws."""
        return asdict(self)


def probability_chart(
    probabilities: np.ndarray,
    *,
    compare: np.ndarray | None = None,
    compare_name: str = "naive resize",
    title: str = "What the classifier thinks",
) -> Chart:
    """Bars of the probability of each digit; the top guess in blue, the rest grey.

    Args:
        probabilities: ``(10,)`` summing to 1.
        compare: another ``(10,)`` set of probabilities drawn beside them (orange, striped), or None.
        compare_name: the legend name of ``compare``.
        title: the chart's title.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    top = int(np.argmax(probabilities))
    colours = tuple(TOP_COLOUR if c == top else OTHER_COLOUR for c in range(len(probabilities)))
    name = "drawing as MNIST" if compare is not None else "probability"
    series = [Series(name, tuple(probabilities.round(4).tolist()), colours)]
    if compare is not None:
        compare = np.asarray(compare, dtype=float)
        series.append(
            Series(compare_name, tuple(compare.round(4).tolist()), (COMPARE_COLOUR,) * len(compare), hatched=True)
        )
    digits = tuple(str(c) for c in range(len(probabilities)))
    return Chart("bars", title, "digit", digits, tuple(series))


def sweep_chart(
    values: Sequence[float],
    probabilities: np.ndarray,
    *,
    x_title: str,
    current: float,
    lines: int = 3,
    title: str = "",
) -> Chart:
    """How the probabilities of the leading digits change along a sweep (shift or rotation).

    Args:
        values: the sweep's x values, e.g. shifts in pixels.
        probabilities: ``(len(values), classes)``.
        x_title: the x axis' label, with units.
        current: x of the input shown now (a dashed line marks it).
        lines: digits drawn: those with the highest peak probability along the sweep.
        title: the chart's title.
    """
    probabilities = np.asarray(probabilities, dtype=float)
    leaders = np.argsort(-probabilities.max(axis=0))[:lines]
    series = tuple(
        Series(
            f"digit {digit}",
            tuple(probabilities[:, digit].round(4).tolist()),
            (OKABE_ITO[rank % len(OKABE_ITO)],),
            DASHES[rank % len(DASHES)],
        )
        for rank, digit in enumerate(leaders)
    )
    return Chart("lines", title, x_title, tuple(float(v) for v in values), series, marker=float(current))
