"""The 1-D explorer in real Chromium: the TATA detector's view, a change of kernel, the link follows."""

import pytest

from cnnviz.explorer import layer1d
from tests.conftest import wait_for_app


@pytest.mark.browser
def test_the_1d_explorer_shows_the_motif_detector_and_follows_a_change(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    page.goto(f"{app_url}/explorer1d")
    wait_for_app(page)
    length = len(layer1d.DEFAULT_DNA)
    page.get_by_text(f"(1, 1, {length - 5})").first.wait_for()
    page.get_by_text("▶ play").first.wait_for()  # the window's animation plays in the browser
    stride = page.get_by_role("spinbutton", name="stride")
    stride.fill("2")
    stride.press("Enter")
    page.get_by_text(f"(1, 1, {(length - 6) // 2 + 1})").first.wait_for()
    wait_for_app(page)
    assert "s=2" in page.url
    assert page.locator("[data-testid='stException']").count() == 0
