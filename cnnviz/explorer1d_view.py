"""The 1-D explorer's pictures, built without Streamlit: the window sliding along the sequence, and line plots.

Colours are Okabe-Ito (colour-blind safe); every axis is labelled so the
pictures read on a projector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnviz import explorer1d, plots, sequences
from cnnviz.arithmetic import InvalidLayerConfig
from cnnviz.explorer1d import CELL_NAMES, Explorer1dSettings, SequenceOutput, SequenceReport, SlidingRow

OKABE_ITO = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
CELL_COLOURS = {0: "#DDDDDD", 1: "#56B4E9", 2: "#F0E442", 3: "#CC79A7"}  # padding, input, inserted zero, unread
TAP_COLOUR = "#D55E00"
MAX_LABELLED_CELLS = 70  # rows longer than this drop the base letters / values inside cells
ROW_PIXELS = 560  # about the width the sliding row gets on a laptop screen: sets the cell size


@dataclass(frozen=True)
class View1d:
    """Everything the page draws for one setting (a figure is None when it cannot be made; the note says why)."""

    report: SequenceReport  # the arithmetic
    sliding: go.Figure  # the window, step by step
    lines: go.Figure | None  # input and output as line plots
    note: str | None  # why there are no lines (e.g. a preset that does not fit)
    description: str  # what the lines show


def sliding_figure(row: SlidingRow, sequence: sequences.SequenceInput) -> go.Figure:
    """The row the window slides over, one frame per output position (play, pause, step slider).

    Built from plain dicts with the frames made only when Streamlit serialises
    the figure (:func:`cnnviz.plots.fast_figure`): validated plotly frames cost
    about a millisecond each.
    """
    total = len(row.cells)
    x = np.arange(total)
    cell_size = int(min(24, max(4, ROW_PIXELS / (total + 2))))
    labels = np.full(total, "", dtype=object)
    if total <= MAX_LABELLED_CELLS and sequence.position_labels is not None:
        for cell in np.flatnonzero(row.input_index >= 0):
            source = row.input_index[cell]
            labels[cell] = sequence.position_labels[source]
    data = []
    for kind, name in CELL_NAMES.items():  # one trace per cell kind: a legend that names the colours
        mask = row.cells == kind
        if mask.any():
            data.append({
                "type": "scatter", "x": x[mask].tolist(), "y": [0] * int(mask.sum()), "mode": "markers+text",
                "name": name, "text": labels[mask].tolist(), "textposition": "bottom center",
                "textfont": {"size": 11}, "hovertemplate": f"{name}, cell %{{x}}<extra></extra>",
                "marker": {"symbol": "square", "size": cell_size, "color": CELL_COLOURS[kind],
                           "line": {"width": 0.5 if cell_size > 8 else 0, "color": "#555555"}},
            })  # fmt: skip
    data.append(_taps(row.taps[0] if row.taps else ()))
    tap_trace = len(data) - 1
    layout = {
        "title": {"text": f"The window, step by step ({row.output_length} output positions)<br>"
                          f"<sup>{row.caption}</sup>"},
        "xaxis": {"title": {"text": "position in the padded input"}, "range": [-1, total], "showgrid": False,
                  "zeroline": False},
        "yaxis": {"visible": False, "range": [-0.6, 1]},
        "height": 330, "margin": {"l": 20, "r": 20, "t": 110, "b": 40},
        "legend": {"orientation": "h", "x": 1, "xanchor": "right", "y": 1.02, "yanchor": "bottom"},
    }  # fmt: skip

    def animation() -> tuple[list[dict], dict]:
        frames = [{"data": [_taps(t)], "traces": [tap_trace], "name": str(o)} for o, t in enumerate(row.taps)]
        still = {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}
        return frames, {
            "updatemenus": [{"type": "buttons", "x": 0, "y": 1.02, "xanchor": "left", "yanchor": "bottom",
                             "direction": "left",
                             "buttons": [
                                 {"label": "▶ play", "method": "animate",
                                  "args": [None, {"frame": {"duration": 350, "redraw": False}, "fromcurrent": True}]},
                                 {"label": "❚❚ pause", "method": "animate", "args": [[None], still]}]}],
            "sliders": [{"active": 0, "currentvalue": {"prefix": "output position "}, "pad": {"t": 50},
                         "steps": [{"label": str(o), "method": "animate", "args": [[str(o)], still]}
                                   for o in range(len(row.taps))]}],
        }  # fmt: skip

    return plots.fast_figure(data, layout, animation)


def _taps(taps: tuple[int, ...]) -> dict:
    return {"type": "scatter", "x": list(taps), "y": [0.6] * len(taps), "mode": "markers", "name": "kernel taps",
            "marker": {"symbol": "triangle-down", "size": 14, "color": TAP_COLOUR}, "hoverinfo": "x"}  # fmt: skip


def lines_figure(settings: Explorer1dSettings, sequence: sequences.SequenceInput, output: SequenceOutput) -> go.Figure:
    """The input (DNA as a one-hot map with its bases, a signal as a line) above the output channels as lines.

    Outputs sit over the input position at the centre of the window that made
    them, so a motif detector's peak stands over its motif.
    """
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                           subplot_titles=("input", f"output of {settings.layer}"))  # fmt: skip
    length = sequence.values.shape[1]
    if settings.source == "dna":
        figure.add_trace(go.Heatmap(
            z=sequence.values, x=np.arange(length), y=list(sequence.channel_names), showscale=False,
            colorscale=[[0, "#FFFFFF"], [1, "#0072B2"]], zmin=0, zmax=1, name="one-hot",
            hovertemplate="position %{x}, channel %{y}: %{z:.0f}<extra></extra>",
            text=[[base if base == channel else "" for base in sequence.position_labels]
                  for channel in sequence.channel_names],
            texttemplate="%{text}" if length <= MAX_LABELLED_CELLS else "", textfont={"color": "#FFFFFF"},
        ), row=1, col=1)  # fmt: skip
    else:
        figure.add_trace(go.Scatter(x=np.arange(length), y=sequence.values[0], mode="lines", name="input",
                                    line={"color": "#000000", "width": 1.5}), row=1, col=1)  # fmt: skip
    for channel, (values, name) in enumerate(zip(output.values, output.names)):
        mode = "lines+markers" if len(values) <= MAX_LABELLED_CELLS else "lines"
        colour = OKABE_ITO[channel % len(OKABE_ITO)]
        trace = go.Scatter(
            x=output.positions, y=values, mode=mode, name=name, line={"color": colour, "width": 2}, marker={"size": 4}
        )
        figure.add_trace(trace, row=2, col=1)
    figure.update_xaxes(title_text="input position (outputs at the centre of their window)", row=2, col=1)
    figure.update_yaxes(title_text="base" if settings.source == "dna" else "value", row=1, col=1)
    figure.update_yaxes(title_text="output value", zeroline=True, zerolinecolor="#888888", row=2, col=1)
    figure.update_layout(height=480, margin={"l": 60, "r": 20, "t": 60, "b": 50},
                         legend={"orientation": "h", "y": -0.2})  # fmt: skip
    return figure


def build(settings: Explorer1dSettings) -> View1d:
    """The report and both pictures for ``settings``.

    Raises:
        InvalidLayerConfig: when PyTorch would refuse the layer.
        sequences.SequenceError: for a DNA text that is no DNA.
    """
    report = explorer1d.analyze(settings)
    sequence = explorer1d.input_sequence(settings)
    sliding = sliding_figure(explorer1d.window_steps(settings, report), sequence)
    try:
        output = explorer1d.run(settings, report)
    except InvalidLayerConfig as error:
        note = error.constraint + (f" Fix: {error.fix}" if error.fix else "")
        return View1d(report, sliding, None, note, "")
    return View1d(report, sliding, lines_figure(settings, sequence, output), None, output.description)
