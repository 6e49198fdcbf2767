"""What a user waits for: real server (``python serve.py``), real headless Chromium, one interaction at a time.

Scenarios (each repeated ``--reps`` times after one unmeasured warm-up):

- *explorer, default view* (``/explorer``) and *explorer, 256x256 RGB, 16 ch, 7x7 same* (the same page
  from a link, feature maps of the colour sample on): click ``+`` on kernel_size ``--walk`` times
  (default 4), then ``-`` as many times, and again, so that every click shows a view the browser does not
  hold (see ``WALK``). "visible" = the output shape text (``.cnnviz-shape``)
  differs from before the click; in the 256x256 view ("same" padding keeps the shape) the
  ``nn.Conv2d(...)`` code line (the first ``stCode`` element) instead.
- *draw, pen up* (``/draw``): clear the canvas (unmeasured, when a prediction is shown), then draw a
  jittered 7 with the mouse on the drawing canvas (the largest ``SELECTORS["canvas"]``, else the
  largest ``<canvas>``, in any frame, shadow roots included). "visible" = the prediction
  (``[data-testid=draw-prediction]``) has text, measured from pen up.
- *inside, pick a class for Grad-CAM* (``/inside``, section "Why this answer" opened once, unmeasured):
  pick class 0, 1, 2, ... in turn; "visible" = the "... explaining **k** ..." line changed; settled includes
  plotly drawing the saliency and Grad-CAM maps. Needs MNIST (the page's digit is a test digit).
- *inside, click a point of the latent plane* (``/inside``, the shipped 2-value autoencoder and the "Latent
  space" section opened once, unmeasured: the first time the server encodes the 10,000 test digits): click a
  point of the plane's background grid, a different one each time; "visible" = the "Decoded point: (x, y)"
  line changed. Needs MNIST.
- *draw, click a feature-map cell* (``/draw``, after one unmeasured 7): click a cell of a conv1 panel, a
  different one each time; "visible" = the clicked cell's text ("... It reads input rows ...") changed.
  The page reruns only its fragment (the grids and the cell), so this is what a click on a cell costs.
  (Not in the baseline of a tree before that feature: run it with ``--scenarios cell`` alone.)

Per interaction:

- times start at the ``pointerup`` event of the click or of the pen lifting (``performance.now()`` in the
  page); "visible" is the DOM mutation that made the marker's text appear or change.
- "settled": a MutationObserver (on the document and every open shadow root), installed before the
  action, stamps each DOM change; the page counts as settled once the server has sent a
  ``script_finished`` for a run started after the action, no run is in progress (the server's
  ``session_status_changed`` messages and the app's ``data-test-script-state``), and no DOM change
  has happened for 500 ms. The time reported is the first animation frame after the last DOM change
  (a paint opportunity; when the main thread is busy this is after the work is done), minus the start.
  Pixels drawn into a ``<canvas>`` are not DOM changes: a component that animates on a canvas counts
  as settled when its last DOM change was made.
- server CPU: user + system CPU time of the server process and its children (``/proc``), from just before
  the action until settled (so it includes ~500 ms of the idle server, e.g. its file watcher).
- websocket bytes: the sizes of every frame the page received from / sent to the server in that time
  (Playwright's ``framereceived`` / ``framesent``).

Usage: ``python -m benchmarks browser [--reps 10] [--walk 4] [--baseline REF]
[--scenarios explorer,large,draw,why,latent,cell]``.
With ``--baseline REF`` a temporary ``git worktree`` of REF is served beside this tree, and every
repetition runs each scenario on both servers back to back, alternating which goes first.

The selectors are all in ``SELECTORS`` below: update them there when a page's widgets change.
"""

from __future__ import annotations

import argparse
import random
import shutil
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from benchmarks.served import Server, ratio, versions
from benchmarks.table import median_p95, print_table
from cnnviz.explorer.layer2d import ExplorerSettings, to_query
from cnnviz.views.inside_view import PLANE_GRID

# Everything the benchmark looks for on the pages, in one place.
SELECTORS = {
    "shape": ".cnnviz-shape",  # the explorer's output shape text
    "layer_code": "[data-testid='stCode']",  # the first code block: the explorer's nn.Conv2d(...) line
    "number_input": "[data-testid='stNumberInput']",  # a Streamlit number input (label inside)
    "kernel_label": "kernel_size",  # the label of the kernel size input (square mode: one input)
    "step_up": "[data-testid='stNumberInputStepUp']",
    "step_down": "[data-testid='stNumberInputStepDown']",
    "prediction": "[data-testid='draw-prediction']",  # the draw page's predicted digit
    "cell_summary": ".st-key-draw_cell_summary",  # the draw page's clicked cell: "... It reads input rows ..."
    "map_grid": ".mg",  # one map grid (widgets/map_grid.js) ...
    "map_grid_title": ".mg-title",  # ... its title ...
    "map_grid_panels": ".mg-grid canvas",  # ... and its panels
    "cell_layer": "conv1",  # the layer whose grid is clicked (its title starts so)
    "why_summary": ".st-key-inside_why_summary",  # the Inside page's "... explaining **k** ..." line
    "why_section": "Why this answer",  # the Inside page's section button
    "decoded": ".st-key-inside_decoded",  # the Inside page's "Decoded point: (x, y)" line
    "selectbox": "[data-testid='stSelectbox']",  # a select box (its label inside)
    "autoencoder_picker": "Autoencoder",  # the Inside page's autoencoder select box ...
    "autoencoder_2d": "shipped autoencoder, 2-value code",  # ... and the model whose plane is exact
    "latent_section": "Latent space",  # the Inside page's section button
    "plane": "[data-testid='stPlotlyChart']",  # the latent plane (a plotly chart) ...
    "plane_title": "every code has exactly 2 numbers",  # ... by its title ...
    "plane_traces": ".scatterlayer .trace",  # ... its traces (the first: the clickable background grid) ...
    "plane_points": ".point",  # ... and their points
    "radio": "[data-testid='stRadio']",  # a radio group (its label inside) ...
    "radio_option": "[data-testid='stRadioOption']",  # ... and one of its options
    "why_radio": "Explain the class",  # the label of the Grad-CAM class radio
    # the drawing canvas: cnnviz's own component (widgets/draw_canvas.js), or streamlit-drawable-canvas's
    "canvas": "canvas[data-testid='draw-canvas'], canvas.upper-canvas",
    "any_canvas": "canvas",  # when "canvas" finds none: the largest <canvas> of any frame (shadow roots pierced)
    "clear_canvas": "button[title='Clear the canvas'], button[title='Reset canvas & history']",
}
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
REPS = 10
# kernel_size clicks: WALK times +, then WALK times -, and again. Streamlit's browser keeps each message it
# received for 2 script runs (global.maxCachedMessageAge) and the server then sends only a reference to it,
# so strict +/- alternation (--walk 1) returns to a view the browser still holds: few bytes, less work.
WALK = 4
QUIET_MS = 500  # no DOM change for this long (and no run in progress) = settled
SETTLE_TIMEOUT_S = 60.0
ACTION_TIMEOUT_MS = 20_000  # finding and clicking a control
PARSE_LIMIT = 64 * 1024  # websocket messages longer than this are figures: counted, not parsed
SEVEN = [(70, 60), (210, 60), (120, 235)]  # a bar and a diagonal, in canvas pixels
LARGE_VIEW = ExplorerSettings(in_channels=3, height=256, width=256, out_channels=16, kernel=(7, 7), padding="same")

# Installed in the page before each action: stamps the action (pointerup), every DOM change, the
# first change of the marker's text, and the first animation frame after the last change.
INSTALL_JS = """
(marker) => {
  const old = window.__bench;
  if (old) { old.observers.forEach((o) => o.disconnect()); window.removeEventListener('pointerup', old.onUp, true); }
  const text = () => { const el = document.querySelector(marker); return el ? el.textContent : null; };
  const b = { t0: null, last: performance.now(), painted: null, markerAt: null, mutations: 0,
              initial: text(), observers: [], roots: new WeakSet() };
  b.onUp = () => { b.t0 = performance.now(); };
  window.addEventListener('pointerup', b.onUp, true);
  const observe = (root) => {
    if (b.roots.has(root)) return;
    b.roots.add(root);
    const o = new MutationObserver((records) => {
      const now = performance.now();
      b.last = now; b.mutations += records.length;
      if (b.t0 !== null && b.markerAt === null) {
        const t = text();
        if (t !== null && t !== b.initial) b.markerAt = now;
      }
      for (const r of records) {
        if (r.type === 'childList') for (const n of r.addedNodes) if (n.shadowRoot) observe(n.shadowRoot);
      }
      requestAnimationFrame(() => { if (b.last === now) b.painted = performance.now(); });
    });
    o.observe(root, { subtree: true, childList: true, attributes: true, characterData: true });
    b.observers.push(o);
  };
  observe(document.body);
  document.querySelectorAll('*').forEach((e) => e.shadowRoot && observe(e.shadowRoot));
  window.__bench = b;
}
"""
STATE_JS = """
() => {
  const b = window.__bench, app = document.querySelector('[data-test-script-state]');
  const status = document.querySelector('[data-testid="stStatusWidget"]');
  return { t0: b.t0, markerAt: b.markerAt, last: b.last, painted: b.painted, mutations: b.mutations,
           quietMs: performance.now() - b.last,
           running: (app !== null && app.getAttribute('data-test-script-state') === 'running')
                    || (status !== null && status.innerText.includes('Running')) };
}
"""


@dataclass(frozen=True)
class Scenario:
    name: str  # as printed in the table
    short: str  # as chosen with --scenarios
    path: str  # URL path and query
    marker: str  # selector whose text appearing or changing counts as "visible"
    visible: str  # what "visible" means, for the table
    ready: str  # selector of what the action needs: the page is not loaded before it is there


SCENARIOS = (
    Scenario(
        "explorer, default view: kernel_size +/-",
        "explorer",
        "/explorer",
        SELECTORS["shape"],
        "shape",
        SELECTORS["step_up"],
    ),
    Scenario(
        "explorer, 256x256 RGB 16 ch 7x7: kernel_size +/-",
        "large",
        "/explorer?" + urllib.parse.urlencode(to_query(LARGE_VIEW)),
        SELECTORS["layer_code"],  # "same" padding: the shape does not change with the kernel, this line does
        "code line",
        SELECTORS["step_up"],
    ),
    Scenario("draw: pen up", "draw", "/draw", SELECTORS["prediction"], "prediction", SELECTORS["any_canvas"]),
    Scenario(
        "inside: pick a class for Grad-CAM",
        "why",
        "/inside",
        SELECTORS["why_summary"],
        "explained class",
        SELECTORS["radio"],
    ),
    Scenario(
        "inside: click a point of the latent plane",
        "latent",
        "/inside",
        SELECTORS["decoded"],
        "decoded point",
        SELECTORS["selectbox"],
    ),
    Scenario(
        "draw: click a feature-map cell",
        "cell",
        "/draw",
        SELECTORS["cell_summary"],
        "region text",
        SELECTORS["any_canvas"],
    ),
)


@dataclass
class Sample:
    visible_ms: float  # NaN when the marker never changed
    settled_ms: float
    server_cpu_ms: float
    received_kb: float
    sent_kb: float
    runs: int  # script runs the server finished for this one action (a widget echo can add a second)


class SettleTimeout(Exception):
    pass


class Tab:
    """One browser tab on one server's page, with its websocket traffic counted and runs followed."""

    def __init__(self, browser, server: Server, scenario: Scenario, walk: int = WALK) -> None:
        self.server, self.scenario = server, scenario
        self.context = browser.new_context(viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.page.set_default_timeout(SETTLE_TIMEOUT_S * 1000)
        self.received = self.sent = 0
        self.finished_runs = 0
        self.running = False
        self.page.on("websocket", self._watch)
        self.samples: list[Sample] = []
        self.errors: list[str] = []
        self.step = 0  # explorer clicks so far: kernel_step_up(step, walk) says + or -
        self.walk = walk
        self.rng = random.Random(8)

    def _watch(self, socket) -> None:
        socket.on("framereceived", self._received)
        socket.on("framesent", lambda payload: setattr(self, "sent", self.sent + len(payload)))

    def _received(self, payload: bytes | str) -> None:
        self.received += len(payload)
        if not isinstance(payload, bytes) or len(payload) > PARSE_LIMIT:
            return
        msg = ForwardMsg.FromString(payload)
        kind = msg.WhichOneof("type")
        if kind == "session_status_changed":
            self.running = msg.session_status_changed.script_is_running
        elif kind == "script_finished":
            if msg.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                self.running = False
            self.finished_runs += 1

    def open(self) -> None:
        for url in (self.server.url, self.server.url + self.scenario.path):  # the main script first (navigation)
            runs_before = self.finished_runs
            self.page.goto(url)
            deadline = time.monotonic() + SETTLE_TIMEOUT_S
            while self.finished_runs == runs_before or self.running:
                self.page.wait_for_timeout(50)
                if time.monotonic() > deadline:
                    raise SettleTimeout(f"{url} did not finish loading in {SETTLE_TIMEOUT_S:.0f} s")
        # script_finished reaches Playwright before the page has drawn everything (the frontend may still be
        # fetching a widget's code), so wait for what the action needs, then for the quiet.
        self.page.locator(self.scenario.ready).first.wait_for(state="attached", timeout=SETTLE_TIMEOUT_S * 1000)
        self._settle_after(lambda: None, require_run=False)

    def _settle_after(self, action: Callable[[], None], require_run: bool) -> dict:
        """Install the observer, act, wait until settled; returns the page's final stamps."""
        runs_before = self.finished_runs
        self.page.evaluate(INSTALL_JS, self.scenario.marker)
        action()
        deadline = time.monotonic() + SETTLE_TIMEOUT_S
        while True:
            self.page.wait_for_timeout(50)  # also lets Playwright deliver the websocket events
            state = self.page.evaluate(STATE_JS)
            ran = self.finished_runs > runs_before or not require_run
            if ran and not self.running and not state["running"] and state["quietMs"] >= QUIET_MS:
                return state
            if time.monotonic() > deadline:
                raise SettleTimeout(f"not settled after {SETTLE_TIMEOUT_S:.0f} s (ran: {ran}, state: {state})")

    def interact(self, measured: bool = True) -> None:
        act = {"draw": self._draw, "cell": self._click_cell, "why": self._pick_class, "latent": self._click_plane}.get(
            self.scenario.short, self._click_kernel
        )
        if self.scenario.short == "latent" and not self._plane().count():
            try:  # the 2-value autoencoder's plane, opened once (not measured; the first time encodes the test set)
                picker = self.page.locator(SELECTORS["selectbox"]).filter(has_text=SELECTORS["autoencoder_picker"])
                picker.click(timeout=ACTION_TIMEOUT_MS)
                option = self.page.get_by_role("option", name=SELECTORS["autoencoder_2d"])
                self._settle_after(lambda: option.click(timeout=ACTION_TIMEOUT_MS), True)
                section = self.page.get_by_text(SELECTORS["latent_section"]).first
                self._settle_after(lambda: section.click(timeout=ACTION_TIMEOUT_MS), True)
            except (SettleTimeout, PlaywrightError) as error:
                self.errors.append(f"opening the latent plane: {str(error).splitlines()[0]}")
        if self.scenario.short == "why" and not self.page.locator(SELECTORS["why_summary"]).count():
            try:  # the section, opened once (not measured)
                section = self.page.get_by_text(SELECTORS["why_section"]).first
                self._settle_after(lambda: section.click(timeout=ACTION_TIMEOUT_MS), True)
            except (SettleTimeout, PlaywrightError) as error:
                self.errors.append(f"opening the Grad-CAM section: {str(error).splitlines()[0]}")
        if self.scenario.short == "cell" and not self.page.locator(SELECTORS["prediction"]).count():
            try:  # a digit to click into, drawn once (not measured)
                self._settle_after(self._draw, True)
            except (SettleTimeout, PlaywrightError) as error:
                self.errors.append(f"drawing the digit to click: {str(error).splitlines()[0]}")
        if self.scenario.short == "draw" and self.page.locator(SELECTORS["prediction"]).count():
            try:
                clear = self.page.locator(SELECTORS["clear_canvas"]).first
                self._settle_after(lambda: clear.click(timeout=ACTION_TIMEOUT_MS), True)
            except (SettleTimeout, PlaywrightError) as error:
                self.errors.append(f"clearing the canvas: {str(error).splitlines()[0]}")
        cpu, received, sent, runs = self.server.cpu_seconds(), self.received, self.sent, self.finished_runs
        try:
            state = self._settle_after(act, require_run=True)
        except (SettleTimeout, PlaywrightError) as error:
            inputs = self.page.locator(SELECTORS["number_input"]).count()
            self.errors.append(f"{str(error).splitlines()[0]} (at {self.page.url}, {inputs} number inputs)")
            return
        if not measured:
            return
        if state["t0"] is None:
            self.errors.append("the action produced no pointerup event")
            return
        nan = float("nan")
        painted = state["painted"] if state["painted"] is not None else state["last"]
        self.samples.append(
            Sample(
                visible_ms=state["markerAt"] - state["t0"] if state["markerAt"] is not None else nan,
                settled_ms=max(0.0, painted - state["t0"]),
                server_cpu_ms=(self.server.cpu_seconds() - cpu) * 1000,
                received_kb=(self.received - received) / 1000,
                sent_kb=(self.sent - sent) / 1000,
                runs=self.finished_runs - runs,
            )
        )
        if state["markerAt"] is None:
            self.errors.append(f"the {self.scenario.visible} did not appear or change")

    def _click_kernel(self) -> None:
        field_box = self.page.locator(SELECTORS["number_input"]).filter(has_text=SELECTORS["kernel_label"]).first
        button = SELECTORS["step_up" if kernel_step_up(self.step, self.walk) else "step_down"]
        field_box.locator(button).click(timeout=ACTION_TIMEOUT_MS)
        self.step += 1

    def _plane(self):
        return self.page.locator(SELECTORS["plane"]).filter(has_text=SELECTORS["plane_title"])

    def _click_plane(self) -> None:
        """Click a point of the plane's background grid (PLANE_GRID x PLANE_GRID), a different one each time."""
        row, col = (3 + self.step * 5) % PLANE_GRID, (2 + self.step * 2) % PLANE_GRID
        grid = self._plane().locator(SELECTORS["plane_traces"]).first.locator(SELECTORS["plane_points"])
        grid.nth(row * PLANE_GRID + col).click(force=True, timeout=ACTION_TIMEOUT_MS)  # force: faint markers
        self.step += 1

    def _pick_class(self) -> None:
        """Ask for another class's Grad-CAM: the options are "top (k)", then 0 to 9."""
        group = self.page.locator(SELECTORS["radio"]).filter(has_text=SELECTORS["why_radio"])
        group.locator(SELECTORS["radio_option"]).nth(1 + self.step % 10).click(timeout=ACTION_TIMEOUT_MS)
        self.step += 1

    def _click_cell(self) -> None:
        """Click one cell of one conv1 panel (28 x 28 cells), a different one each time."""
        title = self.page.locator(SELECTORS["map_grid_title"], has_text=SELECTORS["cell_layer"])
        layer_grid = self.page.locator(SELECTORS["map_grid"]).filter(has=title)
        panel = layer_grid.locator(SELECTORS["map_grid_panels"]).nth(self.step % 8)
        box = panel.bounding_box()
        row, col = 4 + (self.step * 7) % 20, 4 + (self.step * 11) % 20
        panel.click(position={"x": (col + 0.5) * box["width"] / 28, "y": (row + 0.5) * box["height"] / 28},
                    timeout=ACTION_TIMEOUT_MS)  # fmt: skip
        self.step += 1

    def _draw(self) -> None:
        box = largest_canvas_box(self.page)
        points = [(x + self.rng.randint(-10, 10), y + self.rng.randint(-10, 10)) for x, y in SEVEN]
        mouse = self.page.mouse
        mouse.move(box["x"] + points[0][0], box["y"] + points[0][1])
        mouse.down()
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            for step in range(1, 25):
                t = step / 24
                mouse.move(box["x"] + x0 + (x1 - x0) * t, box["y"] + y0 + (y1 - y0) * t)
        mouse.up()

    def close(self) -> None:
        self.context.close()


def kernel_step_up(step: int, walk: int) -> bool:
    """Whether click number ``step`` (from 0) is ``+``: ``walk`` clicks up, ``walk`` down, repeated."""
    return (step // walk) % 2 == 0


def largest_canvas_box(page) -> dict:
    """The bounding box (page coordinates) of the drawing canvas: the largest ``SELECTORS["canvas"]`` in any
    frame of ``page``, or failing that the largest ``<canvas>`` of all."""
    for selector in (SELECTORS["canvas"], SELECTORS["any_canvas"]):
        best = _largest_box(page, selector)
        if best is not None:
            return best
    raise RuntimeError("no <canvas> on the draw page: update SELECTORS['canvas']")


def _largest_box(page, selector: str) -> dict | None:
    best, best_area = None, 0.0
    for frame in page.frames:
        for canvas in frame.locator(selector).all():
            canvas.scroll_into_view_if_needed()
            box = canvas.bounding_box()
            if box and box["width"] * box["height"] > best_area:
                best, best_area = box, box["width"] * box["height"]
    return best


@dataclass
class Row:
    scenario: Scenario
    server: Server
    tab: Tab = field(repr=False)


def _stats(values: list[float]) -> tuple[float, float]:
    values = [v for v in values if v == v]  # drop NaN
    return median_p95(values) if values else (float("nan"), float("nan"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks browser", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--reps", type=int, default=REPS, help="measured interactions per scenario (default %(default)s)"
    )
    parser.add_argument("--baseline", metavar="REF", help="also serve git REF (e.g. main) and compare, interleaved")
    parser.add_argument(
        "--scenarios", default=",".join(s.short for s in SCENARIOS), help="comma-separated (default %(default)s)"
    )
    parser.add_argument(
        "--walk", type=int, default=WALK, help="kernel_size: this many + clicks, then as many - (default %(default)s)"
    )
    args, ignored = parser.parse_known_args(argv or [])  # options of other benchmarks may be on the line
    if ignored:
        print(f"(ignored here: {' '.join(ignored)})")
    chosen = [s for s in SCENARIOS if s.short in args.scenarios.split(",")]
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("skipped: no chromium on PATH (apt-get install chromium)")
        return

    with versions(args.baseline) as servers, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        rows = [Row(s, server, Tab(browser, server, s, args.walk)) for s in chosen for server in servers]
        try:
            for row in rows:
                row.tab.open()
                row.tab.interact(measured=False)  # warm-up: first run of a page loads models, fills caches
            for rep in range(args.reps):
                for scenario in chosen:
                    pair = [r for r in rows if r.scenario is scenario]
                    for row in pair if rep % 2 == 0 else pair[::-1]:  # alternate who goes first
                        row.tab.interact()
        finally:
            for row in rows:
                row.tab.close()
            browser.close()
        _print(rows, servers, args.reps)


def _print(rows: list[Row], servers: list[Server], reps: int) -> None:
    table = []
    for row in rows:
        samples = row.tab.samples
        visible, settled, cpu = (
            _stats([getattr(s, f) for s in samples]) for f in ("visible_ms", "settled_ms", "server_cpu_ms")
        )
        received, sent, runs = (_stats([getattr(s, f) for s in samples])[0] for f in ("received_kb", "sent_kb", "runs"))
        table.append([row.scenario.name, row.server.label, len(samples), f"{row.scenario.visible} {visible[0]:.0f}",
                      visible[1], settled[0], settled[1], cpu[0], cpu[1], received, sent, runs,
                      len(row.tab.errors)])  # fmt: skip
        if len(servers) == 2 and row.server is servers[1]:
            base = next(r for r in rows if r.scenario is row.scenario and r.server is servers[0]).tab.samples
            ratios = [
                ratio(_stats([getattr(s, f) for s in samples])[0], _stats([getattr(s, f) for s in base])[0])
                for f in ("visible_ms", "settled_ms", "server_cpu_ms", "received_kb")
            ]
            table.append([row.scenario.name, "ratio candidate / baseline (medians)", "", ratios[0], "", ratios[1], "",
                          ratios[2], "", ratios[3], "", "", ""])  # fmt: skip
    print(f"{reps} interactions per scenario and app, times from pointerup; settled = {QUIET_MS} ms without DOM change")
    print_table(
        ["interaction", "app", "n", "visible median ms", "visible p95 ms", "settled median ms", "settled p95 ms",
         "server CPU median ms", "server CPU p95 ms", "KB to browser (median)", "KB to server (median)",
         "runs (median)", "errors"],
        table,
    )  # fmt: skip
    for row in rows:
        for error in sorted(set(row.tab.errors))[:3]:
            print(f"  error ({row.scenario.short}, {row.server.label}): {error[:300]}")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
