"""The Inside page in real Chromium: clicking a feature-map cell moves the receptive field to it."""

from __future__ import annotations

import pytest
from conftest import wait_for_app
from playwright.sync_api import expect

WAIT_MS = 60_000  # a busy 2-core machine: the first rerun also loads the models and MNIST


@pytest.mark.browser
def test_clicking_a_cell_shows_its_receptive_field(page, app_url):
    page.goto(app_url)  # the main script first, so that its navigation is in place before the deep link
    wait_for_app(page)
    page.goto(f"{app_url}/inside")
    wait_for_app(page)
    # The default: res2_1 (14 x 14), its centre cell (7, 7), which reads rows and columns 8-21.
    expect(page.get_by_text("Cell (row 7, column 7) of channel 0")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("It reads input rows 8-21, columns 8-21")).to_be_visible(timeout=WAIT_MS)
    picker = page.locator("[data-testid='stPlotlyChart']").filter(has_text="click a cell")
    cells = picker.locator(".scatterlayer .trace .point")
    expect(cells).to_have_count(14 * 14, timeout=WAIT_MS)
    cells.nth(2 * 14 + 3).click(force=True)  # row 2, column 3
    expect(page.get_by_text("Cell (row 2, column 3) of channel 0")).to_be_visible(timeout=WAIT_MS)
    # r = 14, S = 2, P = 6: rows [2*2 - 6, 2*2 - 6 + 13] = [-2, 11] -> 0-11; columns [0, 13].
    expect(page.get_by_text("It reads input rows 0-11, columns 0-13")).to_be_visible(timeout=WAIT_MS)
