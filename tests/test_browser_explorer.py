"""The explorer in real Chromium: change the kernel size, see the new shape, play the window; no exception."""

import pytest
from conftest import wait_for_app
from playwright.sync_api import expect

WAIT_MS = 90_000  # a busy 2-core machine (other suites beside this one) can take tens of seconds per rerun


@pytest.mark.browser
def test_changing_the_kernel_size_updates_the_shape_in_the_browser(page, app_url):
    page.set_default_timeout(WAIT_MS)
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
    # the animation plays in the browser, without asking the server
    label = page.locator(".sw-label")
    expect(label).to_contain_text("step 1 of 576: output (0, 0) reads grid rows 0-4, columns 0-4", timeout=WAIT_MS)
    page.get_by_role("button", name="▶ play").click()
    expect(label).not_to_contain_text("step 1 of 576", timeout=WAIT_MS)  # it moves on by itself
    page.get_by_role("button", name="❚❚ pause").click()
    slider = page.locator(".sw-controls input[type=range]")
    slider.fill("575")
    last = "step 576 of 576: output (23, 23) reads grid rows 23-27, columns 23-27"
    expect(label).to_contain_text(last, timeout=WAIT_MS)
