"""The Train page in real Chromium: the live panel polls by itself; uploads are checked."""

from __future__ import annotations

import subprocess

import pytest
from playwright.sync_api import expect

from cnnviz.training.jobs import process_start_ticks
from cnnviz.training.recipe import TrainConfig
from cnnviz.training.runs import create_run
from models import PRETRAINED_DIR
from tests.conftest import wait_for_app

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
    expect(page.get_by_text("Loss (cross-entropy)")).to_be_visible(timeout=WAIT_MS)  # the curves' SVG
    expect(page.locator(".ch polyline").first).to_be_visible(timeout=WAIT_MS)  # with the steps logged so far
    # A reload is a new Streamlit session: the page reattaches to the run, and the browser
    # (recognised by its cookie) still owns it, so it still gets the Stop button.
    page.reload()
    wait_for_app(page)
    expect(progress).to_contain_text("images/s", timeout=WAIT_MS)
    page.locator("[class*='st-key-tr_stop_'] button").click()  # not the header's "Stop" of a rerun
    expect(page.get_by_text("stopped at step")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator("[class*='st-key-tr_resume_'] button")).to_be_visible()


@pytest.mark.browser
def test_a_watched_run_costs_no_rerun_until_it_changes(page, app_server):
    """The page asks the server whether the run changed; it reruns only when it did (issue 8).

    A stand-in process (``sleep``) plays the trainer, so this needs neither MNIST nor CPU for training.
    """
    url, runs_folder = app_server
    stand_in = subprocess.Popen(["sleep", "300"])
    run = create_run(TrainConfig(), name="watched run", root=runs_folder)
    try:
        run.append_metrics({"kind": "step", "step": 20, "epoch": 0.05, "loss": 2.0, "accuracy": 0.2,
                            "images_per_s": 900.0, "progress": 0.01})  # fmt: skip
        run.set_status("running", "training", pid=stand_in.pid, start_ticks=process_start_ticks(stand_in.pid))
        frames: list[int] = []
        page.on("websocket", lambda ws: ws.on("framereceived", lambda frame: frames.append(1)))
        page.goto(url)
        wait_for_app(page)
        page.goto(f"{url}/train?run={run.id}")
        progress = page.locator("[data-testid='stProgress']")
        expect(progress).to_contain_text("900 images/s", timeout=WAIT_MS)
        page.wait_for_timeout(1_000)  # not time.sleep: Playwright hands over the frames only while it waits
        before = len(frames)
        page.wait_for_timeout(3_500)  # a rerun a second, as st.fragment(run_every=1) did, would send frames here
        assert len(frames) == before, f"{len(frames) - before} websocket frames without any change to the run"
        run.append_metrics({"kind": "step", "step": 40, "epoch": 0.1, "loss": 1.5, "accuracy": 0.4,
                            "images_per_s": 1234.0, "progress": 0.02})  # fmt: skip
        expect(progress).to_contain_text("1,234 images/s", timeout=5_000)
        run.set_status("finished", "all epochs done")
        expect(page.get_by_text("all epochs done")).to_be_visible(timeout=5_000)
        expect(page.locator(f"[class*='st-key-tr_stop_{run.id}']")).to_have_count(0)
    finally:
        stand_in.kill()
        run.delete()


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
