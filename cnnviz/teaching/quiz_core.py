"""The quiz's shared pieces: question kinds, the Question and CheckResult records, and drawing helpers.

The templates (:mod:`cnnviz.teaching.quiz_layers`, :mod:`cnnviz.teaching.quiz_digit`), the worked
explanations (:mod:`cnnviz.teaching.quiz_worked`) and the checker (:mod:`cnnviz.teaching.quiz`) all
build on these, so they live below all of them (no import cycle).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cnnviz import layers
from cnnviz.layers import (
    AVG_POOL,
    BATCHNORM,
    CONV,
    CONV1D,
    CONV_T,
    LINEAR,
    MAX_POOL,
    MAX_POOL1D,
    RESIDUAL,
    UPSAMPLE,
    LayerSpec,
    Shape,
)
from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.layers.registry import FLAT, SEQUENCE
from cnnviz.layers.registry import KINDS as LAYER_KINDS
from cnnviz.layers.registry_base import TRANSPOSED, WINDOW

OUTPUT_SHAPE = "output_shape"
STACK_SHAPE = "stack_shape"
PARAMETER_COUNT = "parameter_count"
PADDING_FOR_SIZE = "padding_for_size"
STRIDE_FOR_SIZE = "stride_for_size"
RECEPTIVE_FIELD = "receptive_field"
INVALID_LAYER = "invalid_layer"
SHIFTED_DIGIT = "shifted_digit"
KINDS = (
    OUTPUT_SHAPE, STACK_SHAPE, PARAMETER_COUNT, PADDING_FOR_SIZE, STRIDE_FOR_SIZE, RECEPTIVE_FIELD, INVALID_LAYER,
    SHIFTED_DIGIT,
)  # fmt: skip
# Optional narrowing of a kind (a lesson file names one); None draws from all of the kind's cases.
VARIANTS: dict[str, tuple[str, ...]] = {
    OUTPUT_SHAPE: (CONV, MAX_POOL, AVG_POOL, CONV_T, UPSAMPLE, "channels", CONV1D, MAX_POOL1D),
    STACK_SHAPE: ("conv", "residual", "classifier", "decoder", "sequence"),
    PARAMETER_COUNT: (CONV, CONV_T, LINEAR, BATCHNORM, RESIDUAL, "channels", CONV1D),
    PADDING_FOR_SIZE: ("same",),
    STRIDE_FOR_SIZE: (),
    RECEPTIVE_FIELD: ("conv", "pool"),
    INVALID_LAYER: (),
    SHIFTED_DIGIT: (),
}
# What an answer is, which decides how check() reads it.
SHAPE, COUNT, NUMBER = "shape", "count", "number"
MAX_ANSWER_CHARS = 200  # longer answers are refused unread
MAX_SHIFT = 6  # pixels a shifted-digit question moves the digit at most, as the draw page's sliders
DRAW_TRIES = 500  # random draws before a template gives up (never reached by the shipped templates)


class QuizUnavailable(RuntimeError):
    """A question that cannot be made here (MNIST or the shipped classifier is missing); the message says why."""


@dataclass(frozen=True)
class DigitSetup:
    """Which MNIST test digit a shifted-digit question shows, and how it is moved."""

    index: int  # MNIST test digit number (0..9999)
    label: int  # its true label
    right: int  # pixels moved right (negative: left)
    down: int  # pixels moved down (negative: up)


@dataclass(frozen=True)
class Question:
    """One generated question: its text, the numbers it was made from, and the exact answer."""

    kind: str  # one of KINDS
    variant: str | None  # the narrowing asked for, or None
    seed: int  # with kind and variant, fixes every number below
    text: str  # Markdown, what the student reads
    hint: str  # how to write the answer, e.g. "(C, H, W)"
    answer_kind: str  # SHAPE, COUNT or NUMBER
    answer: tuple[int, ...]  # per-sample shape, or a one-number tuple (count, padding, layer number, digit)
    input_shape: Shape = ()  # per-sample (C, H, W) the layers receive (empty for a digit question)
    batch: int = 1  # N of the batch in the text (a shape answer may include it)
    layers: tuple[LayerSpec, ...] = ()  # the layer or stack the question is about
    target: tuple[int, int] | None = None  # wanted output (h, w) of a padding / stride question
    digit: DigitSetup | None = None  # the shifted-digit question's digit

    @property
    def answer_text(self) -> str:
        """The answer as the page shows it."""
        return format_answer(self.answer_kind, self.answer)


@dataclass(frozen=True)
class CheckResult:
    """What :func:`check` made of an answer."""

    correct: bool  # the answer is right
    understood: str | None  # the answer as read, in canonical form ("(8, 13, 13)", "1,216"); None if unreadable
    message: str  # one or two sentences for the student
    worked: tuple[str, ...] = ()  # after a wrong answer: the general formula, then the one with the numbers in
    constraint: str | None = None  # for an impossible configuration: the rule it breaks, with its fix


def format_answer(answer_kind: str, values: Sequence[int]) -> str:
    """``(8, 13, 13)`` for shapes (``(288,)`` flat), ``1,216`` for counts, ``3`` for numbers."""
    if answer_kind == SHAPE:
        return layers.show_shape(tuple(values))
    if answer_kind == COUNT:
        return f"{values[0]:,}"
    return str(values[0])


def retry_draw(rng: random.Random, draw: Callable[[random.Random], object]) -> object:
    """Draw until ``draw`` returns something other than None (a draw PyTorch would refuse returns None)."""
    for _ in range(DRAW_TRIES):
        result = draw(rng)
        if result is not None:
            return result
    raise RuntimeError("the question template found no valid configuration")  # a template bug, not user input


def shape_text(batch: int, shape: Shape) -> str:
    return layers.show_shape((batch, *shape))


def layer_line(spec: LayerSpec, shape: Shape) -> str:
    return layers.pytorch_line(spec, shape)


def valid_output(spec: LayerSpec, shape: Shape) -> Shape | None:
    try:
        return layers.output_shape(spec, shape)
    except InvalidLayerConfig:
        return None


def constraint_text(error: InvalidLayerConfig) -> str:
    return error.constraint if error.fix is None else f"{error.constraint} Fix: {error.fix}"


# --- what a layer kind is, asked of the registry (the templates and explanations branch on these) ---------


def learns_kernels(kind: str) -> bool:
    """Conv / ConvTranspose, 1-D or 2-D: kernels with out_channels (Linear has out_features but no window)."""
    entry = LAYER_KINDS.get(kind)
    return entry is not None and entry.has_weights and entry.geometry in (WINDOW, TRANSPOSED)


def is_pool(kind: str) -> bool:
    """Max / average pooling: the kinds whose stride defaults to their kernel."""
    entry = LAYER_KINDS.get(kind)
    return entry is not None and entry.stride_is_kernel


def is_transposed(kind: str) -> bool:
    entry = LAYER_KINDS.get(kind)
    return entry is not None and entry.geometry == TRANSPOSED


def takes_flat(kind: str) -> bool:
    """Linear: its input is a flat (F,) vector."""
    entry = LAYER_KINDS.get(kind)
    return entry is not None and entry.input_dims == FLAT


def takes_sequence(kind: str) -> bool:
    entry = LAYER_KINDS.get(kind)
    return entry is not None and entry.input_dims == SEQUENCE


def has_options(kind: str) -> bool:
    """False for the kinds with nothing to set (ReLU, BatchNorm, Flatten, ...)."""
    entry = LAYER_KINDS.get(kind)
    return entry is not None and bool(entry.options)
