"""The Inside page in real Chromium: clicking a feature-map cell moves the receptive field to it; clicking a
point of the latent plane shows the decoder's image of that point."""

from __future__ import annotations

import numpy as np
import pytest
from playwright.sync_api import expect

from cnnviz.analysis import latent
from cnnviz.views.inside_view import PLANE_GRID
from models import PRETRAINED_DIR, load_model
from tests.conftest import open_page, wait_for_app

WAIT_MS = 60_000  # a busy 2-core machine: the first rerun also loads the models and MNIST
PROJECTED = 500  # test digits the latent test's cache holds (the page would encode all 10,000: ~6 s of CPU here)


@pytest.mark.browser
def test_clicking_a_cell_shows_its_receptive_field(page, app_url):
    open_page(page, app_url, "inside")
    # The default: res2_1 (14 x 14), its centre cell (7, 7), which reads rows and columns 8-21.
    expect(page.get_by_text("Cell (row 7, column 7) of channel 0")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("It reads input rows 8-21, columns 8-21")).to_be_visible(timeout=WAIT_MS)
    picker = page.locator(".mg").filter(has=page.locator(".mg-title", has_text="res2_1, channel 0: click a cell"))
    canvas = picker.locator("canvas")
    expect(canvas).to_have_count(1, timeout=WAIT_MS)
    expect(picker.locator(".mg-pick")).to_have_count(1)  # the centre cell, outlined
    box = canvas.bounding_box()
    canvas.click(position={"x": 3.5 * box["width"] / 14, "y": 2.5 * box["height"] / 14})  # row 2, column 3
    expect(page.get_by_text("Cell (row 2, column 3) of channel 0")).to_be_visible(timeout=WAIT_MS)
    # r = 14, S = 2, P = 6: rows [2*2 - 6, 2*2 - 6 + 13] = [-2, 11] -> 0-11; columns [0, 13].
    expect(page.get_by_text("It reads input rows 0-11, columns 0-13")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".mg-box")).to_have_count(2)  # the box on the input and on the effective field
    assert page.locator(".mg-box").first.get_attribute("style").startswith("left: 0%; top: 0%;")


@pytest.fixture
def latent_plane(mnist_digits, app_server):
    """The shipped 2-value autoencoder's plane, put in the shared server's cache with the library's own
    latent.projection (on a subset of the test digits), as a server that has projected it once holds it."""
    path = PRETRAINED_DIR / "autoencoder_2d.pt"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("CNNVIZ_RUNS_DIR", str(app_server[1]))  # the server's runs folder: its cache is there
        return latent.projection(load_model(path), path, mnist_digits.subset(PROJECTED))


@pytest.mark.browser
def test_clicking_a_point_of_the_latent_plane_decodes_it(latent_plane, page, app_url):
    tab, url, plane = page, app_url, latent_plane
    tab.goto(url)
    wait_for_app(tab)
    tab.goto(f"{url}/inside")
    wait_for_app(tab)
    tab.get_by_test_id("stSelectbox").filter(has_text="Autoencoder").click()
    tab.get_by_role("option", name="shipped autoencoder, 2-value code").click()
    wait_for_app(tab)
    tab.locator("button").filter(has_text="Latent space").click()
    expect(tab.get_by_text("Click anywhere on the plane")).to_be_visible(timeout=WAIT_MS)
    chart = tab.locator("[data-testid='stPlotlyChart']").filter(has_text="every code has exactly 2 numbers")
    grid = chart.locator(".scatterlayer .trace").first.locator(".point")  # the faint clickable grid
    expect(grid).to_have_count(PLANE_GRID * PLANE_GRID, timeout=WAIT_MS)
    # the grid points' coordinates, as cnnviz.views.inside_view.latent_plane spaces them over the plane
    low, high = plane.points.min(0), plane.points.max(0)
    low, high = low - 0.05 * (high - low), high + 0.05 * (high - low)
    xs, ys = np.linspace(low[0], high[0], PLANE_GRID), np.linspace(low[1], high[1], PLANE_GRID)
    # an inner grid point with no digit drawn over it (a click there would pick the digit instead)
    _, row, col = max(
        (np.abs((plane.points - (xs[c], ys[r])) / (high - low)).max(1).min(), r, c)
        for r in range(1, PLANE_GRID - 1)
        for c in range(1, PLANE_GRID - 1)
    )
    grid.nth(row * PLANE_GRID + col).click(force=True)
    x, y = round(float(xs[col]), 4), round(float(ys[row]), 4)
    expect(tab.get_by_text(f"Decoded point: ({x:.2f}, {y:.2f})")).to_be_visible(timeout=WAIT_MS)
    decoded = tab.locator(".mg").filter(has=tab.locator(".mg-name", has_text=f"decoded at ({x:.2f}, {y:.2f})"))
    expect(decoded.locator("canvas")).to_have_count(1)
