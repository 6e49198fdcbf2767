"""The registry: every kind described once, read back from its PyTorch module, offered by the builder."""

import pytest
import torch

from cnnviz import layers
from cnnviz.explorer import layer2d
from cnnviz.layers import code_export, registry, size_solver
from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.layers.spec import LayerSpec
from cnnviz.views import builder_table
from tests.layers.kind_examples import STACKS

EXAMPLES = {spec.kind: (shape, spec) for shape, specs in STACKS for spec in specs}


def test_every_kind_has_one_entry_and_the_builder_offers_them_all():
    assert set(EXAMPLES) == set(registry.KINDS) == set(layers.LAYER_KINDS)
    assert {"Conv1d", "MaxPool1d", "AvgPool1d", "ConvTranspose1d"} <= set(registry.KINDS)
    for kind in registry.KINDS.values():
        for option in kind.options:  # a column, or a word of the extra cell the builder reads back
            if option.key not in builder_table.TABLE_COLUMNS:
                spec = builder_table.row_to_spec({"layer": kind.name, "out": 1, "extra": builder_table._example(
                    kind, option)}, 1)  # fmt: skip
                assert spec.kind == kind.name
            assert hasattr(LayerSpec(kind.name), option.field)


@pytest.mark.parametrize("name", sorted(registry.KINDS))
def test_each_kind_is_read_back_from_the_module_it_builds(name):
    _, spec = EXAMPLES[name]
    shape = {registry.FLAT: (6,), registry.SEQUENCE: (4, 30), registry.ANY: (4, 30), registry.IMAGE: (4, 20, 20)}[
        registry.KINDS[name].input_dims
    ]
    if name in ("Linear",):
        spec = LayerSpec("Linear", out_channels=3, in_features=6, bias=False)
    module = code_export.to_module(spec, shape)
    assert registry.module_kind(module) is registry.KINDS[name]
    again = layers.spec_from_module(module)
    assert code_export.pytorch_line(again, shape) == code_export.pytorch_line(spec, shape)
    assert sum(p.numel() for p in module.parameters()) == layers.parameters(spec, shape).total
    out = layers.output_shape(spec, shape)
    assert tuple(module.eval()(torch.zeros(2, *shape)).shape[1:]) == out


def test_windows_for_receptive_fields_and_animation_geometry():
    assert registry.KINDS["Conv1d"].geometry == registry.KINDS["MaxPool2d"].geometry == registry.WINDOW
    assert registry.KINDS["ConvTranspose1d"].geometry == registry.TRANSPOSED
    assert layers.window(LayerSpec("ConvTranspose1d")) is None  # upsamples: no receptive-field window
    assert layers.window(LayerSpec("MaxPool1d", kernel_size=3)).stride == (3, 3)


def test_an_unknown_kind_is_refused_clearly_everywhere():
    bogus = LayerSpec("Conv3d")
    asks = [
        lambda: layers.output_shape(bogus, (1, 8, 8)),
        lambda: layers.window(bogus),
        lambda: code_export.pytorch_line(bogus, (1, 8, 8)),
        lambda: registry.stride_of(bogus),
        lambda: layer2d.analyze(layer2d.ExplorerSettings(layer="Conv3d")),
    ]
    for ask in asks:
        with pytest.raises(InvalidLayerConfig, match="Unknown layer 'Conv3d'"):
            ask()
    assert "Unknown layer 'Conv3d'" in layers.evaluate_stack([bogus], (1, 8, 8)).rows[0].error.constraint
    with pytest.raises(InvalidLayerConfig, match="The solver knows"):
        size_solver.solve("Conv3d", 8, 4)
