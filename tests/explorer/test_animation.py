"""The animation's taps are exactly the inputs PyTorch's output cell depends on (found by autograd)."""

import json
import random

import numpy as np
import pytest
import torch
import torch.nn.functional as F  # noqa: N812

from cnnviz.explorer import animation
from cnnviz.explorer.layer2d import ExplorerSettings, analyze
from cnnviz.layers.arithmetic import InvalidLayerConfig


def _dependencies(s: ExplorerSettings, out_row: int, out_col: int) -> set[tuple[int, int]]:
    """Input pixels that output (out_row, out_col) depends on, through the real layer with all-one weights."""
    x = torch.rand(1, 1, s.height, s.width, dtype=torch.float64, requires_grad=True)
    if s.layer == "Conv2d":
        w = torch.ones(1, 1, *s.kernel, dtype=torch.float64)
        y = F.conv2d(x, w, None, s.stride, s.padding, s.dilation)
    elif s.layer == "ConvTranspose2d":
        w = torch.ones(1, 1, *s.kernel, dtype=torch.float64)
        y = F.conv_transpose2d(x, w, None, s.stride, s.padding, s.output_padding, 1, s.dilation)
    elif s.layer == "AvgPool2d":
        y = F.avg_pool2d(x, s.kernel, s.stride, s.padding, s.ceil_mode)
    else:
        y = F.interpolate(x, scale_factor=s.scale_factor, mode=s.mode)
    y[0, 0, out_row, out_col].backward()
    rows, cols = torch.nonzero(x.grad[0, 0], as_tuple=True)
    return set(zip(rows.tolist(), cols.tolist()))


def _tapped_inputs(window: animation.SlidingWindow, step: animation.Step) -> set[tuple[int, int]]:
    """Taps that land on input pixels, as input (row, column)."""
    (r0, c0), (sr, sc) = window.input_origin, window.input_step
    found = set()
    for r, c in step.taps:
        if window.grid[r, c] in (animation.INPUT, animation.UNREAD) and (r - r0) % sr == 0 and (c - c0) % sc == 0:
            found.add(((r - r0) // sr, (c - c0) // sc))
    return found


def _random_settings(rng: random.Random) -> ExplorerSettings:
    layer = rng.choice(["Conv2d", "ConvTranspose2d", "AvgPool2d", "Upsample"])
    pair = lambda low, high: (rng.randint(low, high), rng.randint(low, high))  # noqa: E731
    return ExplorerSettings(
        layer=layer, height=rng.randint(2, 12), width=rng.randint(2, 12), in_channels=1, out_channels=1,
        kernel=pair(1, 4), stride=pair(1, 3), padding=pair(0, 2), dilation=pair(1, 2) if layer != "AvgPool2d"
        else (1, 1), output_padding=(0, 0), ceil_mode=rng.random() < 0.5, scale_factor=rng.choice([1.5, 2.0, 3.0]),
        mode=rng.choice(["nearest", "bilinear"]),
    )  # fmt: skip


def test_every_step_reads_exactly_the_inputs_pytorch_uses():
    rng = random.Random(7)
    checked = 0
    while checked < 60:
        s = _random_settings(rng)
        try:
            report = analyze(s)
        except InvalidLayerConfig:
            continue
        window = animation.sliding_window(s, report)
        assert len(window.steps) == window.output_shown[0] * window.output_shown[1]
        for step in rng.sample(window.steps, min(4, len(window.steps))):
            depends = _dependencies(s, step.out_row, step.out_col)
            tapped = _tapped_inputs(window, step)
            if s.layer == "Upsample" and s.mode == "bilinear":
                assert depends <= tapped, (s, step)  # a tap with weight exactly 0 has no gradient
            else:
                assert tapped == depends, (s, step)
        checked += 1


def test_the_grid_marks_padding_inserted_zeros_and_leftover_rows():
    s = ExplorerSettings(height=6, width=7, kernel=(3, 3), stride=(2, 2), padding=(1, 1))
    window = animation.sliding_window(s, analyze(s))
    assert window.grid.shape == (8, 9)
    assert (window.grid[0] == animation.PADDING).all()
    rows_left, cols_left = analyze(s).leftover
    assert (rows_left, cols_left) == (1, 0)
    assert (window.grid[-1] == animation.UNREAD).all() and not (window.grid[:-1] == animation.UNREAD).any()
    transposed = ExplorerSettings(layer="ConvTranspose2d", height=3, width=3, kernel=(3, 3), stride=(2, 2))
    window = animation.sliding_window(transposed, analyze(transposed))
    assert window.grid.shape == (9, 9)  # 3 pixels, 1 zero between each, 2 rows of implied padding per side
    assert (window.grid == animation.INPUT).sum() == 9
    assert (window.grid == animation.INSERTED).sum() == 25 - 9
    assert "zeros inserted" in window.caption


def test_large_inputs_animate_a_labelled_corner():
    s = ExplorerSettings(height=256, width=200, kernel=(7, 7), padding=(3, 3))
    window = animation.sliding_window(s, analyze(s))
    assert window.grid.shape == (3 + 32, 3 + 32)
    assert window.output_shown == (35 - 7 + 1, 35 - 7 + 1)  # the windows that fit in the corner
    assert "top-left corner" in window.caption and "256 x 200" in window.caption
    assert "first 29 x 29 of the 256 x 200 output cells" in window.caption
    assert all(st.rows[-1] < window.grid.shape[0] and st.cols[-1] < window.grid.shape[1] for st in window.steps)


def test_dilated_kernels_show_their_taps_and_stay_within_the_marker_budget():
    s = ExplorerSettings(height=32, width=32, kernel=(15, 15), dilation=(2, 2), padding=(14, 14))
    window = animation.sliding_window(s, analyze(s))
    assert not window.contiguous
    assert len(window.steps) * 15 * 15 <= animation.MAX_TAP_MARKERS


def test_upsample_sources_follow_pytorch_nearest():
    x = torch.arange(7.0).reshape(1, 1, 1, 7).expand(1, 1, 4, 7)
    for scale in (1.5, 2.0, 3.0, 0.5):
        y = F.interpolate(x, scale_factor=scale, mode="nearest")[0, 0, 0]
        for j, value in enumerate(y.tolist()):
            assert animation.upsample_sources(j, 7, scale, "nearest") == (int(value),)


@pytest.mark.parametrize("layer", ["Conv2d", "ConvTranspose2d", "MaxPool2d", "Upsample"])
def test_the_payload_describes_every_step_as_rows_times_columns(layer):
    s = ExplorerSettings(layer=layer, height=9, width=8, kernel=(3, 2), stride=(2, 2), dilation=(1, 2))
    window = animation.sliding_window(s, analyze(s))
    described = animation.payload(window)
    assert len(described.row_taps) * len(described.col_taps) == len(window.steps) > 0
    for step in window.steps:  # the browser draws step (i, j) from row_taps[i] x col_taps[j]
        assert described.row_taps[step.out_row] == step.rows
        assert described.col_taps[step.out_col] == step.cols
    grid = np.array([int(k) for k in described.grid]).reshape(described.rows, described.cols)
    np.testing.assert_array_equal(grid, window.grid)
    assert described.output_full == window.output_full
    legend = {name for _, name in described.as_json()["legend"]}
    assert legend == {animation.KIND_NAMES[int(k)] for k in np.unique(grid)}
    json.dumps(described.as_json())  # what the component receives


def test_the_tick_labels_number_input_pixels_not_padding():
    s = ExplorerSettings(height=5, width=5, kernel=(3, 3), padding=(2, 2))
    described = animation.payload(animation.sliding_window(s, analyze(s)))
    assert described.row_ticks == tuple((2 + i, i) for i in range(5))  # two rows of padding come first
    transposed = ExplorerSettings(layer="ConvTranspose2d", height=4, width=4, kernel=(3, 3), stride=(2, 2))
    described = animation.payload(animation.sliding_window(transposed, analyze(transposed)))
    assert [n for _, n in described.col_ticks] == [0, 1, 2, 3]
    assert [c for c, _ in described.col_ticks] == [2, 4, 6, 8]  # zeros inserted between pixels


def test_the_animation_payload_stays_small_for_the_largest_corner():
    s = ExplorerSettings(height=256, width=256, kernel=(3, 3), padding=(1, 1))
    described = animation.payload(animation.sliding_window(s, analyze(s)))
    assert len(json.dumps(described.as_json())) < 5_000
    assert (described.rows, described.cols) == (33, 33)


def test_at_most_32_x_32_outputs_are_animated_even_when_a_small_input_makes_many():
    transposed = ExplorerSettings(layer="ConvTranspose2d", height=256, width=256, kernel=(7, 7), stride=(4, 4))
    window = animation.sliding_window(transposed, analyze(transposed))
    assert window.output_shown == (32, 32) and len(window.steps) == 1024
    assert window.grid.shape == (31 + 7, 31 + 7)  # only the rows the animated windows reach
    padded = ExplorerSettings(height=20, width=20, kernel=(1, 1), padding=(10, 10))
    window = animation.sliding_window(padded, analyze(padded))
    assert window.output_shown == (32, 32)
    assert "first 32 x 32 of the 40 x 40 output cells" in window.caption


def test_ceil_mode_animates_the_last_window_hanging_over_the_edge():
    s = ExplorerSettings(layer="MaxPool2d", height=7, width=7, kernel=(2, 2), stride=(2, 2), ceil_mode=True)
    report = analyze(s)
    assert report.output_shape[2:] == (4, 4)
    window = animation.sliding_window(s, report)
    assert window.output_shown == (4, 4) and window.grid.shape == (8, 8)
    assert (window.grid[7] == animation.BEYOND).all() and (window.grid[:, 7] == animation.BEYOND).all()
    assert "beyond the edge" in animation.KIND_NAMES[animation.BEYOND]
    assert window.caption.count("first") == 0  # every output cell is animated
