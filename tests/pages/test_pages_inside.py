"""The Inside page under streamlit.testing: every section with the shipped models and a real MNIST digit
(a shipped one where MNIST is missing).

The slow results (filter pictures, the latent projection) are computed here first on a few hundred test digits
and land in the cache the page reads, so the page finds them ready, as it would on its second visit.
"""

from __future__ import annotations

import json
import time

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.analysis import filters, latent, receptive
from cnnviz.page_list import page_path
from cnnviz.training.recipe import TrainConfig
from cnnviz.training.runs import create_run
from models import PRETRAINED_DIR, load_model, load_pretrained
from tests.map_grids import component_data, map_grids

DIGIT_INDEX = 0  # MNIST test digit #0 is a 7
TIMEOUT = 120  # a busy 2-core machine


def page(section: str | None = None) -> AppTest:
    app = AppTest.from_file(f"../../{page_path('inside')}", default_timeout=TIMEOUT)
    app.session_state["inside_index"] = DIGIT_INDEX
    if section:
        app.session_state["inside_section"] = section
    return app.run()


def markdown(app: AppTest) -> str:
    return "\n".join(element.value for element in app.markdown)


@pytest.fixture
def cached_results(mnist_digits):
    """Precompute, on a subset, what the filters and latent sections would compute on all test digits."""
    classifier = load_pretrained("classifier")
    filters.filter_images(
        classifier, PRETRAINED_DIR / "classifier.pt", "backbone.layers.conv2", mnist_digits.subset(300)
    )
    path = PRETRAINED_DIR / "autoencoder_2d.pt"
    latent.projection(load_model(path), path, mnist_digits.subset(500))


def test_receptive_field_of_the_centre_cell(mnist_digits):
    app = page()
    assert not app.exception
    text = markdown(app)
    # res2_1 is 14 x 14; its centre cell (7, 7) reads rows 8-21 (r = 14, S = 2, P = 6).
    assert "Cell **(row 7, column 7)** of channel 0" in text and "rows **8-21**, columns **8-21**" in text
    app.selectbox(key="inside_rf_layer").set_value("backbone.layers.conv1").run()
    assert "rows **13-15**, columns **13-15**" in markdown(app)  # conv1's 28 x 28 map: cell (14, 14)
    assert "effective padding P = 1" in "\n".join(c.value for c in app.caption)


def test_a_picked_cell_moves_the_boxes_on_the_input_and_the_effective_field(mnist_digits):
    app = page()
    app.session_state["inside_rf_cell"] = (2, 3)  # what the picker's click callback keeps
    app.run()
    assert not app.exception
    assert "Cell **(row 2, column 3)** of channel 0" in markdown(app)
    (top, left), (bottom, right) = receptive.region(load_pretrained("classifier"), "backbone.layers.res2_1", 2, 3)
    grids = map_grids(app)
    picker = next(grid for grid in grids if grid["title"] == "res2_1, channel 0: click a cell")
    assert picker["clickable"] and (picker["rows"], picker["columns"]) == (14, 14)
    fields = [grid for grid in grids if "box" in grid["panels"][0]]
    assert [grid["panels"][0]["box"] for grid in fields] == [[top, left, bottom, right]] * 2
    assert [grid["panels"][0]["cmap"] for grid in fields] == ["greys", "blue-red"]
    app.session_state["inside_rf_cell"] = (-1, 99)  # nothing the picker sends: back to the centre cell
    app.run()
    assert not app.exception and "Cell **(row 7, column 7)** of channel 0" in markdown(app)


def test_why_this_answer_and_why_not(mnist_digits):
    app = page("why")
    assert not app.exception
    assert "The network answers **7**" in markdown(app) and "explaining **7**" in markdown(app)
    app.radio(key="inside_why_class").set_value(3).run()
    assert "explaining **3**" in markdown(app)
    (maps,) = [e for e in app.get("bidi_component") if "inside_why_maps" in e.proto.id]  # drawn by the browser
    grids = component_data(maps)["grids"]
    assert [grid["title"] for grid in grids] == ["The digit", "Saliency (gradient x input) for 3", "Grad-CAM for 3"]
    assert [grid["panels"][0]["cmap"] for grid in grids] == ["greys", "blue-red", "blue-red"]


def test_filters_and_latent_sections_use_the_cache(cached_results):
    started = time.monotonic()
    app = page("filters")
    assert not app.exception
    assert app.number_input(key="inside_filter_channel").value == 0
    charts = json.dumps([json.loads(chart.proto.spec)["layout"].get("title", {}) for chart in app.get("plotly_chart")])
    assert "The 9 test digits that excite channel 0 most" in charts
    app.selectbox(key="inside_autoencoder").set_value("shipped autoencoder, 2-value code")
    app.segmented_control(key="inside_section").set_value("latent").run()
    assert not app.exception
    charts = json.dumps([json.loads(chart.proto.spec)["layout"].get("title", {}) for chart in app.get("plotly_chart")])
    assert "every code has exactly 2 numbers" in charts  # the plane; the digits are drawn by the browser:
    strips = [grid["title"] for e in app.get("bidi_component") for grid in component_data(e)["grids"]]
    assert "In code space: decode the blended code" in strips and "In pixel space: blend the pixels" in strips
    assert "Along the directions" in strips
    assert any("Click anywhere on the plane" in info.value for info in app.info)
    assert time.monotonic() - started < TIMEOUT


def test_bottleneck_section_without_and_with_a_comparison(mnist_digits):
    app = page("bottleneck")
    assert any("python -m cnnviz.training.bottleneck" in info.value for info in app.info)
    # A finished comparison as the CLI leaves it: two marked runs with their test results.
    for size, mse in ((2, 0.05), (16, 0.02)):
        run = create_run(TrainConfig(model="autoencoder", channels=(8, 8, 8, 8), bottleneck_channels=size))
        (run.path / "comparison.json").write_text(json.dumps({"batch": "b1", "code_size": size}))
        images = mnist_digits.images[:16]
        run.save_results({"test_loss": mse, "images": images, "reconstructions": images.float() / 255})
        run.set_status("finished", "done")
    app = page("bottleneck")
    assert not app.exception
    charts = json.dumps([json.loads(chart.proto.spec)["layout"].get("title", {}) for chart in app.get("plotly_chart")])
    assert "Reconstruction error against bottleneck size" in charts
    assert "2 values (test MSE 0.0500)" in charts and "16 values (test MSE 0.0200)" in charts


def test_without_mnist_the_page_works_on_the_shipped_digits_and_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path))  # a fresh offline clone
    app = page()
    assert not app.exception and not app.sidebar.error
    assert "Cell **(row 7, column 7)** of channel 0" in markdown(app)
    assert any("200 test digits shipped with cnnviz" in caption.value for caption in app.sidebar.caption)
    app.selectbox(key="inside_autoencoder").set_value("shipped autoencoder, 2-value code")
    app.segmented_control(key="inside_section").set_value("latent").run()
    assert not app.exception
    assert any("uses the 200 MNIST test digits shipped with cnnviz" in caption.value for caption in app.caption)
    assert any("Click anywhere on the plane" in info.value for info in app.info)
