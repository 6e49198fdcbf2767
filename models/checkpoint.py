"""Checkpoints that rebuild their model alone, from plain types and tensors only.

A checkpoint is a dict ``{"model": "classifier" | "autoencoder", "config":
dataclasses.asdict(config), "state_dict": ...}`` (training adds resume state).
It is read with ``torch.load(..., weights_only=True)``, which refuses pickled
code, so a hostile file cannot run anything.
"""

from __future__ import annotations

import dataclasses
import io
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from cnnviz.arithmetic import InvalidLayerConfig
from cnnviz.files import atomic_torch_save
from models.autoencoder import AutoencoderConfig, ConvAutoencoder
from models.classifier import ClassifierConfig, CNNClassifier

MODEL_KINDS: dict[str, tuple[type, type[nn.Module]]] = {
    "classifier": (ClassifierConfig, CNNClassifier),
    "autoencoder": (AutoencoderConfig, ConvAutoencoder),
}


class CheckpointError(ValueError):
    """A file that is not a usable cnnviz checkpoint; the message says why."""


def model_kind(model: nn.Module) -> str:
    for kind, (_, cls) in MODEL_KINDS.items():
        if isinstance(model, cls):
            return kind
    raise TypeError(f"not a cnnviz model: {type(model).__name__}")


def build_model(kind: str, config: dict[str, Any] | object) -> nn.Module:
    """Build an untrained model of ``kind`` from a config dataclass or its ``asdict``."""
    if kind not in MODEL_KINDS:
        raise CheckpointError(f"unknown model kind {kind!r}; expected one of {sorted(MODEL_KINDS)}.")
    config_cls, model_cls = MODEL_KINDS[kind]
    if isinstance(config, dict):
        try:
            config = config_cls(**config)
        except (TypeError, InvalidLayerConfig) as error:
            raise CheckpointError(f"the checkpoint's {kind} config is not valid: {error}") from None
    return model_cls(config)


def checkpoint_dict(model: nn.Module, **extra: Any) -> dict[str, Any]:
    """The checkpoint of ``model``: kind, plain-dict config, state dict, and any ``extra`` entries."""
    return {
        "model": model_kind(model),
        "config": dataclasses.asdict(model.config),
        "state_dict": model.state_dict(),
        **extra,
    }


def save_checkpoint(model: nn.Module, path: str | os.PathLike, **extra: Any) -> None:
    """Write ``model``'s checkpoint atomically (a crash keeps the previous file)."""
    atomic_torch_save(checkpoint_dict(model, **extra), path)


def read_checkpoint(source: str | os.PathLike | bytes) -> dict[str, Any]:
    """Read a checkpoint file (path or raw bytes) safely; raise :class:`CheckpointError` if unusable."""
    try:
        handle = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
        data = torch.load(handle, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint at {source}.") from None
    except Exception as error:  # noqa: BLE001 - torch raises many types for bad files
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        if "weights_only" in str(error) or "Unsupported global" in str(error):
            reason = "it contains pickled Python objects, which are refused because loading them could run code"
        raise CheckpointError(f"this file is not a readable PyTorch checkpoint: {reason}.") from None
    if not isinstance(data, dict) or not {"model", "config", "state_dict"} <= set(data):
        raise CheckpointError(
            "this file is a PyTorch file but not a cnnviz checkpoint: it needs 'model', 'config' and 'state_dict'."
        )
    return data


def model_from_checkpoint(data: dict[str, Any]) -> nn.Module:
    """Rebuild the model a checkpoint dict describes and load its weights (eval mode)."""
    model = build_model(data["model"], data["config"])
    try:
        model.load_state_dict(data["state_dict"])
    except (RuntimeError, TypeError, AttributeError) as error:
        first = str(error).splitlines()[0]
        raise CheckpointError(f"the weights do not fit the model in the checkpoint: {first}") from None
    return model.eval()


def load_model(source: str | os.PathLike | bytes) -> nn.Module:
    """Read a checkpoint file and return its model in eval mode."""
    return model_from_checkpoint(read_checkpoint(source))
