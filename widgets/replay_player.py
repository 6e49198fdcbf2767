"""Mount a run's replay (:mod:`cnnviz.training.replay`): a slider and play over its frames, all in the browser.

Every frame travels once, in PNGs of colour indices (the kernels of all frames stacked, their change since the
first frame, the maps of all frames), so scrubbing and playing ask the server nothing. Kernels are signed:
blue-white-red, white at zero, each frame over its own largest weight; their change over one range for the
whole run; maps are after ReLU: viridis from 0 to each map's largest value (cnnviz.views.palette's
colour-blind-safe maps, painted by the same tables as widgets/map_grid).
"""

from __future__ import annotations

import base64
import collections
import hashlib
import io
import threading
from collections.abc import Sequence

import numpy as np
import streamlit as st
from PIL import Image

from cnnviz.training.replay import ReplayFrame
from cnnviz.views.palette import DIVERGING, SEQUENTIAL, TEN_CLASS_COLOURS, quantize
from widgets.assets import colormap_constants, palette_constants, sent, source, with_palette

_COMPONENT = st.components.v2.component(
    "cnnviz.replay",
    js=colormap_constants() + palette_constants() + source("lut.js") + source("replay_player.js"),
    css=with_palette(source("replay_player.css")),
)
FRAME_MS = 250  # a default run's ~50 frames play in about 12 seconds
_PAYLOADS_KEPT = 16  # the frames of a replay are only re-encoded when a new one arrives
_payloads: collections.OrderedDict[tuple[int, ...], tuple[tuple[ReplayFrame, ...], dict]] = collections.OrderedDict()
_payloads_lock = threading.Lock()


def _png(indices: np.ndarray) -> str:
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(indices), mode="L").save(buffer, format="PNG", compress_level=6)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def replay_payload(frames: Sequence[ReplayFrame]) -> dict:
    """What the browser gets for ``frames`` (taken by one run: same shapes), without the live flag.

    Kept per list of frame objects (:func:`cnnviz.training.replay.load_replay` returns the same objects while
    the files are unchanged), so a live page's reruns encode a replay only when a frame was added.
    """
    frames = tuple(frames)
    key = tuple(id(frame) for frame in frames)  # the entry holds the frames: an id cannot be reused meanwhile
    with _payloads_lock:
        cached = _payloads.get(key)
        if cached is not None:
            _payloads.move_to_end(key)
            return cached[1]
    payload = _build(frames)
    with _payloads_lock:
        _payloads[key] = (frames, payload)
        while len(_payloads) > _PAYLOADS_KEPT:
            _payloads.popitem(last=False)
    return payload


def _build(frames: tuple[ReplayFrame, ...]) -> dict:
    if not frames:
        raise ValueError("a replay needs at least one frame.")
    kernels = np.stack([frame.kernels[:, 0].astype(np.float32) for frame in frames])  # (F, C, k, k) input channel 0
    largest = np.abs(kernels).max(axis=(1, 2, 3))  # (F,) each frame's own symmetric range
    largest = np.where(largest > 0, largest, 1.0)
    indices = quantize(kernels, -largest[:, None, None, None], largest[:, None, None, None])
    count, channels, k, _ = kernels.shape
    # A first layer's kernels move little from their random start (about 8% in a 12,000-image run): what
    # training changed, on one range for all moments, shows them form where the kernels alone look still.
    change = kernels - kernels[0]
    widest = float(np.abs(change).max()) or 1.0
    change_indices = quantize(change, -widest, widest)
    start_norm = float(np.linalg.norm(kernels[0])) or 1.0
    maps = np.stack([frame.maps for frame in frames])  # (F, C, H, W) already 0-255 over [0, each map's max]
    _, _, height, width = maps.shape
    last = frames[-1]
    kernels_png = _png(indices.reshape(count * channels * k, k))
    maps_png = _png(maps.reshape(count * channels * height, width))
    return {
        "signature": hashlib.blake2b((kernels_png + maps_png).encode("ascii"), digest_size=12).hexdigest(),
        "channels": channels,
        "kernel": k,
        "height": height,
        "width": width,
        "kernels_png": kernels_png,
        "maps_png": maps_png,
        "change_png": _png(change_indices.reshape(count * channels * k, k)),
        "change_largest": float(f"{widest:.3g}"),
        "first_images": frames[0].images,
        "digit_png": _png(last.digit),
        "label": last.label,
        "kernel_cmap": DIVERGING,
        "map_cmap": SEQUENTIAL,
        "class_colours": list(TEN_CLASS_COLOURS),
        "frame_ms": FRAME_MS,
        "frames": [
            {
                "images": frame.images,
                "epoch": round(frame.epoch, 3),
                "largest": float(f"{largest[i]:.3g}"),
                "moved": round(float(np.linalg.norm(change[i])) / start_norm, 4),
                "map_high": [round(float(v), 3) for v in frame.map_high],
                "probabilities": [round(float(p), 4) for p in frame.probabilities],
            }
            for i, frame in enumerate(frames)
        ],
    }


def replay_player(frames: Sequence[ReplayFrame], *, key: str, live: bool = False) -> None:
    """Draw the replay; ``live``: the run is still training, so the player follows each new frame unless moved.

    The frames travel once per session: a rerun that changes nothing sends their signature alone (a live
    run's panel reruns about once a second; the default run's ~50 frames are ~140 KB). A browser that no
    longer holds them (the component was mounted afresh) asks for them back through the ``missing`` trigger.
    """
    payload = replay_payload(frames)
    signature = payload["signature"]
    sent_key = f"{key}__sent"
    asked = (st.session_state.get(key) or {}).get("missing")
    if st.session_state.get(sent_key) == signature and asked != signature:
        data = {"signature": signature, "live": live}
    else:
        data = {**payload, "live": live}
        st.session_state[sent_key] = signature
    _COMPONENT(key=key, data=sent(data), on_missing_change=lambda: None)
