"""The network builder in real Chromium: the field-growth picture is drawn (an SVG image) with its boxes."""

import base64
import re

import pytest

from tests.conftest import wait_for_app


@pytest.mark.browser
def test_the_field_growth_picture_is_drawn_with_its_boxes(page, app_url):
    page.goto(f"{app_url}/network")
    wait_for_app(page)
    picture = page.locator("img[src^='data:image/svg+xml']")
    picture.wait_for()
    # Decoded by the browser: an SVG the browser cannot read has no natural size.
    width, height = picture.evaluate("img => [img.naturalWidth, img.naturalHeight]")
    assert width > 500 and height > 300
    shown = picture.bounding_box()
    assert shown is not None and shown["width"] > 400  # drawn at a readable size, not a thumbnail
    svg = base64.b64decode(picture.get_attribute("src").split(",", 1)[1]).decode()
    boxes = re.findall(r'class="fg-box"><title>([^<]*)</title>', svg)
    assert len(boxes) == 9 and boxes[-1].startswith("12 MaxPool2d: 36 x 36")  # the default classifier
    page.get_by_text("the cell over one input pixel").click()
    page.get_by_label("input row").wait_for()
    wait_for_app(page)
    page.wait_for_function(
        "() => [...document.querySelectorAll(\"img[src^='data:image/svg+xml']\")]"
        ".some(img => atob(img.src.split(',')[1]).includes('rows 13 to 15'))"
    )
