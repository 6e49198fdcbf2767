"""The draw page's clicked cell: which cell a click means, and its receptive fields on the shipped classifier."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cnnviz.analysis.features import LayerMaps
from cnnviz.analysis.receptive import region
from cnnviz.data.images import load_sample
from cnnviz.views.draw_view import NOT_MOVED, CellChoice, DrawSettings, cell_choice, cell_view, read_picture
from tests.map_grids import grid_values

CONV1 = LayerMaps("conv1", "backbone.layers.conv1", "convolution", np.zeros((16, 28, 28), np.float32))
POOL3 = LayerMaps("pool3", "backbone.layers.pool3", "max pooling", np.zeros((32, 3, 3), np.float32))


@pytest.fixture(scope="module")
def reading(trained_classifier):
    """The shipped sample of a 0 (an MNIST test digit) through the shipped classifier."""
    return read_picture(load_sample("mnist_0").pixels, trained_classifier, None, DrawSettings(mnist_format=True))


def test_a_click_names_the_layer_of_the_grid_clicked_and_later_reruns_keep_it():
    click = {"grid": 1, "channel": 4, "row": 2, "column": 0}
    choice = cell_choice(click, [CONV1, POOL3])
    assert choice == CellChoice("backbone.layers.pool3", 4, 2, 0)
    assert cell_choice(None, [CONV1, POOL3], choice) == choice  # no new click: the same cell
    assert cell_choice({"grid": 0, "channel": 1, "row": 20, "column": 27}, [CONV1, POOL3], choice) == CellChoice(
        "backbone.layers.conv1", 1, 20, 27
    )


@pytest.mark.parametrize(
    "click",
    [
        {"grid": 2, "channel": 0, "row": 0, "column": 0},  # no third grid
        {"grid": 0, "channel": 16, "row": 0, "column": 0},  # conv1 has 16 channels
        {"grid": 1, "channel": 0, "row": 3, "column": 0},  # pool3 is 3 x 3
        {"grid": 0, "channel": "0", "row": 0, "column": 0},
        {"grid": 0, "channel": True, "row": 0, "column": 0},
        {"grid": 0, "row": 0},
        {"grid": -1, "channel": 0, "row": 0, "column": 0},
        {"grid": 0, "channel": 0, "row": -1, "column": 0},
        ["grid", 0],
        "a forged message",
    ],
)
def test_a_click_outside_the_maps_or_malformed_selects_nothing(click):
    assert cell_choice(click, [CONV1, POOL3]) is None


def test_a_stale_cell_is_dropped_when_its_layer_is_hidden_or_smaller():
    kept = CellChoice("backbone.layers.conv1", 15, 27, 27)
    assert cell_choice(None, [POOL3], kept) is None  # conv1 no longer shown
    smaller = LayerMaps("conv1", "backbone.layers.conv1", "convolution", np.zeros((8, 28, 28), np.float32))
    assert cell_choice(None, [smaller], kept) is None  # another model: conv1 has 8 channels


def test_the_box_is_the_receptive_region_and_the_effective_field_lies_inside_it(trained_classifier, reading):
    layer = next(item for item in reading.classification.layers if item.name == "res2_1")
    # the strongest cell of channel 0: its ReLUs are on, so some pixels move it
    row, col = np.unravel_index(np.argmax(layer.maps[0]), layer.maps[0].shape)
    view = cell_view(trained_classifier, reading, CellChoice(layer.path, 0, int(row), int(col)))
    expected = region(trained_classifier, layer.path, int(row), int(col))
    assert view.field.box == expected
    assert view.field.value == pytest.approx(float(layer.maps[0, row, col]), abs=1e-5)  # the value the grid shows
    (top, left), (bottom, right) = expected
    inside = np.zeros((28, 28), dtype=bool)
    inside[top : bottom + 1, left : right + 1] = True
    gradient = view.field.gradient
    assert np.all(gradient[~inside] == 0) and np.any(gradient[inside] != 0)
    # what the browser gets: the digit and the gradient, each with that box; the gradient centred on zero
    digit_grid, field_grid = (grid.payload() for grid in view.grids)
    assert digit_grid["panels"][0]["box"] == field_grid["panels"][0]["box"] == [top, left, bottom, right]
    panel = field_grid["panels"][0]
    assert panel["cmap"] == "blue-red" and panel["low"] == -panel["high"]
    np.testing.assert_allclose(grid_values(field_grid)[0], gradient, atol=(panel["high"] - panel["low"]) / 510 + 1e-7)
    np.testing.assert_allclose(grid_values(digit_grid)[0], reading.digit, atol=0.5 / 255 + 1e-6)
    assert f"reads input rows **{top}-{bottom}**, columns **{left}-{right}**" in view.summary
    assert "r = 14 x 14 pixels, effective stride S = 2, effective padding P = 6" in view.formula


def test_a_cell_that_no_pixel_moves_says_so(trained_classifier, reading):
    view = cell_view(trained_classifier, reading, CellChoice("backbone.layers.pool1", 3, 5, 6))
    assert not view.field.moved and not np.any(view.field.gradient)
    assert NOT_MOVED in view.summary
    moved = cell_view(trained_classifier, reading, CellChoice("backbone.layers.conv1", 0, 14, 14))
    assert moved.field.moved and NOT_MOVED not in moved.summary


def test_the_cell_follows_the_moved_input(trained_classifier):
    """The field is computed on what the model saw: the digit after the sliders moved it."""
    moved = read_picture(load_sample("mnist_0").pixels, trained_classifier, None, DrawSettings(3, 0, 0, False, True))
    view = cell_view(trained_classifier, moved, CellChoice("backbone.layers.conv1", 0, 14, 14))
    assert not np.array_equal(moved.digit, moved.prepared)
    with torch.no_grad():
        x = torch.from_numpy(moved.digit)[None, None]
        expected = trained_classifier.backbone.layers.conv1(trained_classifier.normalize(x))[0, 0, 14, 14]
    assert view.field.value == pytest.approx(float(expected), abs=1e-5)


def test_a_layer_without_a_receptive_field_gets_a_message_not_an_error():
    upsampling = nn.Sequential(nn.ConvTranspose2d(1, 2, 2, stride=2), nn.Conv2d(2, 2, 3)).eval()
    reading = read_picture(load_sample("mnist_0").pixels, None, None, DrawSettings(mnist_format=True))
    view = cell_view(upsampling, reading, CellChoice("1", 0, 3, 3))
    assert view.field is None and view.grids == () and view.formula == ""
    assert "has no receptive field" in view.summary and "ConvTranspose2d" in view.summary
