"""Explorer and network builder: server-side time of one interaction, and what the browser receives.

One interaction = everything the explorer page computes for a rerun: load the
image, the arithmetic, the animation's description, the convolution, the map
grid, and serialising both as the page's components send them (JSON). "cold"
clears the animation cache (e.g. the kernel size changed); "warm" reuses it
(e.g. ReLU toggled).
"""

from __future__ import annotations

import json
from collections.abc import Callable

from benchmarks.table import measure, print_table
from cnnviz import layers
from cnnviz.data import images
from cnnviz.explorer.layer2d import ExplorerSettings
from cnnviz.views import builder_table, explorer_view
from cnnviz.views.presets import builder_presets

SCENE = "colour_scene"

SCENARIOS = [
    ("256x256 RGB -> 16 ch, 7x7 same", ExplorerSettings(in_channels=3, height=256, width=256, out_channels=16,
                                                         kernel=(7, 7), padding="same"), SCENE, True),
    ("256x256 RGB -> 16 ch, 7x7 same (warm: ReLU toggled)",
     ExplorerSettings(in_channels=3, height=256, width=256, out_channels=16, kernel=(7, 7), padding="same",
                      relu=True), SCENE, False),
    ("256x256 RGB -> 16 ch, 3x3 stride 2, random", ExplorerSettings(in_channels=3, height=256, width=256,
     out_channels=16, kernel=(3, 3), stride=(2, 2), kernel_mode="random"), SCENE, True),
    ("28x28 digit -> 8 ch, 3x3 (default view)", ExplorerSettings(height=28, width=28), "mnist_3", True),
    ("worst: 256 RGB -> 512 ch (32 drawn), 15x15 same", ExplorerSettings(in_channels=3, height=256, width=256,
     out_channels=512, kernel=(15, 15), padding="same"), SCENE, True),
    ("worst: ConvTranspose2d 256 -> 1027, 64 ch, 7x7 stride 4", ExplorerSettings(layer="ConvTranspose2d",
     in_channels=3, height=256, width=256, out_channels=64, kernel=(7, 7), stride=(4, 4)), SCENE, True),
    ("worst: 1x1 kernel on 256 (1024 animation steps)", ExplorerSettings(in_channels=3, height=256, width=256,
     out_channels=16, kernel=(1, 1)), SCENE, True),
    ("worst: 15x15 dilation 2 (tap markers)", ExplorerSettings(in_channels=3, height=64, width=64,
     out_channels=16, kernel=(15, 15), dilation=(2, 2), padding=(14, 14)), SCENE, True),
    ("Upsample x8 bilinear, 128 RGB", ExplorerSettings(layer="Upsample", in_channels=3, height=128, width=128,
     scale_factor=8.0, mode="bilinear"), SCENE, True),
]  # fmt: skip


def interaction(settings: ExplorerSettings, sample: str, cold: bool) -> int:
    """One rerun's server-side work; returns the bytes of JSON sent to the browser's components."""
    if cold:
        explorer_view.animation_payload.cache_clear()
    image = images.load_sample(sample)
    view = explorer_view.build_view(settings, image)
    assert view.error is None, view.error
    sent = len(json.dumps(view.animation.as_json()))
    if view.maps is not None:
        sent += len(json.dumps(view.maps.payload()))
    return sent


def page_rerun() -> Callable[[], None]:
    """The whole explorer page script under streamlit.testing, the kernel switching 7 <-> 5 each rerun.

    Includes Streamlit's own work on the script thread (widgets, element
    protos) and the test harness, so it is an upper bound of a real rerun.
    The kernel is set in the session state: a click on the kernel's control
    reruns only the view (pages/explorer.py), a smaller part of this.
    """
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(Path(__file__).parents[1] / "pages" / "explorer.py"), default_timeout=60)
    for key, value in {"h": "256", "w": "256", "out": "16", "k": "7", "p": "same"}.items():
        at.query_params[key] = value
    at.run()
    state = {"k": 7}

    def rerun() -> None:
        state["k"] = 12 - state["k"]
        at.session_state["ex_k_h"] = state["k"]
        at.run()
        assert not at.exception, at.exception

    return rerun


def network_interaction(name: str) -> int:
    preset = builder_presets()[name]
    report = layers.evaluate_stack(preset.specs, preset.input_shape)
    builder_table.report_table(report)
    return len(layers.export_code(preset.specs, preset.input_shape))


def main() -> None:
    rows = []
    for label, settings, sample, cold in SCENARIOS:
        payload = interaction(settings, sample, cold)
        median, p95 = measure(lambda s=settings, i=sample, c=cold: interaction(s, i, c), repeats=15, warmup=2)
        rows.append([label, median, p95, f"{payload / 1024:.0f} KB"])
    rerun = page_rerun()
    median, p95 = measure(rerun, repeats=15, warmup=2)
    rows.append(["whole page rerun, streamlit.testing (256 RGB, 16 ch, kernel 7 <-> 5)", median, p95, "as above"])
    for name in builder_presets():
        size = network_interaction(name)
        median, p95 = measure(lambda n=name: network_interaction(n), repeats=15, warmup=1)
        rows.append([f"network builder: {name}", median, p95, f"{size / 1024:.1f} KB code"])
    print_table(["scenario (one interaction)", "median ms", "p95 ms", "sent to browser"], rows)


if __name__ == "__main__":
    main()
