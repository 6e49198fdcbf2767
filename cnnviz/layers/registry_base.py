"""What a layer kind is: :class:`LayerKind` and its :class:`Option` and :class:`Formula`, and the rules kinds share.

The entries themselves are in :mod:`cnnviz.layers.kinds`; :mod:`cnnviz.layers.registry` is where the rest of
cnnviz looks them up. A kind says everything cnnviz knows about it, so that no page, view or explorer needs
to know a kind by name: what input it takes, its options (with the ranges the pages offer), its shape and
parameter arithmetic, its formula with the numbers filled in, its weight tensor, its receptive-field window,
how the explorer's animation draws it, its PyTorch constructor call, how it is read back from a module and
which family of the size solver answers for it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from cnnviz.layers import arithmetic
from cnnviz.layers.arithmetic import ParameterCount
from cnnviz.layers.receptive_field import Window
from cnnviz.layers.spec import LayerSpec, Pair, Shape

ANY, FLAT, SEQUENCE, IMAGE = None, 0, 1, 2  # input kinds: spatial dimensions of (F,), (C, L), (C, H, W)
Arguments = tuple[list[str], dict[str, str]]  # positional and keyword constructor arguments, as source text

# How an option's value is written (in the builder's table, in a link, in a widget).
INT, FLOAT, PAIR, SIDES, CHOICE, FLAG, NO_FLAG = "int", "float", "pair", "sides", "choice", "flag", "no_flag"

# How the explorer's animation draws a kind.
WINDOW = "window"  # a window slides over the padded input (convolutions, pools)
TRANSPOSED = "transposed"  # the equivalent ordinary convolution over the input with zeros inserted
GATHER = "gather"  # each output index reads its own input indices per axis (kind.sources): uneven, or resampled
NO_WINDOW = "none"  # no window at all: the explorer says why in one line (kind.window_text)


@dataclass(frozen=True)
class Option:
    """One setting of a kind, as the pages offer it."""

    field: str  # the LayerSpec field it sets
    key: str  # its network-builder column (out, kernel, ...) or its word in the extra column (p, scale, ...)
    value: str  # how it is written: INT, FLOAT, PAIR (one number or h x w), SIDES, CHOICE, FLAG or NO_FLAG
    low: float | None  # smallest value offered (None: a choice or a flag)
    high: float | None  # largest value offered (None: no upper bound)
    help: str  # one line for the student
    choices: tuple[str, ...] = ()  # CHOICE: its values; a PAIR padding: the words it takes too ("same", "valid")
    always_shown: bool = False  # the builder writes it even at its default (it defines the layer)


@dataclass(frozen=True)
class Formula:
    """A layer's size formula, as the explorers show it: with names, and with the student's numbers."""

    general: str  # per spatial dimension, with names: "⌊(in + 2 × padding − ...) / stride + 1⌋"
    dims: tuple[str, ...]  # per spatial dimension (H, W or L), with the numbers filled in, ending in the size
    padding: tuple[tuple[int, int], ...]  # per spatial dimension: (before, after) cells of padding
    leftover: tuple[int, ...] | None = None  # per dimension: padded cells no window reads (None: no sliding)
    notes: tuple[str, ...] = ()  # remarks, e.g. a window dropped by ceil_mode
    channels: str | None = None  # C_out with the numbers filled in, when a rule (not out_channels) sets it


@dataclass(frozen=True)
class LayerKind:
    """One kind of layer, everything cnnviz knows about it."""

    name: str  # the PyTorch class name (ResidualBlock: the project's own class)
    input_dims: int | None  # IMAGE, SEQUENCE, FLAT, or ANY shape
    summary: str  # one line: what it does
    options: tuple[Option, ...]  # its settings, in the order the builder shows them
    output_shape: Callable[[LayerSpec, Shape], Shape]  # per-sample shape out; raises InvalidLayerConfig
    parameters: Callable[[LayerSpec, Shape], ParameterCount]  # learnable weights and biases (valid input)
    # Receptive-field window on a per-sample input; None: it upsamples (past it a cell reads no one box).
    window: Callable[[LayerSpec, Shape | None], Window | None]
    arguments: Callable[[LayerSpec, Shape], Arguments]  # constructor arguments, defaults left out
    module_types: tuple[type[nn.Module], ...]  # PyTorch classes read back as this kind
    from_module: Callable[[nn.Module], LayerSpec]  # the spec of such a module
    formula: Callable[[LayerSpec, Shape], Formula] | None = None  # None: the explorers do not offer the kind
    weight_shape: Callable[[LayerSpec, Shape], tuple[int, ...]] | None = None  # None: no weight tensor
    geometry: str = NO_WINDOW  # how the explorer's animation draws it: WINDOW, TRANSPOSED, GATHER or NO_WINDOW
    # GATHER: per axis (0 rows, 1 columns), the input indices each output index reads, from (spec, axis, in, out).
    sources: Callable[[LayerSpec, int, int, int], tuple[tuple[int, ...], ...]] | None = None
    window_text: Callable[[LayerSpec], str] | None = None  # GATHER: what each cell reads; NO_WINDOW: why none
    stride_is_kernel: bool = False  # pools: stride defaults to kernel_size
    solver_family: str | None = None  # the size solver's family that answers for it (None: the solver does not)
    code_prefix: str = "nn."  # "" for the project's ResidualBlock
    code_source: str = ""  # a class definition exported code needs before the model (the residual block's)

    def option(self, key: str) -> Option | None:
        """The option with this builder key (``"kernel"``, ``"p"``, ...), or None when the kind has none."""
        return next((o for o in self.options if o.key == key), None)

    def sets(self, field: str) -> bool:
        """Whether one of the kind's options sets this :class:`LayerSpec` field."""
        return any(o.field == field for o in self.options)

    @property
    def has_weights(self) -> bool:
        """It has a weight tensor (convolutions, Linear, BatchNorm, the residual block)."""
        return self.weight_shape is not None

    @property
    def explored(self) -> bool:
        """An explorer shows it (it has a formula to fill in)."""
        return self.formula is not None

    def stride(self, spec: LayerSpec) -> Pair:
        """The stride PyTorch uses: the spec's own, else the kind's default (a pool's kernel size, otherwise 1)."""
        if spec.stride is not None:
            return spec.stride
        return spec.kernel_size if self.stride_is_kernel else (1, 1)


# --- formulas, as the explorers write them ------------------------------------------------------------


def fraction(numerator: int, denominator: int) -> str:
    """``numerator / denominator`` as a short decimal (exact when it divides)."""
    if numerator % denominator == 0:
        return str(numerator // denominator)
    return f"{numerator / denominator:.4f}".rstrip("0")


def pad_text(before: int, after: int) -> str:
    """``2 × 1`` for even padding, ``0 + 1`` for uneven ("same" with an even kernel)."""
    return f"2 × {before}" if before == after else f"{before} + {after}"


def window_formula(t: arithmetic.WindowTerms, padding: str) -> str:
    """A sliding window's size formula with ``t``'s numbers, ending in the output size."""
    low, high = ("⌈", "⌉") if t.ceil_mode else ("⌊", "⌋")
    text = f"{low}({t.size} + {padding} − {t.dilation} × ({t.kernel_size} − 1) − 1) / {t.stride} + 1{high} "
    text += f"= {low}{fraction(t.numerator + t.stride, t.stride)}{high} = {t.rounded}"
    return text + (f" − 1 = {t.output}" if t.dropped_last else "")


def transpose_formula(t: arithmetic.TransposeTerms) -> str:
    """A transposed convolution's size formula with ``t``'s numbers."""
    return (f"({t.size} − 1) × {t.stride} − 2 × {t.padding} + {t.dilation} × ({t.kernel_size} − 1) "
            f"+ {t.output_padding} + 1 = {t.output}")  # fmt: skip


CONV_GENERAL = "⌊(in + pad_before + pad_after − dilation × (kernel − 1) − 1) / stride + 1⌋"
TRANSPOSE_GENERAL = "(in − 1) × stride − 2 × padding + dilation × (kernel − 1) + output_padding + 1"


def pool_general(ceil_mode: bool) -> str:
    low, high = ("⌈", "⌉") if ceil_mode else ("⌊", "⌋")
    return f"{low}(in + 2 × padding − dilation × (kernel − 1) − 1) / stride + 1{high}"


def axis_names(dims: int) -> tuple[str, ...]:
    """How notes name the spatial dimensions of an input with ``dims`` of them."""
    return ("height", "width") if dims == IMAGE else ("length",)
