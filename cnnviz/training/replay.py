"""A run's replay: at moments through training, the first layer's kernels and one fixed digit's maps and prediction.

:func:`cnnviz.training.recipe.train` captures a :class:`ReplayFrame` (:func:`capture`) whenever the
:class:`Schedule` says so and hands it to its callbacks; the run folder's recorder writes each one to
``<run>/replay/<images seen>.npz`` (:func:`write_frame`, atomically, ``allow_pickle=False`` to read); pages
read them back with :func:`load_replay`. A frame is a few kilobytes (the default classifier: about 4 KB), so a
run's 40-60 frames stay far inside the runs folder's disk budget, which counts them like every other file.

The fixed digit is the first validation digit, the same for every run (the lab's split is seeded), so two
runs' replays show the same digit. Its maps are the first convolution's output after its ReLU (what the next
layer reads), one byte per value over each map's own range.
"""

from __future__ import annotations

import bisect
import io
import os
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from cnnviz.data.mnist import to_float
from cnnviz.files import atomic_write_bytes

FOLDER = "replay"  # inside a run folder
CHECKPOINT_NAME = "checkpoint.pt"  # a run folder's checkpoint (cnnviz.training.runs), next to its replay
FIRST_MOMENT = 256  # images seen at the first frame after the untrained one; moments double from here...
REGULAR_FRAMES = 40  # ...and besides them, this many frames evenly spaced over the whole run
MAX_FRAMES = 64  # frames one run may hold (the schedule gives at most 1 + 40 + log2(images / 256))
MAX_CHANNELS = 32  # the first layer's channels kept per frame (a wider layer shows its first 32)
MAX_FRAME_BYTES = 128 * 1024  # a frame file larger than this is not written (a damaged model's weights, say)
IMAGE_SIDE = 28  # the fixed digit's side (MNIST)
_ARCHIVE_OVERHEAD = 2048  # the .npz's zip entries and .npy headers, eight arrays


def disk_bytes(channels: int, kernel_size: int, in_channels: int = 1) -> int:
    """The most a run's replay takes on disk, for a first convolution of ``channels`` x ``kernel_size``^2.

    Frames uncompressed (compression only shrinks them: the default classifier's are 4.6 KB of the 15.5 KB
    this counts), :data:`MAX_FRAMES` of them: what :func:`cnnviz.training.jobs.submit` reserves besides the
    checkpoint (about 1 MB for the default classifier, 2.6 MB at most).
    """
    kept = min(channels, MAX_CHANNELS)
    frame = 2 * kept * in_channels * kernel_size**2 + kept * (IMAGE_SIDE**2 + 4) + IMAGE_SIDE**2 + 10 * 4 + 32
    return MAX_FRAMES * (frame + _ARCHIVE_OVERHEAD)


class Schedule:
    """The moments (images seen) of a run of ``total_images`` at which a frame is captured.

    Dense early, where the filters change most: 0 (untrained), 256, 512, 1,024, ... doubling while below
    ``total_images``; and :data:`REGULAR_FRAMES` moments evenly spread up to the end. A step that passes several
    moments (a large batch, a short run) captures one frame.
    """

    def __init__(self, total_images: int):
        moments = {0} | {round(total_images * i / REGULAR_FRAMES) for i in range(1, REGULAR_FRAMES + 1)}
        doubling = FIRST_MOMENT
        while doubling < total_images:
            moments.add(doubling)
            doubling *= 2
        self.moments = tuple(sorted(moments))

    def due(self, before: int, after: int) -> bool:
        """Whether a moment lies in ``(before, after]``: a step took the images seen from ``before`` to ``after``."""
        return bisect.bisect_right(self.moments, after) > bisect.bisect_right(self.moments, before)


@dataclass(frozen=True, eq=False)
class ReplayFrame:
    """One moment of a run, as stored (eq=False: arrays, compared by identity)."""

    images: int  # training images seen so far
    epoch: float  # epochs done, fractional
    kernels: np.ndarray  # (C, C_in, k, k) float16: the first convolution's weights (its first MAX_CHANNELS)
    digit: np.ndarray  # (28, 28) uint8: the fixed validation digit
    label: int  # its true digit
    maps: np.ndarray  # (C, H, W) uint8: the first convolution's output after ReLU, 0-255 over each map's range
    map_high: np.ndarray  # (C,) float32: the value 255 stands for in each map (0 stands for 0)
    probabilities: np.ndarray  # (10,) float32 for a classifier; (0,) for an autoencoder

    def map_values(self) -> np.ndarray:
        """``(C, H, W)`` float32 maps back from their bytes (within 1/255 of each map's largest value)."""
        return self.maps.astype(np.float32) * (self.map_high[:, None, None] / 255.0)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            images=np.int64(self.images),
            epoch=np.float64(self.epoch),
            kernels=self.kernels,
            digit=self.digit,
            label=np.int64(self.label),
            maps=self.maps,
            map_high=self.map_high,
            probabilities=self.probabilities,
        )
        return buffer.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> ReplayFrame:
        """A frame from :meth:`to_bytes`; ``ValueError`` for anything else (a damaged or foreign file)."""
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as archive:
                arrays = {name: archive[name] for name in archive.files}
        except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as error:
            raise ValueError(f"not a replay frame: {error}") from error
        try:
            kernels, digit, maps = arrays["kernels"], arrays["digit"], arrays["maps"]
            map_high, probabilities = arrays["map_high"], arrays["probabilities"]
            frame = cls(
                images=int(arrays["images"]),
                epoch=float(arrays["epoch"]),
                kernels=kernels.astype(np.float16, copy=False),
                digit=digit,
                label=int(arrays["label"]),
                maps=maps,
                map_high=map_high.astype(np.float32, copy=False),
                probabilities=probabilities.astype(np.float32, copy=False),
            )
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a replay frame: {error}") from error
        channels = kernels.shape[0] if kernels.ndim == 4 else -1
        if not (
            digit.dtype == np.uint8
            and digit.ndim == 2
            and maps.dtype == np.uint8
            and maps.ndim == 3
            and maps.shape[0] == channels == map_high.shape[0]
            and probabilities.ndim == 1
        ):
            raise ValueError("not a replay frame: its arrays have the wrong shapes or types.")
        return frame


FLOAT16_MAX = float(np.finfo(np.float16).max)


def _finite(values: np.ndarray) -> np.ndarray:
    """float32 ``values`` with NaN as 0 and everything within float16's range."""
    return np.clip(np.nan_to_num(values, nan=0.0), -FLOAT16_MAX, FLOAT16_MAX).astype(np.float32)


def first_convolution(model: nn.Module) -> nn.Conv2d:
    """The model's first 2-D convolution (the lab's models start with one)."""
    return next(module for module in model.modules() if isinstance(module, nn.Conv2d))


@torch.no_grad()
def capture(model: nn.Module, digit: torch.Tensor, label: int, images: int, epoch: float) -> ReplayFrame:
    """The frame of ``model`` now, on ``digit`` (uint8 ``(1, 28, 28)``); the model is left in the mode it was in.

    Runs the model once in eval mode, so it draws no random numbers: a resumed run stays on the same curve.
    """
    conv = first_convolution(model)
    caught: list[torch.Tensor] = []
    handle = conv.register_forward_hook(lambda module, inputs, output: caught.append(output))
    was_training = model.training
    model.eval()
    try:
        output = model(to_float(digit[None]).to(conv.weight.device))  # (1, 10) logits or (1, 1, 28, 28)
    finally:
        handle.remove()
        model.train(was_training)
    # A run about to diverge has huge or non-finite values: kept finite, so the frame stays readable JSON for the page.
    maps = _finite(torch.relu(caught[0][0, :MAX_CHANNELS]).float().cpu().numpy())  # (C, H, W)
    high = maps.max(axis=(1, 2))
    scale = np.where(high > 0, 255.0 / np.where(high > 0, high, 1.0), 0.0)
    quantised = np.clip(np.rint(maps * scale[:, None, None]), 0, 255).astype(np.uint8)
    probabilities = np.zeros(0, np.float32)  # an autoencoder predicts no digit
    if output.ndim == 2:
        probabilities = _finite(torch.softmax(output[0].float(), 0).cpu().numpy())
    return ReplayFrame(
        images=int(images),
        epoch=float(epoch),
        kernels=_finite(conv.weight[:MAX_CHANNELS].detach().float().cpu().numpy()).astype(np.float16),
        digit=digit[0].cpu().numpy().astype(np.uint8),
        label=int(label),
        maps=quantised,
        map_high=high.astype(np.float32),
        probabilities=probabilities,
    )


def replay_dir(run_folder: str | os.PathLike) -> Path:
    return Path(run_folder) / FOLDER


def _frame_files(folder: Path) -> list[Path]:
    try:
        names = sorted(entry.name for entry in os.scandir(folder) if entry.is_file())
    except OSError:
        return []
    return [folder / name for name in names if name.endswith(".npz") and name[:-4].isdigit()]


def write_frame(run_folder: str | os.PathLike, frame: ReplayFrame) -> bool:
    """Store ``frame`` in the run's replay (atomically); False when it was over a limit and not written.

    Named by the images seen, so a resumed run that captures the same moment again replaces it.
    """
    folder = replay_dir(run_folder)
    path = folder / f"{frame.images:012d}.npz"
    data = frame.to_bytes()
    if len(data) > MAX_FRAME_BYTES:
        return False
    if not path.exists() and len(_frame_files(folder)) >= MAX_FRAMES:
        return False
    atomic_write_bytes(path, data)
    return True


def truncate_replay(run_folder: str | os.PathLike, images: int) -> None:
    """Drop the frames taken after ``images`` images seen (resuming from a checkpoint taken there; -1: all)."""
    for path in _frame_files(replay_dir(run_folder)):
        if int(path.stem) > images:
            path.unlink(missing_ok=True)


_CACHE_ENTRIES = 4096  # frames kept parsed (a few KB each): a poll of an unchanged replay reads nothing
_cache: dict[str, tuple[tuple, ReplayFrame]] = {}
_cache_lock = threading.Lock()


def _read(path: Path) -> ReplayFrame | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    stamp = (stat.st_size, stat.st_mtime_ns, stat.st_ino)
    cached = _cache.get(str(path))
    if cached is not None and cached[0] == stamp:
        return cached[1]
    try:
        frame = ReplayFrame.from_bytes(path.read_bytes())
    except (OSError, ValueError):
        return None  # removed meanwhile, or damaged: the replay shows the others
    with _cache_lock:
        if len(_cache) >= _CACHE_ENTRIES:
            _cache.clear()
        _cache[str(path)] = (stamp, frame)
    return frame


def load_replay(run_folder: str | os.PathLike) -> tuple[ReplayFrame, ...]:
    """The run's frames in the order they were taken; empty for a run without a replay (older runs, none yet)."""
    frames = (_read(path) for path in _frame_files(replay_dir(run_folder)))
    return tuple(frame for frame in frames if frame is not None)


def replay_of_checkpoint(checkpoint: str | os.PathLike) -> tuple[ReplayFrame, ...]:
    """The replay of the run whose ``checkpoint.pt`` this is; empty for any other file (a shipped model)."""
    path = Path(checkpoint)
    return load_replay(path.parent) if path.name == CHECKPOINT_NAME else ()
