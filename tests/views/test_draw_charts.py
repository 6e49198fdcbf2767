"""The draw page's charts: labelled, coloured as promised, the right values, JSON-ready."""

from __future__ import annotations

import json

import numpy as np

from cnnviz.views.draw_charts import COMPARE_COLOUR, OTHER_COLOUR, TOP_COLOUR, probability_chart, sweep_chart


def test_probability_chart_highlights_the_top_guess_and_labels_its_axes():
    probabilities = np.array([0.01, 0.02, 0.05, 0.02, 0.8, 0.02, 0.02, 0.02, 0.02, 0.02])
    chart = probability_chart(probabilities)
    assert chart.kind == "bars" and chart.x == tuple(str(d) for d in range(10))
    (bars,) = chart.series
    assert bars.colours[4] == TOP_COLOUR and set(bars.colours[:4]) == {OTHER_COLOUR}
    np.testing.assert_allclose(bars.values, probabilities)
    assert chart.x_title == "digit" and chart.title == "What the classifier thinks"
    json.dumps(chart.payload())


def test_probability_chart_compares_a_second_set_side_by_side():
    chart = probability_chart(np.full(10, 0.1), compare=np.eye(10)[3])
    assert [s.name for s in chart.series] == ["drawing as MNIST", "naive resize"]
    assert chart.series[1].hatched and set(chart.series[1].colours) == {COMPARE_COLOUR}
    assert chart.series[1].values[3] == 1.0


def test_sweep_chart_draws_the_leading_digits_and_marks_the_current_input():
    values = [-2, -1, 0, 1, 2]
    probabilities = np.zeros((5, 10))
    probabilities[:, 7] = [0.2, 0.9, 1.0, 0.9, 0.1]
    probabilities[:, 1] = [0.8, 0.1, 0.0, 0.1, 0.9]
    probabilities[:, 4] = [0.0, 0.0, 0.0, 0.0, 0.0]
    chart = sweep_chart(values, probabilities, x_title="moved right by (pixels)", current=1, lines=2)
    assert chart.kind == "lines" and [s.name for s in chart.series] == ["digit 7", "digit 1"]
    assert chart.series[0].dash != chart.series[1].dash  # told apart without colour too
    assert chart.marker == 1 and chart.x == (-2.0, -1.0, 0.0, 1.0, 2.0)
    assert chart.x_title == "moved right by (pixels)"
    np.testing.assert_allclose(chart.series[1].values, probabilities[:, 1])
