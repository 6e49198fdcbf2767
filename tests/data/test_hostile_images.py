"""Uploaded pictures from phones and from mischief (issue 9, finding 4): used or refused clearly, quickly."""

from __future__ import annotations

import io
import struct
import time
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from cnnviz.data.images import MAX_ASPECT_RATIO, ImageRejected, decode_upload, to_input
from cnnviz.data.preprocess import EmptyDrawing, to_mnist


def encoded(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width x height`` (the pixel data is a few bytes): checked before decoding."""
    data = bytearray(encoded(Image.new("L", (2, 2), 255), "PNG"))
    header = struct.pack(">II", width, height) + bytes(data[24:29])  # width, height, depth, colour, ...
    data[16:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + header))
    return bytes(data)


def test_a_phone_photo_with_several_pictures_uses_the_first():
    first, second = Image.new("RGB", (64, 48), (200, 20, 20)), Image.new("RGB", (64, 48), (20, 200, 20))
    mpo = encoded(first, "MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(mpo)).format == "MPO"
    loaded = decode_upload(mpo, "phone.jpg")
    assert loaded.pixels.shape == (48, 64, 3)
    assert np.abs(loaded.pixels.astype(int) - (200, 20, 20)).max() < 12  # the first picture, not the second


@pytest.mark.parametrize(
    "data",
    [
        png_claiming(40_000_000, 1),  # 40 megapixels, within the pixel limit
        png_claiming(1, 40_000_000),
        encoded(Image.new("L", (2_000, 21), 128), "PNG"),  # a real, decodable strip
        encoded(Image.new("RGB", (12, 12 * MAX_ASPECT_RATIO + 1)), "JPEG"),
    ],
)
def test_a_strip_passes_no_longer_for_a_picture(data):
    started = time.perf_counter()
    with pytest.raises(ImageRejected, match="at most 20 times as long as it is wide"):
        decode_upload(data, "strip.png")
    assert time.perf_counter() - started < 1


def test_a_picture_with_no_rows_is_refused():
    with pytest.raises(ImageRejected):
        decode_upload(png_claiming(5, 0), "empty.png")


def test_the_longest_accepted_shape_still_becomes_an_input_and_a_digit():
    strip = Image.new("L", (MAX_ASPECT_RATIO * 10, 10), 230)
    strip.paste(20, (90, 2, 110, 8))  # some ink in the middle
    loaded = decode_upload(encoded(strip, "PNG"), "wide.png")
    assert to_input(loaded, 28, 28).shape == (1, 28, 28)
    assert to_mnist(loaded.pixels).shape == (1, 1, 28, 28)


@settings(max_examples=40, deadline=None)
@given(
    width=st.integers(1, 300),
    height=st.integers(1, 300),
    mode=st.sampled_from(["1", "L", "LA", "P", "RGB", "RGBA", "I;16", "CMYK"]),
    fmt=st.sampled_from(["PNG", "JPEG", "GIF", "BMP", "MPO"]),
    cut=st.one_of(st.none(), st.integers(0, 400)),
    seed=st.integers(0, 2**16),
)
def test_generated_uploads_are_used_or_refused_clearly(width, height, mode, fmt, cut, seed):
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    image = Image.fromarray(pixels).convert(mode if mode != "I;16" else "I")
    if mode == "I;16":
        image = image.convert("I;16")
    try:
        data = encoded(image, fmt)
    except (OSError, ValueError, KeyError):
        return  # Pillow cannot write this mode in this format: nothing to upload
    if cut is not None:
        data = data[:cut]
    started = time.perf_counter()
    try:
        loaded = decode_upload(data, "upload")
    except ImageRejected as error:
        assert str(error).startswith("upload ")
        return
    finally:
        assert time.perf_counter() - started < 2
    assert loaded.pixels.dtype == np.uint8 and loaded.pixels.ndim in (2, 3)
    assert loaded.pixels.shape[:2] == (height, width)
    assert to_input(loaded, 17, 23).shape == (loaded.channels, 17, 23)
    try:
        assert to_mnist(loaded.pixels).shape == (1, 1, 28, 28)
    except EmptyDrawing:
        pass  # a picture without ink: the draw page's own clear message
