"""The network builder's presets: the project's own networks (read from models/), LeNet-5 and a 1-D DNA classifier."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from cnnviz.layers.code_export import specs_from_model
from cnnviz.layers.spec import AVG_POOL, CONV, CONV1D, FLATTEN, LINEAR, MAX_POOL1D, RELU, LayerSpec, Shape


def lenet5() -> list[LayerSpec]:
    """LeNet-5 (LeCun et al., 1998) as usually written today: 1 x 32 x 32 in, 10 scores out."""
    return [
        LayerSpec(CONV, out_channels=6, kernel_size=(5, 5)),
        LayerSpec(RELU),
        LayerSpec(AVG_POOL, kernel_size=(2, 2)),
        LayerSpec(CONV, out_channels=16, kernel_size=(5, 5)),
        LayerSpec(RELU),
        LayerSpec(AVG_POOL, kernel_size=(2, 2)),
        LayerSpec(FLATTEN),
        LayerSpec(LINEAR, out_channels=120),
        LayerSpec(RELU),
        LayerSpec(LINEAR, out_channels=84),
        LayerSpec(RELU),
        LayerSpec(LINEAR, out_channels=10),
    ]


def dna_classifier() -> list[LayerSpec]:
    """A small 1-D CNN over 100 one-hot DNA bases (4 channels): motif detectors, pooling, two classes."""
    return [
        LayerSpec(CONV1D, out_channels=16, kernel_size=(8, 8), padding="same"),  # 16 motif detectors of 8 bases
        LayerSpec(RELU),
        LayerSpec(MAX_POOL1D, kernel_size=(4, 4)),
        LayerSpec(CONV1D, out_channels=32, kernel_size=(5, 5), padding=(2, 2)),
        LayerSpec(RELU),
        LayerSpec(MAX_POOL1D, kernel_size=(5, 5)),
        LayerSpec(FLATTEN),
        LayerSpec(LINEAR, out_channels=2),
    ]


@dataclass(frozen=True)
class Preset:
    """A named stack with the input it expects."""

    name: str  # shown in the preset menu
    input_shape: Shape  # (C, H, W) or (C, L) of one sample
    specs: tuple[LayerSpec, ...]  # the layers


@functools.lru_cache(maxsize=1)
def builder_presets() -> dict[str, Preset]:
    """The builder's presets: the project's classifier and autoencoder (built from models/) and LeNet-5."""
    from models import AutoencoderConfig, ClassifierConfig, CNNClassifier, ConvAutoencoder

    classifier, autoencoder = ClassifierConfig(), AutoencoderConfig()
    bb = classifier.backbone
    return {
        p.name: p
        for p in (
            Preset(
                "cnnviz classifier (CNNClassifier)",
                (bb.in_channels, bb.input_size, bb.input_size),
                tuple(specs_from_model(CNNClassifier(classifier))),
            ),
            Preset(
                "cnnviz autoencoder (ConvAutoencoder)",
                (autoencoder.backbone.in_channels, autoencoder.backbone.input_size, autoencoder.backbone.input_size),
                tuple(specs_from_model(ConvAutoencoder(autoencoder))),
            ),
            Preset("LeNet-5", (1, 32, 32), tuple(lenet5())),
            Preset("DNA motif classifier (1-D)", (4, 100), tuple(dna_classifier())),
        )
    }
