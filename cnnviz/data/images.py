"""Images for the explorer: shipped samples, validated uploads, conversion to an input tensor.

Uploads are checked before they are decoded (format, pixel count against
decompression bombs) and then normalised to 8-bit grayscale or RGB; anything
converted on the way (16-bit, CMYK, palette, alpha) is reported in plain words.

``python -m cnnviz.data.images`` rewrites the shipped samples in ``cnnviz/samples/``.
"""

from __future__ import annotations

import functools
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

SAMPLES_DIR = Path(__file__).parent / "samples"
ACCEPTED_FORMATS = ("PNG", "JPEG", "MPO")  # MPO: a JPEG holding several pictures, as phones write; the first is used
MAX_UPLOAD_MB = 20  # far above any photo a student needs here; the image uploaders' max_upload_size
MAX_UPLOAD_BYTES = MAX_UPLOAD_MB * 1024 * 1024
MAX_UPLOAD_PIXELS = 40_000_000  # 40 megapixels; larger (or lying) headers are refused before decoding
MAX_ASPECT_RATIO = 20  # longer side / shorter side; a 40,000,000 x 1 strip passes the pixel limit but breaks resizing
MNIST_SAMPLE_COUNT = 5  # digits shipped as samples


class ImageRejected(ValueError):
    """An upload that cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class LoadedImage:
    """An 8-bit image ready for the explorer."""

    pixels: np.ndarray  # (H, W) uint8 grayscale or (H, W, 3) uint8 RGB
    name: str  # shown on the page
    notes: tuple[str, ...] = field(default_factory=tuple)  # conversions made, in plain words

    @property
    def channels(self) -> int:
        return 1 if self.pixels.ndim == 2 else 3


def decode_upload(data: bytes, name: str = "upload") -> LoadedImage:
    """Validate and decode an uploaded PNG or JPEG.

    Raises:
        ImageRejected: empty, too large, not an image, not PNG/JPEG, a
            decompression bomb, or truncated / corrupt.
    """
    if not data:
        raise ImageRejected(f"{name} is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageRejected(f"{name} is {len(data) / 2**20:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MB.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise ImageRejected(
                    f"{name} is a {image.format or 'unknown'} file; upload a PNG or JPEG (save it as PNG first)."
                )
            width, height = image.size
            if min(width, height) < 1 or max(width, height) > MAX_ASPECT_RATIO * min(width, height):
                raise ImageRejected(
                    f"{name} is {width} x {height} pixels: at most {MAX_ASPECT_RATIO} times as long as it is wide "
                    "is accepted. Crop it to the part that matters first."
                )
            if width * height > MAX_UPLOAD_PIXELS:
                raise ImageRejected(
                    f"{name} claims {width} x {height} pixels ({width * height / 1e6:.0f} megapixels); the limit "
                    f"is {MAX_UPLOAD_PIXELS / 1e6:.0f} megapixels. Scale it down first."
                )
            if getattr(image, "n_frames", 1) > 1:
                image.seek(0)  # the first picture of an MPO (or the first frame of an animated PNG)
            image.load()
    except ImageRejected:
        raise
    except UnidentifiedImageError:
        raise ImageRejected(f"{name} is not an image that can be read; upload a PNG or JPEG.") from None
    except (Image.DecompressionBombWarning, Image.DecompressionBombError):
        raise ImageRejected(f"{name} is too large to decode safely (a decompression bomb?); scale it down.") from None
    except (OSError, SyntaxError, ValueError) as error:
        raise ImageRejected(f"{name} is damaged or truncated and cannot be decoded ({error}).") from None
    return normalise(image, name)


def normalise(image: Image.Image, name: str) -> LoadedImage:
    """Any decoded PIL image -> 8-bit grayscale or RGB, saying what was converted."""
    notes: list[str] = []
    image = ImageOps.exif_transpose(image) or image
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "I;16N"):
        array = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if array.max(initial=0) > 255 or mode.startswith("I;16") else 255.0
        image = Image.fromarray(np.clip(np.rint(array / peak * 255.0), 0, 255).astype(np.uint8), mode="L")
        notes.append("16-bit grayscale was reduced to 8 bits.")
    elif mode == "F":
        array = np.asarray(image, dtype=np.float64)
        low, high = float(array.min()), float(array.max())
        scaled = (array - low) / (high - low) * 255.0 if high > low else np.zeros_like(array)
        image = Image.fromarray(scaled.astype(np.uint8), mode="L")
        notes.append("floating-point pixels were scaled to 8 bits.")
    elif mode == "1":
        image = image.convert("L")
        notes.append("black-and-white pixels were turned into grayscale.")
    elif mode == "CMYK":
        image = image.convert("RGB")
        notes.append("CMYK colours were converted to RGB.")
    elif mode in ("P", "PA"):
        has_alpha = "transparency" in image.info or mode == "PA"
        image = image.convert("RGBA" if has_alpha else "RGB")
        notes.append("the palette image was expanded to RGB.")
    elif mode in ("YCbCr", "LAB", "HSV", "RGBX"):
        image = image.convert("RGB")
        notes.append(f"{mode} colours were converted to RGB.")
    if image.mode in ("RGBA", "LA") and image.getchannel("A").getextrema()[0] == 255:
        image = image.convert("RGB" if image.mode == "RGBA" else "L")  # nothing is transparent: no fill to choose
    if image.mode in ("RGBA", "LA", "La", "RGBa"):
        fill, fill_name = _contrasting_fill(image.convert("RGBA"))
        background = Image.new("RGBA", image.size, (fill, fill, fill, 255))
        flattened = Image.alpha_composite(background, image.convert("RGBA"))
        image = flattened.convert("RGB" if image.mode.startswith("RGB") else "L")
        notes.append(f"transparent areas were filled with {fill_name} (the alpha channel was dropped).")
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
        notes.append(f"{mode} pixels were converted to RGB.")
    return LoadedImage(np.asarray(image).copy(), name, tuple(notes))


def _contrasting_fill(rgba: Image.Image) -> tuple[int, str]:
    """Grey level for transparent areas: white behind dark content, black behind light content.

    White ink on a transparent background (a common way to save a drawing)
    would vanish on white.
    """
    pixels = np.asarray(rgba, dtype=np.float32)
    opaque = pixels[..., 3] > 127
    if not opaque.any():
        return 255, "white"
    luminance = pixels[..., :3][opaque] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
    return (0, "black") if float(luminance.mean()) > 127 else (255, "white")


def to_input(image: LoadedImage, height: int, width: int) -> torch.Tensor:
    """The image resized to ``height x width`` as a ``(C, H, W)`` float32 tensor in [0, 1].

    Args:
        image: grayscale (C = 1) or RGB (C = 3).
        height: rows of the layer's input.
        width: columns of the layer's input.
    """
    pil = Image.fromarray(image.pixels)
    if pil.size != (width, height):
        pil = pil.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=2.0)
    array = np.asarray(pil, dtype=np.float32) / 255.0
    array = array[None] if array.ndim == 2 else array.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(array))


# --- shipped samples ------------------------------------------------------------------


@functools.cache
def _shipped_sample_names() -> tuple[str, ...]:
    names = sorted(p.stem for p in SAMPLES_DIR.glob("*.png"))
    return tuple(sorted(names, key=lambda n: (n.startswith("mnist"), n)))


def sample_names() -> list[str]:
    """Names of the shipped sample images (file stems), colour image first (read once: they ship with the app)."""
    return list(_shipped_sample_names())


@functools.cache
def load_sample(name: str) -> LoadedImage:
    """A shipped sample by name, decoded once per process (its pixels are read-only: every session shares them).

    Raises:
        ImageRejected: for a name that is not shipped (e.g. a stale link).
    """
    if name not in _shipped_sample_names():
        raise ImageRejected(f"there is no sample called {name!r}; choose one of {', '.join(sample_names())}.")
    with Image.open(SAMPLES_DIR / f"{name}.png") as image:
        loaded = normalise(image, name)
    loaded.pixels.flags.writeable = False
    return loaded


def make_colour_sample(size: int = 256) -> np.ndarray:
    """A colourful test scene drawn with numpy: sky gradient, sun, striped hills, a checkered box.

    Edges in every direction, flat areas and fine stripes, so each kernel has
    something to show.
    """
    rows, cols = np.mgrid[0:size, 0:size] / (size - 1)
    image = np.zeros((size, size, 3))
    image[..., 0] = 0.35 + 0.4 * rows  # sky: blue at the top, warmer below
    image[..., 1] = 0.55 + 0.25 * rows
    image[..., 2] = 0.95 - 0.3 * rows
    sun = (rows - 0.25) ** 2 + (cols - 0.75) ** 2 < 0.12**2
    image[sun] = (1.0, 0.85, 0.1)
    hill = rows > 0.62 + 0.12 * np.sin(cols * 2 * np.pi * 1.3)
    stripes = (np.floor(cols * 24 + rows * 6) % 2) == 0
    image[hill] = (0.15, 0.55, 0.2)
    image[hill & stripes] = (0.25, 0.7, 0.3)
    box = (rows > 0.3) & (rows < 0.55) & (cols > 0.12) & (cols < 0.42)
    checks = ((np.floor(rows * 32) + np.floor(cols * 32)) % 2) == 0
    image[box] = (0.8, 0.15, 0.15)
    image[box & checks] = (0.95, 0.95, 0.95)
    return np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)


def write_samples(directory: Path = SAMPLES_DIR) -> list[Path]:
    """Write the colour scene and the first test-set image of digits 0 .. MNIST_SAMPLE_COUNT - 1."""
    from cnnviz.data.mnist import load_mnist

    directory.mkdir(parents=True, exist_ok=True)
    paths = [directory / "colour_scene.png"]
    Image.fromarray(make_colour_sample()).save(paths[0], optimize=True)
    test = load_mnist().test
    for digit in range(MNIST_SAMPLE_COUNT):
        index = int((test.labels == digit).nonzero()[0])
        path = directory / f"mnist_{digit}.png"
        Image.fromarray(test.images[index, 0].numpy()).save(path, optimize=True)
        paths.append(path)
    return paths


if __name__ == "__main__":
    for written in write_samples():
        print(written)
