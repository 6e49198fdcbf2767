"""The lab's residual block: ``y = f(x) + x`` with ``f = Conv -> ReLU -> Dropout -> BatchNorm``."""

from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """A same-padded convolution with a skip connection; keeps ``(B, C, H, W)``.

    Args:
        channels: input and output channels (equal, so ``f(x) + x`` is defined).
        kernel_size: odd or even; ``padding="same"`` keeps height and width.
        dropout: probability of zeroing an activation while training.
    """

    def __init__(self, channels: int, kernel_size: int = 3, dropout: float = 0.0):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size, padding="same")
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.BatchNorm2d(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C, H, W)
        return self.norm(self.dropout(self.relu(self.conv(x)))) + x
