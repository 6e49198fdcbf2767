"""A stack of layers evaluated from an input shape: shapes, parameters, receptive fields, memory.

:func:`evaluate_stack` walks a list of :class:`~cnnviz.layers.spec.LayerSpec` and
reports, per layer, the output shape, parameters, receptive field and
activation memory, stopping at the first layer that cannot work, with the
reason from :mod:`cnnviz.layers.arithmetic`. What each kind does is read from the
registry, :mod:`cnnviz.layers.registry`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from cnnviz.layers import receptive_field
from cnnviz.layers.arithmetic import InvalidLayerConfig, ParameterCount
from cnnviz.layers.receptive_field import ReceptiveField, Window
from cnnviz.layers.registry import kind_of
from cnnviz.layers.spec import LayerSpec, Shape

FLOAT32_BYTES = 4


@dataclass(frozen=True)
class LayerRow:
    """What one layer of an evaluated stack does."""

    spec: LayerSpec  # the layer
    input_shape: Shape  # per sample, what arrives
    output_shape: Shape | None  # per sample; None if the layer (or one before it) cannot work
    parameters: ParameterCount | None  # learnable weights and biases
    receptive_field: tuple[int, ...] | None  # input cells one output cell sees: (h, w) or (L,); None after upsampling
    activation_bytes: int | None  # float32 bytes of the output, per sample
    error: InvalidLayerConfig | None = None  # why this layer cannot work (first failing layer only)
    field: ReceptiveField | None = None  # size, effective stride and padding per axis; None when receptive_field is


@dataclass(frozen=True)
class StackReport:
    """The whole stack from an input shape: rows up to and including the first failing layer."""

    input_shape: Shape  # per sample
    rows: list[LayerRow] = field(default_factory=list)  # one per layer (those after a failure are skipped)

    @property
    def error_index(self) -> int | None:
        """Index of the first layer that cannot work, or None when all can."""
        return next((i for i, r in enumerate(self.rows) if r.error is not None), None)

    @property
    def output_shape(self) -> Shape | None:
        return None if self.error_index is not None else (self.rows[-1].output_shape if self.rows else self.input_shape)

    @property
    def total_parameters(self) -> ParameterCount:
        rows = [r.parameters for r in self.rows if r.parameters is not None]
        return ParameterCount(sum(p.weights for p in rows), sum(p.biases for p in rows))

    @property
    def total_activation_bytes(self) -> int:
        return sum(r.activation_bytes or 0 for r in self.rows)


# --- one layer, from the registry ----------------------------------------------------------------


def output_shape(spec: LayerSpec, shape: Shape) -> Shape:
    """Per-sample output shape of ``spec`` on an input of per-sample ``shape``.

    Raises:
        InvalidLayerConfig: when PyTorch would refuse the layer on this input.
    """
    return kind_of(spec).output_shape(spec, tuple(shape))


def parameters(spec: LayerSpec, shape: Shape) -> ParameterCount:
    """Learnable parameters of ``spec`` on an input of per-sample ``shape`` (valid input assumed)."""
    return kind_of(spec).parameters(spec, tuple(shape))


def window(spec: LayerSpec, shape: Shape | None = None) -> Window | None:
    """The sliding window for receptive-field arithmetic on per-sample input ``shape``; None for a layer that
    upsamples. A kind whose windows follow its input (an adaptive pool) needs ``shape``."""
    return kind_of(spec).window(spec, None if shape is None else tuple(shape))


def evaluate_stack(specs: Sequence[LayerSpec], input_shape: Shape) -> StackReport:
    """Walk ``specs`` from per-sample ``input_shape``; stop at the first layer that cannot work.

    Args:
        specs: the layers, in order.
        input_shape: ``(C, H, W)`` or ``(C, L)`` of one sample.
    """
    report = StackReport(tuple(input_shape))
    shape: Shape = tuple(input_shape)
    windows: list[Window] = []
    upsampled = False  # after a layer that upsamples, a receptive field is no longer one window
    for spec in specs:
        try:
            out = output_shape(spec, shape)
            params = parameters(spec, shape)
        except InvalidLayerConfig as error:
            report.rows.append(LayerRow(spec, shape, None, None, None, None, error))
            break
        layer_window = window(spec, shape)
        upsampled = upsampled or layer_window is None
        field_size = field = None
        if not upsampled and len(shape) in (2, 3):
            # Flattening mixes the whole map (or sequence): a window as large as it.
            whole = Window((shape[1], shape[-1]))
            windows.append(layer_window if len(out) == len(shape) else whole)  # type: ignore[arg-type]
            field = receptive_field.receptive_fields(windows)[-1]
            field_size = field.size[: len(shape) - 1]
        elif not upsampled and report.rows:
            field_size = report.rows[-1].receptive_field  # flat -> flat: every output already sees it all
        report.rows.append(LayerRow(spec, shape, out, params, field_size, math.prod(out) * FLOAT32_BYTES, field=field))
        shape = out
    return report
