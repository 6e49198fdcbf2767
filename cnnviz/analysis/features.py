"""What the networks make of one digit: probabilities, every layer's feature maps, the reconstruction.

Feature maps are caught during the one forward pass that also gives the
probabilities, so "what each layer sees" is exactly what the prediction was
computed from. The model is shared by every student's session (one cached copy
per file), so nothing is attached to it: the pass walks the layers itself and
keeps each output in a dictionary of its own call. Hooks on the shared model
would let two students' threads catch each other's maps.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnnviz.data.preprocess import shift_rotate_each
from cnnviz.device import to_model
from models import CNNBackbone, CNNClassifier, ResidualBlock

INPUT_PIXELS = 28 * 28  # what the autoencoder's bottleneck is compared with
# The layers whose outputs are shown, and what to call them. A residual block
# is shown whole (its inner convolution is part of it), as the lab draws it.
LAYER_KINDS: tuple[tuple[type[nn.Module], str], ...] = (
    (ResidualBlock, "residual block"),
    (nn.Conv2d, "convolution"),
    (nn.ConvTranspose2d, "transposed convolution"),
    (nn.MaxPool2d, "max pooling"),
    (nn.AvgPool2d, "average pooling"),
)


@dataclass(frozen=True)
class LayerMaps:
    """The output of one layer for one input image."""

    name: str  # the layer's own name in the model, e.g. "conv1", "res1_1", "pool1"
    path: str  # its full name in model.named_modules(), e.g. "backbone.layers.conv1"
    kind: str  # "convolution", "residual block", "max pooling", ...
    maps: np.ndarray  # (C, H, W) float32: one map per output channel

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of the layer's output."""
        return tuple(self.maps.shape)


@dataclass(frozen=True)
class Classification:
    """The classifier's answer for one digit and what each layer computed on the way."""

    probabilities: np.ndarray  # (num_classes,) float32, softmax of the logits, sums to 1
    layers: list[LayerMaps]  # every convolution, residual block and pooling layer, in forward order

    @property
    def prediction(self) -> int:
        """The most probable class."""
        return int(np.argmax(self.probabilities))

    @property
    def confidence(self) -> float:
        """The probability of :attr:`prediction`."""
        return float(self.probabilities.max())


@dataclass(frozen=True)
class Reconstruction:
    """The autoencoder's copy of one digit and how far it is off."""

    original: np.ndarray  # (H, W) the input in [0, 1]
    output: np.ndarray  # (H, W) the reconstruction in [0, 1]
    error: np.ndarray  # (H, W) output - original: > 0 where ink was added, < 0 where it was lost
    mse: float  # mean of error ** 2 over the pixels (the training loss)
    code: np.ndarray  # (c, h, w) the bottleneck: everything the decoder gets to see

    @property
    def bottleneck_shape(self) -> tuple[int, int, int]:
        """``(c, h, w)`` of the code."""
        return tuple(self.code.shape)

    @property
    def code_size(self) -> int:
        """Numbers in the code (c * h * w)."""
        return int(self.code.size)

    @property
    def compression(self) -> float:
        """How many input pixels each number of the code stands for (784 / code size)."""
        return self.original.size / self.code_size


def _kind(module: nn.Module) -> str | None:
    for cls, kind in LAYER_KINDS:
        if isinstance(module, cls):
            return kind
    return None


def watched_layers(model: nn.Module) -> list[tuple[str, str, nn.Module]]:
    """``(path, kind, module)`` of every layer whose output is shown, in registration order.

    Layers inside a residual block are skipped: the block's output stands for them.

    Args:
        model: any network, e.g. a ``CNNClassifier`` or ``ConvAutoencoder``.
    """
    found: list[tuple[str, str, nn.Module]] = []
    inside: list[str] = []  # paths of residual blocks already taken
    for path, module in model.named_modules():
        kind = _kind(module)
        if kind is None or any(path.startswith(block + ".") for block in inside):
            continue
        found.append((path, kind, module))
        if isinstance(module, ResidualBlock):
            inside.append(path)
    return found


# How the lab's models chain their parts in forward(): applied one after the other.
# tests/test_hostile_sessions.py checks that walking them gives exactly model(x).
_CHAINS: dict[type[nn.Module], tuple[str, ...]] = {
    CNNClassifier: ("normalize", "backbone", "flatten", "head"),
    CNNBackbone: ("layers",),
}


def _walk(module: nn.Module, x: torch.Tensor, path: str, watched: set[str], caught: dict[str, torch.Tensor]):
    """``module(x)``, computed part by part where needed so that every watched output is kept in ``caught``."""
    if path in watched or not any(not path or p.startswith(path + ".") for p in watched):
        output = module(x)
        if path in watched:
            caught[path] = output
        return output
    if isinstance(module, nn.Sequential):
        parts: tuple[str, ...] = tuple(name for name, _ in module.named_children())
    else:
        parts = _CHAINS.get(type(module), ())
    if not parts:
        raise LookupError(path)  # a model whose forward we cannot replay: see _hooked_copy
    for name in parts:
        x = _walk(getattr(module, name), x, f"{path}.{name}" if path else name, watched, caught)
    return x


def _hooked_copy(model: nn.Module, x: torch.Tensor, watched: set[str], caught: dict[str, torch.Tensor]):
    """Any other model: hooks on a private copy made for this call (never on the shared model)."""
    private = copy.deepcopy(model)
    for path, module in private.named_modules():
        if path in watched:
            module.register_forward_hook(lambda _m, _i, output, path=path: caught.__setitem__(path, output))
    return private(x)


def classify(model: nn.Module, digit: torch.Tensor, layers: bool = True) -> Classification:
    """Class probabilities for one digit and, with ``layers``, the feature maps of every shown layer.

    Safe to call from many threads on one shared model: the model is never modified.

    Args:
        model: a classifier in eval mode, ``(B, 1, 28, 28)`` -> ``(B, classes)`` logits.
        digit: ``(1, 1, 28, 28)`` in [0, 1], e.g. from :func:`cnnviz.data.preprocess.to_mnist`.
        layers: also catch every layer's output (one forward pass either way).
    """
    if digit.shape[0] != 1:
        raise ValueError(f"classify takes one digit (1, C, H, W), got a batch of shape {tuple(digit.shape)}")
    caught: dict[str, torch.Tensor] = {}  # this call's own: path -> (1, C, H, W)
    watched = watched_layers(model) if layers else []
    paths = {path for path, _, _ in watched}
    with torch.inference_mode():
        x = to_model(digit, model)
        try:
            logits = _walk(model, x, "", paths, caught)  # (1, classes)
        except LookupError:
            caught.clear()
            logits = _hooked_copy(model, x, paths, caught)
    probabilities = torch.softmax(logits.float(), dim=1)[0].cpu().numpy()
    maps = [
        LayerMaps(path.rsplit(".", 1)[-1], path, kind, caught[path][0].float().cpu().numpy())
        for path, kind, _ in watched
        if path in caught  # a layer the forward pass did not use has nothing to show
    ]
    return Classification(probabilities, maps)


def probabilities(model: nn.Module, digits: torch.Tensor) -> np.ndarray:
    """``(B, classes)`` class probabilities for a batch ``(B, 1, 28, 28)`` of digits.

    Args:
        model: a classifier in eval mode.
        digits: images in [0, 1].
    """
    with torch.inference_mode():
        logits = model(to_model(digits, model))
    return torch.softmax(logits.float(), dim=1).cpu().numpy()


def invariance_sweeps(
    model: nn.Module, digit: torch.Tensor, offsets: Sequence[int], angles: Sequence[float]
) -> tuple[np.ndarray, np.ndarray]:
    """Probabilities as the digit moves right by each offset, and as it turns by each angle.

    Returns ``(len(offsets), classes)`` and ``(len(angles), classes)``, computed in one batch.

    Args:
        model: a classifier in eval mode.
        digit: ``(1, 1, 28, 28)``.
        offsets: whole pixels to the right (negative: left).
        angles: degrees, anticlockwise.
    """
    moves = [(float(offset), 0.0, 0.0) for offset in offsets] + [(0.0, 0.0, float(angle)) for angle in angles]
    batch = shift_rotate_each(digit.expand(len(moves), -1, -1, -1), moves)  # (len(moves), 1, 28, 28)
    result = probabilities(model, batch)  # (len(offsets) + len(angles), classes)
    return result[: len(offsets)], result[len(offsets) :]


def reconstruct(autoencoder: nn.Module, digit: torch.Tensor) -> Reconstruction:
    """The autoencoder's reconstruction of one digit, its error and its bottleneck code.

    Args:
        autoencoder: a ``ConvAutoencoder`` (``encode``/``decode``) in eval mode.
        digit: ``(1, 1, 28, 28)`` in [0, 1].
    """
    with torch.inference_mode():
        code = autoencoder.encode(to_model(digit, autoencoder))  # (1, c, h, w)
        output = autoencoder.decode(code)  # (1, 1, 28, 28)
    original = digit[0, 0].float().cpu().numpy()
    rebuilt = output[0, 0].float().cpu().numpy()
    error = rebuilt - original
    return Reconstruction(original, rebuilt, error, float(np.mean(error**2)), code[0].float().cpu().numpy())
