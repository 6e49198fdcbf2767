"""Feature-map grids: colours, labels, compact images, payload size, validity."""

import base64
import io

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from cnnviz import plots


def _decode_png(source: str) -> Image.Image:
    prefix = "data:image/png;base64,"
    assert source.startswith(prefix)
    return Image.open(io.BytesIO(base64.b64decode(source[len(prefix) :])))


def _panels(fig: go.Figure) -> list:
    return [t for t in fig.data if t.type in ("heatmap", "image")]


def test_lookup_tables_run_from_the_first_to_the_last_colour_of_each_colormap():
    viridis = plots.colormap_lut("viridis")
    assert viridis.shape == (256, 3) and viridis.dtype == np.uint8
    assert tuple(viridis[0]) == (0x44, 0x01, 0x54)
    assert tuple(viridis[-1]) == (0xFD, 0xE7, 0x25)
    diverging = plots.colormap_lut(plots.DIVERGING)
    assert diverging[0, 2] > diverging[0, 0]  # blue end for negatives
    assert diverging[-1, 0] > diverging[-1, 2]  # red end for positives
    assert diverging[128].min() > 230  # near white at zero
    with pytest.raises(ValueError, match="unknown colormap"):
        plots.colormap_lut("jet")


def test_colour_range_is_centred_on_zero_for_signed_values_and_tight_otherwise():
    values = np.array([[-1.0, 3.0], [0.5, 2.0]])
    assert plots.is_signed(values)
    assert plots.color_range(values, signed=True) == (-3.0, 3.0)
    assert plots.color_range(np.abs(values), signed=False) == (0.5, 3.0)
    assert plots.color_range(np.full((2, 2), 4.0), signed=False) == (4.0, 5.0)
    assert not plots.is_signed(np.zeros((3, 3)))


def test_small_maps_become_heatmaps_labelled_with_title_and_value_range():
    maps = np.stack([np.arange(12.0).reshape(3, 4), -np.arange(12.0).reshape(3, 4)])
    fig = plots.feature_map_grid(maps, titles=["up", "down"], title="two maps")
    panels = _panels(fig)
    assert [p.type for p in panels] == ["heatmap", "heatmap"]
    np.testing.assert_array_equal(np.asarray(panels[0].z), maps[0])
    labels = [a.text for a in fig.layout.annotations]
    assert labels[0].startswith("up") and "[0, 11]" in labels[0]
    assert labels[1].startswith("down") and "[-11, 0]" in labels[1]
    # each panel picks its colormap: the first has no negatives (sequential, tight range),
    # the second does (diverging, centred on zero); one colour bar per colormap
    assert (panels[0].zmin, panels[0].zmax) == (0, 11)
    assert (panels[1].zmin, panels[1].zmax) == (-11, 11)
    assert panels[0].colorscale[0][1] == "#440154"  # viridis starts dark purple
    assert panels[1].colorscale != panels[0].colorscale
    bars = [t for t in fig.data if t.type == "scatter"]
    assert sorted(b.marker.colorbar.title.text for b in bars) == ["maps<br>≥ 0", "signed<br>maps"]
    assert fig.layout.title.text == "two maps"
    go.Figure(fig.to_dict())  # plotly's own validation accepts every property


def test_signed_can_be_forced_either_way():
    maps = np.random.default_rng(0).normal(size=(2, 4, 4))
    sequential = _panels(plots.feature_map_grid(maps, signed=False))[0]
    assert sequential.zmin == pytest.approx(maps[0].min()) and sequential.zmax == pytest.approx(maps[0].max())
    diverging = _panels(plots.feature_map_grid(np.abs(maps), signed=True))[0]
    assert diverging.zmin == -diverging.zmax


def test_large_maps_are_png_images_whose_pixels_follow_the_colormap():
    ramp = np.tile(np.linspace(-2.0, 2.0, 64, dtype=np.float32), (48, 1))  # (48, 64), signed
    fig = plots.feature_map_grid(ramp[None], titles=["ramp"])
    (panel,) = _panels(fig)
    assert panel.type == "image"
    image = _decode_png(panel.source).convert("RGB")
    assert image.size == (64, 48)
    pixels = np.asarray(image)
    lut = plots.colormap_lut(plots.DIVERGING)
    assert tuple(pixels[0, 0]) == tuple(lut[0])  # -2 is the most negative: first colour
    assert tuple(pixels[0, -1]) == tuple(lut[-1])
    middle = pixels[0, 32]  # value close to zero: close to white
    assert middle.min() > 220
    go.Figure(fig.to_dict())


def test_sixteen_large_noisy_maps_stay_under_a_megabyte_and_say_they_are_downsampled():
    maps = np.random.default_rng(1).normal(size=(16, 256, 256)).astype(np.float32)
    fig = plots.feature_map_grid(maps)
    payload = len(fig.to_json())
    assert payload < 1_000_000
    assert "1/2 resolution" in fig.layout.title.text
    panels = _panels(fig)
    assert len(panels) == 16
    assert _decode_png(panels[0].source).size == (128, 128)
    # the axes keep the original coordinates
    assert fig.layout.xaxis.range == (-0.5, 255.5)
    assert panels[0].dx == 2


def test_grid_layout_puts_columns_per_row_and_keeps_panels_inside_the_figure():
    fig = plots.feature_map_grid(np.ones((10, 5, 5)), columns=4)
    domains = [fig.layout[f"yaxis{'' if i == 0 else i + 1}"].domain for i in range(10)]
    rows = sorted({round(d[1], 6) for d in domains}, reverse=True)
    assert len(rows) == 3
    assert all(0 <= d[0] < d[1] <= 1 for d in domains)


def test_block_mean_averages_blocks_and_keeps_partial_edges():
    maps = np.arange(25, dtype=np.float32).reshape(1, 5, 5)
    small = plots.block_mean(maps, 2)
    assert small.shape == (1, 3, 3)
    assert small[0, 0, 0] == pytest.approx(np.mean([0, 1, 5, 6]))


@pytest.mark.parametrize("bad", [np.zeros((2, 3, 4, 5)), np.zeros((0, 3, 3)), np.zeros(5)])
def test_bad_shapes_are_refused_clearly(bad):
    with pytest.raises(ValueError, match=r"\(C, H, W\)"):
        plots.feature_map_grid(bad)


def test_title_count_must_match():
    with pytest.raises(ValueError, match="2 titles for 3 maps"):
        plots.feature_map_grid(np.zeros((3, 2, 2)), titles=["a", "b"])


def test_block_mean_matches_a_plain_reshaped_mean_for_any_factor():
    maps = np.random.default_rng(3).normal(size=(3, 12, 18)).astype(np.float32)
    for factor in (2, 3, 6):
        expected = maps.reshape(3, 12 // factor, factor, 18 // factor, factor).mean(axis=(2, 4))
        np.testing.assert_allclose(plots.block_mean(maps, factor), expected, rtol=1e-5, atol=1e-6)
