"""The registry: every layer kind described once, and where the rest of cnnviz looks a kind up.

What a kind holds is :class:`LayerKind` (:mod:`cnnviz.layers.registry_base`); the entries are in
:mod:`cnnviz.layers.kinds`. The network builder, the code export, the presets, the explorers, the size
solver and the receptive fields ask here, never compare a kind's name: adding a kind is one entry plus its
test data (docs/layer-kinds.md).
"""

from __future__ import annotations

from torch import nn

from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.layers.kinds import KINDS, LAYER_KINDS, residual_type
from cnnviz.layers.registry_base import (
    ANY,
    CHOICE,
    FLAG,
    FLAT,
    FLOAT,
    GATHER,
    IMAGE,
    INT,
    NO_FLAG,
    NO_WINDOW,
    PAIR,
    SEQUENCE,
    SIDES,
    TRANSPOSED,
    WINDOW,
    Formula,
    LayerKind,
    Option,
)  # fmt: skip
from cnnviz.layers.spec import LayerSpec, Pair

__all__ = [
    "ANY", "CHOICE", "FLAG", "FLAT", "FLOAT", "GATHER", "IMAGE", "INT", "KINDS", "LAYER_KINDS", "NO_FLAG",
    "NO_WINDOW", "PAIR", "SEQUENCE", "SIDES", "TRANSPOSED", "WINDOW", "Formula", "LayerKind", "Option", "kind_named",
    "kind_of", "kinds_where", "module_kind", "stride_of",
]  # fmt: skip


def kind_named(name: str) -> LayerKind:
    """The entry called ``name``; an unknown name says which ones exist."""
    kind = KINDS.get(name)
    if kind is None:
        raise InvalidLayerConfig(f"Unknown layer {name!r}.", f"choose one of {', '.join(LAYER_KINDS)}.")
    return kind


def kind_of(spec: LayerSpec) -> LayerKind:
    """The registry entry of ``spec``; an unknown name says which ones exist."""
    return kind_named(spec.kind)


def stride_of(spec: LayerSpec) -> Pair:
    """The stride PyTorch uses: the spec's own, else the kind's default (a pool's kernel size, otherwise 1)."""
    return kind_of(spec).stride(spec)


def kinds_where(**wanted: object) -> tuple[str, ...]:
    """The kinds whose attributes have these values, in registry order: ``kinds_where(input_dims=IMAGE)``."""
    return tuple(name for name, kind in KINDS.items() if all(getattr(kind, k) == v for k, v in wanted.items()))


def module_kind(module: nn.Module) -> LayerKind | None:
    """The entry a PyTorch module is read back as (None: no place in a stack, e.g. the input normalisation)."""
    if isinstance(module, residual_type()):
        return KINDS["ResidualBlock"]
    return next((k for k in KINDS.values() if k.module_types and isinstance(module, k.module_types)), None)
