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
    from cnnviz.page_list import PAGES

    at = AppTest.from_file("../../app.py", default_timeout=60).run()
    url_paths = {p.url_path for p in PAGES if p.url_path}  # every page but home (app.py makes them from PAGES)
    linked = {link.proto.page for link in at.get("page_link")}
    assert len(url_paths) >= 9 and url_paths <= linked, url_paths - linked


def test_the_page_list_names_files_that_exist_once_each():
    from pathlib import Path

    from cnnviz.page_list import PAGES

    root = Path(__file__).resolve().parents[2]
    assert all((root / p.path).is_file() for p in PAGES)
    assert len({p.name for p in PAGES}) == len({p.path for p in PAGES}) == len({p.url_path for p in PAGES}) == 10
    assert [p.name for p in PAGES if p.default] == ["home"]
