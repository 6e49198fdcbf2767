"""The 1-D explorer's pictures, built without Streamlit: the window sliding along the sequence, and line plots.

The sliding window is the 2-D explorer's animation on a one-row grid
(:func:`cnnviz.explorer.animation.payload`, drawn in the browser by
``widgets/sliding_window``); the lines are a plotly figure.

Colours are Okabe-Ito (colour-blind safe); every axis is labelled so the
pictures read on a projector.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from cnnviz.data import sequences
from cnnviz.explorer import animation, layer1d
from cnnviz.explorer.layer1d import Explorer1dSettings, SequenceOutput, SequenceReport
from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.views.palette import BLACK, BLUE, GREEN, ORANGE, PURPLE, SKY, VERMILLION, YELLOW

CHANNEL_COLOURS = (BLUE, VERMILLION, GREEN, PURPLE, ORANGE, SKY, YELLOW, BLACK)  # neighbours far apart
MAX_LABELLED_CELLS = 70  # rows longer than this drop the base letters / values inside cells


@dataclass(frozen=True)
class View1d:
    """Everything the page draws for one setting (a figure is None when it cannot be made; the note says why)."""

    report: SequenceReport  # the arithmetic
    sliding: animation.AnimationPayload  # the window, step by step, for widgets/sliding_window
    sliding_caption: str  # what the animation shows
    lines: go.Figure | None  # input and output as line plots
    note: str | None  # why there are no lines (e.g. a preset that does not fit)
    description: str  # what the lines show


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
            colorscale=[[0, "#FFFFFF"], [1, BLUE]], zmin=0, zmax=1, name="one-hot",
            hovertemplate="position %{x}, channel %{y}: %{z:.0f}<extra></extra>",
            text=[[base if base == channel else "" for base in sequence.position_labels]
                  for channel in sequence.channel_names],
            texttemplate="%{text}" if length <= MAX_LABELLED_CELLS else "", textfont={"color": "#FFFFFF"},
        ), row=1, col=1)  # fmt: skip
    else:
        figure.add_trace(go.Scatter(x=np.arange(length), y=sequence.values[0], mode="lines", name="input",
                                    line={"color": BLACK, "width": 1.5}), row=1, col=1)  # fmt: skip
    for channel, (values, name) in enumerate(zip(output.values, output.names)):
        mode = "lines+markers" if len(values) <= MAX_LABELLED_CELLS else "lines"
        colour = CHANNEL_COLOURS[channel % len(CHANNEL_COLOURS)]
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
    report = layer1d.analyze(settings)
    sequence = layer1d.input_sequence(settings)
    row = layer1d.window_steps(settings, report)
    sliding = animation.payload(row.as_window())
    try:
        output = layer1d.run(settings, report)
    except InvalidLayerConfig as error:
        note = error.constraint + (f" Fix: {error.fix}" if error.fix else "")
        return View1d(report, sliding, row.caption, None, note, "")
    lines = lines_figure(settings, sequence, output)
    return View1d(report, sliding, row.caption, lines, None, output.description)
