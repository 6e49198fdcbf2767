"""The lab's convolutional autoencoder: the backbone as encoder, a mirrored decoder."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import torch
from torch import nn

from cnnviz.layers.arithmetic import conv_transpose2d_output_size
from models.backbone import BackboneConfig, CNNBackbone, Normalize, backbone_output_shape, stage_sizes
from models.residual import ResidualBlock


@dataclass(frozen=True)
class AutoencoderConfig:
    backbone: BackboneConfig = field(
        default_factory=BackboneConfig
    )  # encoder structure; its stages set the bottleneck's height and width (28 -> 14 -> 7 -> 3)
    bottleneck_channels: int = 4  # channels of the bottleneck (4 x 3 x 3 = 36 values against 784 pixels)

    def __post_init__(self):
        if isinstance(self.backbone, dict):
            object.__setattr__(self, "backbone", BackboneConfig(**self.backbone))


def bottleneck_shape(config: AutoencoderConfig) -> tuple[int, int, int]:
    """``(C, H, W)`` of the code one image is compressed to."""
    _, h, w = backbone_output_shape(config.backbone)
    return (config.bottleneck_channels, h, w)


def unpool_output_padding(small: tuple[int, int], target: tuple[int, int]) -> tuple[int, int]:
    """``output_padding`` that makes a kernel-2, stride-2 ConvTranspose2d turn ``small`` into ``target``.

    2x2 max pooling floors (7 -> 3), so the way back needs 3 -> 7, i.e. one extra row.
    """
    padding = (target[0] - 2 * small[0], target[1] - 2 * small[1])
    if conv_transpose2d_output_size(small, 2, stride=2, output_padding=padding) != target:
        raise AssertionError(f"cannot unpool {small} to {target}")  # pooling is 2x2 floor: never happens
    return padding


class CNNDecoder(nn.Module):
    """``(B, bottleneck_channels, h, w)`` -> ``(B, in_channels, S, S)`` in [0, 1].

    Mirrors the backbone stage by stage in reverse: ``up{i}`` (a kernel-2,
    stride-2 ConvTranspose2d undoing ``pool{i}``), ``relu``, residual blocks,
    then ``conv{i}`` back to the previous stage's channels. A sigmoid keeps
    pixels in [0, 1].

    Args:
        config: the autoencoder it belongs to.
    """

    def __init__(self, config: AutoencoderConfig = AutoencoderConfig()):
        super().__init__()
        self.config = config
        bb = config.backbone
        sizes = stage_sizes(bb)
        layers: OrderedDict[str, nn.Module] = OrderedDict()
        layers["expand"] = nn.Conv2d(config.bottleneck_channels, bb.channels[-1], 1)
        layers["expand_relu"] = nn.ReLU()
        for i in range(len(bb.channels), 0, -1):
            width = bb.channels[i - 1]
            previous = bb.channels[i - 2] if i > 1 else bb.in_channels
            padding = unpool_output_padding(sizes[i], sizes[i - 1])
            layers[f"up{i}"] = nn.ConvTranspose2d(width, width, 2, stride=2, output_padding=padding)
            layers[f"up{i}_relu"] = nn.ReLU()
            for j in range(1, bb.blocks_per_stage + 1):
                layers[f"res{i}_{j}"] = ResidualBlock(width, bb.kernel_size, bb.dropout)
            layers[f"conv{i}"] = nn.Conv2d(width, previous, bb.kernel_size, padding="same")
            if i > 1:
                layers[f"relu{i}"] = nn.ReLU()
        layers["sigmoid"] = nn.Sigmoid()
        self.layers = nn.Sequential(layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # (B, c, h, w) -> (B, C_in, S, S)
        return self.layers(z)


class ConvAutoencoder(nn.Module):
    """``(B, 1, 28, 28)`` in [0, 1] -> reconstruction of the same shape in [0, 1].

    Args:
        config: the architecture; see :class:`AutoencoderConfig`.
    """

    def __init__(self, config: AutoencoderConfig = AutoencoderConfig()):
        super().__init__()
        self.config = config
        self.normalize = Normalize()
        self.encoder = CNNBackbone(config.backbone)
        self.bottleneck = nn.Conv2d(config.backbone.channels[-1], config.bottleneck_channels, 1)
        self.decoder = CNNDecoder(config)

    def encode(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, 28, 28) -> (B, c, h, w)
        return self.bottleneck(self.encoder(self.normalize(x)))

    def decode(self, z: torch.Tensor) -> torch.Tensor:  # (B, c, h, w) -> (B, 1, 28, 28)
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))
