"""The CNN backbone: stages of a plain convolution, residual blocks and max pooling."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

from cnnviz.layers.arithmetic import InvalidLayerConfig, conv2d_output_size, pool2d_output_size
from models.residual import ResidualBlock

MNIST_MEAN = 0.1307  # mean pixel of the MNIST training images in [0, 1]
MNIST_STD = 0.3081  # their standard deviation


@dataclass(frozen=True)
class BackboneConfig:
    in_channels: int = 1  # channels of the input image (MNIST: 1)
    input_size: int = 28  # height = width of the input image
    channels: tuple[int, ...] = (16, 32, 32)  # output channels of each stage; one 2x2 max pool per stage
    blocks_per_stage: int = 1  # residual blocks after each stage's plain convolution
    kernel_size: int = 3  # kernel of every convolution (same padding keeps the size)
    dropout: float = 0.05  # dropout inside the residual blocks

    def __post_init__(self):
        # JSON and checkpoints hand lists back; the config stays hashable.
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if not self.channels:
            raise InvalidLayerConfig("The backbone needs at least one stage.", "give channels at least one entry.")
        if len(self.channels) + len(self.channels) * self.blocks_per_stage < 3:
            raise InvalidLayerConfig(
                "The lab asks for at least three convolutions in the backbone, but these settings give "
                f"{len(self.channels) * (1 + self.blocks_per_stage)}.",
                "add a stage or a residual block per stage.",
            )
        if not 0.0 <= self.dropout < 1.0:
            raise InvalidLayerConfig(f"dropout must be in [0, 1), got {self.dropout}.")


def stage_sizes(config: BackboneConfig) -> list[tuple[int, int]]:
    """Spatial ``(h, w)`` of the input and after each stage's pooling, via cnnviz.layers.arithmetic."""
    sizes = [(config.input_size, config.input_size)]
    for _ in config.channels:
        same = conv2d_output_size(sizes[-1], config.kernel_size, padding="same")
        sizes.append(pool2d_output_size(same, 2))
    return sizes


def backbone_output_shape(config: BackboneConfig) -> tuple[int, int, int]:
    """``(C, H, W)`` of one image after the backbone."""
    h, w = stage_sizes(config)[-1]
    return (config.channels[-1], h, w)


class Normalize(nn.Module):
    """Standardise [0, 1] pixels with the MNIST statistics (the model's first step)."""

    def __init__(self, mean: float = MNIST_MEAN, std: float = MNIST_STD):
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean) / self.std


class CNNBackbone(nn.Module):
    """``(B, in_channels, S, S)`` in [0, 1] -> ``(B, channels[-1], S', S')`` features.

    Each stage ``i`` is ``conv{i}`` (a plain same-padded convolution to
    ``channels[i]``) with ``relu{i}``, then ``res{i}_{j}`` residual blocks, then
    ``pool{i}`` (2x2 max pooling). Layers are named flat so that hooks and
    pictures can address them.

    Args:
        config: the architecture; see :class:`BackboneConfig`.
    """

    def __init__(self, config: BackboneConfig = BackboneConfig()):
        super().__init__()
        self.config = config
        backbone_output_shape(config)  # raises InvalidLayerConfig if the image shrinks away
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        previous = config.in_channels
        for i, width in enumerate(config.channels, start=1):
            layers[f"conv{i}"] = nn.Conv2d(previous, width, config.kernel_size, padding="same")
            layers[f"relu{i}"] = nn.ReLU()
            for j in range(1, config.blocks_per_stage + 1):
                layers[f"res{i}_{j}"] = ResidualBlock(width, config.kernel_size, config.dropout)
            layers[f"pool{i}"] = nn.MaxPool2d(2)
            previous = width
        self.layers = nn.Sequential(layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C_in, S, S) -> (B, C, S', S')
        return self.layers(x)
