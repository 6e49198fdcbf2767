"""The app shell under streamlit.testing, and in the real browser."""

import pytest
from streamlit.testing.v1 import AppTest


def test_home_page_runs_and_describes_the_lab_networks():
    at = AppTest.from_file("../../app.py", default_timeout=60).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "4 x 3 x 3 = 36" in text
    assert "288 features" in text


@pytest.mark.browser
def test_home_page_in_chromium(page, app_url):
    from tests.conftest import wait_for_app

    page.goto(app_url)
    wait_for_app(page)
    page.get_by_text("convolutional networks you can touch").wait_for()


def test_home_page_links_every_page_of_the_app():
    import re
    from pathlib import Path

    at = AppTest.from_file("../../app.py", default_timeout=60).run()
    app = (Path(__file__).parents[2] / "app.py").read_text()
    url_paths = set(re.findall(r'url_path="([a-z0-9_]+)"', app))  # every page but home
    linked = {link.proto.page for link in at.get("page_link")}
    assert len(url_paths) >= 9 and url_paths <= linked, url_paths - linked
