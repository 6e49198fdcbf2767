"""The lab's networks (``nn.Module``s) and their config dataclasses."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from models.autoencoder import AutoencoderConfig, CNNDecoder, ConvAutoencoder, bottleneck_shape
from models.backbone import BackboneConfig, CNNBackbone, backbone_output_shape
from models.checkpoint import CheckpointError, build_model, load_model, model_from_checkpoint, save_checkpoint
from models.classifier import ClassifierConfig, CNNClassifier, flatten_size
from models.residual import ResidualBlock

PRETRAINED_DIR = Path(__file__).parent / "pretrained"

__all__ = [
    "AutoencoderConfig",
    "BackboneConfig",
    "CNNBackbone",
    "CNNClassifier",
    "CNNDecoder",
    "CheckpointError",
    "ClassifierConfig",
    "ConvAutoencoder",
    "PRETRAINED_DIR",
    "ResidualBlock",
    "backbone_output_shape",
    "bottleneck_shape",
    "build_model",
    "flatten_size",
    "load_model",
    "load_pretrained",
    "model_from_checkpoint",
    "save_checkpoint",
]


def load_pretrained(name: str) -> nn.Module:
    """The shipped, trained ``"classifier"`` or ``"autoencoder"``, in eval mode (no data needed)."""
    path = PRETRAINED_DIR / f"{name}.pt"
    if name not in ("classifier", "autoencoder"):
        raise ValueError(f"no pretrained model called {name!r}; choose 'classifier' or 'autoencoder'.")
    if not path.exists():
        raise CheckpointError(
            f"the pretrained {name} is missing at {path}; reproduce it with the command in the README."
        )
    return load_model(path)
