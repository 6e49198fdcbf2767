"""The network builder's presets, read from the project's models, and the layer names in one import.

The layer code is split by job: :mod:`cnnviz.specs` (the spec, the kind
names, sizes read and shown), :mod:`cnnviz.kinds` (the registry: each kind
described once), :mod:`cnnviz.stack` (a stack evaluated from an input shape),
:mod:`cnnviz.code_export` (PyTorch lines, modules, runnable code) and
:mod:`cnnviz.builder_table` (the builder's editable table). The names other
modules import from here stay importable from here.

Shapes are per sample: ``(C, H, W)`` for images, ``(C, L)`` for sequences, ``(F,)`` after ``Flatten``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from torch import nn

from cnnviz.builder_table import TABLE_COLUMNS, complete_rows, report_table, row_to_spec, rows_to_specs, spec_to_row
from cnnviz.code_export import export_code, pytorch_line, to_module
from cnnviz.kinds import KINDS, LAYER_KINDS, module_kind
from cnnviz.specs import (
    AVG_POOL,
    AVG_POOL1D,
    BATCHNORM,
    BATCHNORM1D,
    CONV,
    CONV1D,
    CONV_T,
    CONV_T1D,
    DROPOUT,
    FLATTEN,
    LINEAR,
    MAX_POOL,
    MAX_POOL1D,
    RELU,
    RESIDUAL,
    SIGMOID,
    UPSAMPLE,
    UPSAMPLE_MODES,
    LayerSpec,
    Pair,
    Shape,
    format_bytes,
    parse_padding,
    parse_pair,
    show_pair,
    show_shape,
)  # fmt: skip
from cnnviz.stack import FLOAT32_BYTES, LayerRow, StackReport, evaluate_stack, output_shape, parameters, window

__all__ = [  # importable from here for the modules that always have
    "AVG_POOL", "AVG_POOL1D", "BATCHNORM", "BATCHNORM1D", "CONV", "CONV1D", "CONV_T", "CONV_T1D", "DROPOUT",
    "FLATTEN", "KINDS", "LAYER_KINDS", "LINEAR", "MAX_POOL", "MAX_POOL1D", "RELU", "RESIDUAL", "SIGMOID",
    "UPSAMPLE", "UPSAMPLE_MODES", "FLOAT32_BYTES", "LayerRow", "LayerSpec", "Pair", "Preset", "Shape",
    "StackReport", "evaluate_stack", "export_code", "format_bytes", "lenet5", "output_shape", "parameters",
    "parse_pair", "parse_padding", "presets", "pytorch_line", "report_table", "row_to_spec", "rows_to_specs",
    "show_pair", "spec_to_row", "TABLE_COLUMNS", "complete_rows", "show_shape", "spec_from_module",
    "specs_from_model", "to_module", "window",
]  # fmt: skip

# --- presets, read from the modules themselves ----------------------------------


def spec_from_module(module: nn.Module) -> LayerSpec | None:
    """The spec of a PyTorch layer, or None for one that has no place in a stack (e.g. Normalize)."""
    kind = module_kind(module)
    return None if kind is None else kind.from_module(module)


def specs_from_model(model: nn.Module) -> list[LayerSpec]:
    """The layers of one of the project's models (or any stack of known layers), in forward order.

    Descends into containers; a residual block stays one layer. Layers with
    no place in a stack (the input normalisation) are skipped.
    """
    from models.residual import ResidualBlock

    specs: list[LayerSpec] = []

    def walk(module: nn.Module) -> None:
        spec = spec_from_module(module)
        if spec is not None:
            specs.append(spec)
        elif not isinstance(module, ResidualBlock):
            for child in module.children():
                walk(child)

    walk(model)
    return specs


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
def presets() -> dict[str, Preset]:
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
