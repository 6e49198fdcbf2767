"""The explorer's arithmetic, URL round trip and feature maps, checked against PyTorch."""

import json
import math
import random
from dataclasses import fields, replace

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from cnnviz.data import images
from cnnviz.explorer import kernels, layer2d
from cnnviz.explorer.layer2d import ExplorerSettings
from cnnviz.layers import code_export
from cnnviz.layers.arithmetic import InvalidLayerConfig


def _random_settings(rng: random.Random) -> ExplorerSettings:
    layer = rng.choice(layer2d.EXPLORER_LAYERS)
    pair = lambda low, high: (rng.randint(low, high), rng.randint(low, high))  # noqa: E731
    groups = rng.choice([1, 1, 2, 3])
    padding = rng.choice([pair(0, 3), pair(0, 3), "same", "valid"]) if layer == "Conv2d" else pair(0, 3)
    return ExplorerSettings(
        layer=layer, batch=rng.randint(1, 3), in_channels=groups * rng.randint(1, 2), height=rng.randint(1, 20),
        width=rng.randint(1, 20), out_channels=groups * rng.randint(1, 3), groups=groups, kernel=pair(1, 6),
        stride=pair(1, 3), padding=padding, dilation=pair(1, 3) if layer != "AvgPool2d" else (1, 1),
        ceil_mode=rng.random() < 0.5, output_padding=pair(0, 2), scale_factor=rng.choice([0.5, 1.5, 2.0, 3.0]),
        mode=rng.choice(["nearest", "bilinear"]),
    )  # fmt: skip


def _torch_layer(s: ExplorerSettings) -> nn.Module:
    if s.layer == "Conv2d":
        return nn.Conv2d(s.in_channels, s.out_channels, s.kernel, s.stride, s.padding, s.dilation, s.groups)
    if s.layer == "ConvTranspose2d":
        return nn.ConvTranspose2d(s.in_channels, s.out_channels, s.kernel, s.stride, s.padding, s.output_padding,
                                  s.groups, dilation=s.dilation)  # fmt: skip
    if s.layer == "MaxPool2d":
        return nn.MaxPool2d(s.kernel, s.stride, s.padding, s.dilation, ceil_mode=s.ceil_mode)
    if s.layer == "AvgPool2d":
        return nn.AvgPool2d(s.kernel, s.stride, s.padding, ceil_mode=s.ceil_mode)
    if s.layer == "Upsample":
        return nn.Upsample(scale_factor=s.scale_factor, mode=s.mode)
    return code_export.to_module(s.spec(), s.input_shape[1:])  # a kind added since: its own line


def test_analyze_agrees_with_pytorch_on_shape_parameters_and_refusals():
    rng = random.Random(3)
    agreed = refused = 0
    for _ in range(400):
        s = _random_settings(rng)
        try:
            report = layer2d.analyze(s)
        except InvalidLayerConfig as error:
            assert error.constraint
            try:
                y = _torch_layer(s)(torch.zeros(s.input_shape))
            except (RuntimeError, ValueError):
                pass
            else:  # PyTorch may return an empty tensor where cnnviz refuses (see arithmetic's docstring)
                assert y.numel() == 0, s
            refused += 1
            continue
        layer = _torch_layer(s)
        y = layer(torch.zeros(s.input_shape))
        assert tuple(y.shape) == report.output_shape, s
        assert report.parameters.total == sum(p.numel() for p in layer.parameters())
        if report.weight_shape is not None:
            assert tuple(layer.weight.shape) == report.weight_shape
        agreed += 1
    assert agreed > 100 and refused > 20  # both paths exercised


def test_the_formula_shows_the_numbers_and_ends_in_the_output_size():
    report = layer2d.analyze(ExplorerSettings(in_channels=3, out_channels=16, kernel=(5, 5), stride=(2, 2),
                                               padding=(1, 1)))  # fmt: skip
    assert report.formulas[0] == "H_out = ⌊(28 + 2 × 1 − 1 × (5 − 1) − 1) / 2 + 1⌋ = ⌊13.5⌋ = 13"
    assert report.pytorch == "nn.Conv2d(3, 16, kernel_size=5, stride=2, padding=1)"
    assert (report.parameters.weights, report.parameters.biases) == (16 * 3 * 5 * 5, 16)
    rng = random.Random(5)
    for _ in range(200):
        s = _random_settings(rng)
        try:
            report = layer2d.analyze(s)
        except InvalidLayerConfig:
            continue
        for formula, size in zip(report.formulas, report.output_shape[2:]):
            assert formula.endswith(f"= {size}")


def test_same_padding_with_an_even_kernel_shows_the_uneven_sides():
    report = layer2d.analyze(ExplorerSettings(kernel=(4, 4), padding="same"))
    assert report.padding == ((1, 2), (1, 2))
    assert "28 + 1 + 2" in report.formulas[0]
    assert report.output_shape[2:] == (28, 28)


def test_leftover_rows_are_the_ones_the_floor_drops():
    report = layer2d.analyze(ExplorerSettings(height=6, width=7, kernel=(3, 3), stride=(2, 2)))
    assert report.leftover == (1, 0)
    assert layer2d.analyze(ExplorerSettings(layer="Upsample")).leftover is None


def test_ceil_mode_dropping_a_window_is_explained():
    s = ExplorerSettings(layer="MaxPool2d", height=5, width=5, kernel=(2, 2), stride=(2, 2), padding=(1, 1),
                         ceil_mode=True)  # fmt: skip
    report = layer2d.analyze(s)
    assert report.output_shape == tuple(_torch_layer(s)(torch.zeros(s.input_shape)).shape)
    assert not report.notes or "drops it" in report.notes[0]


def test_impossible_settings_say_the_constraint_and_the_fix():
    with pytest.raises(InvalidLayerConfig) as error:
        layer2d.analyze(ExplorerSettings(padding="same", stride=(2, 2)))
    assert "stride 1" in error.value.constraint and error.value.fix
    with pytest.raises(InvalidLayerConfig, match="divisible by groups"):
        layer2d.analyze(ExplorerSettings(in_channels=3, out_channels=8, groups=2))


def test_query_round_trip_restores_every_setting():
    rng = random.Random(11)
    for _ in range(100):
        s = replace(_random_settings(rng), maps=rng.random() < 0.5, sample="mnist_3", kernel_mode="random",
                    seed=rng.randint(0, 99), relu=True, present=rng.random() < 0.5)  # fmt: skip
        query = layer2d.to_query(s)
        assert all(isinstance(v, str) for v in query.values())
        restored, problems = layer2d.from_query(query)
        assert problems == []
        assert restored == s
    assert layer2d.to_query(ExplorerSettings()) == {}


def test_a_broken_link_keeps_defaults_and_says_what_was_ignored():
    settings, problems = layer2d.from_query({"k": "big", "h": "9999", "layer": "Conv9d", "relu": "maybe"})
    assert settings.kernel == (3, 3) and settings.height == layer2d.MAX_INPUT and settings.layer == "Conv2d"
    assert len(problems) == 4
    assert any("k='big'" in p for p in problems)


@pytest.fixture(scope="module")
def scene():
    return images.load_sample("colour_scene")


def test_identity_preset_returns_the_mean_of_the_colour_channels(scene):
    s = ExplorerSettings(in_channels=3, height=40, width=30, out_channels=2, kernel=(3, 3), padding="same",
                         kernel_mode="preset", preset=kernels.IDENTITY)  # fmt: skip
    x = images.to_input(scene, 40, 30)
    result = layer2d.feature_maps(x, s, layer2d.analyze(s))
    expected = x.mean(dim=0).numpy()
    assert result.maps.shape == (2, 40, 30)
    assert torch.allclose(torch.from_numpy(result.maps[1]), torch.from_numpy(expected), atol=1e-6)


def test_all_presets_give_one_classic_kernel_per_channel_as_pytorch_computes_it(scene):
    s = ExplorerSettings(in_channels=3, height=32, width=32, out_channels=8, kernel=(3, 3), stride=(2, 2),
                         kernel_mode="all presets", relu=True)  # fmt: skip
    x = images.to_input(scene, 32, 32)
    result = layer2d.feature_maps(x, s, layer2d.analyze(s))
    sobel = torch.tensor(kernels.preset_kernel(kernels.SOBEL_X, (3, 3)))
    expected = F.relu(F.conv2d(x.mean(0)[None, None], sobel[None, None], stride=2))[0, 0]
    assert result.titles[4] == "4: Sobel x"
    assert torch.allclose(torch.from_numpy(result.maps[4]), expected, atol=1e-5)


def test_grouped_transposed_convolution_weights_follow_pytorch_layout(scene):
    s = ExplorerSettings(layer="ConvTranspose2d", in_channels=3, out_channels=6, groups=3, height=10, width=10,
                         kernel=(3, 3), stride=(2, 2), kernel_mode="preset", preset=kernels.BOX, pool=True)  # fmt: skip
    weight, bias, kernel, _ = layer2d.layer_weights(s)
    assert tuple(weight.shape) == layer2d.analyze(s).weight_shape
    result = layer2d.feature_maps(images.to_input(scene, 10, 10), s, layer2d.analyze(s))
    assert result.maps.shape == (6, 10, 10)  # 21 x 21, then 2 x 2 pooling


def test_random_weights_are_pytorchs_initialisation_under_the_seed(scene):
    s = ExplorerSettings(in_channels=3, out_channels=4, kernel_mode="random", seed=7)
    w1, b1, _, _ = layer2d.layer_weights(s)
    torch.manual_seed(7)
    layer = nn.Conv2d(3, 4, 3)
    assert torch.equal(w1, layer.weight.detach()) and torch.equal(b1, layer.bias.detach())


def test_feature_maps_refuse_settings_above_the_caps_with_a_reason(scene):
    big_kernel = ExplorerSettings(height=64, width=64, kernel=(20, 20), in_channels=3)
    with pytest.raises(layer2d.MapsUnavailable, match="kernels up to 15"):
        layer2d.feature_maps(images.to_input(scene, 64, 64), big_kernel, layer2d.analyze(big_kernel))
    small = ExplorerSettings(height=5, width=5, kernel=(3, 3), in_channels=3, kernel_mode="preset",
                             preset=kernels.SOBEL_X, pool=True)  # fmt: skip
    with pytest.raises(layer2d.MapsUnavailable, match="at least 2 x 2"):
        layer2d.feature_maps(images.to_input(scene, 5, 5), replace(small, kernel=(5, 5)),
                              layer2d.analyze(replace(small, kernel=(5, 5))))  # fmt: skip
    tiny = replace(small, kernel=(2, 2), pool=False)
    with pytest.raises(layer2d.MapsUnavailable, match="too small"):
        layer2d.feature_maps(images.to_input(scene, 5, 5), tiny, layer2d.analyze(tiny))


def test_the_benchmark_scenario_keeps_every_channel_and_size(scene):
    s = ExplorerSettings(in_channels=3, height=256, width=256, out_channels=16, kernel=(7, 7), padding="same")
    result = layer2d.feature_maps(images.to_input(scene, 256, 256), s, layer2d.analyze(s))
    assert result.maps.shape == (16, 256, 256) and result.total_channels == 16
    assert math.isfinite(float(result.maps.max()))


@pytest.mark.parametrize("layer", ["Conv2d", "ConvTranspose2d"])
def test_only_the_drawn_channels_are_computed_and_they_equal_pytorchs(layer):
    s = ExplorerSettings(layer=layer, in_channels=3, out_channels=12, groups=3, height=9, width=11, kernel=(3, 2),
                         stride=(2, 1), padding=(1, 0), dilation=(1, 2), kernel_mode="random", seed=4)  # fmt: skip
    weight, bias, _, _ = layer2d.layer_weights(s)
    x = torch.rand(1, 3, 9, 11)
    if layer == "Conv2d":
        full = F.conv2d(x, weight, bias, (2, 1), (1, 0), (1, 2), groups=3)
    else:
        full = F.conv_transpose2d(x, weight, bias, (2, 1), (1, 0), 0, groups=3, dilation=(1, 2))
    for limit in (1, 5, 12, 40):
        part = layer2d.first_channels(x, weight, bias, s, limit)
        assert torch.allclose(part, full[:, :limit], atol=1e-6)


@pytest.mark.parametrize("layer", ["Conv2d", "ConvTranspose2d"])
def test_averaging_each_group_first_gives_the_full_convolution(layer):
    s = ExplorerSettings(layer=layer, in_channels=6, out_channels=4, groups=2, height=8, width=9, kernel=(3, 3),
                         stride=(2, 2), kernel_mode="all presets")  # fmt: skip
    weight, bias, _, _ = layer2d.layer_weights(s)
    x = torch.rand(1, 6, 8, 9)
    full = layer2d.first_channels(x, weight, bias, s, 4)
    means, single, reduced = layer2d.group_means(x, weight, s)
    assert means.shape == (1, 2, 8, 9) and reduced.in_channels == 2
    assert torch.allclose(layer2d.first_channels(means, single, bias, reduced, 4), full, atol=1e-5)


def test_large_outputs_draw_fewer_channels_and_say_how_many(scene):
    s = ExplorerSettings(layer="ConvTranspose2d", in_channels=3, out_channels=64, height=256, width=256,
                         kernel=(7, 7), stride=(4, 4))  # fmt: skip
    result = layer2d.feature_maps(images.to_input(scene, 256, 256), s, layer2d.analyze(s))
    assert result.total_channels == 64
    assert result.maps.shape == (1, 1027, 1027)


EXTREMES = [
    dict(kernel=(256, 256)),
    dict(kernel=(3, 3), dilation=(100, 100), padding=(100, 100)),
    dict(layer="ConvTranspose2d", kernel=(256, 256), stride=(256, 256), out_channels=1),
    dict(layer="ConvTranspose2d", kernel=(7, 7), stride=(4, 4), out_channels=64),
    dict(layer="Upsample", scale_factor=4.0, mode="bilinear"),
    dict(layer="MaxPool2d", kernel=(15, 15), stride=(1, 1), dilation=(2, 2), ceil_mode=True),
    dict(out_channels=512, kernel=(15, 15), padding="same"),
]


@pytest.mark.parametrize("extreme", EXTREMES, ids=lambda e: ",".join(f"{k}={v}" for k, v in e.items()))
def test_what_the_browser_receives_stays_under_300_kb_at_the_extremes(extreme, scene):
    from cnnviz.views.explorer_view import build_view

    view = build_view(ExplorerSettings(in_channels=3, height=256, width=256, **extreme), scene)
    assert view.error is None
    sent = len(json.dumps(view.animation.as_json())) + (len(json.dumps(view.maps.payload())) if view.maps else 0)
    assert sent < 300_000


def test_every_setting_is_declared_once_and_the_widgets_round_trip():
    assert [s.field for s in layer2d.SETTINGS] == [f.name for f in fields(ExplorerSettings)]
    assert len({s.key for s in layer2d.SETTINGS}) == len(layer2d.SETTINGS)  # URL keys are unique
    rng = random.Random(4)
    for _ in range(100):
        s = replace(_random_settings(rng), maps=rng.random() < 0.5, relu=rng.random() < 0.5, seed=rng.randint(0, 9))
        state = layer2d.widget_values(s)
        assert layer2d.settings_from_widgets(state) == s
        assert layer2d.clamp(s) == (s, [])  # every value the widgets hold is in range
    partial = {k: v for k, v in layer2d.widget_values(ExplorerSettings(kernel=(5, 5))).items() if k != "ex_k_h"}
    assert layer2d.settings_from_widgets(partial, ExplorerSettings(kernel=(7, 7))).kernel == (7, 7)  # kept
