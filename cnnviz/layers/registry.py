"""The registry: every layer kind described once.

A :class:`LayerKind` says what input it takes, which options it has (with the
ranges the pages offer), its output shape and parameters (through
:mod:`cnnviz.layers.arithmetic`), its window for receptive fields, its PyTorch
constructor call (which also builds the real module), how to read it back
from a module, and how the explorer's animation draws it. The network
builder, the code export, the presets and the explorer read :data:`KINDS`;
adding a kind is one entry here plus its tests.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from cnnviz.layers import arithmetic
from cnnviz.layers.arithmetic import InvalidLayerConfig, ParameterCount
from cnnviz.layers.receptive_field import Window
from cnnviz.layers.spec import (
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
    show_pair,
    show_shape,
)  # fmt: skip

ANY, FLAT, SEQUENCE, IMAGE = None, 0, 1, 2  # input kinds: spatial dimensions of (F,), (C, L), (C, H, W)
_INPUT_NAMES = {FLAT: "flat (F,)", SEQUENCE: "sequence (C, L)", IMAGE: "image (C, H, W)"}
Arguments = tuple[list[str], dict[str, str]]  # positional and keyword constructor arguments, as source text


@dataclass(frozen=True)
class Option:
    """One setting of a kind, as the pages offer it."""

    field: str  # the LayerSpec field it sets
    key: str  # its network-builder column (out, kernel, ...) or its word in the extra column (p, scale, ...)
    low: float | None  # smallest value offered (None: a choice or a flag)
    high: float | None  # largest value offered
    help: str  # one line for the student
    always_shown: bool = False  # the builder writes it even at its default (it defines the layer)


@dataclass(frozen=True)
class LayerKind:
    """One kind of layer, everything cnnviz knows about it."""

    name: str  # the PyTorch class name (ResidualBlock: the project's own class)
    input_dims: int | None  # IMAGE, SEQUENCE, FLAT, or ANY shape
    summary: str  # one line: what it does
    options: tuple[Option, ...]  # its settings, in the order the builder shows them
    output_shape: Callable[[LayerSpec, Shape], Shape]  # per-sample shape out; raises InvalidLayerConfig
    parameters: Callable[[LayerSpec, Shape], ParameterCount]  # learnable weights and biases (valid input)
    window: Callable[[LayerSpec], Window | None]  # receptive-field window; None: it upsamples
    arguments: Callable[[LayerSpec, Shape], Arguments]  # constructor arguments, defaults left out
    module_types: tuple[type[nn.Module], ...]  # PyTorch classes read back as this kind
    from_module: Callable[[nn.Module], LayerSpec]  # the spec of such a module
    geometry: str = "none"  # animation: "window" (slides), "transposed" (inserted zeros), "resample", "none"
    stride_is_kernel: bool = False  # pools: stride defaults to kernel_size
    code_prefix: str = "nn."  # "" for the project's ResidualBlock

    def option(self, key: str) -> Option | None:
        return next((o for o in self.options if o.key == key), None)


# --- shared pieces ----------------------------------------------------------------------


def _input(spec: LayerSpec, shape: Shape, dims: int) -> Shape:
    """``shape`` if it has ``dims`` spatial dimensions; otherwise say what the layer needs and what to do."""
    if len(shape) == dims + 1:
        return shape
    got = FLAT if len(shape) == 1 else SEQUENCE if len(shape) == 2 else IMAGE
    words = {IMAGE: "an image-shaped input (C, H, W)", SEQUENCE: "a sequence-shaped input (C, L)"}
    twin = spec.kind.replace("2d", "1d") if dims == IMAGE else spec.kind.replace("1d", "2d")
    if got == FLAT:
        fix = f"move {spec.kind} before the Flatten, or remove it."
    elif twin in KINDS and twin != spec.kind:
        fix = f"use {twin} for {'sequences' if got == SEQUENCE else 'images'}."
    else:
        fix = f"remove {spec.kind}, or give the network {'an image' if dims == IMAGE else 'a sequence'} input."
    raise InvalidLayerConfig(
        f"{spec.kind} needs {words[dims]}, but it receives the {'flat ' if got == FLAT else ''}"
        f"{'' if got == FLAT else _INPUT_NAMES[got].split()[0] + ' '}{show_shape(shape)}.",
        fix,
    )


def _one(spec: LayerSpec, name: str, value: Pair | str | None = None) -> int | str:
    """A 1-D kind's option (``value``, else the spec's field) as one number (or padding's word); refuse a pair."""
    value = getattr(spec, name) if value is None else value
    if isinstance(value, str):
        return value
    if value[0] != value[1]:
        raise InvalidLayerConfig(
            f"{spec.kind} slides along one dimension, so {name} is one number, but it is {value[0]}x{value[1]}.",
            f"write {name} as one number.",
        )
    return value[0]


def _numeric_padding(spec: LayerSpec) -> tuple[int, int]:
    if isinstance(spec.padding, str):
        raise InvalidLayerConfig(
            f'{spec.kind} takes padding as a number, not "{spec.padding}" (only convolutions know "same" and "valid").',
            "give padding as a number.",
        )
    return spec.padding


def _no_parameters(spec: LayerSpec, shape: Shape) -> ParameterCount:
    return ParameterCount(0, 0)


def _point(spec: LayerSpec) -> Window:
    return Window(1, 1, 1)


def _sliding(spec: LayerSpec) -> Window:
    """The window with the padding before the first row / column: it moves the receptive field, not its size."""
    if isinstance(spec.padding, str):
        pads = arithmetic.conv2d_padding(spec.padding, spec.kernel_size, stride_of(spec), spec.dilation)
        before = (pads[0][0], pads[1][0])
    else:
        before = arithmetic.pair(spec.padding, "padding")
    return Window(spec.kernel_size, stride_of(spec), spec.dilation, before)


def _same_window(spec: LayerSpec) -> Window:
    """A residual block's convolution: stride 1, "same" padding."""
    (top, _), (left, _) = arithmetic.same_padding(spec.kernel_size)
    return Window(spec.kernel_size, 1, 1, (top, left))


def _upsamples(spec: LayerSpec) -> None:
    return None


def _no_arguments(spec: LayerSpec, shape: Shape) -> Arguments:
    return [], {}


def _sizes(module: nn.Module, name: str) -> tuple[int, ...] | int | str:
    value = getattr(module, name)
    return value if isinstance(value, (int, str)) else tuple(value)


# --- convolutions -------------------------------------------------------------------------


def _conv_output(spec: LayerSpec, shape: Shape) -> Shape:
    dims = KINDS[spec.kind].input_dims
    c, *size = _input(spec, shape, dims)
    transposed = KINDS[spec.kind].geometry == "transposed"
    _conv_parameters(spec, shape)  # channel and group checks
    if transposed:
        padding = _numeric_padding(spec)
        if dims == IMAGE:
            out = arithmetic.conv_transpose2d_output_size(tuple(size), spec.kernel_size, stride_of(spec),
                                                          padding, spec.output_padding, spec.dilation)  # fmt: skip
        else:
            out = (arithmetic.conv_transpose1d_output_size(size[0], _one(spec, "kernel_size"),
                   _one(spec, "stride", stride_of(spec)), _one(spec, "padding"), _one(spec, "output_padding"),
                   _one(spec, "dilation")),)  # fmt: skip
    elif dims == IMAGE:
        out = arithmetic.conv2d_output_size(tuple(size), spec.kernel_size, stride_of(spec), spec.padding,
                                            spec.dilation)  # fmt: skip
    else:
        out = (arithmetic.conv1d_output_size(size[0], _one(spec, "kernel_size"), _one(spec, "stride", stride_of(spec)),
                                             _one(spec, "padding"), _one(spec, "dilation")),)  # fmt: skip
    return (spec.out_channels, *out)


def _conv_parameters(spec: LayerSpec, shape: Shape) -> ParameterCount:
    kind = KINDS[spec.kind]
    count = {
        (IMAGE, False): arithmetic.conv2d_parameters, (IMAGE, True): arithmetic.conv_transpose2d_parameters,
        (SEQUENCE, False): arithmetic.conv1d_parameters, (SEQUENCE, True): arithmetic.conv_transpose1d_parameters,
    }[(kind.input_dims, kind.geometry == "transposed")]  # fmt: skip
    kernel = spec.kernel_size if kind.input_dims == IMAGE else _one(spec, "kernel_size")
    return count(shape[0], spec.out_channels, kernel, spec.groups, spec.bias)


def _conv_arguments(spec: LayerSpec, shape: Shape) -> Arguments:
    keywords = {"kernel_size": show_pair(spec.kernel_size)}
    if stride_of(spec) != (1, 1):
        keywords["stride"] = show_pair(stride_of(spec))
    if spec.padding not in ((0, 0), "valid"):
        keywords["padding"] = show_pair(spec.padding)
    if KINDS[spec.kind].geometry == "transposed" and spec.output_padding != (0, 0):
        keywords["output_padding"] = show_pair(spec.output_padding)
    if spec.dilation != (1, 1):
        keywords["dilation"] = show_pair(spec.dilation)
    if spec.groups != 1:
        keywords["groups"] = str(spec.groups)
    if not spec.bias:
        keywords["bias"] = "False"
    return [str(shape[0]), str(spec.out_channels)], keywords


def _conv_from_module(module: nn.Module) -> LayerSpec:
    return LayerSpec(
        type(module).__name__,
        out_channels=module.out_channels,
        kernel_size=_sizes(module, "kernel_size"),
        stride=_sizes(module, "stride"),
        padding=_sizes(module, "padding"),
        dilation=_sizes(module, "dilation"),
        groups=module.groups,
        bias=module.bias is not None,
        output_padding=_sizes(module, "output_padding") if hasattr(module, "output_padding") else 0,
    )  # type: ignore[arg-type]


# --- pooling ---------------------------------------------------------------------------------


def _pool_output(spec: LayerSpec, shape: Shape) -> Shape:
    kind = KINDS[spec.kind]
    c, *size = _input(spec, shape, kind.input_dims)
    if kind.option("dilation") is None and spec.dilation != (1, 1):
        raise InvalidLayerConfig(f"{spec.kind} has no dilation in PyTorch.",
                                 f"set dilation to 1 or use {spec.kind.replace('Avg', 'Max')}.")  # fmt: skip
    padding = _numeric_padding(spec)
    if kind.input_dims == IMAGE:
        return (c, *arithmetic.pool2d_output_size(tuple(size), spec.kernel_size, stride_of(spec), padding,
                                                  spec.dilation, spec.ceil_mode))  # fmt: skip
    length = arithmetic.pool1d_output_size(size[0], _one(spec, "kernel_size"), _one(spec, "stride", stride_of(spec)),
                                           _one(spec, "padding"), _one(spec, "dilation"), spec.ceil_mode)  # fmt: skip
    return (c, length)


def _pool_arguments(spec: LayerSpec, shape: Shape) -> Arguments:
    keywords = {"kernel_size": show_pair(spec.kernel_size)}
    if spec.stride is not None and spec.stride != spec.kernel_size:
        keywords["stride"] = show_pair(spec.stride)
    if spec.padding != (0, 0):
        keywords["padding"] = show_pair(spec.padding)
    if KINDS[spec.kind].option("dilation") is not None and spec.dilation != (1, 1):
        keywords["dilation"] = show_pair(spec.dilation)
    if spec.ceil_mode:
        keywords["ceil_mode"] = "True"
    return [], keywords


def _pool_from_module(module: nn.Module) -> LayerSpec:
    return LayerSpec(
        type(module).__name__,
        kernel_size=_sizes(module, "kernel_size"),
        stride=_sizes(module, "stride") if module.stride is not None else None,
        padding=_sizes(module, "padding"),
        dilation=_sizes(module, "dilation") if hasattr(module, "dilation") else 1,
        ceil_mode=module.ceil_mode,
    )  # type: ignore[arg-type]


# --- the rest ---------------------------------------------------------------------------------


def _keep_shape(spec: LayerSpec, shape: Shape) -> Shape:
    return shape


def _dropout_output(spec: LayerSpec, shape: Shape) -> Shape:
    if not 0.0 <= spec.p <= 1.0:
        raise InvalidLayerConfig(f"Dropout's p is a probability, got {spec.p}.", "use p between 0 and 1.")
    return shape


def _upsample_output(spec: LayerSpec, shape: Shape) -> Shape:
    c, h, w = _input(spec, shape, IMAGE)
    if spec.mode not in UPSAMPLE_MODES:
        raise InvalidLayerConfig(f"Upsample mode must be one of {UPSAMPLE_MODES}, got {spec.mode!r}.")
    return (c, *arithmetic.upsample_output_size((h, w), scale_factor=spec.scale_factor))


def _batchnorm_output(spec: LayerSpec, shape: Shape) -> Shape:
    if spec.kind == BATCHNORM:
        return _input(spec, shape, IMAGE)
    if len(shape) not in (1, 2):  # BatchNorm1d normalises (C, L) per channel, or (F,) per feature
        raise InvalidLayerConfig(f"BatchNorm1d needs a sequence (C, L) or a flat (F,) input, got {show_shape(shape)}.",
                                 "use BatchNorm2d for images.")  # fmt: skip
    return shape


def _batchnorm_parameters(spec: LayerSpec, shape: Shape) -> ParameterCount:
    return arithmetic.batchnorm2d_parameters(shape[0])


def _residual_output(spec: LayerSpec, shape: Shape) -> Shape:
    _, h, w = _input(spec, shape, IMAGE)
    arithmetic.conv2d_output_size((h, w), spec.kernel_size, 1, "same")
    if not 0.0 <= spec.p < 1.0:
        raise InvalidLayerConfig(f"The residual block's dropout must be in [0, 1), got {spec.p}.")
    return shape


def _residual_parameters(spec: LayerSpec, shape: Shape) -> ParameterCount:
    conv = arithmetic.conv2d_parameters(shape[0], shape[0], spec.kernel_size)
    norm = arithmetic.batchnorm2d_parameters(shape[0])
    return ParameterCount(conv.weights + norm.weights, conv.biases + norm.biases)


def _residual_from_module(module: nn.Module) -> LayerSpec:
    return LayerSpec(RESIDUAL, kernel_size=_sizes(module.conv, "kernel_size"), p=module.dropout.p)  # type: ignore[arg-type]


def _flatten_output(spec: LayerSpec, shape: Shape) -> Shape:
    return (math.prod(shape),)


def _linear_output(spec: LayerSpec, shape: Shape) -> Shape:
    if len(shape) != 1:
        raise InvalidLayerConfig(
            f"Linear needs a flat input, but it receives {show_shape(shape)}.",
            f"add a Flatten before it (it then receives {math.prod(shape)} features).",
        )
    if spec.in_features is not None and spec.in_features != shape[0]:
        raise InvalidLayerConfig(
            f"Linear's in_features is {spec.in_features}, but the flattened input has {shape[0]} features.",
            f"set in_features to {shape[0]}.",
        )
    if spec.out_channels < 1:
        raise InvalidLayerConfig(f"Linear's out_features must be at least 1, got {spec.out_channels}.")
    return (spec.out_channels,)


def _plain(kind: str) -> Callable[[nn.Module], LayerSpec]:
    return lambda module: LayerSpec(kind)


def _residual_type() -> type[nn.Module]:
    from models.residual import ResidualBlock

    return ResidualBlock


# --- options ------------------------------------------------------------------------------------

MAX_SIZE = 256  # largest kernel / stride / padding / dilation the pages offer
_OUT = Option("out_channels", "out", 1, 4096, "Output channels (features for Linear).")
_KERNEL = Option("kernel_size", "kernel", 1, MAX_SIZE, "Taps of the window: 3, or 3x5 (height x width) for 2-D.")
_STRIDE = Option("stride", "stride", 1, MAX_SIZE, "Step between windows; blank: 1 (a pool's kernel size).")
_PADDING = Option("padding", "padding", 0, MAX_SIZE, "Zeros added on each side (convolutions: also same / valid).")
_DILATION = Option("dilation", "dilation", 1, MAX_SIZE, "Gap between kernel taps; 1 = touching.")
_GROUPS = Option("groups", "groups", 1, 512, "Channel groups; both channel counts must be divisible by it.")
_BIAS = Option("bias", "no_bias", None, None, "One learnable offset per output channel (no_bias: none).")
_CEIL = Option("ceil_mode", "ceil_mode", None, None, "Round the output size up instead of down.")
_OUTPUT_PADDING = Option("output_padding", "output_padding", 0, MAX_SIZE, "Extra cells on one side of the output.")
_P = Option("p", "p", 0.0, 1.0, "Dropout probability.", always_shown=True)

_CONV_OPTIONS = (_OUT, _KERNEL, _STRIDE, _PADDING, _DILATION, _GROUPS, _BIAS)
_CONV_T_OPTIONS = (_OUT, _KERNEL, _STRIDE, _PADDING, _DILATION, _GROUPS, _OUTPUT_PADDING, _BIAS)
_MAX_POOL_OPTIONS = (_KERNEL, _STRIDE, _PADDING, _DILATION, _CEIL)
_AVG_POOL_OPTIONS = (_KERNEL, _STRIDE, _PADDING, _CEIL)


def _conv_kind(name: str, dims: int, transposed: bool, module: type[nn.Module], summary: str) -> LayerKind:
    return LayerKind(
        name, dims, summary, _CONV_T_OPTIONS if transposed else _CONV_OPTIONS, _conv_output, _conv_parameters,
        _upsamples if transposed else _sliding, _conv_arguments, (module,), _conv_from_module,
        geometry="transposed" if transposed else "window",
    )  # fmt: skip


def _pool_kind(name: str, dims: int, module: type[nn.Module], summary: str) -> LayerKind:
    options = _MAX_POOL_OPTIONS if name.startswith("Max") else _AVG_POOL_OPTIONS
    return LayerKind(name, dims, summary, options, _pool_output, _no_parameters, _sliding, _pool_arguments,
                     (module,), _pool_from_module, geometry="window", stride_is_kernel=True)  # fmt: skip


_ENTRIES = (
    _conv_kind(CONV, IMAGE, False, nn.Conv2d, "Slides learned kernels over an image."),
    _pool_kind(MAX_POOL, IMAGE, nn.MaxPool2d, "The largest value of each window, channel by channel."),
    _pool_kind(AVG_POOL, IMAGE, nn.AvgPool2d, "The mean of each window, channel by channel."),
    LayerKind(RELU, ANY, "max(0, x), element by element.", (), _keep_shape, _no_parameters, _point,
              _no_arguments, (nn.ReLU,), _plain(RELU)),
    LayerKind(BATCHNORM, IMAGE, "Normalises each channel over the batch, with a learned scale and shift.", (),
              _batchnorm_output, _batchnorm_parameters, _point, lambda spec, shape: ([str(shape[0])], {}),
              (nn.BatchNorm2d,), _plain(BATCHNORM)),
    LayerKind(DROPOUT, ANY, "Zeroes each value with probability p while training.", (_P,), _dropout_output,
              _no_parameters, _point, lambda spec, shape: ([], {"p": repr(float(spec.p))}), (nn.Dropout,),
              lambda module: LayerSpec(DROPOUT, p=module.p)),
    LayerKind(RESIDUAL, IMAGE, "y = f(x) + x with f = Conv2d(same) -> ReLU -> Dropout -> BatchNorm2d.",
              (_KERNEL, _P), _residual_output, _residual_parameters, _same_window,
              lambda spec, shape: ([str(shape[0])], {"kernel_size": show_pair(spec.kernel_size),
                                                     "dropout": repr(float(spec.p))}),
              (), _residual_from_module, code_prefix=""),
    LayerKind(FLATTEN, ANY, "Lays every value of a sample out in one row.", (), _flatten_output, _no_parameters,
              _point, _no_arguments, (nn.Flatten,), _plain(FLATTEN)),
    LayerKind(LINEAR, FLAT, "Every output is a weighted sum of every input.",
              (_OUT, Option("in_features", "in", 1, None, "in_features, checked against the flattened size."),
               _BIAS),
              _linear_output, lambda spec, shape: arithmetic.linear_parameters(shape[0], spec.out_channels, spec.bias),
              _point, lambda spec, shape: ([str(shape[0]), str(spec.out_channels)],
                                           {} if spec.bias else {"bias": "False"}),
              (nn.Linear,), lambda module: LayerSpec(LINEAR, out_channels=module.out_features,
                                                     in_features=module.in_features, bias=module.bias is not None)),
    _conv_kind(CONV_T, IMAGE, True, nn.ConvTranspose2d, "Spreads each input pixel over a kernel-sized patch."),
    LayerKind(UPSAMPLE, IMAGE, "Resizes an image by scale_factor.",
              (Option("scale_factor", "scale", 0.01, 8.0, "Output = floor(input x scale).", always_shown=True),
               Option("mode", "mode", None, None, "nearest or bilinear.", always_shown=True)),
              _upsample_output, _no_parameters, _upsamples,
              lambda spec, shape: ([], {"scale_factor": repr(float(spec.scale_factor)), "mode": repr(spec.mode)}),
              (nn.Upsample,), lambda module: LayerSpec(UPSAMPLE, scale_factor=float(module.scale_factor),
                                                       mode=module.mode), geometry="resample"),
    LayerKind(SIGMOID, ANY, "1 / (1 + exp(-x)), element by element.", (), _keep_shape, _no_parameters, _point,
              _no_arguments, (nn.Sigmoid,), _plain(SIGMOID)),
    # Sequences (C, L): DNA one-hot, signals.
    _conv_kind(CONV1D, SEQUENCE, False, nn.Conv1d, "Slides learned kernels along a sequence."),
    _pool_kind(MAX_POOL1D, SEQUENCE, nn.MaxPool1d, "The largest value of each window along a sequence."),
    _pool_kind(AVG_POOL1D, SEQUENCE, nn.AvgPool1d, "The mean of each window along a sequence."),
    _conv_kind(CONV_T1D, SEQUENCE, True, nn.ConvTranspose1d, "Spreads each position over a kernel-long stretch."),
    LayerKind(BATCHNORM1D, ANY, "Normalises each channel (or feature) over the batch.", (), _batchnorm_output,
              _batchnorm_parameters, _point, lambda spec, shape: ([str(shape[0])], {}), (nn.BatchNorm1d,),
              _plain(BATCHNORM1D)),
)  # fmt: skip

KINDS: dict[str, LayerKind] = {kind.name: kind for kind in _ENTRIES}
LAYER_KINDS = tuple(KINDS)  # the builder's menu, in this order


def stride_of(spec: LayerSpec) -> Pair:
    """The stride PyTorch uses: the spec's own, else the kind's default (a pool's kernel size, otherwise 1)."""
    if spec.stride is not None:
        return spec.stride
    kind = KINDS.get(spec.kind)
    return spec.kernel_size if kind is not None and kind.stride_is_kernel else (1, 1)


def kind_of(spec: LayerSpec) -> LayerKind:
    """The registry entry of ``spec``; an unknown name says which ones exist."""
    kind = KINDS.get(spec.kind)
    if kind is None:
        raise InvalidLayerConfig(f"Unknown layer {spec.kind!r}.", f"choose one of {', '.join(LAYER_KINDS)}.")
    return kind


def module_kind(module: nn.Module) -> LayerKind | None:
    """The entry a PyTorch module is read back as (None: no place in a stack, e.g. the input normalisation)."""
    if isinstance(module, _residual_type()):
        return KINDS[RESIDUAL]
    return next((k for k in _ENTRIES if k.module_types and isinstance(module, k.module_types)), None)
