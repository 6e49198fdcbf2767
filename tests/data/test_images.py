"""Uploads: every bad kind converted or refused with a clear message; samples; resizing."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from cnnviz.data import images


def _encode(image: Image.Image, fmt: str = "PNG", **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def _gradient(mode: str = "RGB", size=(40, 30)) -> Image.Image:
    array = np.linspace(0, 255, size[0] * size[1] * 3).reshape(size[1], size[0], 3).astype(np.uint8)
    return Image.fromarray(array).convert(mode)


def test_grayscale_and_colour_pngs_and_jpegs_decode_with_their_channels():
    gray = images.decode_upload(_encode(_gradient("L")), "g.png")
    assert gray.channels == 1 and gray.pixels.shape == (30, 40) and gray.notes == ()
    colour = images.decode_upload(_encode(_gradient("RGB"), "JPEG", quality=90), "c.jpg")
    assert colour.channels == 3 and colour.pixels.shape == (30, 40, 3)


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"this is a text file, not a picture" * 10, "not an image"),
        (b"\0" * (images.MAX_UPLOAD_BYTES + 1), "the limit is 20 MB"),
    ],
)
def test_non_images_are_refused_clearly(data, message):
    with pytest.raises(images.ImageRejected, match=message):
        images.decode_upload(data, "file")


def test_other_formats_are_refused_with_what_to_do():
    with pytest.raises(images.ImageRejected, match="GIF file; upload a PNG or JPEG"):
        images.decode_upload(_encode(_gradient("P"), "GIF"), "a.gif")


def test_truncated_files_are_refused():
    data = _encode(_gradient("RGB", (200, 200)), "PNG", compress_level=0)
    with pytest.raises(images.ImageRejected, match="damaged or truncated"):
        images.decode_upload(data[: len(data) // 2], "half.png")
    jpeg = _encode(_gradient("RGB", (200, 200)), "JPEG")
    with pytest.raises(images.ImageRejected, match="damaged or truncated"):
        images.decode_upload(jpeg[: len(jpeg) // 3], "half.jpg")


def _png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width x height (a decompression bomb's calling card)."""
    data = bytearray(_encode(Image.new("L", (1, 1))))
    ihdr = bytearray(data[16:29])
    ihdr[0:8] = struct.pack(">II", width, height)
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(ihdr)))
    return bytes(data)


def test_decompression_bombs_are_refused_before_decoding():
    with pytest.raises(images.ImageRejected, match="claims 7000 x 7000 pixels"):
        images.decode_upload(_png_claiming(7000, 7000), "big.png")
    with pytest.raises(images.ImageRejected, match="decompression bomb"):  # Pillow's own guard fires first
        images.decode_upload(_png_claiming(60_000, 60_000), "bomb.png")


def test_sixteen_bit_grayscale_is_reduced_to_eight_bits():
    array = np.linspace(0, 65535, 64 * 32).reshape(32, 64).astype(np.uint16)
    loaded = images.decode_upload(_encode(Image.fromarray(array)), "deep.png")
    assert loaded.channels == 1 and loaded.pixels.dtype == np.uint8
    assert loaded.pixels.max() == 255 and loaded.pixels.min() == 0
    assert "16-bit" in loaded.notes[0]


def test_cmyk_jpeg_becomes_rgb():
    loaded = images.decode_upload(_encode(_gradient("CMYK"), "JPEG"), "print.jpg")
    assert loaded.channels == 3 and "CMYK" in loaded.notes[0]


def test_palette_png_is_expanded():
    loaded = images.decode_upload(_encode(_gradient("RGB").convert("P", palette=Image.Palette.ADAPTIVE)), "p.png")
    assert loaded.channels == 3 and "palette" in loaded.notes[0]


def test_alpha_is_composited_on_white():
    rgba = Image.new("RGBA", (4, 4), (255, 0, 0, 0))  # fully transparent red
    rgba.putpixel((0, 0), (0, 0, 255, 255))
    loaded = images.decode_upload(_encode(rgba), "alpha.png")
    assert loaded.channels == 3
    assert tuple(loaded.pixels[1, 1]) == (255, 255, 255) and tuple(loaded.pixels[0, 0]) == (0, 0, 255)
    assert "alpha" in loaded.notes[-1]
    gray_alpha = images.decode_upload(_encode(Image.new("LA", (3, 3), (0, 0))), "la.png")
    assert gray_alpha.channels == 1 and gray_alpha.pixels.max() == 255


def test_light_ink_on_transparent_is_composited_on_black_so_it_stays_visible():
    stroke = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    for x in range(4, 16):
        stroke.putpixel((x, 10), (255, 255, 255, 255))  # white ink, the rest transparent
    loaded = images.decode_upload(_encode(stroke), "white-ink.png")
    assert tuple(loaded.pixels[10, 8]) == (255, 255, 255) and tuple(loaded.pixels[0, 0]) == (0, 0, 0)
    assert "black" in loaded.notes[-1]


def test_to_input_resizes_to_the_layer_input_in_zero_one():
    loaded = images.decode_upload(_encode(_gradient("RGB")), "c.png")
    x = images.to_input(loaded, 17, 23)
    assert tuple(x.shape) == (3, 17, 23) and x.dtype.is_floating_point
    assert 0.0 <= float(x.min()) and float(x.max()) <= 1.0


def test_samples_hold_a_colour_scene_and_real_mnist_test_digits(mnist):
    names = images.sample_names()
    assert names[0] == "colour_scene"
    scene = images.load_sample("colour_scene")
    assert scene.channels == 3 and scene.pixels.shape == (256, 256, 3)
    assert np.array_equal(scene.pixels, images.make_colour_sample())  # the shipped file is the generated one
    for digit in range(images.MNIST_SAMPLE_COUNT):
        sample = images.load_sample(f"mnist_{digit}")
        index = int((mnist.test.labels == digit).nonzero()[0])
        assert np.array_equal(sample.pixels, mnist.test.images[index, 0].numpy())
    with pytest.raises(images.ImageRejected, match="no sample called"):
        images.load_sample("../../etc/passwd")


def test_an_opaque_rgba_picture_is_read_as_rgb_without_a_fill_note():
    import io

    from PIL import Image

    picture = Image.new("RGBA", (40, 30), (250, 250, 250, 255))
    picture.putpixel((5, 5), (10, 20, 30, 255))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    loaded = images.decode_upload(buffer.getvalue(), "drawing")
    assert loaded.pixels.shape == (30, 40, 3) and tuple(loaded.pixels[5, 5]) == (10, 20, 30)
    assert not any("transparent" in note for note in loaded.notes)


def test_a_shipped_sample_is_decoded_once_and_no_session_can_change_it_for_the_others():
    name = images.sample_names()[0]
    first = images.load_sample(name)
    assert images.load_sample(name) is first
    with pytest.raises(ValueError, match="read-only"):
        first.pixels[0, 0] = 7
    images.sample_names().clear()  # a caller's copy: the shipped list stays whole
    assert name in images.sample_names()
