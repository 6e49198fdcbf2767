"""The draw page in real Chromium: clicking a feature-map cell shows the input pixels it reads."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_browser_draw import SEVEN, WAIT_MS, draw, grid
from tests.conftest import open_page


def click_cell(tab, layer_grid, panel: int, row: int, col: int, size: int) -> None:
    """Click the middle of cell (row, col) of one panel of a grid of ``size`` x ``size`` maps."""
    canvas = layer_grid.locator(".mg-grid canvas").nth(panel)
    box = canvas.bounding_box()
    canvas.click(position={"x": (col + 0.5) * box["width"] / size, "y": (row + 0.5) * box["height"] / size})


@pytest.mark.browser
def test_clicking_cells_of_two_layers_shows_each_ones_receptive_field(page, app_url):
    open_page(page, app_url, "draw")
    draw(page, SEVEN)
    expect(page.locator("[data-testid='draw-prediction']")).to_have_text("7", timeout=WAIT_MS)
    expect(page.get_by_text("Click a cell of any map above")).to_be_visible(timeout=WAIT_MS)

    conv1 = grid(page, "conv1 (convolution): output 16 x 28 x 28")
    expect(conv1.locator(".mg-grid canvas")).to_have_count(16, timeout=WAIT_MS)
    click_cell(page, conv1, 3, 10, 14, 28)
    expect(conv1.locator(".mg-pick")).to_have_count(2)  # outlined at once, in the panel and enlarged
    # conv1 is 3 x 3 with padding 1: cell (10, 14) reads rows 9-11, columns 13-15
    expect(page.get_by_text("conv1, channel 3, cell (row 10, column 14): value")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("It reads input rows 9-11, columns 13-15")).to_be_visible(timeout=WAIT_MS)
    field = grid(page, "What moves it (effective field)")
    expect(field.locator(".mg-box")).to_have_count(1, timeout=WAIT_MS)
    expect(grid(page, "The pixels it reads (box)").locator(".mg-box")).to_have_count(1)
    expect(page.get_by_text("effective stride S = 1, effective padding P = 1", exact=False)).to_be_visible()

    # another grid of the same component: pool2 (7 x 7); r = 16, S = 4, P = 6: cell (2, 5) reads
    # rows [2, 17], columns [14, 29] -> 14-27 in the image
    pool2 = grid(page, "pool2 (max pooling): output 32 x 7 x 7")
    click_cell(page, pool2, 0, 2, 5, 7)
    expect(page.get_by_text("It reads input rows 2-17, columns 14-27")).to_be_visible(timeout=WAIT_MS)
    expect(conv1.locator(".mg-pick")).to_have_count(0)  # one picked cell at a time
    expect(pool2.locator(".mg-pick")).to_have_count(2)
