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

This module is the entry point (and re-exports the public names); the pieces
live beside it: :mod:`~cnnviz.teaching.quiz_core` (kinds, records, helpers),
:mod:`~cnnviz.teaching.quiz_layers` (layer-arithmetic templates),
:mod:`~cnnviz.teaching.quiz_digit` (the classifier template) and
:mod:`~cnnviz.teaching.quiz_worked` (worked formulas).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import replace

import numpy as np

from cnnviz import layers
from cnnviz.explorer import layer2d
from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.teaching.quiz_core import (
    COUNT,
    DRAW_TRIES,
    INVALID_LAYER,
    KINDS,
    MAX_ANSWER_CHARS,
    MAX_SHIFT,
    NUMBER,
    OUTPUT_SHAPE,
    PADDING_FOR_SIZE,
    PARAMETER_COUNT,
    RECEPTIVE_FIELD,
    SHAPE,
    SHIFTED_DIGIT,
    STACK_SHAPE,
    STRIDE_FOR_SIZE,
    VARIANTS,
    CheckResult,
    DigitSetup,
    Question,
    QuizUnavailable,
    constraint_text,
    format_answer,
)  # fmt: skip
from cnnviz.teaching.quiz_digit import digit_probabilities, make_shifted_digit, shifted_digit, shipped_classifier
from cnnviz.teaching.quiz_layers import (
    make_invalid_layer,
    make_output_shape,
    make_padding,
    make_parameter_count,
    make_receptive_field,
    make_stack_shape,
    make_stride,
)
from cnnviz.teaching.quiz_worked import explorer_settings, layer_settings, parameter_split, worked_formula

# The quiz's public names, wherever they now live, so callers keep importing them from here.
__all__ = [
    "COUNT", "DRAW_TRIES", "INVALID_LAYER", "KINDS", "MAX_ANSWER_CHARS", "MAX_SHIFT", "NUMBER", "OUTPUT_SHAPE",
    "PADDING_FOR_SIZE", "PARAMETER_COUNT", "RECEPTIVE_FIELD", "SHAPE", "SHIFTED_DIGIT", "STACK_SHAPE",
    "STRIDE_FOR_SIZE", "VARIANTS", "CheckResult", "DigitSetup", "Question", "QuizUnavailable", "check",
    "digit_probabilities", "explorer_settings", "format_answer", "make_question", "parse_count", "parse_number",
    "parse_shape", "shifted_digit", "shipped_classifier", "worked_formula",
]  # fmt: skip

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


_MAKERS: dict[str, Callable[[random.Random, int, str | None], Question]] = {
    OUTPUT_SHAPE: make_output_shape,
    STACK_SHAPE: make_stack_shape,
    PARAMETER_COUNT: make_parameter_count,
    PADDING_FOR_SIZE: make_padding,
    STRIDE_FOR_SIZE: make_stride,
    RECEPTIVE_FIELD: make_receptive_field,
    INVALID_LAYER: make_invalid_layer,
    SHIFTED_DIGIT: make_shifted_digit,
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
    parts = parameter_split(question)
    forgot_biases = isinstance(values, tuple) and parts.biases and values[0] == parts.weights
    hint = " Did you leave out the biases (one per output)?" if forgot_biases else ""
    return CheckResult(False, canonical, f"Not {canonical}.{hint} Count weights and biases:", worked_formula(question))


def _size_judge(question: Question, values: tuple[int, ...] | str, canonical: str) -> CheckResult:
    """Padding / stride: any value that gives the wanted size is right; show what the student's value gives."""
    spec = question.layers[0]
    unknown = "padding" if question.kind == PADDING_FOR_SIZE else "stride"
    value = values if isinstance(values, str) else values[0]
    tried = replace(spec, **{unknown: value if isinstance(value, str) else (value, value)})
    settings = layer_settings(tried, question.input_shape, question.batch)
    try:
        report = layer2d.analyze(settings)
    except InvalidLayerConfig as error:
        return CheckResult(False, canonical, f"With {unknown} {canonical} PyTorch refuses the layer:",
                           (error.constraint,), constraint_text(error))  # fmt: skip
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
        return CheckResult(True, f"layer {values[0]}", f"Right: layer {index + 1}.", (why,), constraint_text(error))
    picked = values[0]
    if 1 <= picked <= len(question.layers) and picked < index + 1:
        row = report.rows[picked - 1]
        note = f"Layer {picked} works: it gives {layers.show_shape(row.output_shape)}."  # type: ignore[arg-type]
    elif 1 <= picked <= len(question.layers):
        note = f"PyTorch never reaches layer {picked}: an earlier layer fails first."
    else:
        note = f"There are only {len(question.layers)} layers."
    return CheckResult(False, f"layer {picked}", note, (why,), constraint_text(error))


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
