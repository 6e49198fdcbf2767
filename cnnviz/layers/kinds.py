"""The registry's entries: every layer kind described once (what a :class:`LayerKind` holds: registry_base).

Each entry says everything cnnviz knows about the kind; the network builder, the code export, the presets,
the explorers, the size solver and the receptive fields read :data:`KINDS` (through
:mod:`cnnviz.layers.registry`). Adding a kind is one entry here plus its test data
(``tests/layers/kind_examples.py``): docs/layer-kinds.md is the recipe.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from torch import nn

from cnnviz.layers import arithmetic
from cnnviz.layers.arithmetic import InvalidLayerConfig, ParameterCount
from cnnviz.layers.receptive_field import Window
from cnnviz.layers.registry_base import (
    ANY,
    CHOICE,
    CONV_GENERAL,
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
    TRANSPOSE_GENERAL,
    TRANSPOSED,
    WINDOW,
    Arguments,
    Formula,
    LayerKind,
    Option,
    axis_names,
    pad_text,
    pool_general,
    transpose_formula,
    window_formula,
)  # fmt: skip
from cnnviz.layers.spec import UPSAMPLE_MODES, LayerSpec, Pair, Shape, show_pair, show_shape

_INPUT_NAMES = {FLAT: "flat (F,)", SEQUENCE: "sequence (C, L)", IMAGE: "image (C, H, W)"}


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
    if len(set(value)) != 1:
        shown = "x".join(str(v) for v in value)
        raise InvalidLayerConfig(
            f"{spec.kind} slides along one dimension, so {name} is one number, but it is {shown}.",
            f"write {name} as one number.",
        )
    return value[0]


def _numeric_padding(spec: LayerSpec) -> tuple[int, int]:
    if isinstance(spec.padding, str):
        raise InvalidLayerConfig(
            f'{spec.kind} takes padding as a number, not "{spec.padding}" (only convolutions know "same" and "valid").',
            "give padding as a number.",
        )
    return spec.padding  # type: ignore[return-value]


def _no_parameters(spec: LayerSpec, shape: Shape) -> ParameterCount:
    return ParameterCount(0, 0)


def _point(spec: LayerSpec, shape: Shape | None = None) -> Window:
    return Window(1, 1, 1)


def _upsamples(spec: LayerSpec, shape: Shape | None = None) -> None:
    return None


def _sliding(spec: LayerSpec, shape: Shape | None = None) -> Window:
    """The window with the padding before the first row / column: it moves the receptive field, not its size."""
    stride = KINDS[spec.kind].stride(spec)
    if isinstance(spec.padding, str):
        pads = arithmetic.conv2d_padding(spec.padding, spec.kernel_size, stride, spec.dilation)
        before = (pads[0][0], pads[1][0])
    else:
        before = arithmetic.pair(spec.padding, "padding")
    return Window(spec.kernel_size, stride, spec.dilation, before)


def _same_window(spec: LayerSpec, shape: Shape | None = None) -> Window:
    """A residual block's convolution: stride 1, "same" padding."""
    (top, _), (left, _) = arithmetic.same_padding(spec.kernel_size)
    return Window(spec.kernel_size, 1, 1, (top, left))


def _no_arguments(spec: LayerSpec, shape: Shape) -> Arguments:
    return [], {}


def _sizes(module: nn.Module, name: str) -> tuple[int, ...] | int | str:
    value = getattr(module, name)
    return value if isinstance(value, (int, str)) else tuple(value)


def _spatial(spec: LayerSpec, shape: Shape) -> tuple[int, ...]:
    """The spatial sizes of a valid input of the kind: (H, W) or (L,)."""
    return tuple(_input(spec, shape, KINDS[spec.kind].input_dims)[1:])


# --- convolutions -------------------------------------------------------------------------


def _conv_terms(spec: LayerSpec, shape: Shape) -> tuple[arithmetic.WindowTerms, ...]:
    kind = KINDS[spec.kind]
    size = _spatial(spec, shape)
    _conv_parameters(spec, shape)  # channel and group checks
    if kind.input_dims == IMAGE:
        return arithmetic.conv2d_terms(size, spec.kernel_size, kind.stride(spec), spec.padding, spec.dilation)
    return (arithmetic.conv1d_terms(size[0], _one(spec, "kernel_size"), _one(spec, "stride", kind.stride(spec)),
                                    _one(spec, "padding"), _one(spec, "dilation")),)  # fmt: skip


def _transpose_terms(spec: LayerSpec, shape: Shape) -> tuple[arithmetic.TransposeTerms, ...]:
    kind = KINDS[spec.kind]
    size = _spatial(spec, shape)
    _conv_parameters(spec, shape)
    padding = _numeric_padding(spec)
    if kind.input_dims == IMAGE:
        return arithmetic.conv_transpose2d_terms(size, spec.kernel_size, kind.stride(spec), padding,
                                                 spec.output_padding, spec.dilation)  # fmt: skip
    return (arithmetic.conv_transpose1d_terms(size[0], _one(spec, "kernel_size"),
            _one(spec, "stride", kind.stride(spec)), _one(spec, "padding"), _one(spec, "output_padding"),
            _one(spec, "dilation")),)  # fmt: skip


def _conv_output(spec: LayerSpec, shape: Shape) -> Shape:
    terms = _transpose_terms(spec, shape) if KINDS[spec.kind].geometry == TRANSPOSED else _conv_terms(spec, shape)
    return (spec.out_channels, *(t.output for t in terms))


def _kernel(spec: LayerSpec) -> tuple[int, ...]:
    return spec.kernel_size if KINDS[spec.kind].input_dims == IMAGE else (_one(spec, "kernel_size"),)  # type: ignore[return-value]


def _conv_parameters(spec: LayerSpec, shape: Shape) -> ParameterCount:
    kind = KINDS[spec.kind]
    count = {
        (IMAGE, False): arithmetic.conv2d_parameters, (IMAGE, True): arithmetic.conv_transpose2d_parameters,
        (SEQUENCE, False): arithmetic.conv1d_parameters, (SEQUENCE, True): arithmetic.conv_transpose1d_parameters,
    }[(kind.input_dims, kind.geometry == TRANSPOSED)]  # fmt: skip
    kernel = spec.kernel_size if kind.input_dims == IMAGE else _one(spec, "kernel_size")
    return count(shape[0], spec.out_channels, kernel, spec.groups, spec.bias)


def _conv_weight_shape(spec: LayerSpec, shape: Shape) -> tuple[int, ...]:
    """Conv: ``(out, in / groups, *kernel)``; transposed: ``(in, out / groups, *kernel)``."""
    if KINDS[spec.kind].geometry == TRANSPOSED:
        return (shape[0], spec.out_channels // spec.groups, *_kernel(spec))
    return (spec.out_channels, shape[0] // spec.groups, *_kernel(spec))


def _conv_formula(spec: LayerSpec, shape: Shape) -> Formula:
    if KINDS[spec.kind].geometry == TRANSPOSED:
        terms = _transpose_terms(spec, shape)
        return Formula(TRANSPOSE_GENERAL, tuple(transpose_formula(t) for t in terms),
                       tuple((t.padding, t.padding) for t in terms))  # fmt: skip
    windows = _conv_terms(spec, shape)
    return Formula(CONV_GENERAL, tuple(window_formula(t, pad_text(t.pad_before, t.pad_after)) for t in windows),
                   tuple((t.pad_before, t.pad_after) for t in windows), tuple(t.leftover for t in windows))  # fmt: skip


def _conv_arguments(spec: LayerSpec, shape: Shape) -> Arguments:
    kind = KINDS[spec.kind]
    keywords = {"kernel_size": show_pair(spec.kernel_size)}
    if kind.stride(spec) != (1, 1):
        keywords["stride"] = show_pair(kind.stride(spec))
    if spec.padding not in ((0, 0), "valid"):
        keywords["padding"] = show_pair(spec.padding)
    if kind.geometry == TRANSPOSED and spec.output_padding != (0, 0):
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


def _pool_terms(spec: LayerSpec, shape: Shape) -> tuple[arithmetic.WindowTerms, ...]:
    kind = KINDS[spec.kind]
    size = _spatial(spec, shape)
    if not kind.sets("dilation") and spec.dilation != (1, 1):
        raise InvalidLayerConfig(f"{spec.kind} has no dilation in PyTorch.",
                                 f"set dilation to 1 or use {spec.kind.replace('Avg', 'Max')}.")  # fmt: skip
    padding = _numeric_padding(spec)
    if kind.input_dims == IMAGE:
        return arithmetic.pool2d_terms(size, spec.kernel_size, kind.stride(spec), padding, spec.dilation,
                                       spec.ceil_mode)  # fmt: skip
    return (arithmetic.pool1d_terms(size[0], _one(spec, "kernel_size"), _one(spec, "stride", kind.stride(spec)),
                                    _one(spec, "padding"), _one(spec, "dilation"), spec.ceil_mode),)  # fmt: skip


def _pool_output(spec: LayerSpec, shape: Shape) -> Shape:
    return (shape[0], *(t.output for t in _pool_terms(spec, shape)))


def _pool_formula(spec: LayerSpec, shape: Shape) -> Formula:
    terms = _pool_terms(spec, shape)
    names = axis_names(KINDS[spec.kind].input_dims)
    notes = tuple(f"ceil_mode: the last window{'' if len(names) == 1 else ' in ' + name} would start in the "
                  "padding, so PyTorch drops it." for name, t in zip(names, terms) if t.dropped_last)  # fmt: skip
    dims = tuple(window_formula(t, f"2 × {t.pad_before}") for t in terms)
    return Formula(pool_general(spec.ceil_mode), dims, tuple((t.pad_before, t.pad_after) for t in terms),
                   tuple(t.leftover for t in terms), notes)  # fmt: skip


def _pool_arguments(spec: LayerSpec, shape: Shape) -> Arguments:
    keywords = {"kernel_size": show_pair(spec.kernel_size)}
    if spec.stride is not None and spec.stride != spec.kernel_size:
        keywords["stride"] = show_pair(spec.stride)
    if spec.padding != (0, 0):
        keywords["padding"] = show_pair(spec.padding)
    if KINDS[spec.kind].sets("dilation") and spec.dilation != (1, 1):
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


# --- upsampling ---------------------------------------------------------------------------------


def _upsample_terms(spec: LayerSpec, shape: Shape) -> tuple[arithmetic.ScaleTerms, ...]:
    size = _spatial(spec, shape)
    if spec.mode not in UPSAMPLE_MODES:
        raise InvalidLayerConfig(f"Upsample mode must be one of {UPSAMPLE_MODES}, got {spec.mode!r}.")
    return arithmetic.scale_terms(size, spec.scale_factor, spec.kind)


def _upsample_formula(spec: LayerSpec, shape: Shape) -> Formula:
    terms = _upsample_terms(spec, shape)
    dims = tuple(f"⌊{t.size} × {t.factor:g}⌋ = ⌊{t.product:g}⌋ = {t.output}" for t in terms)
    return Formula("⌊in × scale_factor⌋", dims, tuple((0, 0) for _ in terms))


def _upsample_sources(spec: LayerSpec, axis: int, size: int, out: int) -> tuple[tuple[int, ...], ...]:
    return tuple(arithmetic.upsample_sources(o, size, spec.scale_factor, spec.mode) for o in range(out))


def _upsample_text(spec: LayerSpec) -> str:
    if spec.mode == "nearest":
        return f"{spec.kind} (nearest): each output cell copies its nearest input pixel."
    return f"{spec.kind} ({spec.mode}): each output cell blends the 2 x 2 input pixels around its position."


# --- the rest ---------------------------------------------------------------------------------


def _keep_shape(spec: LayerSpec, shape: Shape) -> Shape:
    return shape


def _dropout_output(spec: LayerSpec, shape: Shape) -> Shape:
    if not 0.0 <= spec.p <= 1.0:
        raise InvalidLayerConfig(f"Dropout's p is a probability, got {spec.p}.", "use p between 0 and 1.")
    return shape


def _batchnorm_output(spec: LayerSpec, shape: Shape) -> Shape:
    if KINDS[spec.kind].input_dims == IMAGE:
        return _input(spec, shape, IMAGE)
    if len(shape) not in (1, 2):  # BatchNorm1d normalises (C, L) per channel, or (F,) per feature
        raise InvalidLayerConfig(f"BatchNorm1d needs a sequence (C, L) or a flat (F,) input, got {show_shape(shape)}.",
                                 "use BatchNorm2d for images.")  # fmt: skip
    return shape


def _batchnorm_parameters(spec: LayerSpec, shape: Shape) -> ParameterCount:
    return arithmetic.batchnorm2d_parameters(shape[0])


def _per_channel(spec: LayerSpec, shape: Shape) -> tuple[int, ...]:
    return (shape[0],)


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
    return LayerSpec("ResidualBlock", kernel_size=_sizes(module.conv, "kernel_size"), p=module.dropout.p)  # type: ignore[arg-type]


RESIDUAL_SOURCE = '''

class ResidualBlock(nn.Module):
    """y = f(x) + x with f = Conv2d(same padding) -> ReLU -> Dropout -> BatchNorm2d; keeps (B, C, H, W)."""

    def __init__(self, channels, kernel_size=3, dropout=0.0):
        super().__init__()
        self.conv = nn.Conv2d(channels, channels, kernel_size, padding="same")
        self.relu = nn.ReLU()
        self.dropout = nn.Dropout(dropout)
        self.norm = nn.BatchNorm2d(channels)

    def forward(self, x):
        return self.norm(self.dropout(self.relu(self.conv(x)))) + x
'''


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


def _channels_argument(spec: LayerSpec, shape: Shape) -> Arguments:
    return [str(shape[0])], {}


# --- adaptive average pooling: output_size windows of uneven size (ResNet-style heads) -------------------


def _adaptive_terms(spec: LayerSpec, shape: Shape) -> tuple[arithmetic.AdaptiveTerms, ...]:
    return arithmetic.adaptive_pool2d_terms(_spatial(spec, shape), spec.output_size)


def _adaptive_window(spec: LayerSpec, shape: Shape | None) -> Window | None:
    """The largest window with a whole stride (exact when output_size divides the input); None when it enlarges."""
    if shape is None:
        raise InvalidLayerConfig(f"{spec.kind}'s windows follow its input size.", "give the input shape.")
    terms = _adaptive_terms(spec, shape)
    if any(t.output > t.size for t in terms):
        return None  # more outputs than inputs: the windows overlap like an upsampling's
    return Window(tuple(max(t.sizes) for t in terms), tuple(t.size // t.output for t in terms), 1, 0,
                  exact=all(t.size % t.output == 0 for t in terms))  # fmt: skip


def _adaptive_formula(spec: LayerSpec, shape: Shape) -> Formula:
    terms = _adaptive_terms(spec, shape)
    dims = tuple(f"⌈(i + 1) × {t.size} / {t.output}⌉ − ⌊i × {t.size} / {t.output}⌋ = {min(t.sizes)}"
                 f"{'' if min(t.sizes) == max(t.sizes) else f' or {max(t.sizes)}'} wide, output_size = {t.output}"
                 for t in terms)  # fmt: skip
    notes = ()
    if any(min(t.sizes) != max(t.sizes) for t in terms):
        notes = (f"The windows differ in size ({' x '.join(str(max(t.sizes)) for t in terms)} at most): the "
                 "receptive field given is the largest window.",)  # fmt: skip
    general = "output_size, whatever the input; window i: ⌊i × in / out⌋ to ⌈(i + 1) × in / out⌉ − 1"
    return Formula(general, dims, tuple((0, 0) for _ in terms), notes=notes)


def _adaptive_sources(spec: LayerSpec, axis: int, size: int, out: int) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(range(first, last + 1)) for first, last in arithmetic.adaptive_windows(size, out))


_ADAPTIVE_POOL = LayerKind(
    "AdaptiveAvgPool2d", IMAGE, "The mean of each of output_size windows, channel by channel, whatever the input.",
    (Option("output_size", "output_size", PAIR, 1, 256, "The output's height x width (1: a ResNet head).",
            always_shown=True),),
    lambda spec, shape: (shape[0], *(t.output for t in _adaptive_terms(spec, shape))), _no_parameters,
    _adaptive_window, lambda spec, shape: ([show_pair(spec.output_size)], {}), (nn.AdaptiveAvgPool2d,),
    lambda module: LayerSpec("AdaptiveAvgPool2d", output_size=module.output_size),
    formula=_adaptive_formula, geometry=GATHER, sources=_adaptive_sources,
    window_text=lambda spec: "AdaptiveAvgPool2d: output cell i averages input ⌊i × in / out⌋ to ⌈(i + 1) × in / "
    "out⌉ − 1, so neighbouring windows may differ in size and overlap.",
    solver_family="output_size",
)  # fmt: skip


# --- explicit padding: zeros added (or rows cropped) on each of four sides --------------------------------------


def _pad_terms(spec: LayerSpec, shape: Shape) -> tuple[arithmetic.PadTerms, ...]:
    return arithmetic.pad2d_terms(_spatial(spec, shape), _numeric_padding(spec))


def _side(value: int) -> str:
    return str(value) if value >= 0 else f"({value})"


def _pad_window(spec: LayerSpec, shape: Shape | None = None) -> Window:
    """One pixel, moved by the zeros before it (top, left): padding moves the field, not its size."""
    left, _, top, _ = arithmetic.sides(_numeric_padding(spec))
    return Window(1, 1, 1, (top, left))


_ZERO_PAD = LayerKind(
    "ZeroPad2d", IMAGE, "Adds rows and columns of zeros on each side (a negative side crops).",
    (Option("padding", "padding", SIDES, -256, 256, "Zeros per side: 1, or 1,2,0,3 (left, right, top, bottom); "
            "a negative side crops.", always_shown=True),),
    lambda spec, shape: (shape[0], *(t.output for t in _pad_terms(spec, shape))), _no_parameters,
    _pad_window,
    lambda spec, shape: ([show_pair(arithmetic.sides(_numeric_padding(spec)))], {}), (nn.ZeroPad2d,),
    lambda module: LayerSpec("ZeroPad2d", padding=tuple(module.padding)),
    formula=lambda spec, shape: Formula(
        "in + pad_before + pad_after",
        tuple(f"{t.size} + {_side(t.before)} + {_side(t.after)} = {t.output}" for t in _pad_terms(spec, shape)),
        tuple((t.before, t.after) for t in _pad_terms(spec, shape))),
    window_text=lambda spec: "ZeroPad2d slides no window: each output pixel is an input pixel, or one of the zeros "
    "added around the input.",
    solver_family="padding",
)  # fmt: skip


# --- pixel shuffle: channels become space (sub-pixel upsampling) -------------------------------------------------


def _shuffle_output(spec: LayerSpec, shape: Shape) -> Shape:
    c, *size = _input(spec, shape, IMAGE)
    r = arithmetic.integer(spec.upscale_factor, "upscale_factor")
    if r < 1:
        raise InvalidLayerConfig(f"upscale_factor must be at least 1, got {r}.", "set upscale_factor to 1 or more.")
    if c % (r * r):
        fits = [f for f in range(1, r + 1) if c % (f * f) == 0]
        raise InvalidLayerConfig(
            f"PixelShuffle needs in_channels divisible by upscale_factor² = {r * r}, but {c} % {r * r} = "
            f"{c % (r * r)}.",
            f"use {c + r * r - c % (r * r)} input channels, or upscale_factor {' or '.join(map(str, fits))}.",
        )
    return (c // (r * r), *(t.output for t in arithmetic.scale_terms(tuple(size), r, spec.kind)))


def _shuffle_formula(spec: LayerSpec, shape: Shape) -> Formula:
    c, r = shape[0], spec.upscale_factor
    terms = arithmetic.scale_terms(_spatial(spec, shape), r, spec.kind)
    return Formula("in × upscale_factor", tuple(f"{t.size} × {r} = {t.output}" for t in terms),
                   tuple((0, 0) for _ in terms), channels=f"C_out = C_in / upscale_factor² = {c} / {r}² = "
                   f"{c // (r * r)}")  # fmt: skip


_PIXEL_SHUFFLE = LayerKind(
    "PixelShuffle", IMAGE, "Moves each pixel's r x r channels into an r x r block: r times larger, r² fewer channels.",
    (Option("upscale_factor", "upscale", INT, 1, 8, "r: height and width x r, channels / r².", always_shown=True),),
    _shuffle_output, _no_parameters, _upsamples, lambda spec, shape: ([str(spec.upscale_factor)], {}),
    (nn.PixelShuffle,), lambda module: LayerSpec("PixelShuffle", upscale_factor=module.upscale_factor),
    formula=_shuffle_formula, geometry=NO_WINDOW,
    window_text=lambda spec: f"PixelShuffle slides no window: output pixel (i, j) of channel c is input pixel "
    f"(i // {spec.upscale_factor}, j // {spec.upscale_factor}) of channel c × {spec.upscale_factor}² + "
    f"(i mod {spec.upscale_factor}) × {spec.upscale_factor} + (j mod {spec.upscale_factor}).",
    solver_family="upscale",
)  # fmt: skip


# --- options ------------------------------------------------------------------------------------

MAX_SIZE = 256  # largest kernel / stride / padding / dilation the pages offer
_OUT = Option("out_channels", "out", INT, 1, 4096, "Output channels (features for Linear).")
_KERNEL = Option("kernel_size", "kernel", PAIR, 1, MAX_SIZE, "Taps of the window: 3, or 3x5 (height x width) for 2-D.")
_STRIDE = Option("stride", "stride", PAIR, 1, MAX_SIZE, "Step between windows; blank: 1 (a pool's kernel size).")
_PADDING = Option("padding", "padding", PAIR, 0, MAX_SIZE, "Zeros added on each side.")
_CONV_PADDING = Option("padding", "padding", PAIR, 0, MAX_SIZE, "Zeros added on each side, or same / valid.",
                       choices=("same", "valid"))  # fmt: skip
_DILATION = Option("dilation", "dilation", PAIR, 1, MAX_SIZE, "Gap between kernel taps; 1 = touching.")
_GROUPS = Option("groups", "groups", INT, 1, 512, "Channel groups; both channel counts must be divisible by it.")
_BIAS = Option("bias", "no_bias", NO_FLAG, None, None, "One learnable offset per output channel (no_bias: none).")
_CEIL = Option("ceil_mode", "ceil_mode", FLAG, None, None, "Round the output size up instead of down.")
_OUTPUT_PADDING = Option("output_padding", "output_padding", PAIR, 0, MAX_SIZE,
                         "Extra cells on one side of the output.")  # fmt: skip
_P = Option("p", "p", FLOAT, 0.0, 1.0, "Dropout probability.", always_shown=True)
_BLOCK_P = Option("p", "p", FLOAT, 0.0, 0.9, "Dropout probability inside the block (below 1).", always_shown=True)
_SCALE = Option("scale_factor", "scale", FLOAT, 0.01, 8.0, "Output = floor(input x scale).", always_shown=True)
_MODE = Option("mode", "mode", CHOICE, None, None, "nearest or bilinear.", choices=UPSAMPLE_MODES, always_shown=True)
_IN = Option("in_features", "in", INT, 1, None, "in_features, checked against the flattened size.")

_CONV_OPTIONS = (_OUT, _KERNEL, _STRIDE, _CONV_PADDING, _DILATION, _GROUPS, _BIAS)
_CONV_T_OPTIONS = (_OUT, _KERNEL, _STRIDE, _PADDING, _DILATION, _GROUPS, _OUTPUT_PADDING, _BIAS)
_MAX_POOL_OPTIONS = (_KERNEL, _STRIDE, _PADDING, _DILATION, _CEIL)
_AVG_POOL_OPTIONS = (_KERNEL, _STRIDE, _PADDING, _CEIL)


def _conv_kind(module: type[nn.Module], dims: int, transposed: bool, summary: str) -> LayerKind:
    return LayerKind(
        module.__name__, dims, summary, _CONV_T_OPTIONS if transposed else _CONV_OPTIONS, _conv_output,
        _conv_parameters, _upsamples if transposed else _sliding, _conv_arguments, (module,), _conv_from_module,
        formula=_conv_formula, weight_shape=_conv_weight_shape, geometry=TRANSPOSED if transposed else WINDOW,
        solver_family="transpose" if transposed else "conv",
    )  # fmt: skip


def _pool_kind(module: type[nn.Module], dims: int, summary: str, options: tuple[Option, ...],
               solver_family: str | None) -> LayerKind:  # fmt: skip
    return LayerKind(module.__name__, dims, summary, options, _pool_output, _no_parameters, _sliding, _pool_arguments,
                     (module,), _pool_from_module, formula=_pool_formula, geometry=WINDOW, stride_is_kernel=True,
                     solver_family=solver_family)  # fmt: skip


def _elementwise(module: type[nn.Module], summary: str) -> LayerKind:
    return LayerKind(module.__name__, ANY, summary, (), _keep_shape, _no_parameters, _point, _no_arguments, (module,),
                     _plain(module.__name__))  # fmt: skip


def residual_type() -> type[nn.Module]:
    """The project's residual block (imported when asked: models imports cnnviz.layers)."""
    from models.residual import ResidualBlock

    return ResidualBlock


_ENTRIES = (
    _conv_kind(nn.Conv2d, IMAGE, False, "Slides learned kernels over an image."),
    _pool_kind(nn.MaxPool2d, IMAGE, "The largest value of each window, channel by channel.", _MAX_POOL_OPTIONS,
               "pool"),
    _pool_kind(nn.AvgPool2d, IMAGE, "The mean of each window, channel by channel.", _AVG_POOL_OPTIONS, None),
    _elementwise(nn.ReLU, "max(0, x), element by element."),
    LayerKind("BatchNorm2d", IMAGE, "Normalises each channel over the batch, with a learned scale and shift.", (),
              _batchnorm_output, _batchnorm_parameters, _point, _channels_argument, (nn.BatchNorm2d,),
              _plain("BatchNorm2d"), weight_shape=_per_channel),
    LayerKind("Dropout", ANY, "Zeroes each value with probability p while training.", (_P,), _dropout_output,
              _no_parameters, _point, lambda spec, shape: ([], {"p": repr(float(spec.p))}), (nn.Dropout,),
              lambda module: LayerSpec("Dropout", p=module.p)),
    LayerKind("ResidualBlock", IMAGE, "y = f(x) + x with f = Conv2d(same) -> ReLU -> Dropout -> BatchNorm2d.",
              (_KERNEL, _BLOCK_P), _residual_output, _residual_parameters, _same_window,
              lambda spec, shape: ([str(shape[0])], {"kernel_size": show_pair(spec.kernel_size),
                                                     "dropout": repr(float(spec.p))}),
              (), _residual_from_module, weight_shape=lambda spec, shape: (shape[0], shape[0], *spec.kernel_size),
              code_prefix="", code_source=RESIDUAL_SOURCE),
    LayerKind("Flatten", ANY, "Lays every value of a sample out in one row.", (), _flatten_output, _no_parameters,
              _point, _no_arguments, (nn.Flatten,), _plain("Flatten")),
    LayerKind("Linear", FLAT, "Every output is a weighted sum of every input.", (_OUT, _IN, _BIAS), _linear_output,
              lambda spec, shape: arithmetic.linear_parameters(shape[0], spec.out_channels, spec.bias), _point,
              lambda spec, shape: ([str(shape[0]), str(spec.out_channels)], {} if spec.bias else {"bias": "False"}),
              (nn.Linear,), lambda module: LayerSpec("Linear", out_channels=module.out_features,
                                                     in_features=module.in_features, bias=module.bias is not None),
              weight_shape=lambda spec, shape: (spec.out_channels, shape[0])),
    _conv_kind(nn.ConvTranspose2d, IMAGE, True, "Spreads each input pixel over a kernel-sized patch."),
    LayerKind("Upsample", IMAGE, "Resizes an image by scale_factor.", (_SCALE, _MODE),
              lambda spec, shape: (shape[0], *(t.output for t in _upsample_terms(spec, shape))), _no_parameters,
              _upsamples,
              lambda spec, shape: ([], {"scale_factor": repr(float(spec.scale_factor)), "mode": repr(spec.mode)}),
              (nn.Upsample,), lambda module: LayerSpec("Upsample", scale_factor=float(module.scale_factor),
                                                       mode=module.mode),
              formula=_upsample_formula, geometry=GATHER, sources=_upsample_sources, window_text=_upsample_text),
    _elementwise(nn.Sigmoid, "1 / (1 + exp(-x)), element by element."),
    _ADAPTIVE_POOL,
    _ZERO_PAD,
    _PIXEL_SHUFFLE,
    # Sequences (C, L): DNA one-hot, signals.
    _conv_kind(nn.Conv1d, SEQUENCE, False, "Slides learned kernels along a sequence."),
    _pool_kind(nn.MaxPool1d, SEQUENCE, "The largest value of each window along a sequence.", _MAX_POOL_OPTIONS,
               "pool"),
    _pool_kind(nn.AvgPool1d, SEQUENCE, "The mean of each window along a sequence.", _AVG_POOL_OPTIONS, None),
    _conv_kind(nn.ConvTranspose1d, SEQUENCE, True, "Spreads each position over a kernel-long stretch."),
    LayerKind("BatchNorm1d", ANY, "Normalises each channel (or feature) over the batch.", (), _batchnorm_output,
              _batchnorm_parameters, _point, _channels_argument, (nn.BatchNorm1d,), _plain("BatchNorm1d"),
              weight_shape=_per_channel),
)  # fmt: skip

KINDS: dict[str, LayerKind] = {kind.name: kind for kind in _ENTRIES}
LAYER_KINDS = tuple(KINDS)  # the builder's menu, in this order
