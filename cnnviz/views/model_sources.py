"""Which trained networks the draw page can use: the shipped ones, finished runs, an uploaded checkpoint."""

from __future__ import annotations

import collections
import hashlib
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from models import PRETRAINED_DIR, CheckpointError, load_model
from models.checkpoint import max_file_bytes, model_kind


@dataclass(frozen=True)
class ModelSource:
    """A checkpoint file the page offers, and how to name it."""

    label: str  # shown in the model picker, e.g. "shipped classifier"
    path: Path  # the checkpoint file
    kind: str  # "classifier" or "autoencoder"


def shipped(kind: str) -> ModelSource:
    """The model shipped in ``models/pretrained/`` (the file may be missing; loading then says so).

    Args:
        kind: ``"classifier"`` or ``"autoencoder"``.
    """
    return ModelSource(f"shipped {kind}", PRETRAINED_DIR / f"{kind}.pt", kind)


def finished_runs(kind: str) -> list[ModelSource]:
    """Finished training runs of ``kind`` that left a checkpoint, newest first.

    Args:
        kind: ``"classifier"`` or ``"autoencoder"``.
    """
    try:
        from cnnviz.training.runs import list_runs
    except ImportError:  # a checkout without training support offers the shipped models only
        return []
    sources = []
    for run in reversed(list_runs()):
        try:
            usable = run.state == "finished" and run.config.model == kind and run.checkpoint_path.exists()
        except (KeyError, TypeError, ValueError):  # a run folder with a damaged config.json: not offered
            continue
        if usable:
            sources.append(ModelSource(f"run: {run.name}", run.checkpoint_path, kind))
    return sources


def model_sources(kind: str) -> list[ModelSource]:
    """Everything to choose from for ``kind``: the shipped model first, then finished runs."""
    return [shipped(kind), *finished_runs(kind)]


def file_stamp(path: str | os.PathLike) -> tuple[str, float]:
    """``(path, modification time)``: a cache key that changes when the file is rewritten (0.0 if missing)."""
    try:
        return str(path), os.stat(path).st_mtime
    except OSError:
        return str(path), 0.0


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def checkpoint_upload_mb() -> int:
    """The checkpoint uploaders' own limit in MB (``st.file_uploader(max_upload_size=...)``), from the file limit."""
    return math.ceil(max_file_bytes() / 2**20)


DRAW_INPUT = (1, 28, 28)  # what the draw page feeds a model: one grey 28 x 28 digit
DIGITS = 10  # classes the draw page shows
REFUSALS_KEPT = 64  # refused files remembered, so a bad one is not re-read on every pen stroke
_refusals: collections.OrderedDict[tuple, CheckpointError] = collections.OrderedDict()
_refusals_lock = threading.Lock()


def _fingerprint(source: str | os.PathLike | bytes, kind: str) -> tuple:
    """Identifies a file version: a hash of uploaded bytes, or a path with its size and modification time."""
    if isinstance(source, bytes):
        return ("bytes", hashlib.sha256(source).hexdigest(), kind)
    try:
        stat = os.stat(source)
        return ("path", str(source), stat.st_size, stat.st_mtime_ns, kind)
    except OSError:
        return ("missing", str(source), kind)


def _check_fits_the_draw_page(model: nn.Module, kind: str) -> None:
    """A model that reads other images (3 channels, 32 pixels) or gives other than 10 digits is refused by name."""
    backbone = model.config.backbone
    if (backbone.in_channels, backbone.input_size, backbone.input_size) != DRAW_INPUT:
        raise CheckpointError(
            f"this {kind} reads {backbone.in_channels}-channel {backbone.input_size} x {backbone.input_size} images; "
            "the draw page needs one grey 28 x 28 digit (in_channels 1, input_size 28)."
        )
    if kind == "classifier" and model.config.num_classes != DIGITS:
        raise CheckpointError(
            f"this classifier has {model.config.num_classes} classes; the draw page needs the 10 digits 0-9."
        )


def load_checked(source: str | os.PathLike | bytes, kind: str) -> nn.Module:
    """Load a checkpoint (path or uploaded bytes) and make sure the draw page can use it; eval mode.

    The weights are kept in the channels-last memory format (and :func:`cnnviz.device.to_model` lays out
    the batches to match): on the CPU, oneDNN's convolutions and max pooling then take about a third less
    time on the pages' small batches (the draw page's 20-digit sweep: 10.0 -> 6.5 ms, best of 30 on the
    2-core machine; ``read_picture`` 25 -> 16 ms in ``python -m benchmarks draw``). Results are the same
    numbers; only the layout differs.

    A refusal is remembered per file version (the last :data:`REFUSALS_KEPT`), so
    calling this again with the same bad file raises at once without reading it.

    Args:
        source: a checkpoint path or its raw bytes.
        kind: the model the caller needs, ``"classifier"`` or ``"autoencoder"``.

    Raises:
        CheckpointError: unreadable, unsafe, over the server's limits, a model of the
            other kind, or one that does not read 28 x 28 grey digits (the message says which).
    """
    key = _fingerprint(source, kind)
    with _refusals_lock:
        if key in _refusals:
            _refusals.move_to_end(key)
            raise _refusals[key]
    try:
        return _load_checked(source, kind)
    except CheckpointError as error:
        with _refusals_lock:
            _refusals[key] = error
            while len(_refusals) > REFUSALS_KEPT:
                _refusals.popitem(last=False)
        raise


def _load_checked(source: str | os.PathLike | bytes, kind: str) -> nn.Module:
    if not isinstance(source, bytes) and not Path(source).exists():
        if Path(source).parent == PRETRAINED_DIR:
            raise CheckpointError(
                f"the shipped {kind} is missing ({source}); train one on the Train page or upload a checkpoint."
            )
        raise CheckpointError(f"no checkpoint at {source}.")
    model = load_model(source)
    found = model_kind(model)
    if found != kind:
        raise CheckpointError(f"this checkpoint holds {_article(found)} {found}; pick {_article(kind)} {kind}.")
    _check_fits_the_draw_page(model, kind)
    return model.to(memory_format=torch.channels_last)
