"""The lab's CNN classifier: backbone, flatten, linear head to 10 classes."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import nn

from models.backbone import BackboneConfig, CNNBackbone, Normalize, backbone_output_shape


@dataclass(frozen=True)
class ClassifierConfig:
    backbone: BackboneConfig = field(default_factory=BackboneConfig)  # the convolutional part
    num_classes: int = 10  # digits 0-9

    def __post_init__(self):
        if isinstance(self.backbone, dict):  # rebuilt from a checkpoint or JSON
            object.__setattr__(self, "backbone", BackboneConfig(**self.backbone))


def flatten_size(config: ClassifierConfig) -> int:
    """Features entering the linear head: ``C * H * W`` of the backbone's output."""
    return math.prod(backbone_output_shape(config.backbone))


class CNNClassifier(nn.Module):
    """``(B, 1, 28, 28)`` images in [0, 1] -> ``(B, 10)`` logits.

    Args:
        config: the architecture; see :class:`ClassifierConfig`.
    """

    def __init__(self, config: ClassifierConfig = ClassifierConfig()):
        super().__init__()
        self.config = config
        self.normalize = Normalize()
        self.backbone = CNNBackbone(config.backbone)
        self.flatten = nn.Flatten()
        self.head = nn.Linear(flatten_size(config), config.num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, 28, 28) -> (B, 10)
        return self.head(self.flatten(self.backbone(self.normalize(x))))
