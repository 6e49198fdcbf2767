"""The network builder page under streamlit.testing: presets, table cells via the seed, errors, export."""

import base64
import re

import torch
from streamlit.testing.v1 import AppTest

from cnnviz import layers
from cnnviz.page_list import page_path
from cnnviz.views import builder_table
from models import ClassifierConfig, CNNClassifier
from tests.layers.kind_examples import STACKS

PAGE = f"../../{page_path('network')}"


def _app(rows=None, shape=None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    if rows is not None:
        at.session_state["net_rows"] = rows
        at.session_state["net_preset"] = "(your own)"
    if shape is not None:
        at.session_state["net_c"], at.session_state["net_h"], at.session_state["net_w"] = shape
    return at.run()


def _metrics(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _table(at: AppTest):
    return at.dataframe[-1].value  # the results table (the editor comes first)


def _run_exported(at: AppTest, input_shape):
    code = at.code[0].value
    namespace = {"__name__": "exported"}
    exec(code, namespace)  # noqa: S102 - the code the page exports
    x = torch.zeros(2, *input_shape)
    shapes = []
    for layer in namespace["model"].eval():
        x = layer(x)
        shapes.append(str(tuple(x.shape[1:])))
    return namespace["model"], shapes


def test_the_default_preset_is_the_projects_classifier_with_its_real_parameter_count():
    at = _app()
    assert not at.exception and not at.error
    expected = sum(p.numel() for p in CNNClassifier(ClassifierConfig()).parameters())
    assert _metrics(at) == {"Output shape": "(10,)", "Parameters": f"{expected:,}", "Activation memory": "259.5 KB"}
    model, shapes = _run_exported(at, (1, 28, 28))
    assert shapes == list(_table(at)["output shape"])


def test_switching_presets_reseeds_the_table_and_the_input():
    at = _app()
    at.selectbox(key="net_preset").set_value("LeNet-5").run()
    assert at.number_input(key="net_h").value == 32
    assert _metrics(at)["Parameters"] == "61,706"
    at.selectbox(key="net_preset").set_value("cnnviz autoencoder (ConvAutoencoder)").run()
    table = _table(at)
    assert _metrics(at)["Output shape"] == "(1, 28, 28)"
    upsampling = list(table["layer"]).index(next(x for x in table["layer"] if x.startswith("nn.ConvTranspose2d")))
    assert set(table["receptive field"][upsampling:]) == {"n/a"}
    assert table["receptive field"][upsampling - 1] != "n/a"
    _, shapes = _run_exported(at, (1, 28, 28))
    assert shapes == list(table["output shape"])


def test_table_cells_seeded_through_session_state_give_pytorchs_shapes():
    specs = [
        layers.LayerSpec("Conv2d", out_channels=6, kernel_size=(5, 3), stride=(2, 2), padding=(1, 1)),
        layers.LayerSpec("BatchNorm2d"),
        layers.LayerSpec("ReLU"),
        layers.LayerSpec("ResidualBlock", kernel_size=(3, 3), p=0.1),
        layers.LayerSpec("MaxPool2d", kernel_size=(3, 3), stride=(2, 2), ceil_mode=True),
        layers.LayerSpec("Upsample", scale_factor=2.0, mode="bilinear"),
        layers.LayerSpec("Dropout", p=0.3),
        layers.LayerSpec("Flatten"),
        layers.LayerSpec("Linear", out_channels=5),
    ]
    rows = [builder_table.spec_to_row(s) for s in specs]
    at = _app(rows, (3, 45, 37))
    assert not at.exception and not at.error
    x = torch.zeros(2, 3, 45, 37)
    shape = (3, 45, 37)
    expected = []
    for spec in specs:
        module = layers.to_module(spec, shape).eval()
        x = module(x)
        shape = tuple(x.shape[1:])
        expected.append(str(shape))
    assert list(_table(at)["output shape"]) == expected
    model, shapes = _run_exported(at, (3, 45, 37))
    assert shapes == expected
    assert _metrics(at)["Parameters"] == f"{sum(p.numel() for p in model.parameters()):,}"
    assert "class ResidualBlock(nn.Module)" in at.code[0].value


def test_the_first_layer_that_cannot_work_is_marked_with_reason_and_fix():
    rows = [
        {"layer": "Conv2d", "out": 4, "kernel": "3"},
        {"layer": "Conv2d", "out": 4, "kernel": "40"},
        {"layer": "ReLU"},
    ]
    at = _app(rows, (1, 28, 28))
    assert not at.exception
    assert "Layer 2 (Conv2d) cannot work" in at.error[0].value
    assert "larger than the padded input" in at.error[0].value
    assert at.info[0].value.startswith("**Fix:**")
    assert list(_table(at)["status"]) == ["ok", "cannot work"]
    assert not at.code  # nothing to export


def test_a_linear_with_the_wrong_in_features_says_which_number_it_needs():
    rows = [{"layer": "Conv2d", "out": 2, "kernel": "3"}, {"layer": "Flatten"},
            {"layer": "Linear", "out": 10, "extra": "in=100"}]  # fmt: skip
    at = _app(rows, (1, 10, 10))
    assert "in_features is 100" in at.error[0].value and "128 features" in at.error[0].value
    assert "set in_features to 128" in at.info[0].value


def test_an_unreadable_cell_names_its_row():
    at = _app([{"layer": "ReLU"}, {"layer": "Conv2d", "out": 3, "kernel": "big"}], (1, 8, 8))
    assert not at.exception
    assert at.error[0].value.startswith("Row 2 (Conv2d): kernel must be a whole number")


def test_the_dna_preset_takes_a_sequence_and_exports_1d_code():
    at = _app()
    at.selectbox(key="net_preset").set_value("DNA motif classifier (1-D)").run()
    assert not at.exception and not at.error
    assert at.radio(key="net_input").value == "sequence (C, L)"
    assert at.number_input(key="net_l").value == 100 and at.number_input(key="net_c").value == 4
    table = _table(at)
    assert table["layer"][0] == "nn.Conv1d(4, 16, kernel_size=8, padding='same')"
    model, shapes = _run_exported(at, (4, 100))
    assert shapes == list(table["output shape"])
    assert _metrics(at)["Parameters"] == f"{sum(p.numel() for p in model.parameters()):,}"


def test_a_sequence_input_refuses_image_layers_with_the_1d_name():
    rows = [{"layer": "Conv2d", "out": 4, "kernel": "3"}]
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["net_rows"], at.session_state["net_preset"] = rows, "(your own)"
    at.session_state["net_input"], at.session_state["net_c"], at.session_state["net_l"] = "sequence (C, L)", 4, 50
    at.run()
    assert "image-shaped input (C, H, W)" in at.error[0].value
    assert "use Conv1d for sequences" in at.info[0].value


def test_a_layer_of_the_wrong_size_for_the_linear_offers_the_solvers_answers_and_applies_one():
    rows = [{"layer": "Conv1d", "out": 8, "kernel": "5"}, {"layer": "MaxPool1d", "kernel": "2"},
            {"layer": "Flatten"}, {"layer": "Linear", "out": 2, "extra": "in=200"}]  # fmt: skip
    at = AppTest.from_file(PAGE, default_timeout=60)
    at.session_state["net_rows"], at.session_state["net_preset"] = rows, "(your own)"
    at.session_state["net_input"], at.session_state["net_c"], at.session_state["net_l"] = "sequence (C, L)", 4, 100
    at.run()
    assert "in_features is 200" in at.error[0].value
    assert "should give 25 instead of 48" in at.info[1].value
    first = at.button(key="net_fix_0")
    assert first.label.startswith("Use nn.MaxPool1d(")
    first.click().run()
    assert not at.error and not at.exception
    assert _metrics(at)["Output shape"] == "(2,)"
    assert list(_table(at)["output shape"])[1] == "(8, 25)"
    _, shapes = _run_exported(at, (4, 100))
    assert shapes == list(_table(at)["output shape"])


def _boxes(at: AppTest) -> list[str]:
    """The titles of the field-growth picture's boxes (an SVG the page shows with st.image, as a data URI)."""
    pictures = [
        base64.b64decode(image.url.split(",", 1)[1]).decode()
        for element in at.get("image")
        for image in element.proto.imgs
        if image.url.startswith("data:image/svg+xml;base64,")
    ]
    (picture,) = [p for p in pictures if "fg-picture" in p]
    return re.findall(r'class="fg-box"><title>([^<]*)</title>', picture)


def test_the_field_growth_picture_draws_a_box_per_layer_and_follows_a_chosen_pixel():
    at = _app()
    assert not at.exception
    boxes = _boxes(at)
    assert len(boxes) == 9 and boxes[0] == "1-2 Conv2d: 3 x 3 (reads padding): rows -1 to 1, columns -1 to 1"
    assert boxes[-1].startswith("12 MaxPool2d: 36 x 36 (reads padding)")
    assert any("Layer 13 (Flatten)" in c.value for c in at.caption)
    at.radio(key="net_fg_follow").set_value("the cell over one input pixel").run()
    assert at.number_input(key="net_fg_row").value == 14 and at.number_input(key="net_fg_column").value == 14
    assert _boxes(at)[0] == "1-2 Conv2d: 3 x 3: rows 13 to 15, columns 13 to 15"
    at.number_input(key="net_fg_column").set_value(0).run()
    assert _boxes(at)[0] == "1-2 Conv2d: 3 x 3 (reads padding): rows 13 to 15, columns -1 to 1"
    at = _app([{"layer": "Conv2d", "out": 2, "kernel": "5", "stride": "2"}], (1, 28, 28))
    at.radio(key="net_fg_follow").set_value("the cell over one input pixel").run()
    at.number_input(key="net_h").set_value(10).run()  # the chosen row 14 no longer exists: kept inside
    assert not at.exception and at.number_input(key="net_fg_row").value == 9
    assert _boxes(at) == ["1 Conv2d: 5 x 5: rows 4 to 8, columns 12 to 16"]


def test_the_field_growth_of_a_sequence_and_past_upsampling():
    at = _app()
    at.selectbox(key="net_preset").set_value("DNA motif classifier (1-D)").run()
    assert _boxes(at)[-1] == "6 MaxPool1d: 43 (reads padding): positions -11 to 31"
    at.radio(key="net_fg_follow").set_value("the cell over one input pixel").run()
    assert at.number_input(key="net_fg_position").value == 50
    assert _boxes(at)[-1] == "6 MaxPool1d: 43: positions 29 to 71"
    at.selectbox(key="net_preset").set_value("cnnviz autoencoder (ConvAutoencoder)").run()
    assert not at.exception and len(_boxes(at)) == 9
    assert any("Layer 16 (ConvTranspose2d)" in c.value and "upsampling" in c.value for c in at.caption)


def test_every_stack_of_the_kinds_test_data_builds_like_pytorch_and_exports():
    for input_shape, specs in STACKS:
        rows = [builder_table.spec_to_row(s) for s in specs]
        at = AppTest.from_file(PAGE, default_timeout=60)
        at.session_state["net_rows"], at.session_state["net_preset"] = rows, "(your own)"
        at.session_state["net_c"] = input_shape[0]
        if len(input_shape) == 3:
            at.session_state["net_h"], at.session_state["net_w"] = input_shape[1:]
        else:
            at.session_state["net_input"], at.session_state["net_l"] = "sequence (C, L)", input_shape[1]
        at.run()
        assert not at.exception and not at.error, [e.value for e in at.error]
        table = _table(at)
        report = layers.evaluate_stack(specs, input_shape)
        assert list(table["output shape"]) == [layers.show_shape(r.output_shape) for r in report.rows]
        model, shapes = _run_exported(at, input_shape)
        assert shapes == list(table["output shape"])
        assert _metrics(at)["Parameters"] == f"{sum(p.numel() for p in model.parameters()):,}"
        uneven = [row.field is not None and not row.field.exact for row in report.rows]
        assert [field.endswith("(largest window)") for field in table["receptive field"]] == uneven
