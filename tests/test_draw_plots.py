"""The draw page's figures: valid plotly (rebuilt with validation on), labelled, coloured as promised."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from cnnviz.draw_plots import OTHER_COLOUR, TOP_COLOUR, probability_chart, sweep_chart


def validated(figure: go.Figure) -> dict:
    """The figure's dict after plotly has validated every property (raises on a wrong name or value)."""
    return go.Figure(figure.to_dict()).to_dict()


def test_probability_chart_highlights_the_top_guess_and_labels_its_axes():
    probabilities = np.array([0.01, 0.02, 0.05, 0.02, 0.8, 0.02, 0.02, 0.02, 0.02, 0.02])
    spec = validated(probability_chart(probabilities))
    bars = spec["data"][0]
    assert list(bars["x"]) == [str(d) for d in range(10)]
    assert bars["marker"]["color"][4] == TOP_COLOUR and set(bars["marker"]["color"][:4]) == {OTHER_COLOUR}
    assert bars["text"][4] == "80%"
    assert spec["layout"]["xaxis"]["title"]["text"] == "digit"
    assert spec["layout"]["yaxis"]["title"]["text"] == "probability"


def test_probability_chart_compares_a_second_set_side_by_side():
    spec = validated(probability_chart(np.full(10, 0.1), compare=np.eye(10)[3]))
    assert [trace["name"] for trace in spec["data"]] == ["drawing as MNIST", "naive resize"]
    assert spec["layout"]["barmode"] == "group" and spec["layout"]["showlegend"]


def test_sweep_chart_draws_the_leading_digits_and_marks_the_current_input():
    values = [-2, -1, 0, 1, 2]
    probabilities = np.zeros((5, 10))
    probabilities[:, 7] = [0.2, 0.9, 1.0, 0.9, 0.1]
    probabilities[:, 1] = [0.8, 0.1, 0.0, 0.1, 0.9]
    probabilities[:, 4] = [0.0, 0.0, 0.0, 0.0, 0.0]
    spec = validated(sweep_chart(values, probabilities, x_title="moved right by (pixels)", current=1, lines=2))
    assert [trace["name"] for trace in spec["data"]] == ["digit 7", "digit 1"]
    assert spec["layout"]["shapes"][0]["x0"] == 1
    assert spec["layout"]["xaxis"]["title"]["text"] == "moved right by (pixels)"
