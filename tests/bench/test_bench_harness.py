"""The end-to-end benchmarks' parts that can be checked without timing anything: /proc readers, the
baseline checkout, the page-side settle detection, and the browser-less Streamlit client."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks import served
from benchmarks.bench_browser import INSTALL_JS, STATE_JS, kernel_step_up

BURN = "import time\nwhile time.process_time() < {seconds}: pass\nprint('done', flush=True)\ntime.sleep(30)\n"


def _wait_for_line(process: subprocess.Popen) -> None:
    assert process.stdout.readline().strip() == "done"


def test_cpu_seconds_counts_a_process_and_its_children():
    # a parent that sleeps while its child burns 0.3 s of CPU: the tree's CPU time includes the child's
    child = f"subprocess.run([sys.executable, '-c', {BURN.format(seconds=0.3)!r}])"
    parent = subprocess.Popen(
        [sys.executable, "-c", f"import subprocess, sys; {child}"], stdout=subprocess.PIPE, text=True
    )
    try:
        _wait_for_line(parent)
        assert served.descendants(parent.pid), "the child is found below the parent"
        own = sum(int(v) for v in served._stat_fields(parent.pid)[11:13]) / served.CLOCK_TICKS
        assert served.cpu_seconds(parent.pid) >= own + 0.29  # the child's 0.3 s, at clock-tick resolution
        assert served.memory_bytes(parent.pid) > served.memory_bytes(served.descendants(parent.pid)[0])
    finally:
        parent.kill()
        parent.wait()


def test_cpu_seconds_of_an_idle_process_does_not_grow():
    idle = subprocess.Popen([sys.executable, "-c", "import time; print('done', flush=True); time.sleep(30)"],
                            stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        _wait_for_line(idle)
        before = served.cpu_seconds(idle.pid)
        time.sleep(0.3)
        assert served.cpu_seconds(idle.pid) - before <= 0.02
    finally:
        idle.kill()
        idle.wait()


def test_kernel_clicks_walk_up_then_down():
    assert [kernel_step_up(step, 2) for step in range(6)] == [True, True, False, False, True, True]
    assert [kernel_step_up(step, 1) for step in range(4)] == [True, False, True, False]  # strict alternation


def test_ratio_is_candidate_over_baseline():
    assert served.ratio(50.0, 200.0) == "0.25x"
    assert served.ratio(1.0, 0.0) == "-"
    assert served.ratio(float("nan"), 1.0) == "-"


def test_baseline_checkout_is_a_temporary_worktree_of_the_ref():
    with served.checkout("HEAD") as tree:
        assert (tree / "serve.py").is_file() and (tree / "app.py").is_file()
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=tree, capture_output=True, text=True, check=True)
        assert head.stdout == subprocess.run(["git", "rev-parse", "HEAD"], cwd=served.ROOT, capture_output=True,
                                             text=True, check=True).stdout  # fmt: skip
        if (served.ROOT / ".venv").exists():
            assert (tree / ".venv").resolve() == (served.ROOT / ".venv").resolve()
    assert not tree.exists()
    listed = subprocess.run(["git", "worktree", "list"], cwd=served.ROOT, capture_output=True, text=True).stdout
    assert str(tree) not in listed


STATIC_PAGE = """
<button id="go">go</button><p class="marker">before</p><div id="other"></div>
<script>
document.getElementById('go').addEventListener('click', () => {
  setTimeout(() => { document.querySelector('.marker').textContent = 'after'; }, 100);
  setTimeout(() => { document.getElementById('other').append(document.createElement('span')); }, 300);
});
</script>
"""


@pytest.mark.browser
def test_settle_detection_stamps_the_action_the_marker_and_the_last_change(browser):
    page = browser.new_page()
    try:
        page.set_content(STATIC_PAGE)
        page.evaluate(INSTALL_JS, ".marker")
        assert page.evaluate(STATE_JS)["t0"] is None  # nothing happened yet
        page.click("#go")
        page.wait_for_function("() => document.querySelector('#other span') !== null")
        page.wait_for_function("() => performance.now() - window.__bench.last > 200")
        state = page.evaluate(STATE_JS)
        assert state["t0"] is not None and state["markerAt"] is not None
        assert state["t0"] < state["markerAt"] < state["last"]  # the marker changed before the last change
        assert state["painted"] is not None and state["painted"] >= state["last"]
        assert state["quietMs"] > 200 and state["running"] is False
        assert state["mutations"] >= 2
    finally:
        page.close()


def test_websocket_client_changes_the_explorer_and_sends_a_drawing(tmp_path):
    from benchmarks.bench_classroom import (
        KERNEL_KEY,
        InteractionFailed,
        drawing_widget_state,
        interact,
        number_state,
        open_session,
        run_async,
    )

    async def scenario(url: str) -> None:
        explorer, first = await open_session(url, "explorer")
        assert first.received_bytes > 0 and KERNEL_KEY in explorer.widget_ids
        result = await interact(explorer, [number_state(explorer, KERNEL_KEY, 5.0)])
        assert result.seconds > 0 and result.received_bytes > 0
        assert "k=5" in explorer.query_string  # the page took the new kernel size (it writes it to the link)
        await explorer.socket.close()

        draw, _ = await open_session(url, "draw")
        with pytest.raises(InteractionFailed, match="draw-prediction"):
            await interact(draw, [])  # no drawing yet: the page shows its prompt, not a prediction
        result = await interact(draw, [drawing_widget_state(draw, random.Random(0))])  # the prediction arrives
        assert result.received_bytes > 10_000
        await draw.socket.close()

    with served.served(Path(served.ROOT), "test") as server:
        run_async(scenario(server.url))
        assert server.cpu_seconds() > 0 and server.memory_bytes() > 0


def _drawing_value(component: str) -> dict:
    import json

    from benchmarks.bench_classroom import CANVAS_KEY, Session, drawing_widget_state

    session = Session(socket=None, page="draw", widget_ids={CANVAS_KEY: "$$ID-abc-draw_canvas"})
    session.component_names[CANVAS_KEY] = component
    state = drawing_widget_state(session, random.Random(0))
    assert state.id == "$$ID-abc-draw_canvas"
    return json.loads(state.json_value)


def _png_size(data_url: str) -> tuple[int, int]:
    import base64
    import io

    from PIL import Image

    prefix = "data:image/png;base64,"
    assert data_url.startswith(prefix)
    return Image.open(io.BytesIO(base64.b64decode(data_url[len(prefix) :]))).size


def test_a_drawing_is_sent_as_each_canvas_component_sends_it():
    from benchmarks.bench_classroom import InteractionFailed

    own = _drawing_value("cnnviz.draw_canvas")  # widgets/draw_canvas.js: {"picture": <PNG data URL>}
    assert _png_size(own["picture"]) == (280, 280)
    drawable = _drawing_value("streamlit-drawable-canvas.streamlit_drawable_canvas")
    assert _png_size(drawable["drawing"]["data"]) == (280, 280) and drawable["drawing"]["raw"]["objects"]
    with pytest.raises(InteractionFailed, match="unknown drawing component"):
        _drawing_value("someone.else")


def test_the_computation_benchmarks_serialise_what_the_pages_send():
    """bench_draw and bench_explorer time the pages' own payloads: they must stay in step with the pages."""
    import json

    from benchmarks import bench_draw, bench_explorer
    from cnnviz.views.draw_view import DEFAULT_LAYERS, build_figures, read_picture

    classifier, autoencoder, _ = bench_draw.models()
    reading = read_picture(bench_draw.canvas_picture(), classifier, autoencoder)
    sent = bench_draw.figure_json(build_figures(reading, DEFAULT_LAYERS))
    assert len(sent) == 3 + 4 + len(DEFAULT_LAYERS)  # 3 charts, input / reconstruction / error / code, the layers
    assert all(isinstance(json.loads(payload), dict) for payload in sent)
    label, settings, sample, cold = bench_explorer.SCENARIOS[3]
    assert "default view" in label and bench_explorer.interaction(settings, sample, cold) > 1000
