"""Everything the explorer page shows for one set of settings, in one call.

The page reads its widgets into an :class:`~cnnviz.explorer.ExplorerSettings`,
calls :func:`build_view`, and renders the result; all the work of a rerun
(arithmetic, the animation's description, the convolution, the map grid)
happens here, so the benchmark measures exactly what an interaction costs.
"""

from __future__ import annotations

import functools
import io
from dataclasses import dataclass, replace

import numpy as np
import torch
from PIL import Image

from cnnviz.data import images
from cnnviz.explorer import animation
from cnnviz.explorer.layer2d import (
    SETTINGS,
    ExplorerSettings,
    LayerReport,
    MapsUnavailable,
    analyze,
    feature_maps,
)
from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.views.grids import MapGrid, map_grid


@dataclass(frozen=True)
class ExplorerView:
    """What the page renders."""

    settings: ExplorerSettings  # the settings the view was built from
    report: LayerReport | None  # None when the layer cannot work
    error: InvalidLayerConfig | None  # why it cannot work
    animation: animation.AnimationPayload | None  # the sliding window, step by step, drawn by the browser;
    # None: the layer cannot work, or slides no window
    animation_caption: str  # what the animation shows, or why the layer has none
    maps: MapGrid | None  # the feature maps (None: off, or unavailable)
    maps_message: str  # what the maps show, or why they are missing
    kernel: np.ndarray | None  # the 2-D kernel used on every channel, if one
    input_preview: InputPreview | None = None  # the image as the layer receives it


@dataclass(frozen=True)
class InputPreview:
    """The input image as the layer receives it (resized), ready to show."""

    png: bytes  # grayscale or RGB PNG
    height: int  # rows
    width: int  # columns


# Only the layer and its input's size shape the animation; the image and kernel do not.
_ANIMATION_FIELDS = ("layer", "height", "width", "in_channels", *(s.field for s in SETTINGS if s.spec_field))


def animation_key(settings: ExplorerSettings) -> ExplorerSettings:
    """The settings with everything the animation ignores reset, for caching."""
    defaults = ExplorerSettings()
    return replace(defaults, **{name: getattr(settings, name) for name in _ANIMATION_FIELDS}, batch=1)  # type: ignore[arg-type]


@functools.lru_cache(maxsize=64)
def animation_payload(
    settings: ExplorerSettings, report: LayerReport | None = None
) -> tuple[animation.AnimationPayload | None, str]:
    """The sliding-window description and caption (cached: changing the image or kernel reuses it); for a
    layer that slides no window, None and the line that says so.

    Args:
        settings: :func:`animation_key` of the explored settings.
        report: :func:`analyze` of the explored settings, when the caller has it (the window reads only its
            sizes and padding, which the key keeps); None: analysed here.

    The payload is shared between sessions through the cache (it is frozen).
    """
    line = animation.no_window(settings)
    if line is not None:
        return None, line
    window = animation.sliding_window(settings, analyze(settings) if report is None else report)
    return animation.payload(window), window.caption


def analysis(settings: ExplorerSettings) -> LayerReport | InvalidLayerConfig:
    """:func:`analyze`, or why the layer cannot work (what :func:`build_view` takes, so a page analyses once)."""
    try:
        return analyze(settings)
    except InvalidLayerConfig as error:
        return error


def build_view(
    settings: ExplorerSettings,
    image: images.LoadedImage | None = None,
    kernel_grid: np.ndarray | None = None,
    analysed: LayerReport | InvalidLayerConfig | None = None,
) -> ExplorerView:
    """Analyse the layer, build the animation, and run the layer on ``image`` when maps are on.

    Args:
        settings: the explored layer (already clamped to the controls' ranges).
        image: the input image; its channels must equal ``settings.in_channels``.
        kernel_grid: the edited kernel (``kernel_mode == "edit"``).
        analysed: :func:`analysis` of ``settings`` when the caller made it (the layer is analysed once).
    """
    report = analysis(settings) if analysed is None else analysed
    if isinstance(report, InvalidLayerConfig):
        return ExplorerView(settings, None, report, None, "", None, "", None)
    description, caption = animation_payload(animation_key(settings), report)
    maps, message, kernel, preview = None, "", None, None
    if settings.maps and image is not None:
        try:
            shipped = image.name in images.sample_names() and image is images.load_sample(image.name)
            prepare = _prepared_sample if shipped else _prepared
            x, preview = prepare(image.name if shipped else image, settings.height, settings.width)
            result = feature_maps(x, settings, report, kernel_grid)
        except MapsUnavailable as error:
            message = str(error)
        else:
            kernel = result.kernel
            shown = result.maps.shape[0]
            channels = (
                f"all {result.total_channels} output channels"
                if shown == result.total_channels
                else (f"the first {shown} of {result.total_channels} output channels")
            )
            _, h, w = result.maps.shape
            title = f"{settings.layer} on {image.name}: {channels}, each {h} x {w}"
            maps = map_grid(result.maps, titles=result.titles, title=title)
            message = f"{result.description[0].upper()}{result.description[1:]}."
    return ExplorerView(settings, report, None, description, caption, maps, message, kernel, preview)


def _prepared(image: images.LoadedImage, height: int, width: int) -> tuple[torch.Tensor, InputPreview]:
    """The image resized for the layer, ``(C, H, W)`` in [0, 1], and its preview."""
    x = images.to_input(image, height, width)
    pixels = (x.permute(1, 2, 0).squeeze(2).numpy() * 255).round().astype(np.uint8)  # (H, W) or (H, W, 3)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG", compress_level=1)
    return x, InputPreview(buffer.getvalue(), height, width)


@functools.lru_cache(maxsize=64)
def _prepared_sample(name: str, height: int, width: int) -> tuple[torch.Tensor, InputPreview]:
    """:func:`_prepared` for a shipped sample, once per size and shared by every session (read, never written).

    Most clicks change the layer, not its input: resizing and encoding the picture again cost ~3 ms of each.
    """
    return _prepared(images.load_sample(name), height, width)
