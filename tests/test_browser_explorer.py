"""The explorer in real Chromium: change the kernel size, see the new shape, no exception anywhere."""

import pytest
from conftest import wait_for_app


@pytest.mark.browser
def test_changing_the_kernel_size_updates_the_shape_in_the_browser(page, app_url):
    page.goto(app_url)  # the app's main script first, so that its navigation is in place
    wait_for_app(page)
    page.goto(f"{app_url}/explorer")
    wait_for_app(page)
    page.get_by_text("(1, 8, 26, 26)").first.wait_for()
    kernel = page.get_by_role("spinbutton", name="kernel_size")
    kernel.fill("5")
    kernel.press("Enter")
    page.get_by_text("(1, 8, 24, 24)").first.wait_for()
    wait_for_app(page)
    assert "nn.Conv2d(3, 8, kernel_size=5)" in page.locator("[data-testid='stCode']").first.inner_text()
    assert "k=5" in page.url  # the link carries the setting
    # the animation plays in the browser: the play button exists inside the plotly chart
    page.get_by_text("▶ play").first.wait_for()
