"""The draw page's clicked cell under streamlit.testing: its receptive fields appear, a stale cell is dropped.

A click in the browser reaches the page as the map grid's callback, which keeps the cell in
``st.session_state["draw_cell_click"]`` for the rerun (tests/test_browser_draw_cell.py clicks for real);
here the tests put it there themselves.
"""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.analysis.receptive import region
from cnnviz.page_list import page_path
from cnnviz.views.draw_view import CellChoice
from models import load_pretrained
from tests.map_grids import component_data, map_grids
from tests.pages.test_pages_draw import DIGIT_INDEX, a_test_digit  # noqa: F401 (a fixture)


def draw_page(**state) -> AppTest:
    at = AppTest.from_file("../../app.py", default_timeout=60)
    at.run()
    at.switch_page(page_path("draw"))
    for key, value in {"draw_source": "mnist", "draw_mnist_index": DIGIT_INDEX, **state}.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def text(at: AppTest) -> str:
    return "\n".join(element.value for element in [*at.markdown, *at.caption, *at.info, *at.warning])


def cell_grids(at: AppTest) -> list[dict]:
    return [
        grid
        for element in at.get("bidi_component")
        if element.proto.component_name == "cnnviz.views.grids" and "draw_cell_field" in element.proto.id
        for grid in component_data(element)["grids"]
    ]


@pytest.fixture(scope="module")
def classifier():
    return load_pretrained("classifier")


def test_before_a_click_the_page_says_what_clicking_does(a_test_digit):  # noqa: F811
    at = draw_page()
    assert "Click a cell of any map above" in text(at)
    assert at.session_state["draw_cell"] is None and not cell_grids(at)


def test_a_click_shows_the_cells_region_value_and_fields(a_test_digit, classifier):  # noqa: F811
    at = draw_page()
    reruns_before = at.session_state["draw_last_reading"]
    # The default layers are conv1, pool1, pool2, pool3: grid 2 is pool2 (7 x 7).
    at.session_state["draw_cell_click"] = {"grid": 2, "channel": 5, "row": 1, "column": 4}
    at.run()
    assert not at.exception
    assert at.session_state["draw_cell"] == CellChoice("backbone.layers.pool2", 5, 1, 4)
    assert at.session_state["draw_last_reading"] is reruns_before  # the click did not compute the reading again
    (top, left), (bottom, right) = region(classifier, "backbone.layers.pool2", 1, 4)
    shown = text(at)
    assert f"reads input rows **{top}-{bottom}**, columns **{left}-{right}**" in shown
    assert "**pool2**, channel 5, cell **(row 1, column 4)**: value **" in shown
    assert "r = 16 x 16 pixels, effective stride S = 4, effective padding P = 6" in shown
    digit, field = cell_grids(at)
    assert digit["panels"][0]["box"] == field["panels"][0]["box"] == [top, left, bottom, right]
    assert field["panels"][0]["cmap"] == "blue-red"
    layers = next(g for g in map_grids(at) if g["title"].startswith("pool2"))
    assert layers["clickable"]
    # the next rerun (a slider, say) keeps the cell; unpicking its layer drops it without an error
    at.slider(key="draw_right").set_value(2).run()
    assert "reads input rows" in text(at) and at.session_state["draw_cell"].layer == "backbone.layers.pool2"
    at.pills(key="draw_layers").set_value(["conv1"]).run()
    assert not at.exception and at.session_state["draw_cell"] is None
    assert "Click a cell of any map above" in text(at)


def test_a_click_outside_the_maps_changes_nothing(a_test_digit):  # noqa: F811
    at = draw_page(draw_cell=CellChoice("backbone.layers.conv1", 0, 3, 3))
    assert "cell **(row 3, column 3)**" in text(at)
    at.session_state["draw_cell_click"] = {"grid": 9, "channel": 0, "row": 0, "column": 0}
    at.run()
    assert not at.exception and at.session_state["draw_cell"] == CellChoice("backbone.layers.conv1", 0, 3, 3)
