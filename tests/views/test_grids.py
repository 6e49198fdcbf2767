"""Map grids: what the browser gets is the maps, one byte per value, coloured by the right colormap."""

import numpy as np
import pytest

from cnnviz.views.grids import MAX_SIDE, MAX_VALUES, map_grid
from cnnviz.views.palette import DIVERGING, GREYS, SEQUENTIAL
from tests.map_grids import grid_values


def test_the_values_come_back_within_one_step_of_each_panels_colour_range():
    rng = np.random.default_rng(0)
    maps = rng.normal(size=(5, 9, 13)).astype(np.float32)
    maps[1] = np.abs(maps[1])  # an unsigned map among signed ones
    payload = map_grid(maps, titles=list("abcde")).payload()
    back = grid_values(payload)
    assert back.shape == (5, 9, 13)
    for channel, panel in enumerate(payload["panels"]):
        step = (panel["high"] - panel["low"]) / 255
        np.testing.assert_allclose(back[channel], maps[channel], atol=step / 2 + 1e-6)
    assert [p["cmap"] for p in payload["panels"]] == [DIVERGING, SEQUENTIAL, DIVERGING, DIVERGING, DIVERGING]
    assert [p["title"] for p in payload["panels"]] == list("abcde")


def test_signed_maps_are_centred_on_zero_and_labels_show_the_real_extremes():
    grid = map_grid(np.array([[[-1.0, 3.0]]]))
    panel = grid.panels[0]
    assert (panel.colour_low, panel.colour_high) == (-3.0, 3.0)  # white means exactly zero
    assert grid.payload()["panels"][0]["range"] == "[-1, 3]"


def test_digits_use_greys_over_a_fixed_range():
    digit = np.zeros((28, 28), dtype=np.float32)
    digit[10:18, 12:16] = 0.5
    payload = map_grid(digit, colormap=GREYS, value_range=(0.0, 1.0)).payload()
    assert payload["panels"][0]["cmap"] == GREYS
    assert (payload["panels"][0]["low"], payload["panels"][0]["high"]) == (0.0, 1.0)
    np.testing.assert_allclose(grid_values(payload)[0], digit, atol=0.5 / 255)


def test_large_maps_are_block_averaged_to_the_budget_and_the_title_says_so():
    maps = np.ones((64, 256, 256), dtype=np.float32)
    grid = map_grid(maps, title="big")
    assert grid.factor >= 2 and max(grid.rows, grid.columns) <= MAX_SIDE
    assert len(grid.panels) * grid.rows * grid.columns <= MAX_VALUES
    assert grid.title == f"big; drawn at 1/{grid.factor} resolution"
    assert len(grid.payload()["png"]) < 20_000  # a constant picture compresses to almost nothing


def test_constant_and_non_finite_maps_still_get_a_usable_range():
    maps = np.stack([np.full((3, 3), 2.0), np.full((3, 3), np.nan)]).astype(np.float32)
    payload = map_grid(maps).payload()
    for panel in payload["panels"]:
        assert panel["high"] > panel["low"]


def test_boxes_travel_per_panel_in_the_coordinates_sent():
    payload = map_grid(np.zeros((2, 5, 7)), boxes=[((1, 2), (3, 6)), None]).payload()
    assert payload["panels"][0]["box"] == [1, 2, 3, 6]
    assert "box" not in payload["panels"][1]
    big = map_grid(np.zeros((1, 256, 256)), boxes=[((10, 20), (130, 255))])  # block-averaged by 2
    assert big.factor == 2 and big.payload()["panels"][0]["box"] == [5, 10, 65, 127]


@pytest.mark.parametrize(
    "maps, kwargs, message",
    [
        (np.zeros((2, 0, 3)), {}, "every size at least 1"),
        (np.zeros((2, 2, 2, 2)), {}, "(C, H, W)"),
        (np.zeros((3, 2, 2)), {"titles": ["a"]}, "1 titles for 3 maps"),
        (np.zeros((1, 2, 2)), {"colormap": "jet"}, "unknown colormap"),
        (np.zeros((2, 2, 2)), {"boxes": [None]}, "1 boxes for 2 maps"),
        (np.zeros((1, 4, 4)), {"boxes": [((0, 0), (4, 3))]}, "not inside a 4 x 4 map"),
        (np.zeros((1, 4, 4)), {"boxes": [((2, 0), (1, 3))]}, "not inside a 4 x 4 map"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(maps, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        map_grid(maps, **kwargs)
