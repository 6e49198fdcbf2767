"""A layer as the student sets it: :class:`LayerSpec`, the kind names, and sizes read and shown as people write them.

A spec knows nothing of its input (``in_channels`` and ``in_features`` follow
from the tensor that arrives); what each kind does with it is described once,
in :mod:`cnnviz.layers.registry`.

Shapes are per sample: ``(C, H, W)`` for images, ``(C, L)`` for sequences,
``(F,)`` after ``Flatten``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from cnnviz.layers import arithmetic
from cnnviz.layers.arithmetic import InvalidLayerConfig

# 2-D (images) and plain layers.
CONV, CONV_T, MAX_POOL, AVG_POOL, UPSAMPLE = "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "Upsample"
RELU, SIGMOID, BATCHNORM, DROPOUT, RESIDUAL = "ReLU", "Sigmoid", "BatchNorm2d", "Dropout", "ResidualBlock"
FLATTEN, LINEAR = "Flatten", "Linear"
# 1-D (sequences).
CONV1D, CONV_T1D, MAX_POOL1D, AVG_POOL1D = "Conv1d", "ConvTranspose1d", "MaxPool1d", "AvgPool1d"
BATCHNORM1D = "BatchNorm1d"
UPSAMPLE_MODES = ("nearest", "bilinear")

Pair = tuple[int, int]
Sides = tuple[int, int, int, int]  # padding per side as PyTorch writes it: (left, right, top, bottom)
Shape = tuple[int, ...]  # per sample: (C, H, W), (C, L) or (F,)

_SIZE_FIELDS = ("kernel_size", "stride", "padding", "dilation", "output_padding", "output_size")


@dataclass(frozen=True)
class LayerSpec:
    """One layer, as the student sets it (fields a kind does not use are ignored).

    Sizes are ``(h, w)`` pairs; 1-D kinds use one number, kept as an equal
    pair (an int or a 1-tuple is accepted and stored that way).
    """

    kind: str  # a name in cnnviz.layers.registry.KINDS
    out_channels: int = 1  # convolutions: output channels; Linear: out_features
    kernel_size: Pair = (3, 3)  # convolutions, pools and the residual block's convolution
    stride: Pair | None = None  # None: the layer's default (1; a pool's kernel_size)
    padding: Pair | Sides | str = (0, 0)  # zeros per side (h, w); Conv1d / Conv2d also "same" or "valid";
    # a padding layer also four sides (left, right, top, bottom), a negative one cropping
    dilation: Pair = (1, 1)  # gap between kernel taps (1 = touching); not for average pooling
    groups: int = 1  # convolutions: channel groups (both channel counts divisible by it)
    bias: bool = True  # convolutions and Linear: one learnable offset per output channel
    ceil_mode: bool = False  # pools: round the output size up instead of down
    output_padding: Pair = (0, 0)  # transposed convolutions: extra cells on one side of the output
    scale_factor: float = 2.0  # Upsample: output = floor(input * scale_factor)
    mode: str = "nearest"  # Upsample: "nearest" or "bilinear"
    p: float = 0.5  # Dropout probability (the residual block's dropout too)
    in_features: int | None = None  # Linear: None = take the flattened size; a number is checked
    output_size: Pair = (1, 1)  # adaptive pools: the output (h, w) whatever the input (1 x 1: a ResNet head)
    upscale_factor: int = 2  # PixelShuffle: r; channels / r^2 out, height and width x r

    def __post_init__(self) -> None:
        for name in _SIZE_FIELDS:
            value = getattr(self, name)
            if isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, name, (value, value))
            elif isinstance(value, (tuple, list)):
                values = tuple(int(v) for v in value)
                object.__setattr__(self, name, values * 2 if len(values) == 1 else values)


# --- reading and showing sizes ------------------------------------------------------


def parse_pair(text: str | int | Sequence[int], name: str = "value") -> Pair:
    """``"3"`` -> ``(3, 3)``; ``"3x5"``, ``"3, 5"`` or ``"(3, 5)"`` -> ``(3, 5)``.

    Raises:
        InvalidLayerConfig: for anything else, saying what was expected.
    """
    if isinstance(text, (int, tuple, list)) and not isinstance(text, bool):
        return arithmetic.pair(tuple(text) if isinstance(text, list) else text, name)
    numbers = re.findall(r"-?\d+", str(text))
    leftover = re.sub(r"[-\d\s,x×()\[\]]", "", str(text))
    if leftover or len(numbers) not in (1, 2):
        raise InvalidLayerConfig(
            f"{name} must be a whole number or a pair like 3x5, got {str(text)!r}.",
            f"write {name} as 3 (square) or 3x5 (height x width).",
        )
    values = [int(n) for n in numbers]
    return (values[0], values[-1])


def parse_padding(text: str | int | Sequence[int]) -> Pair | Sides | str:
    """Padding as typed: a number or pair, four sides ``left, right, top, bottom``, or ``same`` / ``valid``."""
    if isinstance(text, str) and text.strip().strip("'\"").lower() in ("same", "valid"):
        return text.strip().strip("'\"").lower()
    if isinstance(text, (tuple, list)) and len(text) == 4:
        return arithmetic.sides(tuple(text))
    if isinstance(text, str) and len(re.findall(r"-?\d+", text)) == 4 and not re.sub(r"[-\d\s,x×()\[\]]", "", text):
        left, right, top, bottom = (int(n) for n in re.findall(r"-?\d+", text))
        return (left, right, top, bottom)
    return parse_pair(text, "padding")


def show_pair(value: Pair | Sides | str) -> str:
    """``(3, 3)`` -> ``"3"``, ``(3, 5)`` -> ``"(3, 5)"``, ``"same"`` -> ``"'same'"`` (PyTorch style; four sides too)."""
    if isinstance(value, str):
        return repr(value)
    return str(value[0]) if len(set(value)) == 1 else str(tuple(value))


def show_shape(shape: Shape) -> str:
    """A shape as Python writes a tuple: ``(16, 28, 28)``, ``(10,)``."""
    return str(tuple(int(s) for s in shape))


def format_bytes(count: int) -> str:
    """Bytes as a person reads them: ``"784 B"``, ``"3.1 KB"``, ``"1.2 MB"`` (1 KB = 1024 B)."""
    if count < 1024:
        return f"{count} B"
    if count < 1024**2:
        return f"{count / 1024:.1f} KB"
    return f"{count / 1024**2:.1f} MB"
