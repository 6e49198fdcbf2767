"""The explorer's whole view for one set of settings: the input preview and its per-size cache of samples."""

import io

import numpy as np
from PIL import Image

from cnnviz.data import images
from cnnviz.explorer.layer2d import ExplorerSettings
from cnnviz.views import explorer_view
from cnnviz.views.explorer_view import build_view


def _pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)))


def test_a_shipped_sample_is_prepared_once_per_size_and_shows_what_an_upload_of_it_shows():
    sample = images.load_sample("colour_scene")
    upload = images.LoadedImage(sample.pixels.copy(), "my copy")  # the same picture, not the shipped object
    settings = ExplorerSettings(in_channels=3, height=40, width=30, maps=True, kernel=(3, 3))
    shipped, uploaded = build_view(settings, sample), build_view(settings, upload)
    assert (shipped.input_preview.height, shipped.input_preview.width) == (40, 30)
    assert _pixels(shipped.input_preview.png).shape == (40, 30, 3)
    assert np.array_equal(_pixels(shipped.input_preview.png), _pixels(uploaded.input_preview.png))
    assert np.array_equal(shipped.maps.indices, uploaded.maps.indices)  # the same maps from the shared input

    before = explorer_view._prepared_sample.cache_info()
    cached_input = explorer_view._prepared_sample("colour_scene", 40, 30)[0].clone()
    for kernel in ((5, 5), (3, 3), (1, 1)):  # other layers on the same input: no new resize
        build_view(ExplorerSettings(in_channels=3, height=40, width=30, maps=True, kernel=kernel), sample)
    after = explorer_view._prepared_sample.cache_info()
    assert after.misses == before.misses and after.hits >= before.hits + 3
    assert explorer_view._prepared_sample("colour_scene", 40, 30)[0].equal(cached_input)  # never written

    build_view(ExplorerSettings(in_channels=3, height=41, width=30, maps=True), sample)  # a new size: a new entry
    assert explorer_view._prepared_sample.cache_info().misses == after.misses + 1


def test_a_grayscale_input_previews_as_a_grayscale_png():
    digit = images.load_sample(next(n for n in images.sample_names() if n.startswith("mnist")))
    view = build_view(ExplorerSettings(in_channels=1, height=28, width=28, maps=True), digit)
    pixels = _pixels(view.input_preview.png)
    assert pixels.shape == (28, 28) and pixels.dtype == np.uint8
    assert np.array_equal(pixels, digit.pixels)  # same size: the picture itself, unchanged
