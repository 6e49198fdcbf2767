"""The app shell under streamlit.testing, and in the real browser."""

import pytest
from streamlit.testing.v1 import AppTest


def test_home_page_runs_and_describes_the_lab_networks():
    at = AppTest.from_file("../app.py", default_timeout=60).run()
    assert not at.exception
    text = " ".join(m.value for m in at.markdown)
    assert "4 x 3 x 3 = 36" in text
    assert "288 features" in text


@pytest.mark.browser
def test_home_page_in_chromium(page, app_url):
    from conftest import wait_for_app

    page.goto(app_url)
    wait_for_app(page)
    page.get_by_text("convolutional networks you can touch").wait_for()
