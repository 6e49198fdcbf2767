"""Results computed once per model file (latent projections, filter pictures), kept on disk.

A result lives beside its checkpoint (``checkpoint.latent.pt`` next to
``checkpoint.pt``) and records the SHA-256 of the file it came from, so a
checkpoint that is rewritten (a resumed run) is recomputed, never misread.
Shipped models in ``models/pretrained`` stay read-only, and uploaded
checkpoints have no folder: their results go to ``$CNNVIZ_RUNS_DIR/cache``,
named by the hash. Files are written atomically and read with
``torch.load(..., weights_only=True)`` (tensors and plain values only).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch

from cnnviz.files import atomic_torch_save
from cnnviz.training.runs import runs_dir
from models import PRETRAINED_DIR

CACHE_FOLDER = "cache"  # under $CNNVIZ_RUNS_DIR: results for shipped and uploaded models


def model_hash(source: str | os.PathLike | bytes) -> str:
    """SHA-256 (hex) of a checkpoint file or of its bytes."""
    digest = hashlib.sha256()
    if isinstance(source, bytes):
        digest.update(source)
    else:
        with open(source, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()


def cache_path(source: str | os.PathLike | bytes, what: str, digest: str | None = None) -> Path:
    """Where the ``what`` result (e.g. ``"latent"``) of the checkpoint ``source`` is kept.

    Args:
        source: the checkpoint's path, or its bytes (an upload).
        what: the kind of result; part of the file name.
        digest: the checkpoint's :func:`model_hash` when already known.
    """
    if isinstance(source, bytes) or Path(source).resolve().parent == PRETRAINED_DIR.resolve():
        digest = digest or model_hash(source)
        return runs_dir() / CACHE_FOLDER / f"{what}-{digest[:24]}.pt"
    path = Path(source)
    return path.with_name(f"{path.stem}.{what}.pt")


def load_cached(path: Path, digest: str) -> dict[str, Any] | None:
    """The stored result if it exists, is readable and was computed from the checkpoint ``digest``."""
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - missing, truncated or foreign: recompute
        return None
    if not isinstance(data, dict) or data.get("model_hash") != digest:
        return None
    return data


def save_cached(path: Path, digest: str, data: dict[str, Any]) -> Path:
    """Store ``data`` for the checkpoint ``digest`` atomically; fall back to the runs cache if ``path`` is read-only.

    Returns the path written.
    """
    record = {**data, "model_hash": digest}
    try:
        atomic_torch_save(record, path)
        return path
    except OSError:
        fallback = runs_dir() / CACHE_FOLDER / f"{path.stem}-{digest[:24]}.pt"
        atomic_torch_save(record, fallback)
        return fallback


def find_cached(source: str | os.PathLike | bytes, what: str) -> tuple[Path, str, dict[str, Any] | None]:
    """``(path, digest, stored result or None)`` for the ``what`` result of ``source``."""
    digest = model_hash(source)
    path = cache_path(source, what, digest)
    data = load_cached(path, digest)
    if data is None and not isinstance(source, bytes):
        fallback = runs_dir() / CACHE_FOLDER / f"{path.stem}-{digest[:24]}.pt"
        data = load_cached(fallback, digest) if fallback != path else None
    return path, digest, data
