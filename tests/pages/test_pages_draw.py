"""The draw page under streamlit.testing: prompt, an MNIST digit through both networks, sliders, model choice.

The canvas cannot be drawn on here (tests/test_browser_draw.py does that in Chromium), so the digits come
from the "random MNIST test digit" source with a fixed index.
"""

from __future__ import annotations

import io
import random
import re

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw
from streamlit.testing.v1 import AppTest

from cnnviz.data.mnist import mnist_test_digit, to_float
from cnnviz.data.preprocess import shift_rotate
from cnnviz.page_list import page_path
from cnnviz.training.recipe import TrainConfig
from cnnviz.training.runs import create_run
from models import ConvAutoencoder
from models.checkpoint import checkpoint_dict
from tests.map_grids import component_data, grid_titles, grid_values, map_grids

UPLOAD_CHOICE = "upload a checkpoint (.pt)"  # the pickers' last option

DIGIT_INDEX = 3  # MNIST test digit #3 is a clear 0


def finished_run(model: torch.nn.Module, kind: str, name: str):
    """A finished training run in this test's CNNVIZ_RUNS_DIR holding ``model``."""
    run = create_run(TrainConfig(model=kind), name=name)
    run.save_checkpoint(checkpoint_dict(model))
    run.set_status("finished")
    return run


def draw_page(**state) -> AppTest:
    at = AppTest.from_file("../../app.py", default_timeout=60)
    at.run()
    at.switch_page(page_path("draw"))
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def charts(at: AppTest) -> list[dict]:
    """The payloads of the page's probability charts (widgets/chart.js), each component's charts in order."""
    elements = at.get("bidi_component")
    payloads = [component_data(e) for e in elements if e.proto.component_name == "cnnviz.chart"]
    return [chart for payload in payloads for chart in payload["charts"]]


def prediction(at: AppTest) -> int | None:
    for markdown in at.markdown:
        match = re.search(r"data-testid='draw-prediction'[^>]*>(\d)<", markdown.value)
        if match:
            return int(match.group(1))
    return None


@pytest.fixture
def trained_runs(trained_classifier):
    """Finished runs with the trained classifier and a (briefly initialised) autoencoder, selected in the page."""
    torch.manual_seed(0)
    finished_run(trained_classifier, "classifier", "lab classifier")
    finished_run(ConvAutoencoder().eval(), "autoencoder", "lab autoencoder")
    return {"draw_classifier_source": "run: lab classifier", "draw_autoencoder_source": "run: lab autoencoder"}


def test_an_empty_canvas_shows_a_friendly_prompt_not_a_prediction():
    at = draw_page()
    assert any("Draw a digit from 0 to 9" in info.value for info in at.info)
    assert prediction(at) is None
    assert not charts(at) and not map_grids(at)


def test_an_mnist_digit_is_classified_with_layers_sweeps_and_reconstruction(mnist_digits):
    """With the shipped classifier and autoencoder, picked by default."""
    at = draw_page(draw_source="mnist", draw_mnist_index=DIGIT_INDEX)
    label = int(mnist_digits.labels[DIGIT_INDEX])
    assert prediction(at) == label
    assert not at.error and not at.warning
    bars = [c for c in charts(at) if c["kind"] == "bars"]
    assert len(bars) == 1 and bars[0]["x"] == [str(d) for d in range(10)]
    probabilities = np.array(bars[0]["series"][0]["values"])
    assert probabilities.argmax() == label and probabilities.sum() == pytest.approx(1.0, abs=1e-4)
    titles = grid_titles(at)
    for name, shape in [("conv1", "16 x 28 x 28"), ("pool1", "16 x 14 x 14"), ("pool3", "32 x 3 x 3")]:
        assert any(t.startswith(f"{name} (") and shape in t for t in titles), (name, titles)
    assert any("bottleneck: 4 x 3 x 3 = 36" in t for t in titles)
    metrics = {metric.label: metric.value for metric in at.metric}
    assert metrics["Bottleneck"] == "4 x 3 x 3 = 36" and metrics["Compression"] == "21.8x"
    assert 0 < float(metrics["Mean squared error"]) < 0.03  # the shipped autoencoder rebuilds a real digit well
    # The input the model saw is MNIST's digit itself.
    seen = next(g for g in map_grids(at) if g["panels"][0]["title"] == "what the model sees")
    digit = to_float(mnist_digits.images[DIGIT_INDEX, 0]).numpy()
    np.testing.assert_allclose(grid_values(seen)[0], digit, atol=0.5 / 255 + 1e-6)  # one byte per value


def test_the_sliders_move_the_input_and_the_sweep_marks_it(mnist_digits):
    at = draw_page(draw_source="mnist", draw_mnist_index=DIGIT_INDEX)
    at.slider(key="draw_right").set_value(3)
    at.slider(key="draw_degrees").set_value(-20)
    at.run()
    assert not at.exception
    seen = next(g for g in map_grids(at) if g["panels"][0]["title"] == "what the model sees")
    expected = shift_rotate(to_float(mnist_digits.images[DIGIT_INDEX : DIGIT_INDEX + 1]), right=3, degrees=-20)
    np.testing.assert_allclose(grid_values(seen)[0], expected[0, 0].numpy(), atol=0.5 / 255 + 1e-5)
    marks = sorted(c["marker"] for c in charts(at) if c["kind"] == "lines")
    assert marks == [-20, 3]


@pytest.fixture
def a_test_digit(monkeypatch):
    """The "random MNIST test digit" source, from MNIST when it is there, else from the shipped sample of a 0.

    These tests look at layers and errors, not at MNIST itself, so they run in a fresh clone too.
    """
    from cnnviz.data import mnist
    from cnnviz.data.images import load_sample

    try:
        mnist.mnist_test_digit(DIGIT_INDEX)
    except mnist.MNISTNotFound:
        monkeypatch.setattr(
            mnist, "mnist_test_digit", lambda index: mnist.MnistDigit(load_sample("mnist_0").pixels, 0, index)
        )


def test_the_chosen_layers_are_the_ones_drawn(trained_runs, a_test_digit):
    at = draw_page(draw_source="mnist", draw_mnist_index=DIGIT_INDEX, draw_layers=["res2_1"], **trained_runs)
    layer_titles = [t for t in grid_titles(at) if "(channels x rows x columns)" in t]
    assert len(layer_titles) == 1 and layer_titles[0].startswith("res2_1 (residual block): output 32 x 14 x 14")


def test_a_broken_checkpoint_is_reported_and_the_page_goes_on(tmp_path, trained_runs, a_test_digit):
    run = create_run(TrainConfig(model="classifier"), name="broken")
    run.checkpoint_path.write_bytes(b"not a checkpoint at all")
    run.set_status("finished")
    state = {**trained_runs, "draw_classifier_source": "run: broken"}
    at = draw_page(draw_source="mnist", draw_mnist_index=DIGIT_INDEX, **state)
    assert any("could not be loaded" in error.value and "not a readable" in error.value for error in at.sidebar.error)
    assert any("No classifier" in warning.value for warning in at.warning)
    assert prediction(at) is None
    assert any(metric.label == "Bottleneck" for metric in at.metric)  # the autoencoder still works


def test_each_picker_offers_only_finished_runs_of_its_kind(trained_runs):
    finished_run(ConvAutoencoder().eval(), "autoencoder", "sneaky")
    unfinished = create_run(TrainConfig(model="classifier"), name="still training")
    unfinished.save_checkpoint(checkpoint_dict(ConvAutoencoder()))
    at = draw_page(draw_source="mnist", draw_mnist_index=DIGIT_INDEX, **trained_runs)
    assert "run: sneaky" not in at.sidebar.selectbox(key="draw_classifier_source").options
    assert "run: sneaky" in at.sidebar.selectbox(key="draw_autoencoder_source").options
    assert "run: still training" not in at.sidebar.selectbox(key="draw_classifier_source").options


def png_of_a_seven() -> bytes:
    """A phone-photo-like picture: dark grey ink on light paper, off-centre, 400 x 300."""
    image = Image.new("RGB", (400, 300), (235, 230, 220))
    ImageDraw.Draw(image).line([(220, 60), (330, 60), (260, 250)], fill=(40, 40, 50), width=16, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_an_uploaded_picture_is_read_and_compared_with_a_naive_resize(trained_runs):
    at = draw_page(draw_source="upload", **trained_runs)
    assert any("Choose a picture" in info.value for info in at.info)
    at.file_uploader(key="draw_picture").set_value(("seven.png", png_of_a_seven(), "image/png")).run()
    assert not at.exception and prediction(at) == 7
    at.toggle(key="draw_naive").set_value(True).run()
    bars = next(c for c in charts(at) if c["kind"] == "bars")
    assert [series["name"] for series in bars["series"]] == ["drawing as MNIST", "naive resize"]
    seen = next(g for g in map_grids(at) if g["panels"][0]["title"] == "what the model sees")
    assert [panel["title"] for panel in seen["panels"]] == ["what the model sees", "naive: the whole picture squeezed"]


def test_a_file_that_is_not_a_picture_is_refused_politely(trained_runs):
    at = draw_page(draw_source="upload", **trained_runs)
    at.file_uploader(key="draw_picture").set_value(("digit.png", b"%PDF-1.4 not a picture", "image/png")).run()
    assert not at.exception
    assert any("not an image" in error.value for error in at.error)
    assert prediction(at) is None


def test_an_uploaded_checkpoint_is_used_and_one_of_the_wrong_kind_refused(trained_classifier, mnist_digits):
    at = draw_page(draw_source="mnist", draw_mnist_index=DIGIT_INDEX, draw_classifier_source=UPLOAD_CHOICE)
    uploader = at.sidebar.file_uploader(key="draw_classifier_upload")
    buffer = io.BytesIO()
    torch.save(checkpoint_dict(ConvAutoencoder()), buffer)
    uploader.set_value(("autoencoder.pt", buffer.getvalue(), "application/octet-stream")).run()
    assert any("holds an autoencoder; pick a classifier" in error.value for error in at.sidebar.error)
    assert prediction(at) is None and not at.exception
    buffer = io.BytesIO()
    torch.save(checkpoint_dict(trained_classifier), buffer)
    at.sidebar.file_uploader(key="draw_classifier_upload").set_value(
        ("classifier.pt", buffer.getvalue(), "application/octet-stream")
    ).run()
    assert prediction(at) == int(mnist_digits.labels[DIGIT_INDEX])


def test_another_digit_draws_a_new_mnist_test_digit_with_its_label(mnist_digits, monkeypatch):
    at = draw_page(draw_source="mnist", draw_mnist_index=DIGIT_INDEX)
    monkeypatch.setattr(random, "randrange", lambda stop: 42)
    at.button(key="draw_another").click().run()
    assert at.session_state["draw_mnist_index"] == 42
    digit = mnist_test_digit(42)  # the full set's #42, or the shipped digit that says its own number
    label = int(mnist_digits.labels[42])
    assert digit.label == label
    caption = f"MNIST test digit #{digit.number}, labelled {label}"
    assert any(caption in str(image.proto) for image in at.get("image"))
    assert prediction(at) == label
