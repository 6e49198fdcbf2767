"""Which input pixels one feature-map cell sees: the theoretical box and the effective field.

The theoretical receptive field follows Araujo, Norris and Sim ("Computing
receptive fields of convolutional neural networks", Distill 2019): per axis,
a stack of windows has a size ``r``, an effective stride ``S`` and an
effective padding ``P`` (:func:`cnnviz.layers.receptive_field.receptive_fields`), and
output cell ``y`` reads input pixels ``[y*S - P, y*S - P + r - 1]``. Parts of
that interval fall on padding; clipped to the image it is the box drawn on
the digit. The *effective* receptive field is the gradient of the cell with
respect to the input pixels for one particular digit: where inside the box
the cell actually looks (Luo et al., NeurIPS 2016).

The windows come from the model's own modules (kernel, stride, padding,
dilation), in the order they run, caught with forward pre-hooks.
"""

from __future__ import annotations

import copy
import threading
import weakref
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnnviz.analysis.features import _hooked_copy as hooked_copy
from cnnviz.analysis.features import _walk as walk_layers
from cnnviz.layers import LayerSpec, evaluate_stack, receptive_field
from cnnviz.layers.receptive_field import AxisRegion, Box, ReceptiveField, Window, axis_region, box  # noqa: F401 (re-exported)
from cnnviz.layers.registry import FLAT, module_kind
from models import ResidualBlock
from models.backbone import Normalize

# Modules the layer registry has no kind for that change no position (each output pixel reads the same input pixel).
POINTWISE = (nn.Tanh, nn.LeakyReLU, nn.GELU, nn.Identity, Normalize)


class NoReceptiveField(ValueError):
    """The layer's output is not a sliding-window function of the input (it upsamples or flattens)."""


# --- from modules ---------------------------------------------------------------------------------------------------


def module_window(module: nn.Module, input_shape: Sequence[int] | None = None) -> Window | None:
    """The window of one module on a per-sample ``input_shape`` (C, H, W), from its kind in the layer registry;
    ``None`` for a module the registry does not know that moves no pixel (Tanh, the input normalisation, ...).

    Raises:
        NoReceptiveField: an upsampling, flattening or unknown spatial layer.
    """
    if isinstance(module, POINTWISE):
        return None
    if getattr(module, "padding_mode", "zeros") != "zeros":
        raise NoReceptiveField(f"padding_mode={module.padding_mode!r} reads pixels across the border.")
    kind = module_kind(module)
    if kind is not None and kind.input_dims != FLAT:
        spec = kind.from_module(module)
        shape = None if input_shape is None else tuple(int(n) for n in input_shape)
        flattens = shape is not None and len(kind.output_shape(spec, shape)) != len(shape)
        window = None if flattens else kind.window(spec, shape)
        if window is not None:
            return window
    raise NoReceptiveField(
        f"{type(module).__name__} is not a sliding window: past it a cell's input is not one box "
        "(upsampling or flattening mixes positions)."
    )


def _input_shape(model: nn.Module) -> tuple[int, int, int]:
    config = getattr(model, "config", None)
    backbone = getattr(config, "backbone", None)
    if backbone is None:
        raise ValueError("pass input_shape: the model has no config.backbone to read it from.")
    return (backbone.in_channels, backbone.input_size, backbone.input_size)


def _is_container(module: nn.Module) -> bool:
    return bool(list(module.children())) and not isinstance(module, ResidualBlock)


def _forward_order(model: nn.Module, shape: tuple[int, ...]) -> list[tuple[str, tuple[int, ...]]]:
    """Names of the leaf modules (a residual block counts as one) in the order a forward pass calls them, each
    with the per-sample shape it receives.

    Found once per model and input shape with hooks on a private copy: the model itself is shared by every
    student's session, and hooks on it would fire in (and record) other threads' forward passes.
    """
    with _ORDER_LOCK:
        known = _ORDERS.setdefault(model, {})
        if shape in known:
            return known[shape]
    private = copy.deepcopy(model).eval()
    order: list[tuple[str, tuple[int, ...]]] = []
    blocks: list[str] = []
    for name, module in private.named_modules():
        if name == "" or _is_container(module) or any(name.startswith(block + ".") for block in blocks):
            continue
        if isinstance(module, ResidualBlock):
            blocks.append(name)
        module.register_forward_pre_hook(lambda _m, inputs, name=name: order.append((name, tuple(inputs[0].shape[1:]))))
    parameter = next(private.parameters(), None)
    like = {"device": parameter.device, "dtype": parameter.dtype} if parameter is not None else {}
    with torch.no_grad():
        private(torch.zeros(1, *shape, **like))
    with _ORDER_LOCK:
        _ORDERS.setdefault(model, {})[shape] = order
    return order


_ORDERS: weakref.WeakKeyDictionary[nn.Module, dict[tuple[int, ...], list[tuple[str, tuple[int, ...]]]]] = (
    weakref.WeakKeyDictionary()
)
_ORDER_LOCK = threading.Lock()


def layer_windows(
    model: nn.Module, layer_name: str, input_shape: Sequence[int] | None = None
) -> tuple[list[tuple[str, Window]], tuple[int, int]]:
    """The windows that run from the input up to and including ``layer_name``, and the input's ``(H, W)``.

    Leaf modules are taken in the order a forward pass calls them (a residual block counts as one). The
    model is never modified (safe on a model that many threads share).

    Args:
        model: e.g. a ``CNNClassifier``; the layer as named in ``model.named_modules()``.
        layer_name: e.g. ``"backbone.layers.res2_1"``.
        input_shape: ``(C, H, W)``; default from ``model.config.backbone``.

    Raises:
        KeyError: no layer of that name.
        NoReceptiveField: the path to the layer upsamples or flattens.
    """
    modules = dict(model.named_modules())
    if layer_name not in modules or layer_name == "":
        raise KeyError(f"no layer {layer_name!r} in the model; names come from model.named_modules().")
    shape = tuple(int(size) for size in (input_shape if input_shape is not None else _input_shape(model)))
    order = _forward_order(model, shape)
    names = [name for name, _ in order]
    target = layer_name
    if target not in names:  # a container or a layer inside a residual block: up to its last leaf
        inside = [name for name in names if name.startswith(layer_name + ".") or layer_name.startswith(name + ".")]
        if not inside:
            raise KeyError(f"layer {layer_name!r} does not run in the forward pass.")
        target = inside[-1]
    windows = []
    for name, received in order[: names.index(target) + 1]:
        window = module_window(modules[name], received)
        if window is not None:
            windows.append((name, window))
    return windows, (shape[1], shape[2])


def layer_field(model: nn.Module, layer_name: str, input_shape: Sequence[int] | None = None) -> ReceptiveField:
    """Size, effective stride and effective padding of ``layer_name``'s output cells."""
    windows, _ = layer_windows(model, layer_name, input_shape)
    if not windows:
        return ReceptiveField((1, 1), (1, 1), (0, 0))
    return receptive_field.receptive_fields(window for _, window in windows)[-1]


def region(model: nn.Module, layer_name: str, row: int, col: int, input_shape: Sequence[int] | None = None) -> Box:
    """The clipped inclusive box ``((top, left), (bottom, right))`` of input pixels cell ``(row, col)`` reads.

    Args:
        model: a network, e.g. ``models.load_pretrained("classifier")``.
        layer_name: as in ``model.named_modules()``, e.g. ``"backbone.layers.res2_1"``.
        row, col: the cell of that layer's output feature map.
        input_shape: ``(C, H, W)`` of the input; default from the model's config.
    """
    windows, image = layer_windows(model, layer_name, input_shape)
    field = receptive_field.receptive_fields(w for _, w in windows)[-1] if windows else ReceptiveField((1, 1), (1, 1))
    return box(field, row, col, image)


# --- the effective receptive field ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CellField:
    """One feature-map cell: its value, its theoretical box and its effective receptive field for one input."""

    layer: str  # as in model.named_modules()
    channel: int
    row: int
    col: int
    value: float  # the cell's activation for this input
    box: Box  # clipped ((top, left), (bottom, right)), inclusive
    unclipped: Box  # the same before clipping (may reach into the padding)
    field: ReceptiveField  # size, effective stride, effective padding
    gradient: np.ndarray  # (H, W) float32: d value / d input pixel (summed over input channels)

    @property
    def moved(self) -> bool:
        """Some input pixel moves the cell (False: every path to it is switched off, e.g. by ReLUs)."""
        return bool(np.any(self.gradient != 0))


def cell_field(model: nn.Module, layer_name: str, channel: int, row: int, col: int, digit: torch.Tensor) -> CellField:
    """The cell's value, box and effective receptive field (gradient of the cell w.r.t. the pixels) for ``digit``.

    Args:
        model: a network in eval mode.
        layer_name: as in ``model.named_modules()``.
        channel, row, col: the cell of that layer's output ``(C, H, W)``.
        digit: ``(1, C_in, H, W)`` input in [0, 1].

    Raises:
        IndexError: the cell is outside the layer's output (the message gives its shape).
    """
    windows, image = layer_windows(model, layer_name, tuple(digit.shape[1:]))
    field = receptive_field.receptive_fields(w for _, w in windows)[-1] if windows else ReceptiveField((1, 1), (1, 1))
    parameter = next(model.parameters(), None)
    like = {"device": parameter.device, "dtype": parameter.dtype} if parameter is not None else {}
    x = digit.detach().to(**like).requires_grad_(True)
    caught: dict[str, torch.Tensor] = {}  # this call's own (the model is shared: no hooks on it)
    with torch.enable_grad():
        try:
            walk_layers(model, x, "", {layer_name}, caught)
        except LookupError:  # a forward that cannot be replayed part by part: hooks on a private copy
            caught.clear()
            hooked_copy(model, x, {layer_name}, caught)
        maps = caught[layer_name][0]  # (C, H, W)
        if not (0 <= channel < maps.shape[0] and 0 <= row < maps.shape[1] and 0 <= col < maps.shape[2]):
            raise IndexError(
                f"cell ({channel}, {row}, {col}) is outside {layer_name}'s output of shape {tuple(maps.shape)}."
            )
        unit = maps[channel, row, col]
        (gradient,) = torch.autograd.grad(unit, x)  # (1, C_in, H, W)
    return CellField(
        layer=layer_name,
        channel=channel,
        row=row,
        col=col,
        value=float(unit.detach()),
        box=box(field, row, col, image),
        unclipped=box(field, row, col, image, clip=False),
        field=field,
        gradient=gradient[0].sum(0).detach().float().cpu().numpy(),
    )


# --- the network builder's table ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StackField:
    """Receptive-field columns of one row of the network builder's table."""

    size: tuple[int, int]  # r per axis (rows, columns)
    stride: tuple[int, int]  # effective stride S: input pixels between neighbouring output cells
    padding: tuple[int, int]  # effective padding P
    first_cell: Box  # clipped box of output cell (0, 0) in the input


def stack_fields(specs: Sequence[LayerSpec], input_shape: Sequence[int]) -> list[StackField | None]:
    """Per layer of a builder stack: size, effective stride, effective padding and the first cell's box.

    ``None`` for a layer that cannot work, for every layer from the first one that upsamples on, and
    from the first flat (``Flatten`` / ``Linear``) output on. The list is as long as
    ``cnnviz.layers.evaluate_stack(specs, input_shape).rows``.

    Args:
        specs: the builder's layers.
        input_shape: ``(C, H, W)`` of one sample.
    """
    report = evaluate_stack(specs, tuple(input_shape))
    image = (int(input_shape[1]), int(input_shape[2]))
    fields: list[StackField | None] = []
    for row in report.rows:
        field = row.field
        if row.error is not None or field is None or row.output_shape is None or len(row.output_shape) != 3:
            fields.append(None)
            continue
        fields.append(StackField(field.size, field.jump, field.padding, box(field, 0, 0, image)))
    return fields
