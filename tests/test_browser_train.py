"""The Train page in real Chromium: the live panel polls by itself; uploads are checked."""

from __future__ import annotations

import pytest
from conftest import wait_for_app
from playwright.sync_api import expect

from models import PRETRAINED_DIR

WAIT_MS = 90_000  # a busy 2-core machine: the training process imports torch and loads MNIST first


def open_train_page(tab, app_url) -> None:
    tab.goto(app_url)
    wait_for_app(tab)
    tab.goto(f"{app_url}/train")
    wait_for_app(tab)
    expect(tab.get_by_text("Train the lab's networks")).to_be_visible(timeout=WAIT_MS)


def number_input(tab, label: str):
    return tab.get_by_label(label, exact=True)


@pytest.mark.browser
def test_a_run_started_in_the_browser_updates_by_itself_and_stops(mnist, page, app_url):
    """Training needs MNIST: skipped with the data's message outside CI when it is missing."""
    open_train_page(page, app_url)
    images = number_input(page, "Training images (0 = all 48,000)")
    images.fill("2000")
    images.press("Enter")
    epochs = number_input(page, "Epochs")
    epochs.fill("30")
    epochs.press("Enter")
    wait_for_app(page)
    page.get_by_role("button", name="Start training").click()
    # No clicks from here: only the fragment's polling can bring the speed and the curves.
    progress = page.locator("[data-testid='stProgress']")
    expect(progress).to_contain_text("images/s", timeout=WAIT_MS)
    expect(page.locator("[data-testid='stPlotlyChart']").first).to_be_visible(timeout=WAIT_MS)
    # A reload is a new Streamlit session: the page reattaches to the run, and the browser
    # (recognised by its cookie) still owns it, so it still gets the Stop button.
    page.reload()
    wait_for_app(page)
    expect(progress).to_contain_text("images/s", timeout=WAIT_MS)
    page.locator("[class*='st-key-tr_stop_'] button").click()  # not the header's "Stop" of a rerun
    expect(page.get_by_text("stopped at step")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("[class*='st-key-tr_resume_'] button")).to_be_visible()


@pytest.mark.browser
def test_uploaded_files_are_checked_and_refused_politely(page, app_url, tmp_path):
    open_train_page(page, app_url)
    bad = tmp_path / "notes.pt"
    bad.write_bytes(b"this is not a checkpoint")
    uploader = page.locator("[data-testid='stFileUploader'] input[type='file']")
    uploader.set_input_files(str(bad))
    expect(page.get_by_text("This file was refused")).to_be_visible(timeout=WAIT_MS)
    uploader.set_input_files(str(PRETRAINED_DIR / "classifier.pt"))
    expect(page.get_by_text("A valid cnnviz checkpoint: CNNClassifier")).to_be_visible(timeout=WAIT_MS)
