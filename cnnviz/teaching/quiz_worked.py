"""The worked explanations: a question's formula filled in with its own numbers (the explorer's words)."""

from __future__ import annotations

import math

from cnnviz import layers
from cnnviz.explorer import layer1d, layer2d
from cnnviz.layers import (
    RESIDUAL,
    LayerSpec,
    Shape,
    arithmetic,
)
from cnnviz.layers.arithmetic import ParameterCount
from cnnviz.layers.registry import stride_of
from cnnviz.teaching.quiz_core import (
    OUTPUT_SHAPE,
    PARAMETER_COUNT,
    RECEPTIVE_FIELD,
    STACK_SHAPE,
    Question,
    has_options,
    is_transposed,
    layer_line,
    learns_kernels,
    takes_flat,
    takes_sequence,
)


def layer_settings(spec: LayerSpec, shape: Shape, batch: int) -> layer2d.ExplorerSettings:
    """The explorer's settings for one layer on per-sample ``shape`` (for its filled-in formula)."""
    c, h, w = shape
    return layer2d.ExplorerSettings(
        layer=spec.kind, batch=batch, in_channels=c, height=h, width=w, out_channels=spec.out_channels,
        groups=spec.groups, kernel=spec.kernel_size, stride=stride_of(spec), padding=spec.padding,
        dilation=spec.dilation, ceil_mode=spec.ceil_mode, output_padding=spec.output_padding, bias=spec.bias,
        scale_factor=spec.scale_factor, mode=spec.mode, maps=False,
    )  # fmt: skip


def _settings_1d(spec: LayerSpec, length: int) -> layer1d.Explorer1dSettings:
    """The 1-D explorer's settings for a Conv1d / MaxPool1d on a sequence of ``length`` (for its formula)."""
    padding = spec.padding
    return layer1d.Explorer1dSettings(
        layer=spec.kind, source="sine", length=length, out_channels=spec.out_channels, groups=spec.groups,
        kernel=spec.kernel_size[0], stride=stride_of(spec)[0],
        padding_mode=padding if isinstance(padding, str) else "number",
        padding=0 if isinstance(padding, str) else padding[0], dilation=spec.dilation[0], ceil_mode=spec.ceil_mode,
        bias=spec.bias,
    )  # fmt: skip


def explorer_settings(question: Question) -> layer2d.ExplorerSettings | None:
    """The explorer view of the question's single layer (for a link), or None when it has several."""
    if len(question.layers) != 1 or question.layers[0].kind not in layer2d.EXPLORER_LAYERS:
        return None
    return layer_settings(question.layers[0], question.input_shape, question.batch)


def _layer_steps(spec: LayerSpec, shape: Shape, batch: int) -> list[str]:
    """How one layer turns ``shape`` into its output, in the explorer's words where it has them."""
    line = layer_line(spec, shape)
    if spec.kind in layer1d.SEQUENCE_LAYERS and len(shape) == 2:
        report = layer1d.analyze(_settings_1d(spec, shape[1]))
        out = layers.output_shape(spec, shape)
        channels = (f"C_out = out_channels = {spec.out_channels}" if learns_kernels(spec.kind)
                    else f"C stays {shape[0]} (each channel on its own)")  # fmt: skip
        return [f"{line}: {report.general_formula}", f"  {report.formula}", f"  {channels} -> {layers.show_shape(out)}"]
    if spec.kind in layer2d.EXPLORER_LAYERS and len(shape) == 3:
        report = layer2d.analyze(layer_settings(spec, shape, batch))
        channels = (f"C_out = out_channels = {spec.out_channels}" if learns_kernels(spec.kind)
                    else f"C stays {shape[0]} (each channel on its own)")  # fmt: skip
        return [f"{line}: {report.general_formula}", f"  {report.formulas[0]}", f"  {report.formulas[1]}",
                f"  {channels} -> {layers.show_shape(report.output_shape[1:])}"]  # fmt: skip
    out = layers.output_shape(spec, shape)
    if len(out) == 1 and len(shape) > 1:  # Flatten: the only layer that makes a shape flat
        return [f"{line}: {' × '.join(map(str, shape))} = {out[0]} features -> {layers.show_shape(out)}"]
    if takes_flat(spec.kind):
        return [f"{line}: out_features -> {layers.show_shape(out)}"]
    # the ResidualBlock's shape rule (f(x) + x) is its own, not one the registry describes
    if spec.kind == RESIDUAL:
        return [f"{line}: same padding and as many channels out as in, so f(x) + x keeps {layers.show_shape(out)}"]
    return [f"{line}: keeps the shape {layers.show_shape(out)}"]


def parameter_split(question: Question) -> ParameterCount:
    spec = question.layers[-1]
    if takes_flat(spec.kind):
        return arithmetic.linear_parameters(math.prod(question.input_shape), spec.out_channels, spec.bias)
    return layers.parameters(spec, question.input_shape)


def worked_formula(question: Question) -> tuple[str, ...]:
    """The question worked out with its own numbers: the formula per layer (the explorer's, filled in)."""
    if question.kind in (OUTPUT_SHAPE, STACK_SHAPE):
        steps: list[str] = []
        shape = question.input_shape
        for spec in question.layers:
            steps += _layer_steps(spec, shape, question.batch)
            shape = layers.output_shape(spec, shape)
        return tuple(steps)
    if question.kind == PARAMETER_COUNT:
        return _parameter_steps(question)
    if question.kind == RECEPTIVE_FIELD:
        steps = ["r_out = r_in + dilation × (kernel − 1) × jump_in;  jump_out = jump_in × stride  (start: r = 1, "
                 "jump = 1)"]  # fmt: skip
        size, jump = 1, 1
        shape = question.input_shape
        for spec in question.layers:
            window = layers.window(spec)
            assert window is not None
            k, s, d = window.kernel_size[0], window.stride[0], window.dilation[0]  # type: ignore[index]
            new_size, new_jump = size + d * (k - 1) * jump, jump * s
            steps.append(f"{layer_line(spec, shape)}: r = {size} + {d} × ({k} − 1) × {jump} = {new_size};  "
                         f"jump = {jump} × {s} = {new_jump}")  # fmt: skip
            size, jump = new_size, new_jump
            shape = layers.output_shape(spec, shape)
        return tuple(steps)
    return ()


def _parameter_steps(question: Question) -> tuple[str, ...]:
    spec = question.layers[-1]
    shape = question.input_shape
    if takes_flat(spec.kind):
        features = math.prod(shape)
        params = arithmetic.linear_parameters(features, spec.out_channels, spec.bias)
        return (
            f"in_features = {' × '.join(map(str, shape))} = {features:,}",
            f"weights = in_features × out_features = {features:,} × {spec.out_channels} = {params.weights:,}",
            f"biases = one per output = {params.biases:,}",
            f"total = {params.weights:,} + {params.biases:,} = {params.total:,}",
        )
    c = shape[0]
    if takes_sequence(spec.kind):
        params = arithmetic.conv1d_parameters(c, spec.out_channels, spec.kernel_size[0], spec.groups, spec.bias)
        return (
            f"weight tensor {layers.show_shape((spec.out_channels, c // spec.groups, spec.kernel_size[0]))} "
            "= (out, in / groups, kernel)",
            f"weights = {spec.out_channels} × {c // spec.groups} × {spec.kernel_size[0]} = {params.weights:,}",
            f"biases = {'one per output channel' if spec.bias else 'none (bias=False)'} = {params.biases:,}",
            f"total = {params.weights:,} + {params.biases:,} = {params.total:,}",
        )
    if learns_kernels(spec.kind):
        report = layer2d.analyze(layer_settings(spec, shape, 1))
        names = ("out", "in / groups") if not is_transposed(spec.kind) else ("in", "out / groups")
        params = report.parameters
        weight = " × ".join(map(str, report.weight_shape))  # type: ignore[arg-type]
        return (
            f"weight tensor {layers.show_shape(report.weight_shape)} = ({names[0]}, {names[1]}, kernel_h, kernel_w)",  # type: ignore[arg-type]
            f"weights = {weight} = {params.weights:,}",
            f"biases = {'one per output channel' if spec.bias else 'none (bias=False)'} = {params.biases:,}",
            f"total = {params.weights:,} + {params.biases:,} = {params.total:,}",
        )
    if not has_options(spec.kind):  # BatchNorm2d (the ResidualBlock has a kernel size)
        return (f"BatchNorm2d learns a scale and a shift per channel: 2 × {c} = {2 * c:,} "
                "(the running mean and variance are buffers, not parameters)",)  # fmt: skip
    conv = arithmetic.conv2d_parameters(c, c, spec.kernel_size)
    k = spec.kernel_size
    return (
        f"its Conv2d({c}, {c}, {k[0]}): weights {c} × {c} × {k[0]} × {k[1]} = {conv.weights:,}, biases {c}",
        f"its BatchNorm2d({c}): a scale and a shift per channel, 2 × {c} = {2 * c}",
        "ReLU and Dropout learn nothing",
        f"total = {conv.weights:,} + {c} + {2 * c} = {conv.total + 2 * c:,}",
    )
