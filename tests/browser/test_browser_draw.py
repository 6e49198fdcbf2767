"""The draw page in real Chromium: mouse strokes on the canvas reach the shipped networks; maps are painted."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.conftest import wait_for_app

SEVEN = [[(70, 60), (210, 60), (120, 235)]]  # a bar and a diagonal, in canvas pixels
ONE = [[(150, 40), (140, 245)]]
WAIT_MS = 60_000  # a busy 2-core machine: the first rerun also loads both models


def draw(tab, strokes) -> None:
    """Draw polylines on the canvas with the mouse, in small steps as a hand would."""
    box = tab.locator("canvas[data-testid='draw-canvas']").bounding_box()
    for stroke in strokes:
        tab.mouse.move(box["x"] + stroke[0][0], box["y"] + stroke[0][1])
        tab.mouse.down()
        for (x0, y0), (x1, y1) in zip(stroke, stroke[1:]):
            for step in range(1, 25):
                t = step / 24
                tab.mouse.move(box["x"] + x0 + (x1 - x0) * t, box["y"] + y0 + (y1 - y0) * t)
        tab.mouse.up()


def chart(tab, title: str):
    """A chart (widgets/chart.js) by its title."""
    return tab.locator(".ch").filter(has=tab.locator("svg .title", has_text=title))


def grid(tab, title: str):
    """A map grid (widgets/map_grid.js) by its title."""
    return tab.locator(".mg").filter(has=tab.locator(".mg-title", has_text=title))


@pytest.mark.browser
def test_drawing_digits_shows_the_prediction_the_chart_and_the_reconstruction(page, app_url):
    received: list[int] = []  # sizes of the websocket messages the browser gets from the server
    page.on("websocket", lambda socket: socket.on("framereceived", lambda payload: received.append(len(payload))))
    page.goto(app_url)  # the main script first, so that its navigation is in place before the deep link
    wait_for_app(page)
    page.goto(f"{app_url}/draw")
    wait_for_app(page)
    expect(page.get_by_text("Draw a digit from 0 to 9")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("[data-testid='draw-prediction']")).to_have_count(0)

    before = len(received)
    draw(page, SEVEN)
    prediction = page.locator("[data-testid='draw-prediction']")
    expect(prediction).to_have_text("7", timeout=WAIT_MS)
    expect(chart(page, "What the classifier thinks").locator("rect.bar")).to_have_count(10, timeout=WAIT_MS)
    expect(grid(page, "Input and reconstruction").locator("canvas")).to_have_count(2, timeout=WAIT_MS)
    expect(grid(page, "The error")).to_contain_text("error = reconstruction - input", timeout=WAIT_MS)
    expect(page.get_by_text("Mean squared error")).to_be_visible(timeout=WAIT_MS)
    conv1 = grid(page, "conv1 (convolution): output 16 x 28 x 28")
    expect(conv1.locator(".mg-grid canvas")).to_have_count(16, timeout=WAIT_MS)
    # the maps are painted: a panel holds more than one colour
    colours = conv1.locator(".mg-grid canvas").first.evaluate(
        "c => new Set(Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)).size"
    )
    assert colours > 2
    conv1.locator(".mg-grid canvas").nth(3).hover()
    expect(conv1.locator(".mg-status")).to_contain_text("channel 3, row", timeout=WAIT_MS)  # a value on hover
    conv1.locator(".mg-grid canvas").nth(3).click()
    expect(conv1.locator(".mg-zoom canvas")).to_have_count(1)  # and the channel enlarged on click
    wait_for_app(page)
    per_stroke = sum(received[before:])
    assert 10_000 < per_stroke < 1_000_000, f"{per_stroke} bytes sent to the browser for one stroke"
    print(f"one stroke: {per_stroke / 1000:.0f} kB sent to the browser")  # the README's figure (pytest -s)

    page.locator("button[title='Clear the canvas']").click()
    expect(page.get_by_text("Draw a digit from 0 to 9")).to_be_visible(timeout=WAIT_MS)
    expect(prediction).to_have_count(0)

    draw(page, ONE)
    expect(prediction).to_have_text("1", timeout=WAIT_MS)
