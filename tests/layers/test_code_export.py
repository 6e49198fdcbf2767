"""PyTorch lines and exported code: the code runs alone and gives every shape the stack reports."""

import pytest
import torch

from cnnviz.layers import code_export, stack
from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.layers.spec import LayerSpec
from cnnviz.views.presets import builder_presets
from tests.layers.test_stack import MIXED_SEQUENCE_STACK, MIXED_STACK


def test_pytorch_lines_leave_defaults_out():
    assert code_export.pytorch_line(LayerSpec("Conv2d", out_channels=16, kernel_size=(5, 5), stride=(2, 2),
                                         padding=(1, 1)), (3, 28, 28)) == \
        "nn.Conv2d(3, 16, kernel_size=5, stride=2, padding=1)"  # fmt: skip
    pool = LayerSpec("MaxPool2d", kernel_size=(2, 2))
    assert code_export.pytorch_line(pool, (3, 8, 8)) == "nn.MaxPool2d(kernel_size=2)"
    assert (
        code_export.pytorch_line(LayerSpec("Conv2d", out_channels=2, kernel_size=(3, 5), padding="same"), (1, 8, 8))
        == "nn.Conv2d(1, 2, kernel_size=(3, 5), padding='same')"
    )


@pytest.mark.parametrize("name", ["cnnviz autoencoder (ConvAutoencoder)", "mixed", "sequence"])
def test_exported_code_runs_alone_and_gives_every_shape(name, tmp_path, capsys):
    if name == "mixed":
        input_shape, specs = MIXED_STACK
    elif name == "sequence":
        input_shape, specs = MIXED_SEQUENCE_STACK
    else:
        preset = builder_presets()[name]
        input_shape, specs = preset.input_shape, preset.specs
    code = code_export.export_code(specs, input_shape, batch=3)
    assert "import cnnviz" not in code and "from models" not in code
    assert ("class ResidualBlock(nn.Module)" in code) == any(s.kind == "ResidualBlock" for s in specs)
    path = tmp_path / "exported.py"
    path.write_text(code)
    namespace = {"__name__": "exported"}
    exec(compile(code, str(path), "exec"), namespace)  # noqa: S102 - the code this test checks
    model = namespace["model"].eval()
    x = torch.zeros(3, *input_shape)
    report = stack.evaluate_stack(specs, input_shape)
    for layer, row in zip(model, report.rows, strict=True):
        x = layer(x)
        assert tuple(x.shape) == (3, *row.output_shape)
    assert sum(p.numel() for p in model.parameters()) == report.total_parameters.total


def test_export_refuses_a_stack_that_cannot_work():
    with pytest.raises(InvalidLayerConfig, match="Layer 1"):
        code_export.export_code([LayerSpec("Conv2d", out_channels=1, kernel_size=(9, 9))], (1, 4, 4))


def test_sequence_layers_are_written_with_one_number():
    line = code_export.pytorch_line(LayerSpec("Conv1d", out_channels=8, kernel_size=(5,), padding="same"), (4, 100))
    assert line == "nn.Conv1d(4, 8, kernel_size=5, padding='same')"
    assert code_export.pytorch_line(LayerSpec("MaxPool1d", kernel_size=4, stride=2), (8, 10)) == \
        "nn.MaxPool1d(kernel_size=4, stride=2)"  # fmt: skip
    module = code_export.to_module(LayerSpec("ConvTranspose1d", out_channels=2, kernel_size=3, stride=2), (4, 9))
    assert tuple(module(torch.zeros(1, 4, 9)).shape) == (1, 2, 19)
