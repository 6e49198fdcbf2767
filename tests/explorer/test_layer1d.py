"""The 1-D explorer's computation against PyTorch: shapes, refusals, the window's taps, the URL, solver links."""

import random
from dataclasses import replace

import numpy as np
import pytest
import torch
from torch import nn

from cnnviz.data import sequences
from cnnviz.explorer import animation, layer1d
from cnnviz.explorer.layer1d import Explorer1dSettings
from cnnviz.layers import size_solver
from cnnviz.layers.arithmetic import InvalidLayerConfig


def _random_settings(rng: random.Random) -> Explorer1dSettings:
    layer = rng.choice(layer1d.SEQUENCE_LAYERS)
    source = rng.choice(layer1d.SOURCES)
    groups = rng.choice([1, 1, 2, 4]) if source == "dna" else 1
    return Explorer1dSettings(
        layer=layer, source=source, dna=sequences.random_dna(rng.randint(1, 40), rng.randint(0, 9)),
        length=rng.randint(8, 60), seed=rng.randint(0, 5), batch=rng.randint(1, 3),
        out_channels=groups * rng.randint(1, 3), groups=groups, kernel=rng.randint(1, 7), stride=rng.randint(1, 3),
        padding_mode=rng.choice(["number", "number", "same", "valid"]) if layer == "Conv1d" else "number",
        padding=rng.randint(0, 4), dilation=rng.randint(1, 3) if layer != "AvgPool1d" else 1,
        ceil_mode=rng.random() < 0.5, output_padding=rng.randint(0, 2), bias=rng.random() < 0.5,
        kernel_mode="random",
    )  # fmt: skip


def _torch_layer(s: Explorer1dSettings) -> nn.Module:
    padding = s.padding if s.padding_mode == "number" else s.padding_mode
    if s.layer == "Conv1d":
        return nn.Conv1d(s.in_channels, s.out_channels, s.kernel, s.stride, padding, s.dilation, s.groups, s.bias)
    if s.layer == "ConvTranspose1d":
        return nn.ConvTranspose1d(s.in_channels, s.out_channels, s.kernel, s.stride, s.padding, s.output_padding,
                                  s.groups, s.bias, s.dilation)  # fmt: skip
    if s.layer == "MaxPool1d":
        return nn.MaxPool1d(s.kernel, s.stride, s.padding, s.dilation, ceil_mode=s.ceil_mode)
    return nn.AvgPool1d(s.kernel, s.stride, s.padding, ceil_mode=s.ceil_mode)


def test_analyze_and_run_agree_with_pytorch_on_shapes_parameters_and_refusals():
    rng = random.Random(7)
    agreed = refused = 0
    for _ in range(300):
        s = _random_settings(rng)
        shape = (s.batch, s.in_channels, layer1d.input_length(s))
        try:
            report = layer1d.analyze(s)
        except InvalidLayerConfig as error:
            assert error.constraint
            try:
                y = _torch_layer(s)(torch.zeros(shape))
            except (RuntimeError, ValueError):
                pass
            else:
                assert y.numel() == 0, s  # only an empty output may be refused where PyTorch returns one
            refused += 1
            continue
        layer = _torch_layer(s)
        assert tuple(layer(torch.zeros(shape)).shape) == report.output_shape, s
        assert report.parameters.total == sum(p.numel() for p in layer.parameters())
        if report.weight_shape is not None:
            assert tuple(layer.weight.shape) == report.weight_shape
        assert report.formula.endswith(f"= {report.output_shape[2]}")
        output = layer1d.run(s, report)
        assert output.values.shape == (min(report.output_shape[1], layer1d.MAX_DRAWN_CHANNELS),
                                       report.output_shape[2])  # fmt: skip
        agreed += 1
    assert agreed > 100 and refused > 10


def test_random_weights_follow_pytorchs_initialisation_and_the_seed():
    s = replace(Explorer1dSettings(), kernel_mode="random", out_channels=64, kernel=5, seed=3)
    weight, bias = layer1d._random_weights(s)
    bound = 1 / np.sqrt(4 * 5)  # Kaiming-uniform with a = sqrt(5) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert weight.shape == (64, 4, 5) and float(weight.abs().max()) <= bound
    assert float(weight.abs().max()) > 0.9 * bound and float(bias.abs().max()) <= bound
    assert torch.equal(weight, layer1d._random_weights(s)[0])
    assert not torch.equal(weight, layer1d._random_weights(replace(s, seed=4))[0])


def test_the_tata_preset_peaks_over_the_motif():
    s = Explorer1dSettings()
    output = layer1d.run(s, layer1d.analyze(s))
    start = layer1d.DEFAULT_DNA.index(sequences.TATA)
    peak = int(np.argmax(output.values[0]))
    assert output.values[0, peak] == 6.0 and peak == start
    assert output.positions[peak] == start + 2.5  # drawn over the motif's centre


@pytest.mark.parametrize("seed", range(40))
def test_each_output_reads_exactly_the_input_positions_the_window_shows(seed):
    s = _random_settings(random.Random(seed))
    if s.layer == "MaxPool1d":  # a max passes its gradient to one position only: check it as an average
        s = replace(s, layer="AvgPool1d", dilation=1)
    try:
        report = layer1d.analyze(s)
    except InvalidLayerConfig:
        return
    row = layer1d.window_steps(s, report)
    layer = _torch_layer(replace(s, batch=1))
    for parameter in layer.parameters():
        nn.init.constant_(parameter, 1.0)
    x = torch.zeros(1, s.in_channels, report.input_shape[2], requires_grad=True)
    y = layer(x)
    for o, taps in enumerate(row.taps[:20]):
        x.grad = None
        y[0, 0, o].backward(retain_graph=True)
        read = set(np.flatnonzero(x.grad[0].abs().sum(0).numpy()).tolist())
        shown = {int(row.input_index[t]) for t in taps if row.input_index[t] >= 0}
        assert read == shown, (s, o)


def test_the_url_round_trips_and_out_of_range_values_are_brought_back():
    rng = random.Random(2)
    for _ in range(60):
        s = _random_settings(rng)
        s = replace(s, preset=layer1d.kernel_presets(s.source)[0], kernel_mode=rng.choice(["preset", "random"]))
        restored, problems = layer1d.from_query(layer1d.to_query(s))
        assert restored == s and not problems
    settings, notes = layer1d.from_query({"k": "0", "noise": "9", "in": "rna", "ceil": "maybe"})
    assert settings.kernel == 1 and settings.noise == 2.0 and settings.source == "dna" and not settings.ceil_mode
    assert len(notes) == 4


@pytest.mark.parametrize(
    ("kind", "length", "wanted"),
    [("Conv1d", 100, 50), ("MaxPool1d", 60, 19), ("ConvTranspose1d", 5, 11), ("Conv1d", 2000, 1000)],
)
def test_solver_answers_open_the_explorer_on_the_wanted_length(kind, length, wanted):
    for solution in size_solver.solve(kind, length, wanted)[:30]:
        settings = layer1d.settings_for(solution, length, out_channels=3)
        if length > layer1d.MAX_SIGNAL:
            assert settings is None
            continue
        restored, problems = layer1d.from_query(layer1d.to_query(settings))
        assert not problems
        assert layer1d.analyze(restored).output_shape[2] == wanted, solution


def test_a_convolutions_same_padding_does_not_follow_the_layer_to_a_pool():
    s = replace(Explorer1dSettings(), padding_mode="same", padding=1, kernel=3, kernel_mode="random")
    assert layer1d.analyze(s).output_shape[2] == len(layer1d.DEFAULT_DNA)
    pooled = layer1d.analyze(replace(s, layer="MaxPool1d", stride=1))
    assert pooled.pytorch == "nn.MaxPool1d(kernel_size=3, stride=1, padding=1)"


def test_the_sliding_row_is_the_2d_animations_one_row_grid():
    s = replace(Explorer1dSettings(), layer="ConvTranspose1d", stride=2, kernel=3, kernel_mode="random")
    report = layer1d.analyze(s)
    row = layer1d.window_steps(s, report)
    payload = animation.payload(row.as_window())
    assert payload.rows == 1 and payload.cols == len(row.cells)
    assert payload.col_taps == row.taps
    assert payload.output_full == (1, report.output_shape[2])
    assert payload.grid[row.input_origin] == str(animation.INPUT)  # input position 0, then every stride cells
    assert payload.grid[row.input_origin + 1] == str(animation.INSERTED)
