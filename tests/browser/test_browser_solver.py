"""The solver page in real Chromium: the answers appear, and an answer's link opens the explorer on it."""

import pytest

from cnnviz.views import solver_view
from tests.conftest import wait_for_app


@pytest.mark.browser
def test_the_solver_lists_answers_and_their_links_open_the_explorer(page, app_url):
    page.goto(app_url)
    wait_for_app(page)
    page.goto(f"{app_url}/solver")
    wait_for_app(page)
    page.get_by_text("configurations of Conv2d turn 28 x 28 into 14 x 14").first.wait_for()
    assert page.locator("[data-testid='stException']").count() == 0
    view = solver_view.build("Conv2d", 28, 14)
    link = next(row.link for row in view.rows if "kernel_size=3" in row.options)
    page.goto(f"{app_url}{link}")
    wait_for_app(page)
    page.get_by_text("(1, 8, 14, 14)").first.wait_for()
    assert "nn.Conv2d(3, 8, kernel_size=3, stride=2" in page.locator("[data-testid='stCode']").first.inner_text()
