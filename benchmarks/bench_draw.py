"""Draw page: what one canvas update costs, from the picture to the bytes the browser receives.

Rows: each step of :func:`cnnviz.views.draw_view.read_picture` on a 280 x 280 RGBA canvas picture, the
whole computation (target: median under 50 ms), the figures and their JSON (charts and map
grids, as the page sends them), the page's whole rerun under ``streamlit.testing`` (target: under 200 ms), and the bytes
of one rerun's elements (target: under 1 MB). Uses the shipped models when they exist, untrained
ones otherwise (the timings are the same: the work does not depend on the weights).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

from benchmarks.table import measure, print_table
from cnnviz.analysis import features
from cnnviz.data.preprocess import to_mnist
from cnnviz.page_list import page_path
from cnnviz.views.draw_view import DEFAULT_LAYERS, SWEEP_ANGLES, SWEEP_SHIFTS, DrawSettings, build_figures, read_picture
from cnnviz.views.model_sources import load_checked, shipped
from models import CheckpointError, CNNClassifier, ConvAutoencoder

ROOT = Path(__file__).resolve().parents[1]


def canvas_picture() -> np.ndarray:
    """A 7 as the canvas sends it: (280, 280, 4) uint8, black ink on an opaque white background."""
    image = Image.new("RGBA", (280, 280), (255, 255, 255, 255))
    ImageDraw.Draw(image).line([(70, 60), (210, 60), (120, 235)], fill=(0, 0, 0, 255), width=20, joint="curve")
    return np.asarray(image)


def models() -> tuple[torch.nn.Module, torch.nn.Module, str]:
    """The shipped models as the page loads them (channels-last weights), else untrained ones laid out the same."""
    try:
        return (
            load_checked(shipped("classifier").path, "classifier"),
            load_checked(shipped("autoencoder").path, "autoencoder"),
            "shipped models",
        )
    except CheckpointError:
        untrained = CNNClassifier().eval(), ConvAutoencoder().eval()
        laid_out = (model.to(memory_format=torch.channels_last) for model in untrained)
        return *laid_out, "untrained models (shipped ones missing)"


def figure_json(figures) -> list[str]:
    """What the page sends: the charts' and the map grids' payloads as JSON."""
    shown = [figures.probabilities, figures.shift_sweep, figures.rotation_sweep]
    shown += [figures.model_input, figures.reconstruction, figures.error, figures.code]
    shown += [grid for _, grid in figures.layers]
    return [json.dumps(figure.payload()) for figure in shown if figure is not None]


def page_rerun() -> tuple[object, int]:
    """The draw page under streamlit.testing with an MNIST digit; returns a rerun function and its element bytes."""
    from streamlit.testing.v1 import AppTest

    shared = ROOT.parent / "shared" / "data"  # where the tests find MNIST too
    if "CNNVIZ_DATA_DIR" not in os.environ and (shared / "MNIST" / "raw").is_dir():
        os.environ["CNNVIZ_DATA_DIR"] = str(shared)
    os.chdir(ROOT / "tests")  # AppTest paths are relative to the caller's folder, as in the tests
    at = AppTest.from_file("../app.py", default_timeout=60)
    at.run()
    at.switch_page(page_path("draw"))
    at.session_state["draw_source"] = "mnist"
    at.session_state["draw_mnist_index"] = 0
    at.run()
    values = iter(range(10_000))

    def rerun():
        at.slider(key="draw_right").set_value(next(values) % 5 - 2)  # a slider move: the whole page reruns
        at.run()

    rerun()
    if not at.get("bidi_component"):
        raise RuntimeError(f"the draw page showed no figures (is MNIST in $CNNVIZ_DATA_DIR?): {at.info} {at.error}")
    size = sum(element.proto.ByteSize() for element in _elements(at._tree) if getattr(element, "proto", None))
    return rerun, size


def _elements(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _elements(child)


def main() -> None:
    torch.set_num_threads(1)  # as read_picture does for its single small image
    classifier, autoencoder, which = models()
    picture = canvas_picture()
    digit = to_mnist(picture)
    settings = DrawSettings()
    reading = read_picture(picture, classifier, autoencoder, settings)
    figures = build_figures(reading, DEFAULT_LAYERS)
    every_layer = build_figures(reading)

    rows = []

    def row(name: str, fn, repeats: int = 30) -> None:
        median, p95 = measure(fn, repeats=repeats, warmup=3)
        rows.append((name, median, p95))

    row("to_mnist (280 x 280 RGBA canvas)", lambda: to_mnist(picture))
    row("classify + every layer's maps (layer by layer)", lambda: features.classify(classifier, digit))
    row(f"shift + rotation sweeps ({len(SWEEP_SHIFTS) + len(SWEEP_ANGLES)} images)", lambda: (
        features.invariance_sweeps(classifier, digit, SWEEP_SHIFTS, SWEEP_ANGLES)
    ))  # fmt: skip
    row("reconstruct (autoencoder)", lambda: features.reconstruct(autoencoder, digit))
    row(
        "read_picture: all of the above [target < 50]", lambda: read_picture(picture, classifier, autoencoder, settings)
    )
    row(
        f"build_figures ({len(DEFAULT_LAYERS)} layer grids, the default)",
        lambda: build_figures(reading, DEFAULT_LAYERS),
    )
    row("figures to JSON (what the page sends)", lambda: figure_json(figures))
    row("build_figures + JSON, all 9 layer grids", lambda: figure_json(build_figures(reading)), repeats=10)
    rerun, size = page_rerun()
    row("whole page rerun, streamlit.testing [target < 200]", rerun, repeats=15)

    print(f"{which}; {torch.get_num_threads()} torch threads")
    print_table(["step", "median ms", "p95 ms"], rows)
    default_kb = sum(map(len, figure_json(figures))) / 1000
    all_kb = sum(map(len, figure_json(every_layer))) / 1000
    print(f"\nbytes per update: {size / 1000:.0f} kB for the whole page's elements (default layers, target < 1000 kB);")
    grids = len(DEFAULT_LAYERS)
    print(f"figures alone {default_kb:.0f} kB with the default {grids} layer grids, {all_kb:.0f} kB with all 9")


if __name__ == "__main__":
    sys.exit(main())
