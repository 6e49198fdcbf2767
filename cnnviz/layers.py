"""Layer specs: one frozen dataclass per layer, its shape, its PyTorch module, its code.

A :class:`LayerSpec` describes one layer of a stack without knowing its input
(``in_channels`` and ``in_features`` follow from the tensor that arrives).
:func:`evaluate_stack` walks a list of specs from an input shape and reports,
per layer, the output shape, parameters, receptive field and activation
memory, stopping at the first layer that cannot work, with the reason from
:mod:`cnnviz.arithmetic`. :func:`export_code` writes the stack as runnable,
self-contained PyTorch code; :func:`to_module` builds the real layer.

Shapes are per sample: ``(C, H, W)`` for images, ``(F,)`` after ``Flatten``.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from torch import nn

from cnnviz import arithmetic
from cnnviz.arithmetic import InvalidLayerConfig, ParameterCount, Window

CONV, CONV_T, MAX_POOL, AVG_POOL, UPSAMPLE = "Conv2d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d", "Upsample"
RELU, SIGMOID, BATCHNORM, DROPOUT, RESIDUAL = "ReLU", "Sigmoid", "BatchNorm2d", "Dropout", "ResidualBlock"
FLATTEN, LINEAR = "Flatten", "Linear"
LAYER_KINDS = (
    CONV, MAX_POOL, AVG_POOL, RELU, BATCHNORM, DROPOUT, RESIDUAL, FLATTEN, LINEAR, CONV_T, UPSAMPLE, SIGMOID,
)  # fmt: skip
UPSAMPLE_MODES = ("nearest", "bilinear")
FLOAT32_BYTES = 4

Pair = tuple[int, int]
Shape = tuple[int, ...]  # per sample: (C, H, W) or (F,)


@dataclass(frozen=True)
class LayerSpec:
    """One layer, as the student sets it (fields a kind does not use are ignored)."""

    kind: str  # one of LAYER_KINDS
    out_channels: int = 1  # Conv2d / ConvTranspose2d: output channels; Linear: out_features
    kernel_size: Pair = (3, 3)  # convolutions, pools and the residual block's convolution
    stride: Pair | None = None  # None: the layer's default (1; a pool's kernel_size)
    padding: Pair | str = (0, 0)  # rows/columns of zeros per side; Conv2d also "same" or "valid"
    dilation: Pair = (1, 1)  # gap between kernel taps (1 = touching); not for AvgPool2d
    groups: int = 1  # Conv2d / ConvTranspose2d: channel groups (both channel counts divisible by it)
    bias: bool = True  # convolutions and Linear: one learnable offset per output channel
    ceil_mode: bool = False  # pools: round the output size up instead of down
    output_padding: Pair = (0, 0)  # ConvTranspose2d: extra rows/columns on one side of the output
    scale_factor: float = 2.0  # Upsample: output = floor(input * scale_factor)
    mode: str = "nearest"  # Upsample: "nearest" or "bilinear"
    p: float = 0.5  # Dropout probability (the residual block's dropout too)
    in_features: int | None = None  # Linear: None = take the flattened size; a number is checked

    @property
    def resolved_stride(self) -> Pair:
        """The stride PyTorch uses: a pool's default is its kernel size, otherwise 1."""
        if self.stride is not None:
            return self.stride
        return self.kernel_size if self.kind in (MAX_POOL, AVG_POOL) else (1, 1)


@dataclass(frozen=True)
class LayerRow:
    """What one layer of an evaluated stack does."""

    spec: LayerSpec  # the layer
    input_shape: Shape  # per sample, what arrives
    output_shape: Shape | None  # per sample; None if the layer (or one before it) cannot work
    parameters: ParameterCount | None  # learnable weights and biases
    receptive_field: Pair | None  # input pixels one output pixel sees; None after an upsampling layer
    activation_bytes: int | None  # float32 bytes of the output, per sample
    error: InvalidLayerConfig | None = None  # why this layer cannot work (first failing layer only)


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


# --- parsing and showing pairs -------------------------------------------------


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


def parse_padding(text: str | int | Sequence[int]) -> Pair | str:
    """Padding as typed: a number or pair, or the words ``same`` / ``valid``."""
    if isinstance(text, str) and text.strip().strip("'\"").lower() in ("same", "valid"):
        return text.strip().strip("'\"").lower()
    return parse_pair(text, "padding")


def show_pair(value: Pair | str) -> str:
    """``(3, 3)`` -> ``"3"``, ``(3, 5)`` -> ``"(3, 5)"``, ``"same"`` -> ``"'same'"`` (PyTorch style)."""
    if isinstance(value, str):
        return repr(value)
    return str(value[0]) if value[0] == value[1] else f"({value[0]}, {value[1]})"


def show_shape(shape: Shape) -> str:
    """A shape as Python writes a tuple: ``(16, 28, 28)``, ``(10,)``."""
    return str(tuple(int(s) for s in shape))


# --- one layer -----------------------------------------------------------------


def _needs_image(spec: LayerSpec, shape: Shape) -> tuple[int, int, int]:
    if len(shape) != 3:
        raise InvalidLayerConfig(
            f"{spec.kind} needs an image-shaped input (C, H, W), but it receives the flat {show_shape(shape)}.",
            f"move {spec.kind} before the Flatten, or remove it.",
        )
    return shape  # type: ignore[return-value]


def output_shape(spec: LayerSpec, shape: Shape) -> Shape:
    """Per-sample output shape of ``spec`` on an input of per-sample ``shape``.

    Raises:
        InvalidLayerConfig: when PyTorch would refuse the layer on this input.
    """
    kind = spec.kind
    if kind in (RELU, SIGMOID, DROPOUT):
        if kind == DROPOUT and not 0.0 <= spec.p <= 1.0:
            raise InvalidLayerConfig(f"Dropout's p is a probability, got {spec.p}.", "use p between 0 and 1.")
        return shape
    if kind == FLATTEN:
        return (math.prod(shape),)
    if kind == LINEAR:
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
    c, h, w = _needs_image(spec, shape)
    if kind == CONV:
        arithmetic.conv2d_parameters(c, spec.out_channels, spec.kernel_size, spec.groups)  # channel/group checks
        size = arithmetic.conv2d_output_size(
            (h, w), spec.kernel_size, spec.resolved_stride, spec.padding, spec.dilation
        )
        return (spec.out_channels, *size)
    if kind == CONV_T:
        arithmetic.conv_transpose2d_parameters(c, spec.out_channels, spec.kernel_size, spec.groups)
        size = arithmetic.conv_transpose2d_output_size(
            (h, w), spec.kernel_size, spec.resolved_stride, _numeric_padding(spec), spec.output_padding, spec.dilation
        )
        return (spec.out_channels, *size)
    if kind in (MAX_POOL, AVG_POOL):
        if kind == AVG_POOL and spec.dilation != (1, 1):
            raise InvalidLayerConfig("AvgPool2d has no dilation in PyTorch.", "set dilation to 1 or use MaxPool2d.")
        size = arithmetic.pool2d_output_size(
            (h, w), spec.kernel_size, spec.resolved_stride, _numeric_padding(spec), spec.dilation, spec.ceil_mode
        )
        return (c, *size)
    if kind == UPSAMPLE:
        if spec.mode not in UPSAMPLE_MODES:
            raise InvalidLayerConfig(f"Upsample mode must be one of {UPSAMPLE_MODES}, got {spec.mode!r}.")
        return (c, *arithmetic.upsample_output_size((h, w), scale_factor=spec.scale_factor))
    if kind == BATCHNORM:
        return shape
    if kind == RESIDUAL:
        arithmetic.conv2d_output_size((h, w), spec.kernel_size, 1, "same")
        if not 0.0 <= spec.p < 1.0:
            raise InvalidLayerConfig(f"The residual block's dropout must be in [0, 1), got {spec.p}.")
        return shape
    raise InvalidLayerConfig(f"Unknown layer {kind!r}.", f"choose one of {', '.join(LAYER_KINDS)}.")


def _numeric_padding(spec: LayerSpec) -> Pair:
    if isinstance(spec.padding, str):
        raise InvalidLayerConfig(
            f'{spec.kind} takes padding as a number, not "{spec.padding}" (only Conv2d knows "same" and "valid").',
            "give padding as a number.",
        )
    return spec.padding


def parameters(spec: LayerSpec, shape: Shape) -> ParameterCount:
    """Learnable parameters of ``spec`` on an input of per-sample ``shape`` (valid input assumed)."""
    if spec.kind == CONV:
        return arithmetic.conv2d_parameters(shape[0], spec.out_channels, spec.kernel_size, spec.groups, spec.bias)
    if spec.kind == CONV_T:
        return arithmetic.conv_transpose2d_parameters(
            shape[0], spec.out_channels, spec.kernel_size, spec.groups, spec.bias
        )
    if spec.kind == LINEAR:
        return arithmetic.linear_parameters(shape[0], spec.out_channels, spec.bias)
    if spec.kind == BATCHNORM:
        return arithmetic.batchnorm2d_parameters(shape[0])
    if spec.kind == RESIDUAL:
        conv = arithmetic.conv2d_parameters(shape[0], shape[0], spec.kernel_size)
        norm = arithmetic.batchnorm2d_parameters(shape[0])
        return ParameterCount(conv.weights + norm.weights, conv.biases + norm.biases)
    return ParameterCount(0, 0)


def window(spec: LayerSpec) -> Window | None:
    """The sliding window for receptive-field arithmetic; None for a layer that upsamples."""
    if spec.kind in (CONV_T, UPSAMPLE):
        return None
    if spec.kind in (CONV, MAX_POOL, AVG_POOL):
        return Window(spec.kernel_size, spec.resolved_stride, spec.dilation)
    if spec.kind == RESIDUAL:
        return Window(spec.kernel_size, 1, 1)  # the convolution path sees the most
    return Window(1, 1, 1)


def evaluate_stack(specs: Sequence[LayerSpec], input_shape: Shape) -> StackReport:
    """Walk ``specs`` from per-sample ``input_shape``; stop at the first layer that cannot work.

    Args:
        specs: the layers, in order.
        input_shape: ``(C, H, W)`` of one sample.
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
        layer_window = window(spec)
        upsampled = upsampled or layer_window is None
        field_size = None
        if not upsampled and len(shape) == 3:
            # Flattening mixes the whole (h, w) map: a window as large as the map.
            windows.append(layer_window if len(out) == 3 else Window((shape[1], shape[2])))  # type: ignore[arg-type]
            field_size = arithmetic.receptive_fields(windows)[-1].size
        elif not upsampled and report.rows:
            field_size = report.rows[-1].receptive_field  # flat -> flat: every output already sees it all
        report.rows.append(LayerRow(spec, shape, out, params, field_size, math.prod(out) * FLOAT32_BYTES))
        shape = out
    return report


def format_bytes(count: int) -> str:
    """Bytes as a person reads them: ``"784 B"``, ``"3.1 KB"``, ``"1.2 MB"`` (1 KB = 1024 B)."""
    if count < 1024:
        return f"{count} B"
    if count < 1024**2:
        return f"{count / 1024:.1f} KB"
    return f"{count / 1024**2:.1f} MB"


# --- PyTorch modules and code ----------------------------------------------------


def _arguments(spec: LayerSpec, shape: Shape) -> tuple[list[str], dict[str, str]]:
    """Positional and keyword arguments of the layer's constructor, as source text (defaults left out)."""
    kind, keywords = spec.kind, {}
    if kind in (CONV, CONV_T):
        positional = [str(shape[0]), str(spec.out_channels)]
        keywords["kernel_size"] = show_pair(spec.kernel_size)
        if spec.resolved_stride != (1, 1):
            keywords["stride"] = show_pair(spec.resolved_stride)
        if spec.padding not in ((0, 0), "valid"):
            keywords["padding"] = show_pair(spec.padding)
        if kind == CONV_T and spec.output_padding != (0, 0):
            keywords["output_padding"] = show_pair(spec.output_padding)
        if spec.dilation != (1, 1):
            keywords["dilation"] = show_pair(spec.dilation)
        if spec.groups != 1:
            keywords["groups"] = str(spec.groups)
        if not spec.bias:
            keywords["bias"] = "False"
        return positional, keywords
    if kind in (MAX_POOL, AVG_POOL):
        keywords["kernel_size"] = show_pair(spec.kernel_size)
        if spec.stride is not None and spec.stride != spec.kernel_size:
            keywords["stride"] = show_pair(spec.stride)
        if spec.padding != (0, 0):
            keywords["padding"] = show_pair(spec.padding)
        if kind == MAX_POOL and spec.dilation != (1, 1):
            keywords["dilation"] = show_pair(spec.dilation)
        if spec.ceil_mode:
            keywords["ceil_mode"] = "True"
        return [], keywords
    if kind == UPSAMPLE:
        return [], {"scale_factor": repr(float(spec.scale_factor)), "mode": repr(spec.mode)}
    if kind == BATCHNORM:
        return [str(shape[0])], {}
    if kind == DROPOUT:
        return [], {"p": repr(float(spec.p))}
    if kind == RESIDUAL:
        return [str(shape[0])], {"kernel_size": show_pair(spec.kernel_size), "dropout": repr(float(spec.p))}
    if kind == LINEAR:
        positional = [str(shape[0]), str(spec.out_channels)]
        return positional, ({} if spec.bias else {"bias": "False"})
    return [], {}


def pytorch_line(spec: LayerSpec, shape: Shape, prefix: str = "nn.") -> str:
    """The constructor call, e.g. ``nn.Conv2d(3, 16, kernel_size=5, stride=2, padding=1)``.

    Args:
        spec: the layer.
        shape: per-sample input shape (gives in_channels / in_features).
        prefix: module prefix for torch layers (the residual block has none).
    """
    positional, keywords = _arguments(spec, shape)
    args = ", ".join(positional + [f"{k}={v}" for k, v in keywords.items()])
    return f"{'' if spec.kind == RESIDUAL else prefix}{spec.kind}({args})"


def to_module(spec: LayerSpec, shape: Shape) -> nn.Module:
    """The real PyTorch layer for ``spec`` on per-sample input ``shape``."""
    from models.residual import ResidualBlock

    positional, keywords = _arguments(spec, shape)
    namespace = {"nn": nn, "ResidualBlock": ResidualBlock}
    # The arguments are numbers, pairs, booleans and quoted words that this module wrote itself.
    return eval(pytorch_line(spec, shape), {"__builtins__": {}}, namespace)  # noqa: S307


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


def export_code(specs: Sequence[LayerSpec], input_shape: Shape, batch: int = 1) -> str:
    """The stack as self-contained, runnable PyTorch code (needs only ``torch``).

    Running the file builds ``model`` and prints each layer's output shape for
    a batch of the given input shape.

    Raises:
        InvalidLayerConfig: if a layer cannot work (export only working stacks).
    """
    report = evaluate_stack(specs, input_shape)
    if report.error_index is not None:
        bad = report.rows[report.error_index]
        raise InvalidLayerConfig(
            f"Layer {report.error_index + 1} ({bad.spec.kind}) cannot work: {bad.error.constraint}",
            bad.error.fix,
        )
    lines = ['"""A CNN built in cnnviz\'s network builder. Needs only PyTorch: python this_file.py"""', ""]
    lines += ["import torch", "from torch import nn"]
    if any(s.kind == RESIDUAL for s in specs):
        lines.append(RESIDUAL_SOURCE.rstrip("\n"))
    lines += ["", "", "model = nn.Sequential("]
    for row in report.rows:
        lines.append(f"    {pytorch_line(row.spec, row.input_shape)},  # -> {show_shape(row.output_shape)}")
    lines.append(")")
    shape = ", ".join(str(s) for s in (batch, *input_shape))
    lines += [
        "",
        'if __name__ == "__main__":',
        f"    x = torch.zeros({shape})  # (N, {', '.join('CHW'[: len(input_shape)])})",
        "    for layer in model:",
        "        x = layer(x)",
        '        print(f"{type(layer).__name__:>16} -> {tuple(x.shape)}")',
        '    print(f"{sum(p.numel() for p in model.parameters()):,} parameters")',
        "",
    ]
    return "\n".join(lines)


# --- presets, read from the modules themselves ----------------------------------


def spec_from_module(module: nn.Module) -> LayerSpec | None:
    """The spec of a PyTorch layer, or None for one that has no place in a stack (e.g. Normalize)."""
    from models.residual import ResidualBlock

    if isinstance(module, ResidualBlock):
        return LayerSpec(RESIDUAL, kernel_size=arithmetic.pair(module.conv.kernel_size), p=module.dropout.p)
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        padding = module.padding if isinstance(module.padding, str) else arithmetic.pair(tuple(module.padding))
        return LayerSpec(
            CONV if isinstance(module, nn.Conv2d) else CONV_T,
            out_channels=module.out_channels,
            kernel_size=arithmetic.pair(tuple(module.kernel_size)),
            stride=arithmetic.pair(tuple(module.stride)),
            padding=padding,
            dilation=arithmetic.pair(tuple(module.dilation)),
            groups=module.groups,
            bias=module.bias is not None,
            output_padding=arithmetic.pair(tuple(module.output_padding))
            if isinstance(module, nn.ConvTranspose2d)
            else (0, 0),
        )
    if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
        kind = MAX_POOL if isinstance(module, nn.MaxPool2d) else AVG_POOL
        as_pair = lambda v: arithmetic.pair(tuple(v) if isinstance(v, (tuple, list)) else v)  # noqa: E731
        return LayerSpec(
            kind,
            kernel_size=as_pair(module.kernel_size),
            stride=as_pair(module.stride) if module.stride is not None else None,
            padding=as_pair(module.padding),
            dilation=as_pair(module.dilation) if kind == MAX_POOL else (1, 1),
            ceil_mode=module.ceil_mode,
        )
    if isinstance(module, nn.Linear):
        return LayerSpec(LINEAR, out_channels=module.out_features, in_features=module.in_features,
                         bias=module.bias is not None)  # fmt: skip
    if isinstance(module, nn.Upsample):
        return LayerSpec(UPSAMPLE, scale_factor=float(module.scale_factor), mode=module.mode)
    if isinstance(module, nn.Dropout):
        return LayerSpec(DROPOUT, p=module.p)
    simple = {nn.ReLU: RELU, nn.Sigmoid: SIGMOID, nn.BatchNorm2d: BATCHNORM, nn.Flatten: FLATTEN}
    for cls, kind in simple.items():
        if isinstance(module, cls):
            return LayerSpec(kind)
    return None


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


@dataclass(frozen=True)
class Preset:
    """A named stack with the input it expects."""

    name: str  # shown in the preset menu
    input_shape: Shape  # (C, H, W) of one sample
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
        )
    }


# --- the editable table -------------------------------------------------------------

TABLE_COLUMNS = ("layer", "out", "kernel", "stride", "padding", "dilation", "groups", "extra")


def spec_to_row(spec: LayerSpec) -> dict[str, object]:
    """One table row (plain strings and numbers, as st.data_editor wants them)."""
    extra = ""
    if spec.kind in (DROPOUT, RESIDUAL):
        extra = f"p={spec.p:g}"
    elif spec.kind == UPSAMPLE:
        extra = f"scale={spec.scale_factor:g} mode={spec.mode}"
    elif spec.kind == CONV_T and spec.output_padding != (0, 0):
        extra = f"output_padding={_pair_text(spec.output_padding)}"
    elif spec.kind in (MAX_POOL, AVG_POOL) and spec.ceil_mode:
        extra = "ceil_mode"
    elif spec.kind == LINEAR and spec.in_features is not None:
        extra = f"in={spec.in_features}"
    if not spec.bias and spec.kind in (CONV, CONV_T, LINEAR):
        extra = (extra + " no_bias").strip()
    uses_window = spec.kind in (CONV, CONV_T, MAX_POOL, AVG_POOL, RESIDUAL)
    return {
        "layer": spec.kind,
        "out": spec.out_channels if spec.kind in (CONV, CONV_T, LINEAR) else None,
        "kernel": _pair_text(spec.kernel_size) if uses_window else "",
        "stride": _pair_text(spec.stride) if uses_window and spec.stride is not None else "",
        "padding": (spec.padding if isinstance(spec.padding, str) else _pair_text(spec.padding))
        if spec.kind in (CONV, CONV_T, MAX_POOL, AVG_POOL)
        else "",
        "dilation": _pair_text(spec.dilation) if spec.kind in (CONV, CONV_T, MAX_POOL) else "",
        "groups": spec.groups if spec.kind in (CONV, CONV_T) else None,
        "extra": extra,
    }


def _pair_text(value: Pair) -> str:
    return str(value[0]) if value[0] == value[1] else f"{value[0]}x{value[1]}"


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or str(value).strip() == ""


def row_to_spec(row: dict[str, object], number: int) -> LayerSpec:
    """Parse one table row (``number`` counts from 1, for messages).

    Raises:
        InvalidLayerConfig: naming the row and the cell that cannot be read.
    """
    kind = str(row.get("layer") or "").strip()
    if kind not in LAYER_KINDS:
        raise InvalidLayerConfig(f"Row {number}: unknown layer {kind!r}.", f"choose one of {', '.join(LAYER_KINDS)}.")
    values: dict[str, object] = {"kind": kind}
    try:
        if not _blank(row.get("out")):
            values["out_channels"] = int(float(row["out"]))  # type: ignore[arg-type]
        elif kind in (CONV, CONV_T, LINEAR):
            raise InvalidLayerConfig(f"{kind} needs out (its output channels or features).", "fill in out.")
        if not _blank(row.get("kernel")):
            values["kernel_size"] = parse_pair(str(row["kernel"]), "kernel")
        if not _blank(row.get("stride")):
            values["stride"] = parse_pair(str(row["stride"]), "stride")
        if not _blank(row.get("padding")):
            values["padding"] = parse_padding(str(row["padding"]))
        if not _blank(row.get("dilation")):
            values["dilation"] = parse_pair(str(row["dilation"]), "dilation")
        if not _blank(row.get("groups")):
            values["groups"] = int(float(row["groups"]))  # type: ignore[arg-type]
        values.update(_parse_extra(str(row.get("extra") or "")))
    except InvalidLayerConfig as error:
        raise InvalidLayerConfig(f"Row {number} ({kind}): {error.constraint}", error.fix) from None
    except (TypeError, ValueError) as error:
        raise InvalidLayerConfig(f"Row {number} ({kind}): a number cannot be read ({error}).") from None
    return LayerSpec(**values)  # type: ignore[arg-type]


def _parse_extra(text: str) -> dict[str, object]:
    """``p=0.3``, ``scale=2 mode=bilinear``, ``output_padding=1``, ``ceil_mode``, ``in=288``, ``no_bias``."""
    values: dict[str, object] = {}
    for token in text.replace(",", " ").split():
        key, _, value = token.partition("=")
        key = key.strip().lower()
        if key == "p":
            values["p"] = float(value)
        elif key in ("scale", "scale_factor"):
            values["scale_factor"] = float(value)
        elif key == "mode":
            values["mode"] = value.strip("'\"")
        elif key == "output_padding":
            values["output_padding"] = parse_pair(value, "output_padding")
        elif key == "ceil_mode":
            values["ceil_mode"] = value.lower() not in ("false", "0")
        elif key in ("in", "in_features"):
            values["in_features"] = int(value)
        elif key == "no_bias":
            values["bias"] = False
        else:
            raise InvalidLayerConfig(
                f"extra setting {token!r} is not known.",
                "use p=0.5, scale=2 mode=nearest, output_padding=1, ceil_mode, in=288 or no_bias.",
            )
    return values


NUMBER_COLUMNS = ("out", "groups")


def complete_rows(rows: Sequence[dict[str, object]]) -> list[dict[str, object]]:
    """Rows with every table column present: text cells as strings ("" when blank), numbers or None."""
    complete = []
    for row in rows:
        filled: dict[str, object] = {}
        for column in TABLE_COLUMNS:
            value = row.get(column)
            if column in NUMBER_COLUMNS:
                filled[column] = None if _blank(value) else int(float(value))  # type: ignore[arg-type]
            else:
                filled[column] = "" if _blank(value) else str(value)
        complete.append(filled)
    return complete


def rows_to_specs(rows: Sequence[dict[str, object]]) -> list[LayerSpec]:
    """Parse the whole table, skipping rows without a layer (an empty new row)."""
    return [row_to_spec(row, i + 1) for i, row in enumerate(rows) if not _blank(row.get("layer"))]


def report_table(report: StackReport) -> list[dict[str, str]]:
    """One display row per evaluated layer: the PyTorch line, shape, parameters, receptive field, memory.

    The receptive field reads ``"n/a"`` from the first layer that upsamples on;
    a layer that cannot work says so in ``status``.
    """
    table = []
    for i, row in enumerate(report.rows, start=1):
        ok = row.error is None
        table.append(
            {
                "#": str(i),
                "layer": pytorch_line(row.spec, row.input_shape) if ok else row.spec.kind,
                "output shape": show_shape(row.output_shape) if ok else "—",
                "parameters": f"{row.parameters.total:,}" if ok else "—",
                "receptive field": (f"{row.receptive_field[0]} x {row.receptive_field[1]}"
                                    if row.receptive_field else "n/a") if ok else "—",
                "activation memory": format_bytes(row.activation_bytes) if ok else "—",
                "status": "ok" if ok else "cannot work",
            }
        )  # fmt: skip
    return table
