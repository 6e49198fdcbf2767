"""The trained-network question: which digit the shipped classifier says a moved MNIST digit is."""

from __future__ import annotations

import functools
import random

import numpy as np
import torch

from cnnviz.teaching.quiz_core import MAX_SHIFT, NUMBER, SHIFTED_DIGIT, DigitSetup, Question, QuizUnavailable


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
        pixels = mnist_test_digit(setup.index).pixels
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


def make_shifted_digit(rng: random.Random, seed: int, variant: str | None) -> Question:
    from cnnviz.data.mnist import MNISTNotFound, mnist_test_digit

    index = rng.randrange(10_000)
    right = rng.randint(-MAX_SHIFT, MAX_SHIFT)
    down = rng.randint(-MAX_SHIFT, MAX_SHIFT)
    try:
        label = mnist_test_digit(index).label
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
