"""to_mnist makes drawings look like MNIST digits; naive_resize, shift_rotate and decode_image around it."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from cnnviz.data.preprocess import (
    DIGIT_BOX,
    EmptyDrawing,
    centre_of_mass,
    ink_image,
    naive_resize,
    shift_rotate,
    to_mnist,
)

CANVAS = 280


def canvas(draw, ink: int = 0, paper: int = 255, size: int = CANVAS) -> Image.Image:
    """A grey drawing: ``draw(ImageDraw, fill)`` paints with ``ink`` on ``paper``."""
    image = Image.new("L", (size, size), paper)
    draw(ImageDraw.Draw(image), ink)
    return image


def seven(offset=(0, 0), scale=1.0):
    """Strokes of a 7 (asymmetric, so its centre of mass is not its box centre)."""
    ox, oy = offset

    def paint(pen: ImageDraw.ImageDraw, fill: int) -> None:
        p = lambda x, y: (ox + x * scale, oy + y * scale)  # noqa: E731
        pen.line([p(60, 60), p(180, 60), p(100, 220)], fill=fill, width=max(1, round(18 * scale)), joint="curve")

    return paint


def rectangle(top, left, height, width):
    def paint(pen: ImageDraw.ImageDraw, fill: int) -> None:
        pen.rectangle([left, top, left + width - 1, top + height - 1], fill=fill)

    return paint


def box_of(digit: torch.Tensor, threshold: float = 0.5) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) of the pixels above ``threshold`` in a (1, 1, H, W) tensor."""
    strong = digit[0, 0].numpy() > threshold
    rows, cols = np.flatnonzero(strong.any(1)), np.flatnonzero(strong.any(0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def test_output_is_an_mnist_shaped_float_tensor_with_full_strength_ink():
    digit = to_mnist(canvas(seven()))
    assert digit.shape == (1, 1, 28, 28) and digit.dtype == torch.float32
    assert digit.min() >= 0.0 and digit.max() <= 1.0
    assert digit.max() > 0.95  # the stroke is white, as in MNIST
    assert digit[0, 0, 0].max() == 0 and digit[0, 0, :, 0].max() == 0  # the frame's border stays black


def test_the_longer_side_of_the_ink_box_becomes_twenty_pixels():
    for height, width in [(200, 60), (50, 150), (30, 30), (8, 4)]:
        digit = to_mnist(canvas(rectangle(40, 30, height, width)))
        top, bottom, left, right = box_of(digit)
        assert max(bottom - top, right - left) == DIGIT_BOX, (height, width)


@pytest.mark.parametrize(("height", "width"), [(200, 60), (60, 200), (120, 90)])
def test_the_aspect_ratio_is_kept(height, width):
    digit = to_mnist(canvas(rectangle(10, 20, height, width)))
    top, bottom, left, right = box_of(digit)
    assert (bottom - top) / (right - left) == pytest.approx(height / width, rel=0.12)


def test_the_centre_of_mass_lands_on_mnists_centre():
    digit = to_mnist(canvas(seven()))
    row, column = centre_of_mass(digit[0, 0])
    assert abs(row - 14.0) <= 0.5 and abs(column - 14.0) <= 0.5
    # A 7's centre of mass is up and to the right of its box's centre, so the box is not centred.
    top, bottom, left, right = box_of(digit, threshold=0.0)
    assert (top + bottom) / 2 != pytest.approx(14.0, abs=0.5) or (left + right) / 2 != pytest.approx(14.0, abs=0.5)


def test_where_and_how_big_the_digit_was_drawn_does_not_matter():
    reference = to_mnist(canvas(seven()))
    assert torch.equal(to_mnist(canvas(seven(offset=(-50, 40)))), reference)
    half = to_mnist(canvas(seven(offset=(30, 20), scale=0.5)))
    assert (half - reference).abs().mean() < 0.05  # same digit, up to resampling


def test_black_on_white_and_white_on_black_give_the_same_digit():
    dark_on_light = to_mnist(canvas(seven(), ink=0, paper=255))
    light_on_dark = to_mnist(canvas(seven(), ink=255, paper=0))
    assert torch.allclose(dark_on_light, light_on_dark, atol=1e-6)


def test_a_grey_paper_and_faded_ink_are_stretched_to_full_contrast():
    faded = to_mnist(canvas(seven(), ink=90, paper=200))
    assert torch.allclose(faded, to_mnist(canvas(seven())), atol=1e-5)


def test_rgb_and_numpy_inputs_match_the_grey_drawing():
    grey = canvas(seven())
    expected = to_mnist(grey)
    assert torch.allclose(to_mnist(grey.convert("RGB")), expected, atol=1e-5)
    assert torch.allclose(to_mnist(np.asarray(grey)), expected, atol=1e-5)
    assert torch.allclose(to_mnist(np.asarray(grey, dtype=np.float32) / 255), expected, atol=1e-5)
    blue_ink = Image.new("RGB", grey.size, "white")
    seven()(ImageDraw.Draw(blue_ink), (0, 0, 255))
    assert torch.allclose(to_mnist(blue_ink), expected, atol=1e-5)


def test_alpha_only_drawings_read_the_alpha_channel():
    """A canvas without background: ink is opaque, everything else fully transparent."""
    mask = np.asarray(canvas(seven(), ink=255, paper=0))
    expected = to_mnist(Image.fromarray(mask))
    for colour in [(0, 0, 0), (255, 255, 255), (200, 30, 30)]:
        rgba = np.zeros((*mask.shape, 4), dtype=np.uint8)
        rgba[..., :3] = colour
        rgba[..., 3] = mask
        assert torch.allclose(to_mnist(rgba), expected, atol=0.02), colour
    # An opaque RGBA (the canvas with a background colour) reads its colour, not its alpha.
    opaque = canvas(seven()).convert("RGBA")
    assert torch.allclose(to_mnist(opaque), expected, atol=1e-5)


@pytest.mark.parametrize(
    "blank",
    [
        Image.new("L", (280, 280), 255),
        Image.new("RGB", (100, 50), (30, 30, 30)),
        np.zeros((280, 280, 4), dtype=np.uint8),  # a transparent, untouched canvas
        np.full((280, 280, 4), 255, dtype=np.uint8),  # an opaque white canvas
    ],
)
def test_a_blank_picture_is_refused_with_a_friendly_message(blank):
    with pytest.raises(EmptyDrawing, match="draw a digit"):
        to_mnist(blank)
    with pytest.raises(EmptyDrawing):
        naive_resize(blank)


def test_a_large_photo_is_shrunk_first_and_reads_like_its_small_copy():
    small = canvas(seven(offset=(40, 20)), size=400)
    large = small.resize((4000, 4000), Image.Resampling.NEAREST)  # 16 megapixels
    assert ink_image(large).shape == (1000, 1000)
    assert (to_mnist(large) - to_mnist(small)).abs().mean() < 0.02
    rgba = np.asarray(large.convert("RGBA"))
    assert torch.allclose(to_mnist(rgba), to_mnist(large), atol=1e-5)


def test_ink_is_white_on_black_in_zero_one():
    ink = ink_image(canvas(seven()))
    assert ink.shape == (CANVAS, CANVAS) and ink.dtype == np.float32
    assert ink[0, 0] == 0.0 and ink.max() == 1.0


def test_naive_resize_keeps_a_small_corner_digit_small_and_in_its_corner():
    small = canvas(seven(offset=(-40, -40), scale=0.4))
    naive = naive_resize(small)
    assert naive.shape == (1, 1, 28, 28)
    top, bottom, left, right = box_of(naive, threshold=0.2)
    assert bottom <= 12 and right <= 12  # squeezed with the whole canvas: tiny, top left
    top, bottom, left, right = box_of(to_mnist(small))
    assert max(bottom - top, right - left) == DIGIT_BOX


def test_whole_pixel_shifts_move_pixels_exactly():
    digit = to_mnist(canvas(seven()))
    moved = shift_rotate(digit, right=3, down=-2)
    expected = torch.zeros_like(digit)
    expected[..., : 28 - 2, 3:] = digit[..., 2:, : 28 - 3]
    assert torch.allclose(moved, expected, atol=1e-5)
    assert torch.allclose(shift_rotate(digit), digit, atol=1e-6)


def test_rotation_is_anticlockwise_about_the_centre():
    dot = torch.zeros(1, 1, 28, 28)
    dot[0, 0, 13:15, 22:24] = 1.0  # right of the centre (13.5, 13.5)
    turned = shift_rotate(dot, degrees=90)
    row, column = centre_of_mass(turned[0, 0])
    assert row == pytest.approx(13.5 - 9, abs=0.3) and column == pytest.approx(13.5, abs=0.3)  # now above
    assert torch.allclose(shift_rotate(dot, degrees=360), dot, atol=1e-4)


def test_mnist_digits_scaled_to_canvas_size_come_back_recognisable(mnist, trained_classifier):
    """The round trip a drawing takes: a 280 x 280 picture of a real digit -> to_mnist -> the classifier."""
    count = 1000
    images, labels = mnist.test.images[:count, 0].numpy(), mnist.test.labels[:count]
    batch = []
    for i, image in enumerate(images):
        big = Image.fromarray(image).resize((CANVAS, CANVAS), Image.Resampling.BILINEAR)
        if i % 2:  # half of them as black ink on white paper
            big = Image.fromarray(255 - np.asarray(big))
        batch.append(to_mnist(big))
    with torch.inference_mode():
        predictions = trained_classifier(torch.cat(batch)).argmax(dim=1)
    accuracy = (predictions == labels).float().mean().item()
    assert accuracy >= 0.97, f"{accuracy:.1%} of round-tripped digits recognised"


def test_each_image_moved_by_its_own_shift_and_turn_in_one_resampling():
    from cnnviz.data.preprocess import shift_rotate_each

    digits = torch.rand(3, 1, 28, 28)
    moves = [(2.0, 0.0, 0.0), (0.0, -3.0, 15.0), (1.5, 1.0, -40.0)]
    together = shift_rotate_each(digits, moves)
    for i, (right, down, degrees) in enumerate(moves):
        alone = shift_rotate(digits[i : i + 1], right=right, down=down, degrees=degrees)
        torch.testing.assert_close(together[i : i + 1], alone)
