"""Every layer kind's test data, in one place: example layers, layers PyTorch refuses (with the message cnnviz
gives), and stacks that chain every kind.

The tests parametrized over the registry (tests/layers/test_kinds.py, tests/explorer/test_explorer_kinds.py)
read this file: a kind added to cnnviz.layers.kinds is tested once it has its entries here (docs/layer-kinds.md).
"""

from __future__ import annotations

from dataclasses import dataclass

from cnnviz.layers.spec import LayerSpec, Shape


@dataclass(frozen=True)
class Example:
    """A layer that works on a per-sample input shape."""

    shape: Shape
    spec: LayerSpec


@dataclass(frozen=True)
class Refused:
    """A layer PyTorch refuses on this input (or would give an empty output), and what cnnviz says (a regex)."""

    shape: Shape
    spec: LayerSpec
    message: str


# At least one example per kind; the first one is the kind's typical use.
EXAMPLES: dict[str, tuple[Example, ...]] = {
    "Conv2d": (
        Example((3, 28, 28), LayerSpec("Conv2d", out_channels=8, kernel_size=3, padding=1)),
        Example((4, 20, 17), LayerSpec("Conv2d", out_channels=6, kernel_size=(5, 3), stride=(2, 1), padding=(1, 2),
                                       dilation=(1, 2), groups=2, bias=False)),
        Example((1, 9, 9), LayerSpec("Conv2d", out_channels=2, kernel_size=4, padding="same")),
    ),
    "MaxPool2d": (
        Example((3, 28, 28), LayerSpec("MaxPool2d", kernel_size=2)),
        Example((2, 11, 13), LayerSpec("MaxPool2d", kernel_size=3, stride=2, padding=1, dilation=(2, 1),
                                       ceil_mode=True)),
    ),
    "AvgPool2d": (
        Example((3, 28, 28), LayerSpec("AvgPool2d", kernel_size=2)),
        Example((1, 7, 10), LayerSpec("AvgPool2d", kernel_size=(2, 3), padding=1, ceil_mode=True)),
    ),
    "ReLU": (Example((3, 8, 8), LayerSpec("ReLU")), Example((5,), LayerSpec("ReLU"))),
    "BatchNorm2d": (Example((4, 6, 6), LayerSpec("BatchNorm2d")),),
    "Dropout": (Example((4, 6, 6), LayerSpec("Dropout", p=0.3)),),
    "ResidualBlock": (Example((4, 12, 12), LayerSpec("ResidualBlock", kernel_size=3, p=0.1)),),
    "Flatten": (Example((4, 3, 3), LayerSpec("Flatten")), Example((2, 7), LayerSpec("Flatten"))),
    "Linear": (Example((36,), LayerSpec("Linear", out_channels=10)),
               Example((6,), LayerSpec("Linear", out_channels=3, in_features=6, bias=False))),
    "ConvTranspose2d": (
        Example((8, 7, 7), LayerSpec("ConvTranspose2d", out_channels=4, kernel_size=2, stride=2)),
        Example((4, 5, 6), LayerSpec("ConvTranspose2d", out_channels=6, kernel_size=(3, 2), stride=(2, 3),
                                     padding=(1, 0), output_padding=(1, 2), groups=2)),
    ),
    "Upsample": (
        Example((3, 7, 7), LayerSpec("Upsample", scale_factor=2.0)),
        Example((2, 5, 6), LayerSpec("Upsample", scale_factor=1.5, mode="bilinear")),
    ),
    "Sigmoid": (Example((3, 4, 4), LayerSpec("Sigmoid")),),
    "Conv1d": (
        Example((4, 100), LayerSpec("Conv1d", out_channels=8, kernel_size=6)),
        Example((4, 30), LayerSpec("Conv1d", out_channels=4, kernel_size=5, padding="same", dilation=2, groups=2)),
    ),
    "MaxPool1d": (Example((4, 30), LayerSpec("MaxPool1d", kernel_size=3, stride=2, padding=1, ceil_mode=True)),),
    "AvgPool1d": (Example((4, 30), LayerSpec("AvgPool1d", kernel_size=4)),),
    "ConvTranspose1d": (Example((4, 9), LayerSpec("ConvTranspose1d", out_channels=2, kernel_size=3, stride=2)),),
    "BatchNorm1d": (Example((4, 30), LayerSpec("BatchNorm1d")), Example((10,), LayerSpec("BatchNorm1d"))),
    "AdaptiveAvgPool2d": (
        Example((16, 7, 7), LayerSpec("AdaptiveAvgPool2d", output_size=1)),  # a ResNet head
        Example((3, 11, 10), LayerSpec("AdaptiveAvgPool2d", output_size=(4, 3))),  # uneven, overlapping windows
        Example((2, 12, 9), LayerSpec("AdaptiveAvgPool2d", output_size=(3, 3))),  # even windows: an AvgPool2d
        Example((1, 3, 4), LayerSpec("AdaptiveAvgPool2d", output_size=(5, 6))),  # more outputs than inputs
    ),
    "ZeroPad2d": (
        Example((3, 8, 8), LayerSpec("ZeroPad2d", padding=2)),
        Example((2, 5, 7), LayerSpec("ZeroPad2d", padding=(1, 2, 0, 3))),  # (left, right, top, bottom)
        Example((1, 6, 6), LayerSpec("ZeroPad2d", padding=(-1, 2, 1, -2))),  # a negative side crops
    ),
    "PixelShuffle": (
        Example((8, 5, 7), LayerSpec("PixelShuffle", upscale_factor=2)),
        Example((18, 3, 2), LayerSpec("PixelShuffle", upscale_factor=3)),
    ),
}  # fmt: skip

REFUSED: dict[str, tuple[Refused, ...]] = {
    "Conv2d": (
        Refused((1, 4, 4), LayerSpec("Conv2d", out_channels=1, kernel_size=9), "larger than the padded input"),
        Refused((3, 8, 8), LayerSpec("Conv2d", out_channels=4, groups=2), "divisible by groups"),
        Refused((1, 8, 8), LayerSpec("Conv2d", out_channels=1, stride=2, padding="same"), "needs stride 1"),
        Refused((4, 50), LayerSpec("Conv2d", out_channels=2), "image-shaped input"),
    ),
    "MaxPool2d": (Refused((1, 8, 8), LayerSpec("MaxPool2d", kernel_size=2, padding=2), "at most half"),),
    "AvgPool2d": (Refused((1, 1, 1), LayerSpec("AvgPool2d", kernel_size=3), "larger than the padded input"),),
    "BatchNorm2d": (Refused((4, 30), LayerSpec("BatchNorm2d"), "image-shaped input"),),
    "Dropout": (Refused((4,), LayerSpec("Dropout", p=1.5), "probability"),),
    "Linear": (Refused((4, 3, 3), LayerSpec("Linear", out_channels=2), "flat input"),),
    "ConvTranspose2d": (
        Refused((1, 3, 3), LayerSpec("ConvTranspose2d", out_channels=1, stride=2, output_padding=2), "smaller than"),
        Refused((1, 1, 1), LayerSpec("ConvTranspose2d", out_channels=1, kernel_size=1, padding=1), "empty"),
    ),
    "Upsample": (Refused((1, 3, 3), LayerSpec("Upsample", scale_factor=0.3), "at least 1"),),
    "Conv1d": (Refused((4, 3), LayerSpec("Conv1d", out_channels=1, kernel_size=5), "larger than the padded input"),),
    "MaxPool1d": (Refused((4, 9), LayerSpec("MaxPool1d", kernel_size=2, padding=2), "at most half"),),
    "AvgPool1d": (Refused((1, 28, 28), LayerSpec("AvgPool1d", kernel_size=2), "sequence-shaped input"),),
    "ConvTranspose1d": (
        Refused((1, 1), LayerSpec("ConvTranspose1d", out_channels=1, kernel_size=1, padding=1), "empty"),
    ),
    "AdaptiveAvgPool2d": (
        Refused((3, 8, 8), LayerSpec("AdaptiveAvgPool2d", output_size=0), "output_size must be at least 1"),
    ),
    "ZeroPad2d": (
        Refused((1, 5, 7), LayerSpec("ZeroPad2d", padding=(-4, -3, 0, 0)), "leaves nothing in width"),
        Refused((1, 5, 7), LayerSpec("ZeroPad2d", padding=-3), "crops 6 rows in height, but the input has only 5"),
        Refused((1, 5, 7), LayerSpec("ZeroPad2d", padding="same"), "takes padding as a number"),
    ),
    "PixelShuffle": (
        Refused((3, 4, 4), LayerSpec("PixelShuffle", upscale_factor=2), r"divisible by upscale_factor² = 4"),
        Refused((4, 4, 4), LayerSpec("PixelShuffle", upscale_factor=0), "at least 1"),
    ),
}  # fmt: skip

MIXED_STACK = (
    (3, 40, 36),
    [
        LayerSpec("Conv2d", out_channels=12, kernel_size=(5, 3), stride=(2, 1), padding=(1, 2), groups=3),
        LayerSpec("BatchNorm2d"),
        LayerSpec("ReLU"),
        LayerSpec("MaxPool2d", kernel_size=(3, 3), stride=(2, 2), padding=(1, 1), dilation=(2, 1), ceil_mode=True),
        LayerSpec("ResidualBlock", kernel_size=(4, 4), p=0.1),
        LayerSpec("ConvTranspose2d", out_channels=6, kernel_size=(3, 2), stride=(2, 3), padding=(1, 0),
                  output_padding=(1, 2), dilation=(1, 1)),
        LayerSpec("Upsample", scale_factor=1.5, mode="bilinear"),
        LayerSpec("AvgPool2d", kernel_size=(2, 3), ceil_mode=True, padding=(1, 1)),
        LayerSpec("Dropout", p=0.2),
        LayerSpec("Conv2d", out_channels=4, kernel_size=(3, 3), padding="same", dilation=(2, 2), bias=False),
        LayerSpec("Sigmoid"),
        LayerSpec("Flatten"),
        LayerSpec("Linear", out_channels=7),
    ],
)  # fmt: skip

MIXED_SEQUENCE_STACK = (
    (4, 60),
    [
        LayerSpec("Conv1d", out_channels=8, kernel_size=5, padding="same", dilation=2, groups=2),
        LayerSpec("BatchNorm1d"),
        LayerSpec("ReLU"),
        LayerSpec("MaxPool1d", kernel_size=3, stride=2, padding=1, dilation=2, ceil_mode=True),
        LayerSpec("ConvTranspose1d", out_channels=6, kernel_size=4, stride=3, padding=1, output_padding=2),
        LayerSpec("AvgPool1d", kernel_size=3, stride=2, padding=1, ceil_mode=True),
        LayerSpec("Dropout", p=0.2),
        LayerSpec("Conv1d", out_channels=3, kernel_size=4, stride=2, bias=False),
        LayerSpec("Sigmoid"),
        LayerSpec("Flatten"),
        LayerSpec("BatchNorm1d"),
        LayerSpec("Linear", out_channels=2),
    ],
)

# Asymmetric padding, sub-pixel upsampling and a ResNet-style head (global average pooling, then Linear).
HEAD_STACK = (
    (3, 13, 11),
    [
        LayerSpec("ZeroPad2d", padding=(1, 2, 0, 3)),
        LayerSpec("Conv2d", out_channels=16, kernel_size=3, stride=2),
        LayerSpec("PixelShuffle", upscale_factor=2),
        LayerSpec("AdaptiveAvgPool2d", output_size=(3, 2)),
        LayerSpec("AdaptiveAvgPool2d", output_size=1),
        LayerSpec("Flatten"),
        LayerSpec("Linear", out_channels=10),
    ],
)

# Stacks that, together, chain every kind (a new kind joins one, or brings its own).
STACKS: tuple[tuple[Shape, list[LayerSpec]], ...] = (MIXED_STACK, MIXED_SEQUENCE_STACK, HEAD_STACK)
