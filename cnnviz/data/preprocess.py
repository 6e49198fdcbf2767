"""A drawing -> the ``(1, 1, 28, 28)`` tensor the MNIST models expect, made the way MNIST was made.

MNIST's digits were cropped to their ink, scaled to fit a 20 x 20 box keeping
the aspect ratio (anti-aliased, hence the grey edges), then placed in a 28 x 28
frame so that their centre of mass sits in the middle. A drawing on a 280 x 280
canvas gets the same treatment in :func:`to_mnist`; :func:`naive_resize` only
squeezes the whole picture to 28 x 28, to show why the steps matter.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812 - the usual name
from PIL import Image

MNIST_SIZE = 28  # height = width of an MNIST image
DIGIT_BOX = 20  # the digit is scaled to fit this square, keeping its aspect ratio
MNIST_CENTRE = 14.0  # where MNIST's centre of mass sits (row = column = 14.0 on the test set, in pixel indices)
INK_THRESHOLD = 0.15  # ink in [0, 1] above this counts for the bounding box (drops faint noise and JPEG fringes)
MIN_CONTRAST = 0.1  # a picture whose ink differs from its background by less than this is blank
BORDER_FRACTION = 0.03  # the outer 3% of each side is read as background
MAX_SIDE = 1024  # larger pictures (phone photos) are first shrunk by a whole factor to at most this many pixels


class EmptyDrawing(ValueError):
    """There is no digit to read: the picture is blank (or has no contrast)."""


def _as_float_array(image: Image.Image | np.ndarray) -> np.ndarray:
    """``(H, W, C)`` float32 in [0, 1] with C = 1 (grey), 2 (grey + alpha), 3 (RGB) or 4 (RGBA)."""
    if isinstance(image, Image.Image):
        if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):  # 16/32-bit grey: scale by its own maximum
            pixels = np.asarray(image, dtype=np.float32)
            pixels = pixels / max(float(pixels.max()), 1.0) if pixels.max() > 1 else pixels
            return pixels[:, :, None]
        has_alpha = "A" in image.mode or "transparency" in image.info
        mode = "RGBA" if has_alpha else ("L" if image.mode in ("L", "1") else "RGB")
        image = np.asarray(image.convert(mode))
    pixels = np.asarray(image)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    if pixels.ndim != 3 or pixels.shape[2] not in (1, 2, 3, 4) or min(pixels.shape[:2]) == 0:
        raise ValueError(f"expected an (H, W), (H, W, 1|2|3|4) image, got an array of shape {pixels.shape}")
    if pixels.dtype == np.uint8:
        return _shrink(pixels).astype(np.float32) / 255.0
    pixels = pixels.astype(np.float32)
    return pixels / 255.0 if pixels.max() > 1.0 else pixels


def _shrink(pixels: np.ndarray) -> np.ndarray:
    """``(H, W, C)`` uint8 averaged over whole-number blocks until no side exceeds ``MAX_SIDE``.

    A 12-megapixel photo would otherwise cost a second and half a gigabyte of
    floats; its digit ends up 20 pixels tall anyway.
    """
    factor = math.ceil(max(pixels.shape[:2]) / MAX_SIDE)
    if factor <= 1:
        return pixels
    squeezed = pixels[:, :, 0] if pixels.shape[2] == 1 else pixels
    return np.asarray(Image.fromarray(squeezed).reduce(factor)).reshape(
        math.ceil(pixels.shape[0] / factor), math.ceil(pixels.shape[1] / factor), pixels.shape[2]
    )


def _border(values: np.ndarray) -> np.ndarray:
    """The pixels of the outer frame (``BORDER_FRACTION`` of each side, at least one pixel)."""
    h, w = values.shape
    dy, dx = max(1, round(h * BORDER_FRACTION)), max(1, round(w * BORDER_FRACTION))
    mask = np.ones((h, w), dtype=bool)
    mask[dy : h - dy, dx : w - dx] = False
    return values[mask]


def ink_image(image: Image.Image | np.ndarray) -> np.ndarray:
    """The picture as ink: ``(H, W)`` float32 in [0, 1], 1 = strongest stroke, 0 = background (white-on-black).

    Colour becomes luminance (ITU-R 601, as PIL's ``L``). Transparent pixels
    are background: where the picture has an alpha channel with transparency,
    it is laid over the colour opposite to its ink. The background is what the
    border shows mostly; a light background (black-on-white drawing) is
    inverted. The contrast is stretched so that the strongest ink is 1, as in MNIST.

    Args:
        image: a PIL image or an ``(H, W)`` / ``(H, W, C)`` array (uint8 0-255 or float 0-1),
            grey, grey + alpha, RGB or RGBA, any size.

    Raises:
        EmptyDrawing: nothing stands out from the background.
    """
    pixels = _as_float_array(image)  # (H, W, C)
    channels = pixels.shape[2]
    colour = pixels[:, :, : 3 if channels >= 3 else 1]
    grey = colour[:, :, 0] if colour.shape[2] == 1 else colour @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    if channels in (2, 4):
        alpha = pixels[:, :, -1]
        if alpha.max() < MIN_CONTRAST:
            raise EmptyDrawing("the picture is fully transparent: draw a digit first.")
        if alpha.min() < 1.0 - MIN_CONTRAST:  # transparency carries (part of) the drawing
            ink_is_light = float((grey * alpha).sum() / alpha.sum()) > 0.5
            grey = alpha * grey + (1.0 - alpha) * (0.0 if ink_is_light else 1.0)
    background = float(np.median(_border(grey)))
    ink = 1.0 - grey if background > 0.5 else grey
    floor, peak = float(np.median(_border(ink))), float(ink.max())
    if peak - floor < MIN_CONTRAST:
        raise EmptyDrawing("the picture is blank: draw a digit first.")
    return np.clip((ink - floor) / (peak - floor), 0.0, 1.0).astype(np.float32)


def ink_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    """``(top, bottom, left, right)`` (bottom and right exclusive) of the ink above ``INK_THRESHOLD``.

    Args:
        ink: ``(H, W)`` from :func:`ink_image`.
    """
    strong = ink > INK_THRESHOLD
    rows, columns = np.flatnonzero(strong.any(axis=1)), np.flatnonzero(strong.any(axis=0))
    if rows.size == 0:
        raise EmptyDrawing("the picture has no clear strokes: draw a digit first.")
    return int(rows[0]), int(rows[-1]) + 1, int(columns[0]), int(columns[-1]) + 1


def _resize(ink: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """Anti-aliased bilinear resize of ``(H, W)`` ink to ``size`` = (h, w); returns ``(h, w)``."""
    tensor = torch.from_numpy(np.ascontiguousarray(ink))[None, None]  # (1, 1, H, W)
    resized = F.interpolate(tensor, size=size, mode="bilinear", antialias=True, align_corners=False)
    return resized[0, 0].clamp_(0.0, 1.0)


def centre_of_mass(ink: torch.Tensor) -> tuple[float, float]:
    """``(row, column)`` of the ink's centre of mass, in pixel indices.

    Args:
        ink: ``(H, W)`` non-negative, not all zero.
    """
    h, w = ink.shape
    total = ink.sum()
    row = (ink.sum(dim=1) * torch.arange(h, dtype=ink.dtype)).sum() / total
    column = (ink.sum(dim=0) * torch.arange(w, dtype=ink.dtype)).sum() / total
    return float(row), float(column)


def to_mnist(image: Image.Image | np.ndarray) -> torch.Tensor:
    """A drawing -> ``(1, 1, 28, 28)`` float32 in [0, 1], white digit on black, as MNIST was made.

    Steps: ink (inverting a black-on-white drawing, honouring transparency),
    crop to the ink's bounding box, scale it to fit 20 x 20 keeping the aspect
    ratio (anti-aliased), place it in 28 x 28 with its centre of mass at the
    centre (whole pixels, as MNIST; kept inside the frame).

    Args:
        image: a PIL image or array of any size; see :func:`ink_image`.

    Raises:
        EmptyDrawing: the picture is blank.
    """
    ink = ink_image(image)
    top, bottom, left, right = ink_box(ink)
    crop = ink[top:bottom, left:right]  # (h, w)
    scale = DIGIT_BOX / max(crop.shape)
    size = (max(1, round(crop.shape[0] * scale)), max(1, round(crop.shape[1] * scale)))
    digit = _resize(crop, size)  # (h', w'), the longer side 20
    row, column = centre_of_mass(digit)
    top = min(max(round(MNIST_CENTRE - row), 0), MNIST_SIZE - size[0])
    left = min(max(round(MNIST_CENTRE - column), 0), MNIST_SIZE - size[1])
    frame = torch.zeros(1, 1, MNIST_SIZE, MNIST_SIZE)  # (1, 1, 28, 28)
    frame[0, 0, top : top + size[0], left : left + size[1]] = digit
    return frame


def naive_resize(image: Image.Image | np.ndarray) -> torch.Tensor:
    """The whole picture squeezed to ``(1, 1, 28, 28)`` (ink, anti-aliased), with no cropping or centring.

    Args:
        image: a PIL image or array of any size; see :func:`ink_image`.

    Raises:
        EmptyDrawing: the picture is blank.
    """
    return _resize(ink_image(image), (MNIST_SIZE, MNIST_SIZE))[None, None].contiguous()


def shift_rotate(digits: torch.Tensor, right: float = 0.0, down: float = 0.0, degrees: float = 0.0) -> torch.Tensor:
    """Move ``(B, 1, H, W)`` images ``right``/``down`` by pixels and turn them ``degrees`` anticlockwise.

    The turn is about the image centre; what leaves the frame is lost and what
    enters is background (0). Whole-pixel shifts without rotation move pixels exactly.

    Args:
        digits: ``(B, C, H, W)`` images, e.g. from :func:`to_mnist`.
        right: pixels to move right (negative: left).
        down: pixels to move down (negative: up).
        degrees: anticlockwise rotation as seen on screen.
    """
    return shift_rotate_each(digits, [(right, down, degrees)] * digits.shape[0])


def shift_rotate_each(digits: torch.Tensor, moves: Sequence[tuple[float, float, float]]) -> torch.Tensor:
    """:func:`shift_rotate` with its own ``(right, down, degrees)`` for each image, in one resampling.

    Args:
        digits: ``(B, C, H, W)`` images.
        moves: ``B`` triples ``(right, down, degrees)``.
    """
    _, _, h, w = digits.shape
    thetas = []
    for right, down, degrees in moves:
        angle = math.radians(degrees)
        cos, sin = math.cos(angle), math.sin(angle)
        # affine_grid maps each output position to where it reads the input, in [-1, 1] coordinates
        # (x right, y down): undo the shift, then turn back. Anticlockwise on screen is clockwise in y-down axes.
        tx, ty = 2.0 * right / w, 2.0 * down / h
        shift_x, shift_y = -(cos * tx - sin * ty), -(sin * tx + cos * ty)
        thetas.append([[cos, -sin, shift_x], [sin, cos, shift_y]])
    theta = torch.tensor(thetas, dtype=digits.dtype)  # (B, 2, 3)
    grid = F.affine_grid(theta, list(digits.shape), align_corners=False)
    return F.grid_sample(digits, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
