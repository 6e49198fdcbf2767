"""The shared colours: colormaps, lookup tables, value ranges, block averaging."""

import numpy as np
import pytest

from cnnviz.views import palette


def test_every_colormap_is_anchored_on_its_documented_ends():
    assert palette.colormap_anchors(palette.GREYS).tolist() == [[0, 0, 0], [255, 255, 255]]
    for name in (palette.SEQUENTIAL, palette.DIVERGING, palette.GREYS):
        lut = palette.colormap_lut(name)
        np.testing.assert_array_equal(lut[0], palette.colormap_anchors(name)[0])
        np.testing.assert_array_equal(lut[-1], palette.colormap_anchors(name)[-1])


def test_lookup_tables_run_from_the_first_to_the_last_colour_of_each_colormap():
    viridis = palette.colormap_lut("viridis")
    assert viridis.shape == (256, 3) and viridis.dtype == np.uint8
    assert tuple(viridis[0]) == (0x44, 0x01, 0x54)
    assert tuple(viridis[-1]) == (0xFD, 0xE7, 0x25)
    diverging = palette.colormap_lut(palette.DIVERGING)
    assert diverging[0, 2] > diverging[0, 0]  # blue end for negatives
    assert diverging[-1, 0] > diverging[-1, 2]  # red end for positives
    assert diverging[128].min() > 230  # near white at zero
    with pytest.raises(ValueError, match="unknown colormap"):
        palette.colormap_lut("jet")


def test_colour_range_is_centred_on_zero_for_signed_values_and_tight_otherwise():
    values = np.array([[-1.0, 3.0], [0.5, 2.0]])
    assert palette.color_range(values, signed=True) == (-3.0, 3.0)
    assert palette.color_range(np.abs(values), signed=False) == (0.5, 3.0)
    assert palette.color_range(np.full((2, 2), 4.0), signed=False) == (4.0, 5.0)


def test_block_mean_averages_blocks_and_keeps_partial_edges():
    maps = np.arange(25, dtype=np.float32).reshape(1, 5, 5)
    small = palette.block_mean(maps, 2)
    assert small.shape == (1, 3, 3)
    assert small[0, 0, 0] == pytest.approx(np.mean([0, 1, 5, 6]))


def test_block_mean_matches_a_plain_reshaped_mean_for_any_factor():
    maps = np.random.default_rng(3).normal(size=(3, 12, 18)).astype(np.float32)
    for factor in (2, 3, 6):
        expected = maps.reshape(3, 12 // factor, factor, 18 // factor, factor).mean(axis=(2, 4))
        np.testing.assert_allclose(palette.block_mean(maps, factor), expected, rtol=1e-5, atol=1e-6)


def test_quantize_maps_each_panel_over_its_own_range_with_nan_and_infinities_at_the_ends():
    values = np.array([[[-1.0, 0.0, 1.0, np.nan]], [[0.0, 5.0, 10.0, np.inf]]], dtype=np.float32)  # (2, 1, 4)
    lows = np.array([-1.0, 0.0]).reshape(2, 1, 1)
    highs = np.array([1.0, 10.0]).reshape(2, 1, 1)
    indices = palette.quantize(values, lows, highs)
    assert indices.dtype == np.uint8
    assert indices.tolist() == [[[0, 128, 255, 0]], [[0, 128, 255, 255]]]  # 127.5 rounds to even: 128
    for panel in range(2):  # the same as one panel at a time, with scalar ranges
        alone = palette.quantize(values[panel], float(lows[panel, 0, 0]), float(highs[panel, 0, 0]))
        assert np.array_equal(alone, indices[panel])
    assert palette.quantize(np.array([-np.inf, 3.0]), 0.0, 1.0).tolist() == [0, 255]  # outside the range: clipped
