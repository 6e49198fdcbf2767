"""The 1-D layer explorer's computation: a kernel sliding along a DNA sequence or a signal.

Every setting is declared once, in :data:`SETTINGS` (field, URL key, widget,
range, help, the layers it applies to); the URL codec (:func:`to_query`,
:func:`from_query`), the clamping (:func:`clamp`) and the page's widgets and
state keeping are all derived from that declaration. :func:`analyze` fills in
the formula from :mod:`cnnviz.layers.arithmetic`'s terms and reads shapes,
parameters, the window and the PyTorch line from the registry
(:mod:`cnnviz.layers.registry`); :func:`window_steps` says which input positions each
output reads; :func:`run` runs the real layer on the input.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

import numpy as np
import torch
import torch.nn.functional as F  # noqa: N812

from cnnviz.data import sequences
from cnnviz.device import one_thread
from cnnviz.explorer import animation
from cnnviz.explorer import settings as explorer_settings
from cnnviz.explorer.settings import Setting
from cnnviz.layers import arithmetic, receptive_field, size_solver
from cnnviz.layers.arithmetic import InvalidLayerConfig, ParameterCount
from cnnviz.layers.code_export import pytorch_line, to_module
from cnnviz.layers.registry import KINDS, SEQUENCE, TRANSPOSED, WINDOW, kind_of
from cnnviz.layers.spec import LayerSpec

# The sliding 1-D kinds of the registry, and which options each has (the controls follow from them).
SEQUENCE_LAYERS = tuple(name for name, kind in KINDS.items() if kind.input_dims == SEQUENCE and kind.explored
                        and kind.geometry in (WINDOW, TRANSPOSED))  # fmt: skip
SOURCES = ("dna", "sine", "heartbeat")
SOURCE_NAMES = {"dna": "DNA sequence (one-hot, 4 channels)", "sine": "noisy sine (1 channel)",
                "heartbeat": "heartbeat-like trace (1 channel)"}  # fmt: skip
MAX_DNA = 400  # bases the explorer takes (typed or in a link)
MAX_SIGNAL = 1000  # samples of a generated signal
MAX_SIZE = 64  # largest kernel / stride / padding / dilation offered
MAX_CHANNELS = 512
MAX_BATCH = 1024
MAX_DRAWN_CHANNELS = 4  # output channels drawn as lines
MAX_STEPS = 400  # output positions animated (a longer output animates its start)
DEFAULT_DNA = sequences.SHIPPED_DNA["promoter-like, one TATA box"]


def _having(key: str) -> tuple[str, ...]:
    return tuple(name for name in SEQUENCE_LAYERS if KINDS[name].option(key) is not None)


_CONVS = _having("out")  # learned kernels: out_channels, groups, bias, weights
_DILATED = _having("dilation")
_POOLS = _having("ceil_mode")
_TRANSPOSED = tuple(name for name in SEQUENCE_LAYERS if KINDS[name].geometry == TRANSPOSED)
_SAME_PADDING = tuple(name for name in _having("padding") if KINDS[name].option("padding").choices)  # "same" / "valid"


def kernel_presets(source: str) -> tuple[str, ...]:
    """The kernel presets that fit the input: motifs for DNA, smoothing and edges for signals."""
    return tuple(sequences.MOTIFS) if source == "dna" else tuple(sequences.SIGNAL_KERNELS)


def _setting(field: str, key: str, widget: str, label: str, help_text: str, low: float | None = None,
             high: float | None = None, **more: object) -> Setting:  # fmt: skip
    """A control of the 1-D explorer (for every layer and input unless ``layers`` / ``sources`` say otherwise)."""
    return Setting(field, key, widget, help_text, low, high, label=label,
                   **{"layers": SEQUENCE_LAYERS, "sources": SOURCES, **more})  # type: ignore[arg-type]  # fmt: skip


@dataclass(frozen=True)
class Explorer1dSettings:
    """Everything one 1-D explorer view depends on (and that a link carries)."""

    layer: str = SEQUENCE_LAYERS[0]  # one of SEQUENCE_LAYERS (Conv1d)
    source: str = "dna"  # one of SOURCES
    dna: str = DEFAULT_DNA  # the bases, when source == "dna"
    length: int = 200  # samples of a signal
    noise: float = 0.1  # standard deviation of a signal's noise (the sine and the R waves have height 1)
    seed: int = 0  # a signal's noise and the random kernels
    batch: int = 1  # N (changes only the shape's first number)
    out_channels: int = 1  # C_out of a convolution
    groups: int = 1  # convolution groups
    kernel: int = 6  # kernel_size
    stride: int = 1  # stride (a pool's default equals the kernel, set here explicitly)
    padding_mode: str = "number"  # "number", or "same" / "valid" (Conv1d)
    padding: int = 0  # zeros on each side when padding_mode == "number"
    dilation: int = 1  # gap between kernel taps
    ceil_mode: bool = False  # pools: round up
    output_padding: int = 0  # ConvTranspose1d: extra positions at the end
    bias: bool = True  # convolutions: one offset per output channel
    kernel_mode: str = "preset"  # "preset" or "random"
    preset: str = "TATA box (TATAAA)"  # a name from kernel_presets(source)

    @property
    def in_channels(self) -> int:
        return 4 if self.source == "dna" else 1

    def spec(self) -> LayerSpec:
        """The layer as a registry spec (for shapes, parameters and code)."""
        padding = self.padding_mode if self.padding_mode != "number" and self.layer in _SAME_PADDING else self.padding
        return LayerSpec(self.layer, out_channels=self.out_channels if self.layer in _CONVS else self.in_channels,
                         kernel_size=self.kernel, stride=self.stride, padding=padding,
                         dilation=self.dilation if self.layer in _DILATED else 1, groups=self.groups, bias=self.bias,
                         ceil_mode=self.ceil_mode, output_padding=self.output_padding)  # type: ignore[arg-type]  # fmt: skip


SETTINGS = (
    _setting("layer", "layer", "select", "layer", "Conv1d slides learned kernels along the sequence; pooling "
            "summarises each window; ConvTranspose1d makes the sequence longer.", choices=SEQUENCE_LAYERS),
    _setting("source", "in", "select", "input", "A DNA sequence one-hot encoded (A, C, G, T: 4 channels) or a "
            "signal (1 channel).", choices=SOURCES),
    _setting("dna", "seq", "text", "DNA sequence", "Type or paste bases (A, C, G, T; N for unknown).", 1, MAX_DNA,
            sources=("dna",)),
    _setting("length", "len", "number", "signal length", "Samples in the signal.", 8, MAX_SIGNAL,
            sources=("sine", "heartbeat")),
    _setting("noise", "noise", "float", "noise", "Standard deviation of the noise added to the signal.", 0.0, 2.0,
            sources=("sine", "heartbeat")),
    _setting("seed", "seed", "number", "seed", "The same seed gives the same noise and the same random kernels.",
            0, 2**31 - 1),
    _setting("batch", "n", "number", "batch (N)", "Sequences processed together: only the first number of the "
            "shape changes.", 1, MAX_BATCH),
    _setting("out_channels", "out", "number", "out_channels", "One kernel per output channel: more kernels, more "
            "outputs, more weights.", 1, MAX_CHANNELS, layers=_CONVS),
    _setting("groups", "g", "number", "groups", "Split the channels into groups that do not see each other.", 1,
            MAX_CHANNELS, layers=_CONVS),
    _setting("kernel", "k", "number", "kernel_size", "Positions one window covers.", 1, MAX_SIZE),
    _setting("stride", "s", "number", "stride", "Step of the window: stride 2 roughly halves the length.", 1,
            MAX_SIZE),
    _setting("padding_mode", "pm", "select", "padding as", "A number of zeros on each side, 'same' (keep the length, "
            "stride 1 only) or 'valid' (none).", choices=("number", "same", "valid"), layers=_SAME_PADDING),
    _setting("padding", "p", "number", "padding", "Zeros added at each end: more padding, longer output.", 0,
            MAX_SIZE),
    _setting("dilation", "d", "number", "dilation", "Gaps between the kernel's taps: a wider view with the same "
            "number of weights.", 1, MAX_SIZE, layers=_DILATED),
    _setting("ceil_mode", "ceil", "toggle", "ceil_mode", "Round the output length up, so a last partial window "
            "still counts.", layers=_POOLS),
    _setting("output_padding", "op", "number", "output_padding", "Extra positions at the end of a transposed "
            "convolution's output, to hit an exact length.", 0, MAX_SIZE, layers=_having("output_padding")),
    _setting("bias", "bias", "toggle", "bias", "One learnable number added to each output channel.", layers=_CONVS),
    _setting("kernel_mode", "kern", "select", "weights", "A preset kernel (a motif detector, smoothing, an edge) or "
            "PyTorch's random initialisation under the seed.", choices=("preset", "random"), layers=_CONVS),
    _setting("preset", "preset", "select", "preset", "Motif detectors score +1 per matching base and -1 per other "
            "base; smoothing averages, edges take differences.",
            choices=tuple(sequences.MOTIFS) + tuple(sequences.SIGNAL_KERNELS), layers=_CONVS),
)  # fmt: skip
SETTING_BY_FIELD = {s.field: s for s in SETTINGS}
assert {s.field for s in SETTINGS} == {f.name for f in fields(Explorer1dSettings)}  # declared once, all of them


def applies(setting: Setting, settings: Explorer1dSettings) -> bool:
    """Whether the page shows ``setting`` for these settings' layer and input."""
    if setting.field == "padding" and settings.layer in _SAME_PADDING and settings.padding_mode != "number":
        return False
    if setting.field == "preset" and settings.kernel_mode != "preset":
        return False
    return settings.layer in setting.layers and settings.source in setting.sources


# --- the URL, derived from SETTINGS ---------------------------------------------------------


def to_query(settings: Explorer1dSettings) -> dict[str, str]:
    """The settings as short query parameters, leaving out those at their default."""
    return explorer_settings.to_query(settings, SETTINGS)


def from_query(query: dict[str, str | list[str]]) -> tuple[Explorer1dSettings, list[str]]:
    """Settings from query parameters; unreadable ones keep their default and are reported."""
    return explorer_settings.from_query(query, Explorer1dSettings(), SETTINGS, clamp)


def clamp(settings: Explorer1dSettings) -> tuple[Explorer1dSettings, list[str]]:
    """Bring every setting into its declared range or choices (a preset into those of the input); say what moved.

    Impossible combinations stay: :func:`analyze` explains them.
    """
    clamped, notes = explorer_settings.clamp(settings, SETTINGS)
    if clamped.preset not in kernel_presets(clamped.source):
        clamped = replace(clamped, preset=kernel_presets(clamped.source)[0])
    return clamped, notes


# --- the arithmetic, shown ---------------------------------------------------------------------


@dataclass(frozen=True)
class SequenceReport:
    """What the 1-D explorer shows about one layer."""

    input_shape: tuple[int, int, int]  # (N, C, L)
    output_shape: tuple[int, int, int]  # (N, C, L_out)
    formula: str  # the size formula with the numbers filled in
    general_formula: str  # the formula with names
    parameters: ParameterCount  # weights and biases
    weight_shape: tuple[int, ...] | None  # shape of the weight tensor, if the layer has one
    receptive_field: int | None  # input positions one output position sees; None if it upsamples
    leftover: int | None  # padded positions at the end that no window reads (None: transposed)
    padding: tuple[int, int]  # resolved (before, after)
    pytorch: str  # the copyable constructor call
    notes: tuple[str, ...] = ()  # remarks, e.g. a window dropped by ceil_mode


def input_sequence(settings: Explorer1dSettings) -> sequences.SequenceInput:
    """The input the settings describe (raises sequences.SequenceError for a DNA text that is no DNA)."""
    if settings.source == "dna":
        return sequences.one_hot(settings.dna)
    make = sequences.noisy_sine if settings.source == "sine" else sequences.heartbeat
    return make(settings.length, noise=settings.noise, seed=settings.seed)


def input_length(settings: Explorer1dSettings) -> int:
    return len(sequences.clean_dna(settings.dna)) if settings.source == "dna" else settings.length


def analyze(settings: Explorer1dSettings) -> SequenceReport:
    """Shapes, formula, parameters, receptive field, leftover and PyTorch line of the explored 1-D layer.

    Raises:
        InvalidLayerConfig: when PyTorch would refuse the layer.
        sequences.SequenceError: when the typed DNA is not a DNA sequence.
    """
    spec = settings.spec()
    kind = kind_of(spec)
    c, length = settings.in_channels, input_length(settings)
    shape = (c, length)
    out_c, out_length = kind.output_shape(spec, shape)
    formula = kind.formula(spec, shape)  # type: ignore[misc]
    window = kind.window(spec, shape)
    field = None if window is None else receptive_field.receptive_fields([window])[-1].size[0]
    return SequenceReport(
        input_shape=(settings.batch, c, length),
        output_shape=(settings.batch, out_c, out_length),
        formula=f"L_out = {formula.dims[0]}",
        general_formula=formula.general,
        parameters=kind.parameters(spec, shape),
        weight_shape=None if kind.weight_shape is None else kind.weight_shape(spec, shape),
        receptive_field=field,
        leftover=None if formula.leftover is None else formula.leftover[0],
        padding=formula.padding[0],
        pytorch=pytorch_line(spec, shape),
        notes=formula.notes,
    )


# --- the window, step by step ----------------------------------------------------------------

# Cell kinds of the sliding row: those of the 2-D animation (cnnviz.explorer.animation), so one widget draws both.
PADDING, INPUT, INSERTED, UNREAD = animation.PADDING, animation.INPUT, animation.INSERTED, animation.UNREAD


@dataclass(frozen=True)
class SlidingRow:
    """What the animation draws: the row the window slides over and the taps of each output position."""

    cells: np.ndarray  # (R,) int8 cell kinds
    input_index: np.ndarray  # (R,) int: the input position a cell holds, -1 for zeros
    taps: tuple[tuple[int, ...], ...]  # per animated output position: the row cells it reads
    output_length: int  # the layer's whole output length
    caption: str  # what the picture shows
    input_origin: int  # the cell of input position 0
    input_step: int  # cells between neighbouring input positions (ConvTranspose1d: the stride)
    contiguous: bool  # the taps touch (no dilation gaps): a box, not dots

    def as_window(self) -> animation.SlidingWindow:
        """The row as the 2-D animation's one-row grid, for its browser widget (``animation.payload``)."""
        steps = [animation.Step(0, o, (0,), taps) for o, taps in enumerate(self.taps)]
        return animation.SlidingWindow(self.cells[None].copy(), (0, self.input_origin), (1, self.input_step),
                                       (1, len(self.taps)), (1, self.output_length), steps, self.contiguous,
                                       self.caption)  # fmt: skip


def window_steps(settings: Explorer1dSettings, report: SequenceReport) -> SlidingRow:
    """Which cells of the (padded; for ConvTranspose1d stretched) row each output position reads.

    ``ConvTranspose1d`` is drawn as the equivalent ordinary convolution: ``stride - 1``
    zeros between input positions, ``dilation * (kernel - 1) - padding`` zeros
    at each end (plus ``output_padding`` at the end), kernel stride 1.
    """
    length, out_length = report.input_shape[2], report.output_shape[2]
    k, d = settings.kernel, settings.dilation if settings.layer in _DILATED else 1
    if settings.layer in _TRANSPOSED:
        s, edge = settings.stride, d * (k - 1) - settings.padding
        stretched = (length - 1) * s + 1
        total = stretched + 2 * edge + settings.output_padding
        cells = np.full(total, INSERTED, dtype=np.int8)
        index = np.full(total, -1)
        positions = edge + np.arange(length) * s  # may fall outside when padding > d (k - 1): cropped
        cells[: max(edge, 0)] = PADDING
        cells[max(edge + stretched, 0) :] = PADDING
        inside = (positions >= 0) & (positions < total)
        cells[positions[inside]] = INPUT
        index[positions[inside]] = np.arange(length)[inside]
        step, start = 1, 0
        caption = (f"ConvTranspose1d as the equivalent convolution: {s - 1} zero(s) between input positions, "
                   f"{edge} at each end" + (f", {settings.output_padding} more at the end" if settings.output_padding
                                            else "") + ", kernel stride 1.")  # fmt: skip
    else:
        before, after = report.padding
        total = before + length + after
        cells = np.full(total, PADDING, dtype=np.int8)
        cells[before : before + length] = INPUT
        index = np.full(total, -1)
        index[before : before + length] = np.arange(length)
        step, start = settings.stride, 0
        if report.leftover:
            unread = np.arange(total - report.leftover, total)
            cells[unread[cells[unread] == INPUT]] = UNREAD
        caption = f"The window of {k} tap(s){f' (dilation {d})' if d > 1 else ''} moves {step} position(s) per output."
    shown = min(out_length, MAX_STEPS)
    step_in_row = settings.stride if settings.layer in _TRANSPOSED else 1  # cells between input positions
    taps = []
    for o in range(shown):
        first = start + o * step
        taps.append(tuple(t for t in (first + j * d for j in range(k)) if 0 <= t < total))
    if shown < out_length:
        caption += f" The first {shown} of {out_length} output positions are animated."
    first_input = int(np.flatnonzero(index >= 0)[0]) if (index >= 0).any() else 0
    return SlidingRow(cells, index, tuple(taps), out_length, caption, first_input, step_in_row, d == 1)


# --- the real layer on the input ----------------------------------------------------------------


@dataclass(frozen=True)
class SequenceOutput:
    """The layer run on the input."""

    values: np.ndarray  # (C_shown, L_out) float32: the first MAX_DRAWN_CHANNELS output channels
    names: tuple[str, ...]  # one per drawn channel
    positions: np.ndarray  # (L_out,) float: the input position each output sits over (window centre)
    kernel: np.ndarray | None  # (C_in, k) preset kernel used on every output channel (None: random or pooling)
    description: str  # what was computed, in one line


def _random_weights(settings: Explorer1dSettings) -> tuple[torch.Tensor, torch.Tensor]:
    """PyTorch's default initialisation (Kaiming-uniform weights, uniform biases) from a local generator."""
    generator = torch.Generator().manual_seed(settings.seed)
    c, out, g, k = settings.in_channels, settings.out_channels, settings.groups, settings.kernel
    transposed = settings.layer in _TRANSPOSED
    weight = torch.empty((c, out // g, k) if transposed else (out, c // g, k))
    torch.nn.init.kaiming_uniform_(weight, a=math.sqrt(5), generator=generator)
    fan_in = weight.shape[1] * k  # what PyTorch's _calculate_fan_in_and_fan_out reads for this layout
    bound = 1 / math.sqrt(fan_in)
    bias = torch.empty(out).uniform_(-bound, bound, generator=generator)
    return weight, bias


def _preset_weights(settings: Explorer1dSettings) -> tuple[torch.Tensor, np.ndarray]:
    c, out, k = settings.in_channels, settings.out_channels, settings.kernel
    if settings.groups != 1:
        raise InvalidLayerConfig("A preset kernel reads every input channel, so it needs groups 1.",
                                 "set groups to 1, or use random weights.")  # fmt: skip
    if settings.source == "dna":
        kernel = sequences.motif_kernel(sequences.MOTIFS[settings.preset])  # (4, k)
    else:
        kernel = np.asarray(sequences.SIGNAL_KERNELS[settings.preset], dtype=np.float32)[None]  # (1, k)
    if kernel.shape[1] != k:
        raise InvalidLayerConfig(f"The {settings.preset} kernel is {kernel.shape[1]} long, but kernel_size is {k}.",
                                 f"set kernel_size to {kernel.shape[1]}, or use random weights.")  # fmt: skip
    per_channel = torch.from_numpy(kernel)  # (C_in, k)
    if settings.layer in _TRANSPOSED:
        return per_channel[:, None].expand(c, out, k).contiguous(), kernel
    return per_channel[None].expand(out, c, k).contiguous(), kernel


def run(settings: Explorer1dSettings, report: SequenceReport) -> SequenceOutput:
    """Run the explored layer on the input; the result's length is checked against the arithmetic.

    Raises:
        InvalidLayerConfig: when the preset kernel does not fit the settings.
    """
    x = torch.from_numpy(input_sequence(settings).values.copy())[None]  # (1, C, L)
    spec = settings.spec()
    stride, dilation = settings.stride, spec.dilation[0]
    padding = spec.padding if isinstance(spec.padding, str) else spec.padding[0]
    kernel = None
    with one_thread(), torch.no_grad():
        if settings.layer in _CONVS:
            if settings.kernel_mode == "random":
                weight, bias = _random_weights(settings)
                bias = bias if settings.bias else None
                description = f"random weights (PyTorch's initialisation, seed {settings.seed})"
            else:
                weight, kernel = _preset_weights(settings)
                bias = None
                description = f"the {settings.preset} kernel on every output channel; no bias"
            if settings.layer not in _TRANSPOSED:
                y = F.conv1d(x, weight, bias, stride, padding, dilation, settings.groups)
            else:
                y = F.conv_transpose1d(x, weight, bias, stride, padding, settings.output_padding, settings.groups,
                                       dilation)  # fmt: skip
        else:  # nothing to choose: the real layer itself
            kind = kind_of(spec)
            y = to_module(spec, tuple(x.shape[1:]))(x)
            description = f"{kind.summary[0].lower()}{kind.summary[1:].rstrip('.')}: the real {report.pytorch}"
    if tuple(y.shape[1:]) != report.output_shape[1:]:  # the arithmetic and PyTorch must agree
        raise AssertionError(f"PyTorch gave {tuple(y.shape)}, the arithmetic {report.output_shape}")
    out_length = y.shape[2]
    if settings.layer in _TRANSPOSED:
        positions = (np.arange(out_length) - (spec.dilation[0] * (settings.kernel - 1) - settings.padding)) / stride
    else:
        span = arithmetic.effective_kernel_size(settings.kernel, dilation)
        positions = np.arange(out_length) * stride - report.padding[0] + (span - 1) / 2
    drawn = y[0, :MAX_DRAWN_CHANNELS].numpy().astype(np.float32)
    if settings.layer in _POOLS:
        names = input_sequence(settings).channel_names[: drawn.shape[0]]
    else:
        names = tuple(f"channel {o}" for o in range(drawn.shape[0]))
    return SequenceOutput(drawn, tuple(names), positions.astype(np.float64), kernel, description)


def preset_length(source: str, preset: str) -> int:
    """Taps of a kernel preset (the first preset of the input when ``preset`` does not fit it)."""
    name = preset if preset in kernel_presets(source) else kernel_presets(source)[0]
    if source == "dna":
        return len(sequences.MOTIFS[name])
    return len(sequences.SIGNAL_KERNELS[name])


def settings_for(solution: size_solver.Solution, length: int, out_channels: int = 1) -> Explorer1dSettings | None:
    """The explorer set to a solver answer on an input of ``length``: a signal of that length, or the start of
    the example DNA when it is shorter than a signal may be; None when no input of that length can be shown.

    The weights are PyTorch's random ones (a preset fits only its own kernel size).
    """
    if 8 <= length <= MAX_SIGNAL:
        source, dna = "sine", DEFAULT_DNA
    elif length <= len(DEFAULT_DNA):
        source, dna = "dna", DEFAULT_DNA[:length]
    else:
        return None
    padding_mode = solution.padding if isinstance(solution.padding, str) else "number"
    return Explorer1dSettings(
        layer=solution.kind, source=source, dna=dna, length=length if source == "sine" else 200,
        out_channels=out_channels if solution.kind in _CONVS else 1, kernel=solution.kernel_size,  # type: ignore[arg-type]
        stride=solution.stride, padding_mode=padding_mode,  # type: ignore[arg-type]
        padding=0 if isinstance(solution.padding, str) else solution.padding,  # type: ignore[arg-type]
        dilation=solution.dilation, ceil_mode=solution.ceil_mode, output_padding=solution.output_padding,  # type: ignore[arg-type]
        kernel_mode="random", preset=kernel_presets(source)[0],
    )  # fmt: skip
