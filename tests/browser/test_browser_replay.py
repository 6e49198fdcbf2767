"""A run's replay in real Chromium: play runs through the frames in the browser, the slider scrubs, and the
player still has its frames after the student goes to another page and comes back (sent once per session)."""

from __future__ import annotations

import json
import subprocess

import pytest
from playwright.sync_api import expect

from cnnviz.files import atomic_write_text
from cnnviz.training import replay
from cnnviz.training.jobs import process_start_ticks
from cnnviz.training.recipe import TrainConfig
from cnnviz.training.runs import create_run
from tests.conftest import wait_for_app
from tests.training.test_replay import a_frame

WAIT_MS = 90_000  # a busy 2-core machine
MOMENTS = (0, 256, 512, 1024, 2048, 4096)
FIRST_KERNEL = ".rp-grid canvas"


def kernel_pixels(tab) -> str:
    return tab.locator(FIRST_KERNEL).first.evaluate("canvas => canvas.toDataURL()")


@pytest.mark.browser
def test_play_runs_the_replay_in_the_browser_and_the_slider_scrubs(page, app_server):
    url, runs_folder = app_server
    run = create_run(TrainConfig(), name="replayed in chromium", root=runs_folder)
    for seed, images in enumerate(MOMENTS):
        assert replay.write_frame(run.path, a_frame(images, seed=seed))
    run.set_status("finished", "all epochs done")
    # The oldest run on the server, so that the past runs' chooser offers it first (its Open button below).
    atomic_write_text(run.path / "config.json", json.dumps({**run.meta, "created": 0}))
    try:
        page.goto(url)
        wait_for_app(page)
        page.goto(f"{url}/train?run={run.id}")
        wait_for_app(page)
        label = page.locator(".rp-label")
        expect(label).to_contain_text("moment 6 of 6", timeout=WAIT_MS)  # a finished run opens at its end
        expect(label).to_contain_text("after 4,096 images")
        trained = kernel_pixels(page)
        frames: list[int] = []
        page.on("websocket", lambda ws: ws.on("framesent", lambda frame: frames.append(1)))
        label.evaluate(  # every label the player shows, as the browser paints them
            """label => { window.seenMoments = [];
                new MutationObserver(() => window.seenMoments.push(label.textContent.match(/moment (\\d+)/)[1]))
                    .observe(label, {childList: true, characterData: true, subtree: true}); }"""
        )
        page.locator(".rp-play").click()  # from the end, play starts again at the untrained network
        expect(page.locator(".rp-play")).to_have_text("▶ play", timeout=10_000)  # stops at the end by itself
        seen = page.evaluate("window.seenMoments")
        assert [int(m) for m in dict.fromkeys(seen)] == [1, 2, 3, 4, 5, 6], seen  # every moment, in order
        expect(label).to_contain_text("moment 6 of 6")
        assert frames == [], "playing asked the server"
        page.locator(".rp-slider").evaluate("s => { s.value = '0'; s.dispatchEvent(new Event('input')); }")
        expect(label).to_contain_text("moment 1 of 6")
        untrained = kernel_pixels(page)
        assert untrained != trained  # other kernels painted
        bars = page.locator(".rp-fill")
        expect(bars).to_have_count(10)
        # Opened from the list (followed in this session), away and back: the server sends only the frames'
        # signature, and the player still has them (or asks for them once).
        page.locator(".st-key-tr_open button").click()
        wait_for_app(page)
        nav = page.locator("[data-testid='stSidebarNavLink']")
        nav.filter(has_text="Inside the network").click()
        wait_for_app(page)
        expect(page.get_by_role("heading", name="Inside the network")).to_be_visible(timeout=WAIT_MS)
        nav.filter(has_text="Train").click()
        wait_for_app(page)
        expect(label).to_contain_text("moment 6 of 6", timeout=WAIT_MS)
        assert kernel_pixels(page) == trained
    finally:
        run.delete()


@pytest.mark.browser
def test_a_live_runs_replay_follows_new_frames_unless_the_student_moved_it(page, app_server):
    """A stand-in process (``sleep``) plays the trainer: the test writes the frames, the page's watch sees them."""
    url, runs_folder = app_server
    stand_in = subprocess.Popen(["sleep", "300"])
    run = create_run(TrainConfig(), name="live replay", root=runs_folder)
    try:
        for seed, images in enumerate(MOMENTS[:2]):
            replay.write_frame(run.path, a_frame(images, seed=seed))
        run.set_status("running", "training", pid=stand_in.pid, start_ticks=process_start_ticks(stand_in.pid))
        page.goto(url)
        wait_for_app(page)
        page.goto(f"{url}/train?run={run.id}")
        label = page.locator(".rp-label")
        expect(label).to_contain_text("moment 2 of 2", timeout=WAIT_MS)
        replay.write_frame(run.path, a_frame(MOMENTS[2], seed=2))  # a frame alone, no metrics: the watch sees it
        expect(label).to_contain_text("moment 3 of 3", timeout=15_000)
        page.locator(".rp-slider").evaluate("s => { s.value = '0'; s.dispatchEvent(new Event('input')); }")
        expect(label).to_contain_text("moment 1 of 3")
        replay.write_frame(run.path, a_frame(MOMENTS[3], seed=3))
        expect(label).to_contain_text("moment 1 of 4", timeout=15_000)  # more moments, the student stays put
    finally:
        stand_in.kill()
        stand_in.wait()
        run.delete()
