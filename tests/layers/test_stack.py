"""A stack evaluated from an input shape (images and sequences), checked against PyTorch itself."""

import math

import pytest
import torch

from cnnviz.layers import code_export, registry, stack
from cnnviz.layers.spec import LayerSpec
from tests.layers.kind_examples import MIXED_SEQUENCE_STACK, MIXED_STACK, STACKS

__all__ = ["MIXED_SEQUENCE_STACK", "MIXED_STACK"]  # other tests chain the same stacks


def _torch_shapes(specs, input_shape, batch=2):
    """Build each layer with to_module and run a real tensor through; per-sample output shapes."""
    x = torch.rand(batch, *input_shape)
    shapes, params = [], 0
    shape = tuple(input_shape)
    for spec in specs:
        module = code_export.to_module(spec, shape).eval()
        params += sum(p.numel() for p in module.parameters())
        x = module(x)
        shape = tuple(x.shape[1:])
        shapes.append(shape)
    return shapes, params


def test_a_mixed_stack_of_every_image_layer_kind_matches_pytorch():
    input_shape, specs = MIXED_STACK
    assert {s.kind for _, chained in STACKS for s in chained} == set(registry.LAYER_KINDS)
    report = stack.evaluate_stack(specs, input_shape)
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
    fields = [r.receptive_field for r in stack.evaluate_stack(specs, (1, 32, 32)).rows]
    assert fields == [(3, 3), (5, 5), (6, 6), (10, 10), None, None]


def test_the_first_layer_that_cannot_work_is_marked_with_the_reason_and_the_rest_skipped():
    specs = [
        LayerSpec("Conv2d", out_channels=8, kernel_size=(5, 5)),
        LayerSpec("MaxPool2d", kernel_size=(2, 2)),
        LayerSpec("Conv2d", out_channels=8, kernel_size=(30, 30)),
        LayerSpec("ReLU"),
    ]
    report = stack.evaluate_stack(specs, (1, 28, 28))
    assert report.error_index == 2
    assert len(report.rows) == 3
    assert "larger than the padded input" in report.rows[2].error.constraint
    assert report.output_shape is None
    with pytest.raises(RuntimeError):  # and PyTorch agrees
        code_export.to_module(specs[2], (8, 12, 12))(torch.zeros(1, 8, 12, 12))


def test_a_linear_that_does_not_fit_says_which_number_it_needs():
    specs = [LayerSpec("Conv2d", out_channels=4, kernel_size=(3, 3)), LayerSpec("Flatten"),
             LayerSpec("Linear", out_channels=10, in_features=100)]  # fmt: skip
    report = stack.evaluate_stack(specs, (1, 8, 8))
    error = report.rows[report.error_index].error
    assert "144" in error.constraint and error.fix == "set in_features to 144."
    without_flatten = stack.evaluate_stack([specs[0], specs[2]], (1, 8, 8))
    assert "Flatten" in without_flatten.rows[1].error.fix


def test_image_layers_after_flatten_are_refused():
    report = stack.evaluate_stack([LayerSpec("Flatten"), LayerSpec("Conv2d", out_channels=2)], (1, 8, 8))
    assert "flat" in report.rows[1].error.constraint


def test_a_mixed_stack_of_every_sequence_layer_kind_matches_pytorch():
    input_shape, specs = MIXED_SEQUENCE_STACK
    report = stack.evaluate_stack(specs, input_shape)
    assert report.error_index is None, report.rows[report.error_index].error
    shapes, params = _torch_shapes(specs, input_shape)
    assert [r.output_shape for r in report.rows] == shapes
    assert report.total_parameters.total == params
    assert report.rows[0].receptive_field == (9,)  # kernel 5 with dilation 2


def test_sequence_and_image_layers_say_which_input_they_need():
    report = stack.evaluate_stack([LayerSpec("Conv2d", out_channels=2)], (4, 50))
    assert "image-shaped input (C, H, W)" in report.rows[0].error.constraint
    assert report.rows[0].error.fix == "use Conv1d for sequences."
    report = stack.evaluate_stack([LayerSpec("MaxPool1d", kernel_size=2)], (1, 28, 28))
    assert "sequence-shaped input (C, L)" in report.rows[0].error.constraint
    assert report.rows[0].error.fix == "use MaxPool2d for images."
    report = stack.evaluate_stack([LayerSpec("Conv1d", out_channels=2, kernel_size=(3, 5))], (4, 50))
    assert "one number" in report.rows[0].error.constraint
    with pytest.raises(RuntimeError):  # and PyTorch agrees that a (C, L) input is no image
        torch.nn.Conv2d(4, 2, 3)(torch.zeros(2, 4, 50))
