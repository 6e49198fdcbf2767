"""Which trained networks the draw page can use: the shipped ones, finished runs, an uploaded checkpoint."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from torch import nn

from cnnviz.data import load_mnist
from models import PRETRAINED_DIR, CheckpointError, load_model
from models.checkpoint import model_kind


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
        from cnnviz.runs import list_runs
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


def load_checked(source: str | os.PathLike | bytes, kind: str) -> nn.Module:
    """Load a checkpoint (path or uploaded bytes) and make sure it holds a ``kind``; eval mode.

    Args:
        source: a checkpoint path or its raw bytes.
        kind: the model the caller needs, ``"classifier"`` or ``"autoencoder"``.

    Raises:
        CheckpointError: unreadable, unsafe, or a model of the other kind (the message says which).
    """
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
    return model


def mnist_test_digit(index: int) -> tuple[np.ndarray, int]:
    """MNIST test digit number ``index`` (wrapped around) as ``(28, 28)`` uint8, and its label.

    Raises:
        cnnviz.data.MNISTNotFound: MNIST is not in ``$CNNVIZ_DATA_DIR``; the message says how to fix it.
    """
    test = load_mnist().test
    index %= len(test)
    return test.images[index, 0].numpy(), int(test.labels[index])
