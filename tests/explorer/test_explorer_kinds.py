"""Every image kind the explorer offers, from the registry's test data: its report, feature maps and animation
against the real PyTorch layer. A new kind is tested here by being added (tests/layers/kind_examples.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnviz.explorer import animation, layer2d
from cnnviz.layers import code_export
from cnnviz.layers.registry import IMAGE, KINDS
from cnnviz.views.explorer_view import animation_payload
from tests.layers.kind_examples import EXAMPLES, Example
from tests.layers.test_kinds import footprints

EXPLORED = [
    (name, example)
    for name in layer2d.EXPLORER_LAYERS
    for example in EXAMPLES[name]
    if len(example.shape) == 3 and KINDS[name].input_dims == IMAGE
]


def _id(case: tuple[str, Example]) -> str:
    return f"{case[0]}-{'x'.join(map(str, case[1].shape))}"


def test_the_explorer_offers_every_image_kind_with_a_formula():
    assert set(layer2d.EXPLORER_LAYERS) == {n for n, k in KINDS.items() if k.input_dims == IMAGE and k.explored}
    assert {name for name, _ in EXPLORED} == set(layer2d.EXPLORER_LAYERS)  # each has test data


@pytest.mark.parametrize("case", EXPLORED, ids=_id)
def test_the_report_is_the_real_layers_and_the_link_keeps_it(case):
    name, example = case
    settings = layer2d.settings_for(example.spec, example.shape, maps=False)
    report = layer2d.analyze(settings)
    module = code_export.to_module(example.spec, example.shape).eval()
    with torch.no_grad():
        y = module(torch.zeros(1, *example.shape))
    assert report.output_shape == tuple(y.shape)
    assert report.pytorch == code_export.pytorch_line(example.spec, example.shape)
    assert report.parameters.total == sum(p.numel() for p in module.parameters())
    for formula, size in zip(report.formulas, report.output_shape[2:]):
        assert formula.endswith(f"= {size}"), formula
    again, problems = layer2d.from_query(layer2d.to_query(settings))
    assert not problems and layer2d.analyze(again) == report


@pytest.mark.parametrize("case", [c for c in EXPLORED if not KINDS[c[0]].has_weights], ids=_id)
def test_feature_maps_of_a_layer_without_weights_are_the_real_layers_output(case):
    name, example = case
    settings = layer2d.settings_for(example.spec, example.shape, maps=True)
    report = layer2d.analyze(settings)
    image = torch.rand(example.shape)
    maps = layer2d.feature_maps(image, settings, report)
    with torch.no_grad():
        expected = code_export.to_module(example.spec, example.shape)(image[None])[0, : layer2d.MAP_MAX_SHOWN]
    np.testing.assert_allclose(maps.maps, expected.numpy(), rtol=1e-6, atol=1e-6)
    assert maps.total_channels == report.output_shape[1]


def _tapped(window: animation.SlidingWindow, step: animation.Step) -> set[tuple[int, int]]:
    (r0, c0), (sr, sc) = window.input_origin, window.input_step
    return {((r - r0) // sr, (c - c0) // sc) for r, c in step.taps
            if window.grid[r, c] in (animation.INPUT, animation.UNREAD) and (r - r0) % sr == 0
            and (c - c0) % sc == 0}  # fmt: skip


@pytest.mark.parametrize("case", EXPLORED, ids=_id)
def test_the_animation_reads_what_the_real_layer_reads_or_says_why_there_is_none(case):
    name, example = case
    settings = layer2d.settings_for(example.spec, example.shape, maps=False)
    payload, caption = animation_payload(settings)
    line = animation.no_window(settings)
    if line is not None:  # no window to slide: the explorer says so, in the kind's words
        assert payload is None and caption == line and name in line
        return
    assert payload is not None and caption
    window = animation.sliding_window(settings, layer2d.analyze(settings))
    read = footprints(example)
    assert window.steps
    for step in window.steps:
        assert _tapped(window, step) == read.get((step.out_row, step.out_col), set()), step


@pytest.mark.parametrize("name", layer2d.EXPLORER_LAYERS)
def test_every_option_of_a_layer_has_a_control_in_the_registrys_range(name):
    kind = KINDS[name]
    shown = {s.spec_field: s for s in layer2d.SETTINGS if s.spec_field and name in s.layers}
    assert set(shown) == {o.field for o in kind.options}
    for option in kind.options:
        if option.low is not None:
            low, high = layer2d.setting_range(shown[option.field], name)
            assert low == option.low and high <= (option.high or high)
    assert layer2d.ExplorerSettings(layer=name).spec().kind == name
