"""serve.py: a deep link is the first request of a fresh server, as after a restart in class."""

import pytest


@pytest.mark.browser
def test_deep_link_first_after_start_gets_the_apps_navigation(browser, tmp_path):
    from conftest import start_app, stop_app, wait_for_app

    server, url, log = start_app(tmp_path)
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    try:
        tab = context.new_page()
        tab.goto(f"{url}/explorer")
        wait_for_app(tab)
        nav = tab.get_by_test_id("stSidebarNav")
        nav.get_by_text("Layer explorer").wait_for(timeout=30_000)  # st.Page titles, not file names
        assert nav.get_by_text("app", exact=True).count() == 0
        assert tab.locator("[data-testid='stException']").count() == 0
    finally:
        context.close()
        stop_app(server, log)
