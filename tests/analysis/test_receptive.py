"""Receptive fields: the formula against brute-force index tracing, and against gradients of the real classifier."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch
from torch import nn

from cnnviz.analysis.receptive import NoReceptiveField, box, cell_field, layer_field, region, stack_fields
from cnnviz.layers import LayerSpec, receptive_field
from models import ResidualBlock


def _trace(layers, index: int, sizes: list[int], clip: bool) -> set[int]:
    """Input indices output ``index`` of the last layer depends on, by following every tap back.

    ``layers`` are ``(kernel, stride, padding, dilation)``; ``sizes[i]`` is the length entering layer ``i``.
    With ``clip`` an index outside a layer's input is padding (a zero) and depends on nothing.
    """
    indices = {index}
    for (kernel, stride, padding, dilation), size in zip(reversed(layers), reversed(sizes)):
        indices = {
            y * stride - padding + tap * dilation
            for y in indices
            for tap in range(kernel)
            if not clip or 0 <= y * stride - padding + tap * dilation < size
        }
    return indices


def _random_stack(rng: random.Random, length: int):
    while True:
        layers, sizes, size = [], [], length
        for _ in range(rng.randint(1, 5)):
            kernel, stride, dilation = rng.randint(1, 5), rng.randint(1, 3), rng.randint(1, 2)
            padding = rng.randint(0, (dilation * (kernel - 1) + 1) // 2)
            out = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
            if out < 1:
                break
            layers.append((kernel, stride, padding, dilation))
            sizes.append(size)
            size = out
        else:
            return layers, sizes, size


def test_formula_matches_brute_force_tracing_on_random_stacks():
    rng = random.Random(0)
    checked = 0
    for _ in range(300):
        length = rng.randint(8, 60)
        layers, sizes, out = _random_stack(rng, length)
        windows = [receptive_field.Window(k, s, d, p) for k, s, p, d in layers]
        field = receptive_field.receptive_fields(windows)[-1]
        for y in range(out):
            traced = _trace(layers, y, sizes, clip=False)
            (top, _), (bottom, _) = box(field, y, 0, (length, 1), clip=False)
            assert (min(traced), max(traced)) == (top, bottom), (layers, y)
            # With real borders a cell depends on a subset of its clipped box.
            real = _trace(layers, y, sizes, clip=True)
            (top, _), (bottom, _) = box(field, y, 0, (length, 1))
            assert all(top <= i <= bottom for i in real), (layers, y)
            checked += 1
    assert checked > 1000


def test_formula_agrees_with_real_torch_modules_by_gradient():
    rng = random.Random(1)
    torch.manual_seed(1)
    for _ in range(30):
        modules, size = [], 40
        for _ in range(rng.randint(1, 4)):
            kernel, stride, dilation = rng.randint(1, 4), rng.randint(1, 2), rng.randint(1, 2)
            padding = rng.randint(0, (dilation * (kernel - 1) + 1) // 2)
            out = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
            if out < 2:
                break
            if rng.random() < 0.3:
                modules.append(nn.MaxPool2d(kernel, stride, padding=min(padding, kernel // 2), dilation=dilation))
                padding = min(padding, kernel // 2)
                out = (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1
            else:
                modules.append(nn.Conv2d(1, 1, kernel, stride, padding, dilation))
            size = out
        if not modules:
            continue
        net = nn.Sequential(*modules).double()
        x = torch.rand(1, 1, 40, 40, dtype=torch.float64, requires_grad=True)
        output = net(x)
        row, col = rng.randrange(output.shape[2]), rng.randrange(output.shape[3])
        (gradient,) = torch.autograd.grad(output[0, 0, row, col], x)
        (top, left), (bottom, right) = region(net, str(len(modules) - 1), row, col, input_shape=(1, 40, 40))
        outside = gradient[0, 0].clone()
        outside[top : bottom + 1, left : right + 1] = 0
        assert outside.abs().max() == 0


def test_shipped_classifier_fields_are_the_lab_arithmetic(trained_classifier):
    assert layer_field(trained_classifier, "backbone.layers.conv1").size == (3, 3)
    field = layer_field(trained_classifier, "backbone.layers.pool3")
    assert (field.size, field.jump, field.padding) == ((36, 36), (8, 8), (14, 14))
    assert region(trained_classifier, "backbone.layers.pool3", 0, 0) == ((0, 0), (21, 21))
    assert region(trained_classifier, "backbone.layers.conv1", 10, 12) == ((9, 11), (11, 13))
    assert region(trained_classifier, "backbone.layers.res2_1", 3, 4) == ((0, 2), (13, 15))


@pytest.mark.parametrize(
    "layer", ["backbone.layers.conv1", "backbone.layers.res1_1", "backbone.layers.pool1", "backbone.layers.res2_1",
              "backbone.layers.pool2", "backbone.layers.res3_1", "backbone.layers.pool3"],
)  # fmt: skip
def test_no_gradient_outside_the_box_on_the_shipped_classifier(trained_classifier, layer):
    torch.manual_seed(0)
    digit = torch.rand(1, 1, 28, 28)
    maps = {}
    hook = dict(trained_classifier.named_modules())[layer].register_forward_hook(
        lambda _m, _i, out: maps.setdefault("out", out)
    )
    with torch.no_grad():
        trained_classifier(digit)
    hook.remove()
    channels, height, width = maps["out"].shape[1:]
    reached = 0
    for row, col in {(0, 0), (height // 2, width // 3), (height - 1, width - 1)}:
        cell = cell_field(trained_classifier, layer, channels - 1, row, col, digit)
        (top, left), (bottom, right) = cell.box
        assert cell.box == region(trained_classifier, layer, row, col)
        outside = cell.gradient.copy()
        outside[top : bottom + 1, left : right + 1] = 0
        assert np.abs(outside).max() == 0
        reached += np.abs(cell.gradient).max() > 0  # a dead ReLU may leave one cell without gradient
        assert cell.value == pytest.approx(float(maps["out"][0, channels - 1, row, col]), abs=1e-5)
    assert reached


def test_first_convolution_sees_its_whole_box(trained_classifier):
    torch.manual_seed(0)
    cell = cell_field(trained_classifier, "backbone.layers.conv1", 0, 14, 14, torch.rand(1, 1, 28, 28))
    # A 3x3 kernel without zero weights: the gradient is the kernel itself, non-zero on every box pixel.
    weights = trained_classifier.backbone.layers.conv1.weight[0, 0].detach().numpy() / 0.3081
    np.testing.assert_allclose(cell.gradient[13:16, 13:16], weights, rtol=1e-5)
    assert np.count_nonzero(cell.gradient) == 9


def test_bad_requests_say_what_is_wrong(trained_classifier):
    with pytest.raises(KeyError, match="no layer"):
        region(trained_classifier, "backbone.layers.conv9", 0, 0)
    with pytest.raises(NoReceptiveField, match="not a sliding window"):
        region(trained_classifier, "head", 0, 0)
    with pytest.raises(IndexError, match="outside"):
        cell_field(trained_classifier, "backbone.layers.pool3", 0, 3, 0, torch.zeros(1, 1, 28, 28))


def test_residual_block_counts_as_its_convolution():
    net = nn.Sequential(ResidualBlock(1, 5), nn.MaxPool2d(2)).eval()
    assert region(net, "0", 4, 4, input_shape=(1, 20, 20)) == ((2, 2), (6, 6))
    assert region(net, "1", 0, 0, input_shape=(1, 20, 20)) == ((0, 0), (3, 3))


def test_stack_fields_for_the_network_builder():
    specs = [
        LayerSpec("Conv2d", 8, (5, 5), padding=(2, 2)),
        LayerSpec("MaxPool2d", kernel_size=(2, 2)),
        LayerSpec("Conv2d", 8, (3, 3), stride=(2, 2), padding=(1, 1)),
        LayerSpec("Flatten"),
        LayerSpec("Linear", 10),
    ]
    fields = stack_fields(specs, (1, 28, 28))
    assert len(fields) == 5 and fields[3] is None and fields[4] is None
    assert fields[0].size == (5, 5) and fields[0].first_cell == ((0, 0), (2, 2))
    assert fields[1].stride == (2, 2) and fields[1].size == (6, 6)
    assert (fields[2].size, fields[2].stride, fields[2].padding) == ((10, 10), (4, 4), (4, 4))
    assert fields[2].first_cell == ((0, 0), (5, 5))
    upsampled = stack_fields([LayerSpec("Upsample"), LayerSpec("Conv2d", 1, (3, 3))], (1, 8, 8))
    assert upsampled == [None, None]


def test_cell_field_never_hooks_the_shared_model(trained_classifier, monkeypatch):
    """Every session shares one model: a hook on it would fire in (and catch) other students' forward passes."""
    shared = {id(module) for module in trained_classifier.modules()}
    for method in ("register_forward_hook", "register_forward_pre_hook"):
        original = getattr(nn.Module, method)

        def guarded(self, *args, _original=original, **kwargs):
            assert id(self) not in shared, "a hook on the shared model"
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(nn.Module, method, guarded)
    digit = torch.rand(1, 1, 28, 28)
    cell = cell_field(trained_classifier, "backbone.layers.res2_1", 3, 5, 6, digit)
    assert cell.box == region(trained_classifier, "backbone.layers.res2_1", 5, 6)
    assert cell.gradient.shape == (28, 28)


def _footprints(net: nn.Module, size: int = 24):
    """Per output cell of ``net`` (one channel): the (rows, cols) with a non-zero gradient, None for a cell that
    reads only padding."""
    x = torch.rand(1, 1, size, size, dtype=torch.float64, requires_grad=True)
    y = net(x)
    for row in range(y.shape[2]):
        for col in range(y.shape[3]):
            (gradient,) = torch.autograd.grad(y[0, 0, row, col], x, retain_graph=True)
            rows, cols = torch.nonzero(gradient[0, 0], as_tuple=True)
            yield row, col, (None if not len(rows) else (rows, cols))


def _ones_conv(rng: random.Random, size: int) -> tuple[nn.Conv2d, int] | None:
    kernel, stride = rng.randint(1, 4), rng.randint(1, 2)
    if size < kernel:
        return None
    conv = nn.Conv2d(1, 1, kernel, stride, bias=False)
    nn.init.constant_(conv.weight, 1.0)  # all-one weights: the gradient is non-zero on every pixel a cell reads
    return conv, (size - kernel) // stride + 1


def test_an_adaptive_pools_field_is_its_largest_window_by_the_gradient_footprint():
    """Windows of uneven size start at no whole stride: the field's size is the largest footprint, and the box
    contains every footprint when the windows are even (output_size divides the input)."""
    rng = random.Random(3)
    for _ in range(25):
        modules, size = [], 24
        for _ in range(rng.randint(0, 2)):
            made = _ones_conv(rng, size)
            if made is not None:
                modules.append(made[0])
                size = made[1]
        modules.append(nn.AdaptiveAvgPool2d((rng.randint(1, size), rng.randint(1, size))))
        net = nn.Sequential(*modules).double()
        last = str(len(modules) - 1)
        field = layer_field(net, last, input_shape=(1, 24, 24))
        largest = (0, 0)
        for row, col, found in _footprints(net):
            rows, cols = found
            largest = tuple(max(a, int(b.max() - b.min() + 1)) for a, b in zip(largest, (rows, cols)))
            if field.exact:
                (top, left), (bottom, right) = region(net, last, row, col, input_shape=(1, 24, 24))
                assert top <= rows.min() and rows.max() <= bottom and left <= cols.min() and cols.max() <= right
        assert largest == field.size, (net, field)


def test_explicit_uneven_padding_moves_the_box_by_the_gradient_footprint():
    rng = random.Random(4)
    for _ in range(25):
        modules, size = [], 24
        for _ in range(rng.randint(1, 4)):
            if rng.random() < 0.5:
                sides = tuple(rng.randint(0, 3) for _ in range(4))
                modules.append(nn.ZeroPad2d(sides))
                size = min(size + sides[0] + sides[1], size + sides[2] + sides[3])
            elif (made := _ones_conv(rng, size)) is not None:
                modules.append(made[0])
                size = made[1]
        net = nn.Sequential(*modules).double()
        last = str(len(modules) - 1)
        field = layer_field(net, last, input_shape=(1, 24, 24))
        assert field.exact
        for row, col, found in _footprints(net):
            if found is None:  # the cell reads zeros the padding added
                continue
            rows, cols = found
            (top, left), (bottom, right) = region(net, last, row, col, input_shape=(1, 24, 24))
            assert top <= rows.min() and rows.max() <= bottom and left <= cols.min() and cols.max() <= right
            assert rows.max() - rows.min() < field.size[0] and cols.max() - cols.min() < field.size[1]
