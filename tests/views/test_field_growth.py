"""How the receptive field grows: the boxes are arithmetic's regions, PyTorch's gradients agree, sizes never shrink."""

import random
import xml.etree.ElementTree as ET

import pytest
import torch

from cnnviz.layers import code_export, stack
from cnnviz.layers.receptive_field import axis_region, box
from cnnviz.layers.spec import LayerSpec
from cnnviz.views import builder_table, field_growth
from cnnviz.views.presets import builder_presets
from tests.layers.test_stack import MIXED_SEQUENCE_STACK, MIXED_STACK

SVG = "{http://www.w3.org/2000/svg}"
PRESETS = builder_presets()


def _report(name: str):
    preset = PRESETS[name]
    return stack.evaluate_stack(preset.specs, preset.input_shape)


@pytest.mark.parametrize("name", list(PRESETS))
def test_each_box_is_arithmetics_region_of_its_cell_and_the_first_cells_match_the_table(name):
    report = _report(name)
    size = report.input_shape[1:]
    table = builder_table.report_table(report)
    for over in (None, tuple(n // 2 for n in size), tuple(n - 1 for n in size)):
        growth = field_growth.field_growth(report, over)
        assert growth.steps
        for step in growth.steps:
            field = report.rows[step.layers[0] - 1].field
            assert step.size == field.size[: len(size)] and step.stride == field.jump[: len(size)]
            for number in step.layers:  # the rows sharing a box have a field of that size
                assert report.rows[number - 1].field.size == field.size
            if len(size) == 2:
                assert step.region == tuple(zip(*box(field, *step.cell, size, clip=False)))
                assert step.clipped == tuple(zip(*box(field, *step.cell, size)))
            else:
                region = axis_region(field, 0, step.cell[0], size[0])
                assert step.region == ((region.start, region.end),) and step.clipped == (region.clipped,)
            if over is None:
                assert all(c == 0 for c in step.cell)
                first = table[step.layers[0] - 1]["first cell reads"]
                clipped = step.clipped
                expected = (
                    f"rows {clipped[0][0]}-{clipped[0][1]}, columns {clipped[1][0]}-{clipped[1][1]}"
                    if len(size) == 2
                    else f"positions {clipped[0][0]}-{clipped[0][1]}"
                )
                assert first == expected
            else:  # these stacks never stride past their kernels: every followed cell reads the pixel
                assert all(lo <= p <= hi for (lo, hi), p in zip(step.region, over))


def test_no_input_pixel_outside_the_box_moves_the_cell_and_the_box_is_tight():
    # Real PyTorch layers with all-ones weights (every tap counts): the gradient's support spans exactly the box.
    specs = [
        LayerSpec("Conv2d", out_channels=2, kernel_size=(3, 5), stride=(2, 1), padding=(1, 2)),
        LayerSpec("ReLU"),
        LayerSpec("AvgPool2d", kernel_size=(2, 2), stride=(2, 2), padding=(1, 0)),
        LayerSpec("Conv2d", out_channels=2, kernel_size=(3, 3), dilation=(2, 1), padding=(2, 1)),
        LayerSpec("Conv2d", out_channels=1, kernel_size=(2, 3), stride=(1, 2)),
    ]
    input_shape = (1, 23, 19)
    report = stack.evaluate_stack(specs, input_shape)
    modules = []
    shape = input_shape
    for spec, row in zip(specs, report.rows):
        module = code_export.to_module(spec, shape)
        for parameter in module.parameters():
            torch.nn.init.ones_(parameter) if parameter.dim() > 1 else torch.nn.init.zeros_(parameter)
        modules.append(module)
        shape = row.output_shape
    for over in (None, (11, 9), (22, 0)):
        growth = field_growth.field_growth(report, over)
        for step in growth.steps:
            x = torch.rand(1, *input_shape, requires_grad=True) + 0.1
            x.retain_grad()
            y = x
            for module in modules[: step.layers[-1]]:
                y = module(y)
            y[0, 0, step.cell[0], step.cell[1]].backward()
            rows, cols = torch.nonzero(x.grad[0, 0], as_tuple=True)
            (top, bottom), (left, right) = step.clipped
            assert (rows.min().item(), rows.max().item()) == (top, bottom), step
            assert (cols.min().item(), cols.max().item()) == (left, right), step


def _random_stack(rng: random.Random) -> list[LayerSpec]:
    specs = []
    for _ in range(rng.randint(1, 6)):
        kind = rng.choice(["Conv2d", "MaxPool2d", "AvgPool2d", "ReLU", "BatchNorm2d"])
        kernel = rng.randint(1, 4)
        if kind == "Conv2d":
            stride, padding, dilation = rng.randint(1, 2), rng.randint(0, kernel // 2), rng.randint(1, 2)
            specs.append(LayerSpec(kind, out_channels=2, kernel_size=(kernel, kernel), stride=(stride, stride),
                                   padding=(padding, padding), dilation=(dilation, dilation)))  # fmt: skip
        elif kind in ("MaxPool2d", "AvgPool2d"):
            specs.append(LayerSpec(kind, kernel_size=(kernel, kernel), padding=(rng.randint(0, kernel // 2),) * 2))
        else:
            specs.append(LayerSpec(kind))
    return specs


def test_fields_never_shrink_and_boxes_follow_every_layer_on_random_stacks():
    rng = random.Random(11)
    checked = 0
    for _ in range(300):
        size = rng.randint(8, 40)
        report = stack.evaluate_stack(_random_stack(rng), (2, size, size))
        for over in (None, (rng.randrange(size), rng.randrange(size))):
            growth = field_growth.field_growth(report, over)
            if report.error_index is not None:
                assert growth.notes and "cannot work" in growth.notes[-1]
            covered = [n for step in growth.steps for n in step.layers]
            assert covered == list(range(1, len(covered) + 1))
            for before, after in zip(growth.steps, growth.steps[1:]):
                assert all(a >= b for a, b in zip(after.size, before.size))
                assert after.region != before.region  # a new box only when the region changes
            checked += len(growth.steps)
    assert checked > 300


def test_layers_without_a_box_say_why():
    upsampling = field_growth.field_growth(_report("cnnviz autoencoder (ConvAutoencoder)"))
    assert upsampling.notes == (
        "Layer 16 (ConvTranspose2d) and the layers after it get no box: past an upsampling layer one cell reads "
        "several overlapping windows, not one box.",
    )
    assert upsampling.steps[-1].layers == (12, 13, 14, 15)  # the 1 x 1 bottleneck keeps the field
    flat = field_growth.field_growth(_report("LeNet-5"))
    assert flat.notes[0].startswith("Layer 7 (Flatten) and the layers after it get no box: every output")
    input_shape, specs = MIXED_STACK
    mixed = field_growth.field_growth(stack.evaluate_stack(specs, input_shape))
    assert "Layer 6 (ConvTranspose2d)" in mixed.notes[0]
    input_shape, specs = MIXED_SEQUENCE_STACK
    sequence = field_growth.field_growth(stack.evaluate_stack(specs, input_shape))
    assert "Layer 5 (ConvTranspose1d)" in sequence.notes[0] and len(sequence.steps) == 2
    nothing = field_growth.field_growth(stack.evaluate_stack([LayerSpec("Upsample", scale_factor=2.0)], (1, 8, 8)))
    assert not nothing.steps and nothing.notes[0].startswith("Layer 1 (Upsample)")
    with pytest.raises(ValueError, match="not inside the input 28 x 28"):
        field_growth.field_growth(_report("cnnviz classifier (CNNClassifier)"), (28, 3))


def test_the_picture_has_a_labelled_box_per_step_and_shows_the_padding():
    report = _report("cnnviz classifier (CNNClassifier)")
    growth = field_growth.field_growth(report)
    svg = ET.fromstring(field_growth.growth_svg(growth))
    boxes = [node for node in svg.iter() if node.get("class") == "fg-box"]
    assert len(boxes) == len(growth.steps) == 9
    titles = [node.find(f"{SVG}title").text for node in boxes]
    assert titles[0] == "1-2 Conv2d: 3 x 3 (reads padding): rows -1 to 1, columns -1 to 1"
    texts = [node.text for node in svg.iter(f"{SVG}text")]
    assert "12 MaxPool2d: 36 x 36 (reads padding)" in texts and "padding: zeros (hatched)" in texts
    assert (growth.extent == ((-14, 27), (-14, 27))) and svg.find(f"{SVG}defs") is not None
    colours = [(node.get("stroke"), node.get("stroke-dasharray")) for node in boxes]
    assert len(set(colours)) == len(colours)  # no two boxes drawn alike
    sequence = field_growth.field_growth(_report("DNA motif classifier (1-D)"), (50,))
    picture = ET.fromstring(field_growth.growth_svg(sequence))
    bars = [node for node in picture.iter() if node.get("class") == "fg-box"]
    assert [node.find(f"{SVG}title").text for node in bars][-1] == "6 MaxPool1d: 43: positions 29 to 71"
    assert sequence.extent == ((0, 99),)


def test_small_fields_on_large_inputs_stay_visible():
    conv = [LayerSpec("Conv1d", out_channels=2, kernel_size=3), LayerSpec("MaxPool1d", kernel_size=2)]
    sequence = field_growth.field_growth(stack.evaluate_stack(conv, (1, 100_000)), (99_999,))
    bars = [n for n in ET.fromstring(field_growth.growth_svg(sequence)).iter() if n.get("class") == "fg-box"]
    assert len(bars) == 2 and all(float(n.get("x2")) - float(n.get("x1")) >= 2 for n in bars)
    image = [LayerSpec("Conv2d", out_channels=2, kernel_size=(1, 1))]
    growth = field_growth.field_growth(stack.evaluate_stack(image, (1, 1024, 1024)), (0, 1023))
    (box,) = [n for n in ET.fromstring(field_growth.growth_svg(growth)).iter() if n.get("class") == "fg-box"]
    assert float(box.get("width")) >= 2 and float(box.get("height")) >= 2
    assert growth.steps[0].region == ((0, 0), (1023, 1023))
