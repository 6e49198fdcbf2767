"""The Inside page's figures are valid plotly (rebuilt with validation on) and show what they claim."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from cnnviz.views import inside_view


def valid(figure) -> dict:
    return go.Figure(figure.to_dict()).to_dict()  # plotly validates every property here


def test_digit_row_is_one_heatmap_with_gaps():
    images = [np.full((28, 28), i / 10) for i in range(10)]
    figure = valid(inside_view.digit_row(images, [str(i) for i in range(10)], "ten digits"))
    (heatmap,) = figure["data"]
    assert np.asarray(heatmap["z"]).shape == (28, 10 * 29 - 1)
    assert [a["text"] for a in figure["layout"]["annotations"]] == [str(i) for i in range(10)]
    assert heatmap["z"][0][28] is None  # the gap column


def test_plane_and_other_figures_are_valid():
    rng = np.random.default_rng(0)
    points, labels = rng.normal(size=(500, 2)), rng.integers(0, 10, 500)
    plane = valid(inside_view.latent_plane(points, labels, (0.1, 0.2), False, [0.3, 0.2]))
    names = [trace.get("name") for trace in plane["data"]]
    assert names == ["anywhere (click)", *[str(d) for d in range(10)], "this digit"]
    assert len(set(trace["marker"].get("symbol") for trace in plane["data"][1:11])) == 10
    assert "30% of the variance" in plane["layout"]["xaxis"]["title"]["text"]
    digit = rng.random((28, 28))
    valid(inside_view.maximised_figure(digit, ((0, 0), (9, 9)), 1.5))
    chart = valid(inside_view.bottleneck_chart([2, 8, 64], [0.05, 0.03, 0.01]))
    assert chart["data"][0]["y"] == (0.05, 0.03, 0.01) or list(chart["data"][0]["y"]) == [0.05, 0.03, 0.01]


def test_signed_rows_are_centred_on_zero():
    kernels = [np.array([[-2.0, 0.0], [1.0, 0.5]]), np.array([[0.1, -0.3], [0.0, 0.2]])]
    figure = valid(inside_view.digit_row(kernels, ["0", "1"], "kernels", signed=True))
    (heatmap,) = figure["data"]
    assert heatmap["zmin"] == -2.0 and heatmap["zmax"] == 2.0 and heatmap["showscale"]
    row = valid(inside_view.image_row([inside_view.Panel("a", kernels[0], True), inside_view.Panel("b", kernels[1])]))
    assert row["data"][0]["zmin"] == -row["data"][0]["zmax"] and row["data"][1]["zmin"] == 0.0
    assert row["layout"]["xaxis2"]["domain"][1] <= 1.0


def test_attribution_grids_show_the_digit_and_both_signed_maps_centred_on_zero():
    rng = np.random.default_rng(1)
    digit, saliency, gradcam = rng.random((28, 28)), rng.normal(size=(28, 28)), rng.normal(size=(28, 28)) + 0.5
    grids = inside_view.attribution_grids(digit, saliency, gradcam, 7)
    payloads = [grid.payload() for grid in grids]
    assert [p["title"] for p in payloads] == ["The digit", "Saliency (gradient x input) for 7", "Grad-CAM for 7"]
    cmaps = [p["panels"][0]["cmap"] for p in payloads]
    assert cmaps[0] == "greys" and cmaps[1] == cmaps[2] == "blue-red"
    for grid, values in zip(grids[1:], (saliency, gradcam)):
        panel = grid.panels[0]
        assert panel.colour_low == -panel.colour_high  # signed: white is exactly zero
        assert panel.colour_high >= np.abs(values).max() - 1e-6
