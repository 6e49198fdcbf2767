"""Layer specs and the network builder's stack evaluation, checked against PyTorch itself."""

import math

import pytest
import torch

from cnnviz import layers
from cnnviz.arithmetic import InvalidLayerConfig
from cnnviz.layers import LayerSpec
from models import AutoencoderConfig, ClassifierConfig, CNNClassifier, ConvAutoencoder

MIXED_STACK = (
    (3, 40, 36),
    [
        LayerSpec("Conv2d", out_channels=12, kernel_size=(5, 3), stride=(2, 1), padding=(1, 2), groups=3),
        LayerSpec("BatchNorm2d"),
        LayerSpec("ReLU"),
        LayerSpec("MaxPool2d", kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(2, 1), ceil_mode=True),
        LayerSpec("ResidualBlock", kernel_size=(4, 4), p=0.1),
        LayerSpec("ConvTranspose2d", out_channels=6, kernel_size=(3, 2), stride=(2, 3), padding=(1, 0),
                  output_padding=(1, 2), dilation=(1, 1)),
        LayerSpec("Upsample", scale_factor=1.5, mode="bilinear"),
        LayerSpec("AvgPool2d", kernel_size=(2, 3), ceil_mode=True, padding=(1, 1)),
        LayerSpec("Dropout", p=0.2),
        LayerSpec("Conv2d", out_channels=4, kernel_size=(3, 3), padding="same", dilation=(2, 2), bias=False),
        LayerSpec("Sigmoid"),
        LayerSpec("Flatten"),
        LayerSpec("Linear", out_channels=7),
    ],
)  # fmt: skip


def _torch_shapes(specs, input_shape, batch=2):
    """Build each layer with to_module and run a real tensor through; per-sample output shapes."""
    x = torch.rand(batch, *input_shape)
    shapes, params = [], 0
    shape = tuple(input_shape)
    for spec in specs:
        module = layers.to_module(spec, shape).eval()
        params += sum(p.numel() for p in module.parameters())
        x = module(x)
        shape = tuple(x.shape[1:])
        shapes.append(shape)
    return shapes, params


@pytest.mark.parametrize("name", list(layers.presets()))
def test_presets_match_pytorch_shape_by_shape_and_parameter_by_parameter(name):
    preset = layers.presets()[name]
    report = layers.evaluate_stack(preset.specs, preset.input_shape)
    assert report.error_index is None
    shapes, params = _torch_shapes(preset.specs, preset.input_shape)
    assert [r.output_shape for r in report.rows] == shapes
    assert report.total_parameters.total == params


def test_presets_are_read_from_the_project_models():
    presets = layers.presets()
    classifier = presets["cnnviz classifier (CNNClassifier)"]
    assert classifier.input_shape == (1, 28, 28)
    model_params = sum(p.numel() for p in CNNClassifier(ClassifierConfig()).parameters())
    assert layers.evaluate_stack(classifier.specs, classifier.input_shape).total_parameters.total == model_params
    autoencoder = presets["cnnviz autoencoder (ConvAutoencoder)"]
    report = layers.evaluate_stack(autoencoder.specs, autoencoder.input_shape)
    assert report.output_shape == (1, 28, 28)
    assert report.total_parameters.total == sum(p.numel() for p in ConvAutoencoder(AutoencoderConfig()).parameters())
    lenet = presets["LeNet-5"]
    assert layers.evaluate_stack(lenet.specs, lenet.input_shape).total_parameters.total == 61_706


def test_a_mixed_stack_of_every_layer_kind_matches_pytorch():
    input_shape, specs = MIXED_STACK
    assert {s.kind for s in specs} == set(layers.LAYER_KINDS)
    report = layers.evaluate_stack(specs, input_shape)
    assert report.error_index is None, report.rows[report.error_index].error
    shapes, params = _torch_shapes(specs, input_shape)
    assert [r.output_shape for r in report.rows] == shapes
    assert report.total_parameters.total == params
    for row in report.rows:
        assert row.activation_bytes == 4 * math.prod(row.output_shape)


def test_receptive_field_grows_through_the_stack_and_is_na_after_upsampling():
    specs = [
        LayerSpec("Conv2d", out_channels=4, kernel_size=(3, 3)),
        LayerSpec("Conv2d", out_channels=4, kernel_size=(3, 3)),
        LayerSpec("MaxPool2d", kernel_size=(2, 2)),
        LayerSpec("Conv2d", out_channels=4, kernel_size=(3, 3)),
        LayerSpec("Upsample"),
        LayerSpec("Conv2d", out_channels=4, kernel_size=(3, 3)),
    ]
    fields = [r.receptive_field for r in layers.evaluate_stack(specs, (1, 32, 32)).rows]
    assert fields == [(3, 3), (5, 5), (6, 6), (10, 10), None, None]


def test_the_first_layer_that_cannot_work_is_marked_with_the_reason_and_the_rest_skipped():
    specs = [
        LayerSpec("Conv2d", out_channels=8, kernel_size=(5, 5)),
        LayerSpec("MaxPool2d", kernel_size=(2, 2)),
        LayerSpec("Conv2d", out_channels=8, kernel_size=(30, 30)),
        LayerSpec("ReLU"),
    ]
    report = layers.evaluate_stack(specs, (1, 28, 28))
    assert report.error_index == 2
    assert len(report.rows) == 3
    assert "larger than the padded input" in report.rows[2].error.constraint
    assert report.output_shape is None
    with pytest.raises(RuntimeError):  # and PyTorch agrees
        layers.to_module(specs[2], (8, 12, 12))(torch.zeros(1, 8, 12, 12))


def test_a_linear_that_does_not_fit_says_which_number_it_needs():
    specs = [LayerSpec("Conv2d", out_channels=4, kernel_size=(3, 3)), LayerSpec("Flatten"),
             LayerSpec("Linear", out_channels=10, in_features=100)]  # fmt: skip
    report = layers.evaluate_stack(specs, (1, 8, 8))
    error = report.rows[report.error_index].error
    assert "144" in error.constraint and error.fix == "set in_features to 144."
    without_flatten = layers.evaluate_stack([specs[0], specs[2]], (1, 8, 8))
    assert "Flatten" in without_flatten.rows[1].error.fix


def test_image_layers_after_flatten_are_refused():
    report = layers.evaluate_stack([LayerSpec("Flatten"), LayerSpec("Conv2d", out_channels=2)], (1, 8, 8))
    assert "flat" in report.rows[1].error.constraint


def test_pytorch_lines_leave_defaults_out():
    assert layers.pytorch_line(LayerSpec("Conv2d", out_channels=16, kernel_size=(5, 5), stride=(2, 2),
                                         padding=(1, 1)), (3, 28, 28)) == \
        "nn.Conv2d(3, 16, kernel_size=5, stride=2, padding=1)"  # fmt: skip
    assert layers.pytorch_line(LayerSpec("MaxPool2d", kernel_size=(2, 2)), (3, 8, 8)) == "nn.MaxPool2d(kernel_size=2)"
    assert (
        layers.pytorch_line(LayerSpec("Conv2d", out_channels=2, kernel_size=(3, 5), padding="same"), (1, 8, 8))
        == "nn.Conv2d(1, 2, kernel_size=(3, 5), padding='same')"
    )


@pytest.mark.parametrize("name", ["cnnviz autoencoder (ConvAutoencoder)", "mixed"])
def test_exported_code_runs_alone_and_gives_every_shape(name, tmp_path, capsys):
    if name == "mixed":
        input_shape, specs = MIXED_STACK
    else:
        preset = layers.presets()[name]
        input_shape, specs = preset.input_shape, preset.specs
    code = layers.export_code(specs, input_shape, batch=3)
    assert "import cnnviz" not in code and "from models" not in code
    assert ("class ResidualBlock(nn.Module)" in code) == any(s.kind == "ResidualBlock" for s in specs)
    path = tmp_path / "exported.py"
    path.write_text(code)
    namespace = {"__name__": "exported"}
    exec(compile(code, str(path), "exec"), namespace)  # noqa: S102 - the code this test checks
    model = namespace["model"].eval()
    x = torch.zeros(3, *input_shape)
    report = layers.evaluate_stack(specs, input_shape)
    for layer, row in zip(model, report.rows, strict=True):
        x = layer(x)
        assert tuple(x.shape) == (3, *row.output_shape)
    assert sum(p.numel() for p in model.parameters()) == report.total_parameters.total


def test_export_refuses_a_stack_that_cannot_work():
    with pytest.raises(InvalidLayerConfig, match="Layer 1"):
        layers.export_code([LayerSpec("Conv2d", out_channels=1, kernel_size=(9, 9))], (1, 4, 4))


def test_table_rows_round_trip_to_the_same_specs():
    specs = list(MIXED_STACK[1]) + list(layers.presets()["LeNet-5"].specs)
    rows = [layers.spec_to_row(s) for s in specs]
    parsed = layers.rows_to_specs(rows + [{"layer": None}])
    report_a = layers.evaluate_stack(specs, MIXED_STACK[0])
    report_b = layers.evaluate_stack(parsed, MIXED_STACK[0])
    assert [r.output_shape for r in report_a.rows] == [r.output_shape for r in report_b.rows]
    assert [layers.pytorch_line(r.spec, r.input_shape) for r in report_a.rows] == [
        layers.pytorch_line(r.spec, r.input_shape) for r in report_b.rows
    ]


@pytest.mark.parametrize(
    "row, message",
    [
        ({"layer": "Conv3d"}, "unknown layer"),
        ({"layer": "Conv2d", "out": None}, "needs out"),
        ({"layer": "Conv2d", "out": 4, "kernel": "three"}, "kernel must be a whole number"),
        ({"layer": "Dropout", "extra": "q=3"}, "not known"),
    ],
)
def test_unreadable_rows_name_the_row_and_the_problem(row, message):
    with pytest.raises(InvalidLayerConfig, match=message) as error:
        layers.rows_to_specs([{"layer": "ReLU"}, row])
    assert str(error.value).startswith("Row 2")


def test_pairs_and_bytes_are_read_and_shown_as_people_write_them():
    assert layers.parse_pair("3") == (3, 3)
    assert layers.parse_pair("3x5") == layers.parse_pair("(3, 5)") == (3, 5)
    assert layers.parse_padding(" Same ") == "same"
    assert layers.format_bytes(784) == "784 B"
    assert layers.format_bytes(3 * 1024 + 200) == "3.2 KB"
    assert layers.format_bytes(5 * 1024**2) == "5.0 MB"
