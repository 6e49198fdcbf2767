"""The builder's table: rows <-> specs for every kind, messages naming the row, the solver's size fixes."""

import pytest
import torch

from cnnviz.layers import code_export, stack
from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.layers.spec import LayerSpec
from cnnviz.views import builder_table
from cnnviz.views.presets import builder_presets
from tests.layers.test_stack import MIXED_SEQUENCE_STACK, MIXED_STACK


def test_table_rows_round_trip_to_the_same_specs():
    specs = list(MIXED_STACK[1]) + list(builder_presets()["LeNet-5"].specs)
    rows = [builder_table.spec_to_row(s) for s in specs]
    parsed = builder_table.rows_to_specs(rows + [{"layer": None}])
    report_a = stack.evaluate_stack(specs, MIXED_STACK[0])
    report_b = stack.evaluate_stack(parsed, MIXED_STACK[0])
    assert [r.output_shape for r in report_a.rows] == [r.output_shape for r in report_b.rows]
    assert [code_export.pytorch_line(r.spec, r.input_shape) for r in report_a.rows] == [
        code_export.pytorch_line(r.spec, r.input_shape) for r in report_b.rows
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
        builder_table.rows_to_specs([{"layer": "ReLU"}, row])
    assert str(error.value).startswith("Row 2")


def test_sequence_rows_round_trip():
    input_shape, specs = MIXED_SEQUENCE_STACK
    rows = [builder_table.spec_to_row(s) for s in specs]
    assert rows[0]["kernel"] == "5" and rows[0]["padding"] == "same"
    parsed = builder_table.rows_to_specs(rows)
    report_a, report_b = stack.evaluate_stack(specs, input_shape), stack.evaluate_stack(parsed, input_shape)
    assert [r.output_shape for r in report_a.rows] == [r.output_shape for r in report_b.rows]


def _run(specs, input_shape):
    x = torch.zeros(2, *input_shape)
    shape = tuple(input_shape)
    for spec in specs:
        x = code_export.to_module(spec, shape)(x)
        shape = tuple(x.shape[1:])
    return shape


@pytest.mark.parametrize(
    ("input_shape", "specs", "target"),
    [
        ((1, 28, 28), [LayerSpec("Conv2d", out_channels=4, kernel_size=3), LayerSpec("ReLU"), LayerSpec("Flatten"),
                       LayerSpec("Linear", out_channels=10, in_features=4 * 14 * 14)], (14, 14)),
        ((4, 100), [LayerSpec("Conv1d", out_channels=8, kernel_size=5), LayerSpec("MaxPool1d", kernel_size=2),
                    LayerSpec("Dropout"), LayerSpec("Flatten"), LayerSpec("Linear", out_channels=2, in_features=200)],
         (25,)),
    ],
)  # fmt: skip
def test_a_layer_of_the_wrong_size_for_the_linear_gets_the_solvers_answers(input_shape, specs, target):
    report = stack.evaluate_stack(specs, input_shape)
    assert "in_features" in report.rows[report.error_index].error.constraint
    fix = builder_table.size_fixes(specs, input_shape, report)
    assert fix is not None and fix.target == target
    assert specs[fix.layer_index].kind in ("Conv2d", "MaxPool1d")
    assert str(specs[-1].in_features) in fix.reason
    assert 1 <= len(fix.specs) <= builder_table.MAX_FIX_ANSWERS
    for fixed, line in zip(fix.specs, fix.lines):
        changed = [*specs[: fix.layer_index], fixed, *specs[fix.layer_index + 1 :]]
        assert stack.evaluate_stack(changed, input_shape).error_index is None
        assert _run(changed, input_shape) == (specs[-1].out_channels,)  # PyTorch agrees
        assert line.startswith(f"nn.{fixed.kind}(")


def test_no_fix_is_offered_for_other_failures():
    specs = [LayerSpec("Conv2d", out_channels=4, kernel_size=30)]
    assert builder_table.size_fixes(specs, (1, 8, 8), stack.evaluate_stack(specs, (1, 8, 8))) is None
    odd = [LayerSpec("Conv2d", out_channels=4), LayerSpec("Flatten"),
           LayerSpec("Linear", out_channels=2, in_features=7)]  # fmt: skip
    assert builder_table.size_fixes(odd, (1, 8, 8), stack.evaluate_stack(odd, (1, 8, 8))) is None  # 7 % 4 channels


def test_the_table_shows_each_layers_effective_stride_and_what_its_first_cell_reads():
    specs = [
        LayerSpec("Conv2d", 8, (5, 5), padding=(2, 2)),
        LayerSpec("MaxPool2d", kernel_size=(2, 2)),
        LayerSpec("Conv2d", 8, (3, 3), stride=(2, 2), padding=(1, 1)),
        LayerSpec("Flatten"),
    ]
    table = builder_table.report_table(stack.evaluate_stack(specs, (1, 28, 28)))
    assert [row["effective stride"] for row in table] == ["1", "2", "4", "n/a"]
    # cell (0, 0) of the last convolution: r = 10, P = 4, so [-4, 5] clipped to the image
    assert [row["first cell reads"] for row in table] == [
        "rows 0-2, columns 0-2", "rows 0-3, columns 0-3", "rows 0-5, columns 0-5", "n/a"
    ]  # fmt: skip
    conv1d = [LayerSpec("Conv1d", 4, (7, 7), stride=(3, 3))]
    sequence = builder_table.report_table(stack.evaluate_stack(conv1d, (4, 100)))
    assert sequence[0]["effective stride"] == "3" and sequence[0]["first cell reads"] == "positions 0-6"
