"""Questions that check themselves: seeded templates whose answers cnnviz computes.

:func:`make_question` draws the numbers of a question from ``random.Random``
seeded by ``(kind, variant, seed)`` (never the global generator), so the same
seed gives the same question in every process: a class can share one. The
exact answer comes from :mod:`cnnviz.layers.arithmetic` (through
:mod:`cnnviz.layers`) or, for the trained classifier, from PyTorch itself;
nothing is typed by hand. :func:`check` reads the usual spellings of an answer
(``(8, 13, 13)``, ``8x13x13``, ``8 × 13 × 13``, with or without the batch,
``1,216`` for counts) and answers with a :class:`CheckResult`: right or wrong,
what it understood, and after a wrong answer the worked formula with the
question's numbers (the explorer's filled-in formula) or, for a configuration
PyTorch refuses, the constraint it breaks and its fix.
"""

from __future__ import annotations

import functools
import math
import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import torch

from cnnviz import layers
from cnnviz.explorer import layer1d, layer2d
from cnnviz.layers import (
    AVG_POOL,
    BATCHNORM,
    CONV,
    CONV1D,
    CONV_T,
    FLATTEN,
    LINEAR,
    MAX_POOL,
    MAX_POOL1D,
    RELU,
    RESIDUAL,
    UPSAMPLE,
    LayerSpec,
    Shape,
    arithmetic,
)
from cnnviz.layers.arithmetic import InvalidLayerConfig, ParameterCount
from cnnviz.layers.registry import stride_of

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


# --- generation ---------------------------------------------------------------------


def make_question(kind: str, seed: int, variant: str | None = None) -> Question:
    """The question of ``kind`` drawn with ``seed`` (and optionally narrowed to ``variant``).

    Raises:
        ValueError: unknown kind or variant.
        QuizUnavailable: a shifted-digit question without MNIST or the shipped classifier.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown question kind {kind!r}; choose one of {', '.join(KINDS)}.")
    if variant is not None and variant not in VARIANTS[kind]:
        allowed = ", ".join(VARIANTS[kind]) or "none"
        raise ValueError(f"question kind {kind!r} has no variant {variant!r}; its variants: {allowed}.")
    rng = random.Random(f"{kind}|{variant}|{int(seed)}")
    return _MAKERS[kind](rng, int(seed), variant)


def _retry(rng: random.Random, draw: Callable[[random.Random], object]) -> object:
    """Draw until ``draw`` returns something other than None (a draw PyTorch would refuse returns None)."""
    for _ in range(DRAW_TRIES):
        result = draw(rng)
        if result is not None:
            return result
    raise RuntimeError("the question template found no valid configuration")  # a template bug, not user input


def _per_sample_text(batch: int, shape: Shape) -> str:
    return layers.show_shape((batch, *shape))


def _layer_line(spec: LayerSpec, shape: Shape) -> str:
    return layers.pytorch_line(spec, shape)


def _draw_conv(rng: random.Random) -> LayerSpec:
    kernel = rng.choice([1, 2, 3, 3, 3, 5, 5, 7])
    stride = rng.choice([1, 1, 1, 2, 2, 3])
    padding: tuple[int, int] | str = (p := rng.choice([0, 0, 1, 1, 2, 3]), p)
    if stride == 1 and rng.random() < 0.15:
        padding = "same"
    dilation = rng.choice([1, 1, 1, 1, 1, 2])
    kernel_pair = (kernel, kernel) if rng.random() < 0.85 else (kernel, rng.choice([1, 3, 5]))
    return LayerSpec(
        CONV,
        out_channels=rng.choice([4, 6, 8, 8, 16, 16, 32, 64]),
        kernel_size=kernel_pair,
        stride=(stride, stride),
        padding=padding,
        dilation=(dilation, dilation),
    )


def _draw_pool(rng: random.Random, kind: str) -> LayerSpec:
    kernel = rng.choice([2, 2, 2, 3, 3, 4])
    stride = rng.choice([None, None, 1, 2, kernel])
    padding = rng.choice([0, 0, 0, kernel // 2])
    dilation = rng.choice([1, 1, 1, 1, 2]) if kind == MAX_POOL else 1
    return LayerSpec(
        kind,
        kernel_size=(kernel, kernel),
        stride=None if stride is None else (stride, stride),
        padding=(padding, padding),
        dilation=(dilation, dilation),
        ceil_mode=rng.random() < 0.2,
    )


def _draw_conv_t(rng: random.Random) -> LayerSpec:
    stride = rng.choice([1, 2, 2, 3])
    kernel = rng.choice([2, 3, 3, 4, 5])
    return LayerSpec(
        CONV_T,
        out_channels=rng.choice([1, 4, 8, 16, 32]),
        kernel_size=(kernel, kernel),
        stride=(stride, stride),
        padding=(p := rng.choice([0, 0, 1, 2]), p),
        output_padding=(op := rng.randrange(stride), op),
    )


def _draw_input(rng: random.Random) -> tuple[int, tuple[int, int]]:
    channels = rng.choice([1, 1, 3, 3, 8, 16])
    height = rng.choice([28, 28, 32, rng.randint(5, 64)])
    width = height if rng.random() < 0.85 else rng.randint(5, 64)
    return channels, (height, width)


def _valid(spec: LayerSpec, shape: Shape) -> Shape | None:
    try:
        return layers.output_shape(spec, shape)
    except InvalidLayerConfig:
        return None


def _make_output_shape(rng: random.Random, seed: int, variant: str | None) -> Question:
    def draw(r: random.Random) -> tuple[LayerSpec, Shape, Shape] | None:
        kind = variant or r.choice([CONV, CONV, CONV, MAX_POOL, MAX_POOL, AVG_POOL, CONV_T, UPSAMPLE])
        channels, size = _draw_input(r)
        if kind in (CONV, "channels"):
            spec = _draw_conv(r)
            if kind == "channels":  # the lab's picture: RGB in, several kernels, no padding
                channels, spec = 3, LayerSpec(CONV, out_channels=r.choice([1, 8, 16]), kernel_size=spec.kernel_size)
        elif kind in (MAX_POOL, AVG_POOL):
            spec = _draw_pool(r, kind)
        elif kind == CONV_T:
            channels, size = r.choice([4, 8, 16, 32]), (h := r.randint(2, 14), h)
            spec = _draw_conv_t(r)
        else:
            channels, size = r.choice([1, 4, 8, 16]), (h := r.randint(2, 14), h)
            spec = LayerSpec(
                UPSAMPLE, scale_factor=r.choice([2.0, 2.0, 3.0, 1.5]), mode=r.choice(layers.UPSAMPLE_MODES)
            )
        shape = (channels, *size)
        out = _valid(spec, shape)
        return None if out is None else (spec, shape, out)

    if variant in (CONV1D, MAX_POOL1D):
        spec, shape, out = _retry(rng, lambda r: _draw_sequence_layer(r, variant))  # type: ignore[misc]
    else:
        spec, shape, out = _retry(rng, draw)  # type: ignore[misc]
    batch = rng.choice([1, 4, 8, 16, 32])
    axes = "(N, C, L)" if len(shape) == 2 else "(N, C, H, W)"
    text = (
        f"`x` has shape `{_per_sample_text(batch, shape)}` {axes}. What is the shape of "
        f"`{_layer_line(spec, shape)}(x)`?"
    )
    hint = "(C, L), with or without N" if len(shape) == 2 else "(C, H, W), with or without N"
    return Question(OUTPUT_SHAPE, variant, seed, text, hint, SHAPE, out, shape, batch, (spec,))


def _draw_sequence_spec(rng: random.Random, kind: str) -> LayerSpec:
    if kind == CONV1D:
        kernel, stride = rng.choice([3, 5, 6, 7, 8, 9, 12]), rng.choice([1, 1, 1, 2, 3])
        padding: tuple[int, int] | str = (p := rng.choice([0, 0, 1, 2, 3]), p)
        if stride == 1 and rng.random() < 0.2:
            padding = "same"
        dilation = rng.choice([1, 1, 1, 2])
        return LayerSpec(CONV1D, out_channels=rng.choice([8, 16, 32, 64]), kernel_size=(kernel, kernel),
                         stride=(stride, stride), padding=padding, dilation=(dilation, dilation))  # fmt: skip
    kernel = rng.choice([2, 2, 3, 4, 5])
    stride = rng.choice([None, None, 1, 2])
    return LayerSpec(MAX_POOL1D, kernel_size=(kernel, kernel), stride=None if stride is None else (stride, stride),
                     padding=(p := rng.choice([0, 0, kernel // 2]), p), ceil_mode=rng.random() < 0.2)  # fmt: skip


def _draw_sequence_layer(rng: random.Random, kind: str) -> tuple[LayerSpec, Shape, Shape] | None:
    """One 1-D layer on a (C, L) sequence, e.g. one-hot DNA (4 channels) or a signal (1 channel)."""
    shape: Shape = (rng.choice([1, 4, 4, 8, 16]), rng.randint(20, 300))
    spec = _draw_sequence_spec(rng, kind)
    out = _valid(spec, shape)
    return None if out is None else (spec, shape, out)


def _sequence_stack_draw(rng: random.Random) -> tuple[Shape, tuple[LayerSpec, ...]] | None:
    """Conv1d, ReLU and MaxPool1d on one-hot DNA, as the lab's note on 1-D convolutions describes."""
    shape: Shape = (4, rng.choice([100, 100, 200, rng.randint(40, 300)]))
    specs: list[LayerSpec] = []
    current = shape
    for position in range(rng.randint(2, 4)):
        kind = CONV1D if position == 0 else rng.choice([CONV1D, MAX_POOL1D, MAX_POOL1D, RELU])
        spec = LayerSpec(RELU) if kind == RELU else _draw_sequence_spec(rng, kind)
        out = _valid(spec, current)
        if out is None or out[-1] < 2:
            return None
        specs.append(spec)
        current = out
    return shape, tuple(specs)


def _stack_draw(rng: random.Random, variant: str) -> tuple[Shape, tuple[LayerSpec, ...]] | None:
    if variant == "sequence":
        return _sequence_stack_draw(rng)
    if variant == "decoder":
        shape: Shape = (rng.choice([4, 8, 16, 32]), h := rng.randint(2, 7), h)
    else:
        shape = (rng.choice([1, 1, 3]), h := rng.choice([28, 28, 32, rng.randint(12, 40)]), h)
    specs: list[LayerSpec] = []
    current = shape
    count = rng.randint(2, 4)
    for position in range(count):
        for _ in range(50):
            if variant == "decoder":
                choice = rng.choice([CONV_T, CONV_T, UPSAMPLE, RELU, CONV])
                if choice == CONV_T:
                    spec = _draw_conv_t(rng)
                elif choice == UPSAMPLE:
                    spec = LayerSpec(UPSAMPLE, scale_factor=2.0)
                elif choice == CONV:
                    spec = LayerSpec(CONV, out_channels=rng.choice([1, 8, 16]), kernel_size=(3, 3), padding=(1, 1))
                else:
                    spec = LayerSpec(RELU)
            else:
                choice = rng.choice([CONV, CONV, MAX_POOL, RELU] + ([RESIDUAL] * 2 if variant == "residual" else []))
                if position == 0:
                    choice = CONV
                if choice == CONV:
                    spec = _draw_conv(rng)
                elif choice == MAX_POOL:
                    spec = LayerSpec(MAX_POOL, kernel_size=(2, 2))
                elif choice == RESIDUAL:
                    spec = LayerSpec(RESIDUAL, kernel_size=(k := rng.choice([3, 5]), k), p=0.1)
                else:
                    spec = LayerSpec(RELU)
            out = _valid(spec, current)
            if out is not None and min(out[1:]) >= 2:
                specs.append(spec)
                current = out
                break
        else:
            return None
    if variant == "residual" and not any(s.kind == RESIDUAL for s in specs):
        specs.append(LayerSpec(RESIDUAL, kernel_size=(3, 3), p=0.1))
    if variant == "classifier":
        specs.append(LayerSpec(FLATTEN))
    return shape, tuple(specs)


def _make_stack_shape(rng: random.Random, seed: int, variant: str | None) -> Question:
    chosen = variant or rng.choice(VARIANTS[STACK_SHAPE])
    shape, specs = _retry(rng, lambda r: _stack_draw(r, chosen))  # type: ignore[misc]
    out = layers.evaluate_stack(specs, shape).output_shape
    batch = rng.choice([1, 4, 8, 16])
    lines = [f"    {_layer_line(row.spec, row.input_shape)}," for row in layers.evaluate_stack(specs, shape).rows]
    text = (
        f"`x` has shape `{_per_sample_text(batch, shape)}`. What is the shape of `model(x)`?\n\n"
        "```python\nmodel = nn.Sequential(\n" + "\n".join(lines) + "\n)\n```"
    )
    hint = {3: "(C, H, W)", 2: "(C, L)"}.get(len(out), "(features,)") + ", with or without N"  # type: ignore[arg-type]
    return Question(STACK_SHAPE, variant, seed, text, hint, SHAPE, out, shape, batch, specs)  # type: ignore[arg-type]


def _make_parameter_count(rng: random.Random, seed: int, variant: str | None) -> Question:
    kind = variant or rng.choice([CONV, CONV, CONV, CONV_T, LINEAR, LINEAR, BATCHNORM, RESIDUAL])
    if kind == LINEAR:
        shape: Shape = (rng.choice([8, 16, 32, 64]), s := rng.choice([1, 2, 3, 4, 7]), s)
        spec = LayerSpec(LINEAR, out_channels=rng.choice([10, 10, 32, 64, 128]), bias=rng.random() < 0.9)
        features = math.prod(shape)
        bias = "" if spec.bias else ", bias=False"
        text = (
            f"A backbone outputs `{_per_sample_text(1, shape)}` per image; `nn.Flatten()` follows, then "
            f"`nn.Linear(in_features, {spec.out_channels}{bias})` with `in_features` set right. "
            "How many learnable parameters does the Linear layer have (weights and biases)?"
        )
        params = arithmetic.linear_parameters(features, spec.out_channels, spec.bias)
        return Question(PARAMETER_COUNT, variant, seed, text, "a whole number, e.g. 2,890", COUNT, (params.total,),
                        shape, 1, (LayerSpec(FLATTEN), spec))  # fmt: skip
    channels = rng.choice([1, 3, 3, 8, 16, 32])
    if kind == CONV1D:
        channels = rng.choice([1, 4, 4, 16])
        spec = _draw_sequence_spec(rng, CONV1D)
        spec = replace(spec, bias=rng.random() < 0.85)
        params = layers.parameters(spec, (channels, 100))
        text = f"How many learnable parameters (weights and biases) does `{_layer_line(spec, (channels, 100))}` have?"
        return Question(PARAMETER_COUNT, variant, seed, text, "a whole number, e.g. 528", COUNT, (params.total,),
                        (channels, 100), 1, (spec,))  # fmt: skip
    if kind == "channels":  # the lab's thought exercise: 3 channels in, 1 or 8 kernels
        channels = 3
        spec = LayerSpec(CONV, out_channels=rng.choice([1, 8]), kernel_size=(k := rng.choice([3, 5]), k))
    elif kind in (CONV, CONV_T):
        groups = rng.choice([1] * 8 + [2, 4]) if channels % 4 == 0 else 1
        spec = LayerSpec(
            kind,
            out_channels=rng.choice([4, 8, 16, 32, 64]),
            kernel_size=(k := rng.choice([1, 3, 3, 5, 7]), k if rng.random() < 0.9 else rng.choice([1, 3])),
            groups=groups,
            bias=rng.random() < 0.85,
        )
    elif kind == BATCHNORM:
        channels, spec = rng.choice([8, 16, 32, 64]), LayerSpec(BATCHNORM)
    else:
        channels, spec = rng.choice([8, 16, 32, 64]), LayerSpec(RESIDUAL, kernel_size=(k := rng.choice([3, 5]), k))
    shape = (channels, 28, 28)
    params = layers.parameters(spec, shape)
    text = f"How many learnable parameters (weights and biases) does `{_layer_line(spec, shape)}` have?"
    if kind == RESIDUAL:
        text = (
            f"The lab's `ResidualBlock({channels}, kernel_size={spec.kernel_size[0]})` is Conv2d (same padding) -> "
            "ReLU -> Dropout -> BatchNorm2d, plus the input. How many learnable parameters does it have?"
        )
    return Question(PARAMETER_COUNT, variant, seed, text, "a whole number, e.g. 1,216", COUNT, (params.total,), shape,
                    1, (spec,))  # fmt: skip


def _smallest(values: range, works: Callable[[int], bool]) -> int | None:
    return next((v for v in values if works(v)), None)


def _conv_size(size: int, kernel: int, stride: int, padding: int | str, dilation: int) -> int | None:
    try:
        return arithmetic.conv2d_output_size(size, kernel, stride, padding, dilation)[0]
    except InvalidLayerConfig:
        return None


def _make_padding(rng: random.Random, seed: int, variant: str | None) -> Question:
    def draw(r: random.Random) -> tuple[int, LayerSpec, int, int] | None:
        size = r.choice([28, 28, 32, r.randint(6, 64)])
        kernel = r.choice([3, 3, 5, 5, 7, 4])
        stride = 1 if variant == "same" else r.choice([1, 1, 2])
        dilation = r.choice([1, 1, 1, 2])
        if variant == "same":
            kernel = r.choice([3, 3, 5, 5, 7, 9])
            target = size
        else:
            target = _conv_size(size, kernel, stride, r.randint(0, 4), dilation)
        if target is None:
            return None
        spec = LayerSpec(CONV, out_channels=r.choice([8, 16, 32]), kernel_size=(kernel, kernel),
                         stride=(stride, stride), dilation=(dilation, dilation))  # fmt: skip
        answer = _smallest(range(0, 65), lambda p: _conv_size(size, kernel, stride, p, dilation) == target)
        return None if answer is None else (size, spec, target, answer)

    size, spec, target, answer = _retry(rng, draw)  # type: ignore[misc]
    channels = rng.choice([1, 3, 8])
    shape = (channels, size, size)
    line = _layer_line(spec, shape).rstrip(")") + ", padding=?)"
    text = (
        f"`x` has shape `{_per_sample_text(1, shape)}`. Which `padding` (zeros on every side) makes "
        f"`{line}` give an output of {target} × {target}?"
    )
    if spec.stride != (1, 1):
        text += " (If several work, any of them is right.)"
    return Question(PADDING_FOR_SIZE, variant, seed, text, "a whole number, e.g. 2", NUMBER, (answer,), shape, 1,
                    (spec,), (target, target))  # fmt: skip


def _make_stride(rng: random.Random, seed: int, variant: str | None) -> Question:
    def draw(r: random.Random) -> tuple[int, LayerSpec, int, int] | None:
        size = r.choice([28, 28, 32, 64, r.randint(8, 96)])
        kernel = r.choice([1, 2, 3, 3, 5, 7])
        padding = r.choice([0, 0, 1, 2]) if kernel > 1 else 0
        target = _conv_size(size, kernel, r.randint(2, 5), padding, 1)
        if target is None or target < 2:
            return None
        spec = LayerSpec(CONV, out_channels=r.choice([8, 16, 32]), kernel_size=(kernel, kernel),
                         padding=(padding, padding))  # fmt: skip
        answer = _smallest(
            range(1, size + 2 * padding + 1), lambda s: _conv_size(size, kernel, s, padding, 1) == target
        )
        return None if answer is None else (size, spec, target, answer)

    size, spec, target, answer = _retry(rng, draw)  # type: ignore[misc]
    shape = (rng.choice([1, 3, 8]), size, size)
    line = _layer_line(spec, shape).rstrip(")") + ", stride=?)"
    text = (
        f"`x` has shape `{_per_sample_text(1, shape)}`. Which `stride` makes `{line}` give an output of "
        f"{target} × {target}? (If several work, any of them is right.)"
    )
    return Question(STRIDE_FOR_SIZE, variant, seed, text, "a whole number, e.g. 2", NUMBER, (answer,), shape, 1,
                    (spec,), (target, target))  # fmt: skip


def _make_receptive_field(rng: random.Random, seed: int, variant: str | None) -> Question:
    def draw(r: random.Random) -> tuple[Shape, tuple[LayerSpec, ...]] | None:
        specs = []
        for i in range(r.randint(2, 4)):
            if i > 0 and variant != "conv" and r.random() < 0.4:
                specs.append(LayerSpec(MAX_POOL, kernel_size=(2, 2)))
            else:
                k = r.choice([3, 3, 5, 7])
                s = r.choice([1, 1, 1, 2])
                d = 2 if r.random() < 0.1 else 1
                specs.append(LayerSpec(CONV, out_channels=r.choice([8, 16, 32]), kernel_size=(k, k), stride=(s, s),
                                       padding=(k // 2 * d, k // 2 * d), dilation=(d, d)))  # fmt: skip
        shape: Shape = (1, 64, 64)
        report = layers.evaluate_stack(specs, shape)
        return None if report.error_index is not None else (shape, tuple(specs))

    shape, specs = _retry(rng, draw)  # type: ignore[misc]
    field = layers.evaluate_stack(specs, shape).rows[-1].receptive_field
    lines = [f"    {_layer_line(row.spec, row.input_shape)}," for row in layers.evaluate_stack(specs, shape).rows]
    text = (
        "One pixel of the last layer's output sees a square of input pixels. How many pixels wide is that "
        "square (the receptive field)?\n\n```python\nmodel = nn.Sequential(\n" + "\n".join(lines) + "\n)\n```"
    )
    return Question(RECEPTIVE_FIELD, variant, seed, text, "a whole number, e.g. 7", NUMBER, (field[0],), shape, 1,
                    specs)  # type: ignore[index]  # fmt: skip


def _break(rng: random.Random, spec: LayerSpec, shape: Shape) -> LayerSpec | None:
    """A version of ``spec`` that PyTorch refuses on ``shape`` (each a rule of cnnviz.layers.arithmetic)."""
    c, h, w = shape
    ways = []
    if spec.kind == CONV:
        ways += [
            lambda: LayerSpec(CONV, out_channels=spec.out_channels, kernel_size=(k := min(h, w) + rng.randint(1, 3), k)),  # noqa: E501
            lambda: LayerSpec(CONV, out_channels=spec.out_channels, kernel_size=spec.kernel_size, stride=(2, 2),
                              padding="same"),
        ]  # fmt: skip
        groups = [g for g in range(2, spec.out_channels + 1) if spec.out_channels % g == 0 and c % g]
        if groups:
            ways.append(lambda: LayerSpec(CONV, out_channels=spec.out_channels, kernel_size=spec.kernel_size,
                                          padding=spec.padding, groups=rng.choice(groups)))  # fmt: skip
    if spec.kind == MAX_POOL:
        ways += [
            lambda: LayerSpec(MAX_POOL, kernel_size=(3, 3), padding=(2, 2)),
            lambda: LayerSpec(MAX_POOL, kernel_size=(k := min(h, w) + rng.randint(1, 2), k)),
        ]
    if not ways:
        return None
    broken = rng.choice(ways)()
    return broken if _valid(broken, shape) is None else None


def _make_invalid_layer(rng: random.Random, seed: int, variant: str | None) -> Question:
    def draw(r: random.Random) -> tuple[Shape, tuple[LayerSpec, ...], int, list[Shape]] | None:
        found = _stack_draw(r, "conv")
        if found is None:
            return None
        shape, specs = found
        specs = specs + (LayerSpec(MAX_POOL, kernel_size=(2, 2)),) if len(specs) < 3 else specs
        report = layers.evaluate_stack(specs, shape)
        if report.error_index is not None:
            return None
        candidates = [i for i, s in enumerate(specs) if s.kind in (CONV, MAX_POOL)]
        index = r.choice(candidates)
        broken = _break(r, specs[index], report.rows[index].input_shape)
        if broken is None:
            return None
        intended = [row.input_shape for row in report.rows]
        new = specs[:index] + (broken,) + specs[index + 1 :]
        if layers.evaluate_stack(new, shape).error_index != index:
            return None
        return shape, new, index, intended  # type: ignore[return-value]

    shape, specs, index, intended = _retry(rng, draw)  # type: ignore[misc]
    rows = layers.evaluate_stack(specs, shape).rows
    # Layers after the broken one are written for the input the unbroken stack gives them (same channels).
    lines = [f"    {_layer_line(spec, seen)},  # layer {number}" for number, (spec, seen) in
             enumerate(zip(specs, intended), start=1)]  # fmt: skip
    text = (
        f"`x` has shape `{_per_sample_text(1, shape)}`. Which layer is the first one PyTorch refuses, and why?"
        "\n\n```python\nmodel = nn.Sequential(\n" + "\n".join(lines) + "\n)\n```"
    )
    assert rows[-1].error is not None
    return Question(INVALID_LAYER, variant, seed, text, f"the layer's number, 1 to {len(specs)}", NUMBER,
                    (index + 1,), shape, 1, specs)  # fmt: skip


@functools.lru_cache(maxsize=1)
def shipped_classifier() -> torch.nn.Module:
    """The shipped classifier, loaded once per process (eval mode; only ever read)."""
    from models import CheckpointError, load_pretrained

    try:
        return load_pretrained("classifier")
    except CheckpointError as error:
        raise QuizUnavailable(f"Digit questions need the shipped classifier: {error}") from None


def shifted_digit(setup: DigitSetup) -> torch.Tensor:
    """The question's digit, moved: ``(1, 1, 28, 28)`` float in [0, 1].

    Raises:
        QuizUnavailable: MNIST is not there (the message says how to get it).
    """
    from cnnviz.data.mnist import MNISTNotFound, mnist_test_digit
    from cnnviz.data.preprocess import shift_rotate

    try:
        pixels, _ = mnist_test_digit(setup.index)
    except MNISTNotFound as error:
        raise QuizUnavailable(f"Digit questions need MNIST: {error}") from None
    digit = torch.from_numpy(pixels.astype(np.float32) / 255.0)[None, None]  # (1, 1, 28, 28)
    return shift_rotate(digit, right=float(setup.right), down=float(setup.down))


def digit_probabilities(setup: DigitSetup) -> np.ndarray:
    """``(10,)`` probabilities the shipped classifier gives the moved digit."""
    from cnnviz.analysis.features import probabilities
    from cnnviz.device import one_thread

    digit = shifted_digit(setup)
    with one_thread():
        return probabilities(shipped_classifier(), digit)[0]


def _make_shifted_digit(rng: random.Random, seed: int, variant: str | None) -> Question:
    from cnnviz.data.mnist import MNISTNotFound, mnist_test_digit

    index = rng.randrange(10_000)
    right = rng.randint(-MAX_SHIFT, MAX_SHIFT)
    down = rng.randint(-MAX_SHIFT, MAX_SHIFT)
    try:
        _, label = mnist_test_digit(index)
    except MNISTNotFound as error:
        raise QuizUnavailable(f"Digit questions need MNIST: {error}") from None
    setup = DigitSetup(index, label, right, down)
    said = int(np.argmax(digit_probabilities(setup)))
    moves = [f"{abs(right)} pixel{'s' if abs(right) != 1 else ''} {'right' if right >= 0 else 'left'}",
             f"{abs(down)} pixel{'s' if abs(down) != 1 else ''} {'down' if down >= 0 else 'up'}"]  # fmt: skip
    text = (
        f"This MNIST test digit (number {index}) is a **{label}**. Moved {moves[0]} and {moves[1]}, as in the "
        "picture, which digit will the shipped classifier say it is?"
    )
    return Question(SHIFTED_DIGIT, variant, seed, text, "one digit, 0 to 9", NUMBER, (said,), (1, 28, 28), 1, (),
                    digit=setup)  # fmt: skip


_MAKERS: dict[str, Callable[[random.Random, int, str | None], Question]] = {
    OUTPUT_SHAPE: _make_output_shape,
    STACK_SHAPE: _make_stack_shape,
    PARAMETER_COUNT: _make_parameter_count,
    PADDING_FOR_SIZE: _make_padding,
    STRIDE_FOR_SIZE: _make_stride,
    RECEPTIVE_FIELD: _make_receptive_field,
    INVALID_LAYER: _make_invalid_layer,
    SHIFTED_DIGIT: _make_shifted_digit,
}


# --- reading answers ------------------------------------------------------------------

_COUNT = re.compile(r"^(\d{1,3}(?:([,  _'’])\d{3})(?:\2\d{3})*|\d+)$")
_SHAPE_NOISE = re.compile(r"torch\.size|shape|[\s,;x×X*()\[\]]|\bby\b", re.IGNORECASE)
_NUMBER = re.compile(r"^(?:layer|no\.?|#|nr\.?)?\s*(\d+)\s*(?:st|nd|rd|th)?$", re.IGNORECASE)


def parse_shape(text: str) -> tuple[int, ...] | None:
    """The integers of a shape as typed (``(8, 13, 13)``, ``8x13x13``, ``torch.Size([8, 13, 13])``), or None."""
    numbers = re.findall(r"\d+", text)
    if not numbers or _SHAPE_NOISE.sub("", re.sub(r"\d+", "", text)):
        return None
    return tuple(int(n) for n in numbers)


def parse_count(text: str) -> int | None:
    """A whole number with optional thousands separators (``1,216``, ``1 216``, ``1_216``), or None."""
    cleaned = re.sub(r"\s*(parameters|params|weights)?\.?$", "", text.strip(), flags=re.IGNORECASE)
    match = _COUNT.match(cleaned)
    if not match:
        return None
    return int(re.sub(r"\D", "", cleaned))


def parse_number(text: str) -> int | None:
    """One small whole number: ``3``, ``layer 3``, ``#3``, ``3rd``, or an equal pair ``7x7``; else None."""
    cleaned = text.strip().rstrip(".")
    match = _NUMBER.match(cleaned)
    if match:
        return int(match.group(1))
    pair = parse_shape(cleaned)
    if pair is not None and len(pair) == 2 and pair[0] == pair[1]:
        return pair[0]
    return None


def _read(question: Question, text: str) -> tuple[tuple[int, ...] | str, str] | None:
    """The answer as values and canonical text, or None when it cannot be read."""
    if question.answer_kind == SHAPE:
        shape = parse_shape(text)
        if shape is None:
            return None
        if len(shape) == len(question.answer) + 1 and shape[0] == question.batch:
            shape = shape[1:]  # the batch dimension: unambiguous, as the lengths differ
        return shape, layers.show_shape(shape)
    if question.answer_kind == COUNT:
        count = parse_count(text)
        return None if count is None else ((count,), f"{count:,}")
    if question.kind == PADDING_FOR_SIZE and text.strip().strip("'\"").lower() in ("same", "valid"):
        word = text.strip().strip("'\"").lower()
        return word, repr(word)
    number = parse_number(text)
    return None if number is None else ((number,), str(number))


def check(question: Question, answer_text: str) -> CheckResult:
    """Whether ``answer_text`` answers ``question``; after a wrong one, the worked formula or broken rule."""
    text = str(answer_text or "").strip()
    if not text:
        return CheckResult(False, None, f"Type an answer: {question.hint}.")
    if len(text) > MAX_ANSWER_CHARS:
        return CheckResult(False, None, f"That answer is too long to read; answer with {question.hint}.")
    read = _read(question, text)
    if read is None:
        return CheckResult(False, None, f"This answer could not be read; write it as {question.hint}.")
    values, canonical = read
    return _JUDGES[question.kind](question, values, canonical)


def _shape_judge(question: Question, values: tuple[int, ...] | str, canonical: str) -> CheckResult:
    if values == question.answer:
        return CheckResult(True, canonical, f"Right: {question.answer_text}.")
    assert isinstance(values, tuple)
    if len(values) != len(question.answer):
        message = f"{canonical} has {len(values)} numbers; the answer is a shape like {question.hint}."
    else:
        message = f"Not {canonical}. Work it out layer by layer:"
    return CheckResult(False, canonical, message, worked_formula(question))


def _count_judge(question: Question, values: tuple[int, ...] | str, canonical: str) -> CheckResult:
    if values == question.answer:
        return CheckResult(True, canonical, f"Right: {question.answer_text} parameters.")
    parts = _parameter_split(question)
    forgot_biases = isinstance(values, tuple) and parts.biases and values[0] == parts.weights
    hint = " Did you leave out the biases (one per output)?" if forgot_biases else ""
    return CheckResult(False, canonical, f"Not {canonical}.{hint} Count weights and biases:", worked_formula(question))


def _size_judge(question: Question, values: tuple[int, ...] | str, canonical: str) -> CheckResult:
    """Padding / stride: any value that gives the wanted size is right; show what the student's value gives."""
    spec = question.layers[0]
    unknown = "padding" if question.kind == PADDING_FOR_SIZE else "stride"
    value = values if isinstance(values, str) else values[0]
    tried = replace(spec, **{unknown: value if isinstance(value, str) else (value, value)})
    settings = _settings(tried, question.input_shape, question.batch)
    try:
        report = layer2d.analyze(settings)
    except InvalidLayerConfig as error:
        return CheckResult(False, canonical, f"With {unknown} {canonical} PyTorch refuses the layer:",
                           (error.constraint,), _constraint(error))  # fmt: skip
    got = report.output_shape[2:]
    worked = (report.general_formula, *report.formulas)
    if got == question.target:
        return CheckResult(True, canonical, f"Right: {unknown} {canonical} gives {got[0]} × {got[1]}.", worked)
    target = question.target
    return CheckResult(False, canonical, f"With {unknown} {canonical} the output is {got[0]} × {got[1]}, "
                       f"not {target[0]} × {target[1]}:", worked)  # type: ignore[index]  # fmt: skip


def _field_judge(question: Question, values: tuple[int, ...] | str, canonical: str) -> CheckResult:
    if values == question.answer:
        return CheckResult(True, canonical, f"Right: each output pixel sees {question.answer_text} × "
                           f"{question.answer_text} input pixels.")  # fmt: skip
    return CheckResult(False, canonical, f"Not {canonical}. Grow the field layer by layer:", worked_formula(question))


def _invalid_judge(question: Question, values: tuple[int, ...] | str, canonical: str) -> CheckResult:
    report = layers.evaluate_stack(question.layers, question.input_shape)
    index = report.error_index
    assert index is not None and isinstance(values, tuple)
    error = report.rows[index].error
    assert error is not None
    why = f"Layer {index + 1} ({question.layers[index].kind}) breaks a rule: {error.constraint}"
    if values == question.answer:
        return CheckResult(True, f"layer {values[0]}", f"Right: layer {index + 1}.", (why,), _constraint(error))
    picked = values[0]
    if 1 <= picked <= len(question.layers) and picked < index + 1:
        row = report.rows[picked - 1]
        note = f"Layer {picked} works: it gives {layers.show_shape(row.output_shape)}."  # type: ignore[arg-type]
    elif 1 <= picked <= len(question.layers):
        note = f"PyTorch never reaches layer {picked}: an earlier layer fails first."
    else:
        note = f"There are only {len(question.layers)} layers."
    return CheckResult(False, f"layer {picked}", note, (why,), _constraint(error))


def _digit_judge(question: Question, values: tuple[int, ...] | str, canonical: str) -> CheckResult:
    assert question.digit is not None and isinstance(values, tuple)
    probs = digit_probabilities(question.digit)
    top = np.argsort(probs)[::-1][:3]
    line = "The classifier's top guesses: " + ", ".join(f"{d} ({probs[d]:.0%})" for d in top) + "."
    if values == question.answer:
        return CheckResult(True, canonical, f"Right: it says {question.answer_text}.", (line,))
    if not 0 <= values[0] <= 9:
        return CheckResult(False, canonical, "Answer with one digit, 0 to 9.")
    return CheckResult(False, canonical, f"Not {canonical}: it says {question.answer_text}.", (line,))


_JUDGES: dict[str, Callable[[Question, tuple[int, ...] | str, str], CheckResult]] = {
    OUTPUT_SHAPE: _shape_judge,
    STACK_SHAPE: _shape_judge,
    PARAMETER_COUNT: _count_judge,
    PADDING_FOR_SIZE: _size_judge,
    STRIDE_FOR_SIZE: _size_judge,
    RECEPTIVE_FIELD: _field_judge,
    INVALID_LAYER: _invalid_judge,
    SHIFTED_DIGIT: _digit_judge,
}


def _constraint(error: InvalidLayerConfig) -> str:
    return error.constraint if error.fix is None else f"{error.constraint} Fix: {error.fix}"


# --- the worked formula ------------------------------------------------------------------


def _settings(spec: LayerSpec, shape: Shape, batch: int) -> layer2d.ExplorerSettings:
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
    return _settings(question.layers[0], question.input_shape, question.batch)


def _layer_steps(spec: LayerSpec, shape: Shape, batch: int) -> list[str]:
    """How one layer turns ``shape`` into its output, in the explorer's words where it has them."""
    line = _layer_line(spec, shape)
    if spec.kind in (CONV1D, MAX_POOL1D) and len(shape) == 2:
        report = layer1d.analyze(_settings_1d(spec, shape[1]))
        out = layers.output_shape(spec, shape)
        channels = (f"C_out = out_channels = {spec.out_channels}" if spec.kind == CONV1D
                    else f"C stays {shape[0]} (each channel on its own)")  # fmt: skip
        return [f"{line}: {report.general_formula}", f"  {report.formula}", f"  {channels} -> {layers.show_shape(out)}"]
    if spec.kind in layer2d.EXPLORER_LAYERS and len(shape) == 3:
        report = layer2d.analyze(_settings(spec, shape, batch))
        channels = (f"C_out = out_channels = {spec.out_channels}" if spec.kind in (CONV, CONV_T)
                    else f"C stays {shape[0]} (each channel on its own)")  # fmt: skip
        return [f"{line}: {report.general_formula}", f"  {report.formulas[0]}", f"  {report.formulas[1]}",
                f"  {channels} -> {layers.show_shape(report.output_shape[1:])}"]  # fmt: skip
    out = layers.output_shape(spec, shape)
    if spec.kind == FLATTEN:
        return [f"{line}: {' × '.join(map(str, shape))} = {out[0]} features -> {layers.show_shape(out)}"]
    if spec.kind == LINEAR:
        return [f"{line}: out_features -> {layers.show_shape(out)}"]
    if spec.kind == RESIDUAL:
        return [f"{line}: same padding and as many channels out as in, so f(x) + x keeps {layers.show_shape(out)}"]
    return [f"{line}: keeps the shape {layers.show_shape(out)}"]


def _parameter_split(question: Question) -> ParameterCount:
    spec = question.layers[-1]
    if spec.kind == LINEAR:
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
            steps.append(f"{_layer_line(spec, shape)}: r = {size} + {d} × ({k} − 1) × {jump} = {new_size};  "
                         f"jump = {jump} × {s} = {new_jump}")  # fmt: skip
            size, jump = new_size, new_jump
            shape = layers.output_shape(spec, shape)
        return tuple(steps)
    return ()


def _parameter_steps(question: Question) -> tuple[str, ...]:
    spec = question.layers[-1]
    shape = question.input_shape
    if spec.kind == LINEAR:
        features = math.prod(shape)
        params = arithmetic.linear_parameters(features, spec.out_channels, spec.bias)
        return (
            f"in_features = {' × '.join(map(str, shape))} = {features:,}",
            f"weights = in_features × out_features = {features:,} × {spec.out_channels} = {params.weights:,}",
            f"biases = one per output = {params.biases:,}",
            f"total = {params.weights:,} + {params.biases:,} = {params.total:,}",
        )
    c = shape[0]
    if spec.kind == CONV1D:
        params = arithmetic.conv1d_parameters(c, spec.out_channels, spec.kernel_size[0], spec.groups, spec.bias)
        return (
            f"weight tensor {layers.show_shape((spec.out_channels, c // spec.groups, spec.kernel_size[0]))} "
            "= (out, in / groups, kernel)",
            f"weights = {spec.out_channels} × {c // spec.groups} × {spec.kernel_size[0]} = {params.weights:,}",
            f"biases = {'one per output channel' if spec.bias else 'none (bias=False)'} = {params.biases:,}",
            f"total = {params.weights:,} + {params.biases:,} = {params.total:,}",
        )
    if spec.kind in (CONV, CONV_T):
        report = layer2d.analyze(_settings(spec, shape, 1))
        names = ("out", "in / groups") if spec.kind == CONV else ("in", "out / groups")
        params = report.parameters
        weight = " × ".join(map(str, report.weight_shape))  # type: ignore[arg-type]
        return (
            f"weight tensor {layers.show_shape(report.weight_shape)} = ({names[0]}, {names[1]}, kernel_h, kernel_w)",  # type: ignore[arg-type]
            f"weights = {weight} = {params.weights:,}",
            f"biases = {'one per output channel' if spec.bias else 'none (bias=False)'} = {params.biases:,}",
            f"total = {params.weights:,} + {params.biases:,} = {params.total:,}",
        )
    if spec.kind == BATCHNORM:
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
