"""The registry: every kind described once, read back from its PyTorch module, offered by the builder."""

import pytest
import torch
from test_stack import MIXED_SEQUENCE_STACK, MIXED_STACK

from cnnviz import builder_table, code_export, kinds, layers
from cnnviz.specs import LayerSpec

EXAMPLES = {spec.kind: (shape, spec) for shape, specs in (MIXED_STACK, MIXED_SEQUENCE_STACK) for spec in specs}


def test_every_kind_has_one_entry_and_the_builder_offers_them_all():
    assert set(EXAMPLES) == set(kinds.KINDS) == set(layers.LAYER_KINDS)
    assert {"Conv1d", "MaxPool1d", "AvgPool1d", "ConvTranspose1d"} <= set(kinds.KINDS)
    for kind in kinds.KINDS.values():
        for option in kind.options:
            extras = ("p", "scale", "mode", "output_padding", "ceil_mode", "in", "no_bias")
            assert option.key in builder_table.TABLE_COLUMNS or option.key in extras
            assert hasattr(LayerSpec(kind.name), option.field)


@pytest.mark.parametrize("name", sorted(kinds.KINDS))
def test_each_kind_is_read_back_from_the_module_it_builds(name):
    _, spec = EXAMPLES[name]
    shape = {kinds.FLAT: (6,), kinds.SEQUENCE: (4, 30), kinds.ANY: (4, 30), kinds.IMAGE: (4, 20, 20)}[
        kinds.KINDS[name].input_dims
    ]
    if name in ("Linear",):
        spec = LayerSpec("Linear", out_channels=3, in_features=6, bias=False)
    module = code_export.to_module(spec, shape)
    assert kinds.module_kind(module) is kinds.KINDS[name]
    again = layers.spec_from_module(module)
    assert code_export.pytorch_line(again, shape) == code_export.pytorch_line(spec, shape)
    assert sum(p.numel() for p in module.parameters()) == layers.parameters(spec, shape).total
    out = layers.output_shape(spec, shape)
    assert tuple(module.eval()(torch.zeros(2, *shape)).shape[1:]) == out


def test_windows_for_receptive_fields_and_animation_geometry():
    assert kinds.KINDS["Conv1d"].geometry == kinds.KINDS["MaxPool2d"].geometry == "window"
    assert kinds.KINDS["ConvTranspose1d"].geometry == "transposed"
    assert layers.window(LayerSpec("ConvTranspose1d")) is None  # upsamples: no receptive-field window
    assert layers.window(LayerSpec("MaxPool1d", kernel_size=3)).stride == (3, 3)
