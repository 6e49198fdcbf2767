"""Generated questions against PyTorch: run the layers on a tensor, count the parameters.

A thousand questions per kind run through PyTorch's own operators on meta
tensors (its shape rules and checks, no data, none of cnnviz's arithmetic);
the first ones of each kind also run as real layers on CPU tensors.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F  # noqa: N812
from torch import nn

from cnnviz.explorer import layer2d
from cnnviz.layers import LayerSpec
from cnnviz.layers.registry import stride_of
from cnnviz.teaching import quiz
from models.residual import ResidualBlock

# PyTorch warns that "same" padding with an even kernel copies the input: true, and beside the point here.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel:UserWarning")
COUNT = 1000  # questions per kind
ON_CPU = 25  # of which the first ones also run as real layers on CPU tensors


def torch_layer(spec: LayerSpec, in_channels: int, in_features: int = 0) -> nn.Module:
    """The PyTorch layer for ``spec``, built here from its fields (not through cnnviz.layers)."""
    stride = spec.stride
    if spec.kind == "Conv2d":
        return nn.Conv2d(in_channels, spec.out_channels, spec.kernel_size, stride or 1, spec.padding, spec.dilation,
                         spec.groups, spec.bias)  # fmt: skip
    if spec.kind == "ConvTranspose2d":
        return nn.ConvTranspose2d(in_channels, spec.out_channels, spec.kernel_size, stride or 1, spec.padding,
                                  spec.output_padding, spec.groups, spec.bias, spec.dilation)  # fmt: skip
    if spec.kind == "Conv1d":
        return nn.Conv1d(in_channels, spec.out_channels, spec.kernel_size[0], (stride or (1,))[0],
                         spec.padding if isinstance(spec.padding, str) else spec.padding[0], spec.dilation[0],
                         spec.groups, spec.bias)  # fmt: skip
    if spec.kind == "MaxPool1d":
        return nn.MaxPool1d(spec.kernel_size[0], stride and stride[0], spec.padding[0], spec.dilation[0],
                            ceil_mode=spec.ceil_mode)  # fmt: skip
    if spec.kind == "MaxPool2d":
        return nn.MaxPool2d(spec.kernel_size, stride, spec.padding, spec.dilation, ceil_mode=spec.ceil_mode)
    if spec.kind == "AvgPool2d":
        return nn.AvgPool2d(spec.kernel_size, stride, spec.padding, ceil_mode=spec.ceil_mode)
    if spec.kind == "Upsample":
        return nn.Upsample(scale_factor=spec.scale_factor, mode=spec.mode)
    if spec.kind == "ResidualBlock":
        return ResidualBlock(in_channels, spec.kernel_size[0], spec.p)
    if spec.kind == "BatchNorm2d":
        return nn.BatchNorm2d(in_channels)
    if spec.kind == "Linear":
        return nn.Linear(in_features, spec.out_channels, spec.bias)
    return {"ReLU": nn.ReLU, "Flatten": nn.Flatten}[spec.kind]()


def run_layers(specs, shape) -> torch.Size:
    """Build each real layer from the tensor that reaches it and run it on CPU; the output shape."""
    x = torch.zeros(1, *shape)  # (1, C, H, W)
    with torch.no_grad():
        for spec in specs:
            x = torch_layer(spec, x.shape[1], x[0].numel()).eval()(x)
    return x.shape


def run_meta(specs, shape) -> torch.Size:
    """The same through PyTorch's functional operators on meta tensors (shapes and checks, no data)."""
    x = torch.empty(1, *shape, device="meta")  # (1, C, H, W)
    for spec in specs:
        c = x.shape[1]
        stride = spec.stride or 1
        if spec.kind == "Conv2d":
            if c % spec.groups or spec.out_channels % spec.groups:
                raise ValueError("channels not divisible by groups")  # nn.Conv2d's own check when it is built
            w = torch.empty(spec.out_channels, c // spec.groups, *spec.kernel_size, device="meta")
            x = F.conv2d(x, w, None, stride, spec.padding, spec.dilation, spec.groups)
        elif spec.kind == "ConvTranspose2d":
            w = torch.empty(c, spec.out_channels // spec.groups, *spec.kernel_size, device="meta")
            x = F.conv_transpose2d(x, w, None, stride, spec.padding, spec.output_padding, spec.groups, spec.dilation)
        elif spec.kind == "Conv1d":
            w = torch.empty(spec.out_channels, c // spec.groups, spec.kernel_size[0], device="meta")
            padding = spec.padding if isinstance(spec.padding, str) else spec.padding[0]
            x = F.conv1d(x, w, None, (spec.stride or (1,))[0], padding, spec.dilation[0], spec.groups)
        elif spec.kind == "MaxPool1d":
            x = F.max_pool1d(x, spec.kernel_size[0], spec.stride and spec.stride[0], spec.padding[0],
                             spec.dilation[0], spec.ceil_mode)  # fmt: skip
        elif spec.kind == "MaxPool2d":
            x = F.max_pool2d(x, spec.kernel_size, spec.stride, spec.padding, spec.dilation, spec.ceil_mode)
        elif spec.kind == "AvgPool2d":
            x = F.avg_pool2d(x, spec.kernel_size, spec.stride, spec.padding, spec.ceil_mode)
        elif spec.kind == "Upsample":
            # interpolate's meta version is slow (about 80 ms); the small real tensor takes microseconds
            x = F.interpolate(torch.zeros(x.shape), scale_factor=spec.scale_factor, mode=spec.mode).to("meta")
        elif spec.kind == "ResidualBlock":
            x = F.conv2d(x, torch.empty(c, c, *spec.kernel_size, device="meta"), None, 1, "same") + x
        elif spec.kind == "Flatten":
            x = x.flatten(1)
    return x.shape


@pytest.mark.parametrize("kind", [quiz.OUTPUT_SHAPE, quiz.STACK_SHAPE])
def test_shape_answers_are_what_pytorch_gives(kind):
    for seed in range(COUNT):
        question = quiz.make_question(kind, seed)
        assert tuple(run_meta(question.layers, question.input_shape)[1:]) == question.answer, question.text
        if seed < ON_CPU:
            assert tuple(run_layers(question.layers, question.input_shape)[1:]) == question.answer, question.text
        assert quiz.check(question, question.answer_text).correct


@pytest.mark.parametrize(
    ("kind", "variant"),
    [(quiz.OUTPUT_SHAPE, "Conv1d"), (quiz.OUTPUT_SHAPE, "MaxPool1d"), (quiz.STACK_SHAPE, "sequence")],
)
def test_sequence_shapes_are_what_pytorch_gives(kind, variant):
    for seed in range(COUNT // 2):
        question = quiz.make_question(kind, seed, variant)
        assert len(question.input_shape) == 2  # (C, L)
        assert tuple(run_meta(question.layers, question.input_shape)[1:]) == question.answer, question.text
        if seed < ON_CPU:
            assert tuple(run_layers(question.layers, question.input_shape)[1:]) == question.answer, question.text
        assert quiz.check(question, question.answer_text).correct
        assert quiz.check(question, f"{question.batch}x" + "x".join(map(str, question.answer))).correct
    wrong = quiz.check(question, "(1, 2)")
    assert not wrong.correct and any(line.strip().startswith("L_out = ⌊(") for line in wrong.worked)


def test_conv1d_parameter_counts_are_what_pytorch_counts():
    for seed in range(COUNT // 2):
        question = quiz.make_question(quiz.PARAMETER_COUNT, seed, "Conv1d")
        layer = torch_layer(question.layers[0], question.input_shape[0])
        assert sum(p.numel() for p in layer.parameters()) == question.answer[0], question.text
    wrong = quiz.check(question, "1")
    assert any(line.startswith("weights = ") for line in wrong.worked)


def test_parameter_counts_are_what_pytorch_counts():
    for seed in range(COUNT):
        question = quiz.make_question(quiz.PARAMETER_COUNT, seed)
        spec, shape = question.layers[-1], question.input_shape
        layer = torch_layer(spec, shape[0], math.prod(shape))
        assert sum(p.numel() for p in layer.parameters()) == question.answer[0], question.text
        assert quiz.check(question, f"{question.answer[0]:,}").correct


@pytest.mark.parametrize("kind", [quiz.PADDING_FOR_SIZE, quiz.STRIDE_FOR_SIZE])
def test_padding_and_stride_answers_give_the_wanted_size_and_one_less_does_not(kind):
    unknown = "padding" if kind == quiz.PADDING_FOR_SIZE else "stride"
    for seed in range(COUNT):
        question = quiz.make_question(kind, seed, "same" if kind == quiz.PADDING_FOR_SIZE and seed % 3 == 0 else None)
        spec = question.layers[0]
        value = question.answer[0]
        padding = value if unknown == "padding" else spec.padding
        stride = value if unknown == "stride" else stride_of(spec)
        x = torch.empty(1, *question.input_shape, device="meta")
        w = torch.empty(spec.out_channels, x.shape[1], *spec.kernel_size, device="meta")
        assert tuple(F.conv2d(x, w, None, stride, padding, spec.dilation).shape[2:]) == question.target, question.text
        assert quiz.check(question, str(value)).correct
        if value > (0 if unknown == "padding" else 1):  # the answer is the smallest that works
            below = quiz.check(question, str(value - 1))
            assert not below.correct and (below.worked or below.constraint)


def test_receptive_fields_match_the_gradient_of_one_output_pixel():
    # The input pixels one output depends on are where its gradient is non-zero (all-ones weights keep
    # every path); one channel is enough, as the field does not depend on the channels.
    for seed in range(COUNT):
        question = quiz.make_question(quiz.RECEPTIVE_FIELD, seed)
        assert quiz.check(question, f"{question.answer[0]}x{question.answer[0]}").correct
        if seed >= ON_CPU * 4:
            continue
        x = torch.zeros(1, 1, 160, 160, requires_grad=True)  # large: no border clips the field
        y = x
        for spec in question.layers:
            if spec.kind == "MaxPool2d":  # max sends the gradient down one path, the mean down all
                y = F.avg_pool2d(y, spec.kernel_size)
            else:
                y = F.conv2d(y, torch.ones(1, 1, *spec.kernel_size), None, spec.stride, spec.padding, spec.dilation)
        h, w = y.shape[2:]
        y[0, 0, h // 2, w // 2].backward()
        rows = torch.nonzero(x.grad[0, 0].abs().sum(dim=1)).flatten()
        assert rows.max() - rows.min() + 1 == question.answer[0], question.text


def test_invalid_layers_are_refused_by_pytorch_and_the_ones_before_work():
    for seed in range(COUNT):
        question = quiz.make_question(quiz.INVALID_LAYER, seed)
        bad = question.answer[0] - 1
        run_meta(question.layers[:bad], question.input_shape)  # every layer before it works
        with pytest.raises((RuntimeError, ValueError)):
            run_meta(question.layers[: bad + 1], question.input_shape)
        if seed < ON_CPU:
            run_layers(question.layers[:bad], question.input_shape)
            with pytest.raises((RuntimeError, ValueError)):
                run_layers(question.layers[: bad + 1], question.input_shape)
        result = quiz.check(question, str(bad + 1))
        assert result.correct and result.constraint


def test_same_seed_same_question_and_variants_narrow():
    assert quiz.make_question(quiz.STACK_SHAPE, 7) == quiz.make_question(quiz.STACK_SHAPE, 7)
    assert quiz.make_question(quiz.STACK_SHAPE, 7) != quiz.make_question(quiz.STACK_SHAPE, 8)
    for variant in quiz.VARIANTS[quiz.OUTPUT_SHAPE]:
        kind = "Conv2d" if variant == "channels" else variant
        assert all(quiz.make_question(quiz.OUTPUT_SHAPE, s, variant).layers[0].kind == kind for s in range(20))
    assert quiz.make_question(quiz.STACK_SHAPE, 1, "classifier").layers[-1].kind == "Flatten"
    with pytest.raises(ValueError, match="no variant 'Linear'"):
        quiz.make_question(quiz.OUTPUT_SHAPE, 1, "Linear")
    with pytest.raises(ValueError, match="unknown question kind"):
        quiz.make_question("trivia", 1)


def test_the_global_random_generator_is_left_alone():
    import random

    random.seed(5)
    expected = random.random()
    random.seed(5)
    quiz.make_question(quiz.STACK_SHAPE, 3)
    assert random.random() == expected


def conv_question() -> quiz.Question:
    spec = LayerSpec("Conv2d", out_channels=8, kernel_size=(5, 5), stride=(2, 2), padding=(1, 1))
    return quiz.Question(quiz.OUTPUT_SHAPE, None, 0, "", "(C, H, W)", quiz.SHAPE, (8, 13, 13), (3, 28, 28), 4, (spec,))


@pytest.mark.parametrize(
    "text",
    ["(8, 13, 13)", "8x13x13", "8, 13, 13", "8 × 13 × 13", "[8,13,13]", "(4, 8, 13, 13)", "4x8x13x13",
     "torch.Size([4, 8, 13, 13])", " 8 X 13 X 13 "],
)  # fmt: skip
def test_shape_spellings_are_accepted(text):
    result = quiz.check(conv_question(), text)
    assert result.correct and result.understood == "(8, 13, 13)"


@pytest.mark.parametrize("text", ["(8, 13, 14)", "(5, 8, 13, 13)", "8x13", "(8, 12, 12)"])
def test_wrong_shapes_get_the_explorers_formula_with_the_questions_numbers(text):
    question = conv_question()
    result = quiz.check(question, text)
    report = layer2d.analyze(quiz.explorer_settings(question))
    assert not result.correct
    assert report.general_formula in result.worked[0] and report.formulas[0] in result.worked[1]
    assert "⌊(28 + 2 × 1 − 1 × (5 − 1) − 1) / 2 + 1⌋" in result.worked[1]


@pytest.mark.parametrize("text", ["", "   ", "eight", "8.5, 13, 13", "-8, 13, 13", "8" * 300])
def test_unreadable_answers_say_how_to_write_them(text):
    result = quiz.check(conv_question(), text)
    assert not result.correct and result.understood is None and result.message


@pytest.mark.parametrize("text", ["1,216", "1216", "1 216", "1_216", "1216 parameters", "1,216."])
def test_counts_accept_thousands_separators(text):
    spec = LayerSpec("Conv2d", out_channels=16, kernel_size=(5, 5))
    question = quiz.Question(quiz.PARAMETER_COUNT, None, 0, "", "", quiz.COUNT, (1216,), (3, 28, 28), 1, (spec,))
    assert quiz.check(question, text).correct
    wrong = quiz.check(question, "1,200")  # the weights alone
    assert not wrong.correct and "biases" in wrong.message
    assert "weights = 16 × 3 × 5 × 5 = 1,200" in wrong.worked
    assert quiz.check(question, "12,16").understood is None  # not a thousands grouping


def test_an_impossible_padding_names_the_constraint_it_breaks():
    spec = LayerSpec("Conv2d", out_channels=8, kernel_size=(5, 5), stride=(2, 2))
    question = quiz.Question(quiz.PADDING_FOR_SIZE, None, 0, "", "", quiz.NUMBER, (1,), (1, 28, 28), 1, (spec,),
                             (13, 13))  # fmt: skip
    assert quiz.check(question, "1").correct
    refused = quiz.check(question, "same")  # "same" with stride 2: PyTorch refuses
    assert not refused.correct and 'padding="same" needs stride 1' in refused.constraint
    assert "Fix:" in refused.constraint


def test_a_wrong_invalid_layer_answer_says_why_the_real_one_fails():
    question = next(q for s in range(100) if (q := quiz.make_question(quiz.INVALID_LAYER, s)).answer[0] > 1)
    result = quiz.check(question, "1")
    assert not result.correct and result.message.startswith("Layer 1 works: it gives (")
    assert result.constraint and f"Layer {question.answer[0]}" in result.worked[0]
    assert "only" in quiz.check(question, "9").message


def test_shifted_digit_answers_are_the_classifiers_own_and_reading_is_exact(mnist, trained_classifier):
    from cnnviz.data.preprocess import shift_rotate

    questions = [quiz.make_question(quiz.SHIFTED_DIGIT, seed) for seed in range(40)]
    digits = []
    for question in questions:
        setup = question.digit
        assert setup.label == int(mnist.test.labels[setup.index]) and abs(setup.right) <= quiz.MAX_SHIFT
        image = mnist.test.images[setup.index].float()[None] / 255  # (1, 1, 28, 28)
        digits.append(shift_rotate(image, right=setup.right, down=setup.down))
    with torch.no_grad():
        said = trained_classifier(torch.cat(digits)).argmax(dim=1)  # (40,)
    assert [q.answer[0] for q in questions] == said.tolist()
    assert any(q.answer[0] != q.digit.label for q in questions)  # large moves do fool it sometimes
    question = questions[0]
    assert quiz.check(question, str(question.answer[0])).correct
    wrong = quiz.check(question, str((question.answer[0] + 1) % 10))
    assert not wrong.correct and "top guesses" in wrong.worked[0]


def test_shifted_digit_questions_say_clearly_when_mnist_is_missing(monkeypatch, tmp_path):
    from cnnviz.data import mnist as data

    data._load_mnist.cache_clear()
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(data, "SHIPPED_DIGITS", tmp_path / "none.npz")  # nor the shipped digits
    try:
        with pytest.raises(quiz.QuizUnavailable, match="Digit questions need MNIST"):
            quiz.make_question(quiz.SHIFTED_DIGIT, 1)
    finally:
        data._load_mnist.cache_clear()


def test_shifted_digit_questions_use_the_shipped_digits_without_mnist(monkeypatch, tmp_path):
    from cnnviz.data import mnist as data

    data._load_mnist.cache_clear()
    monkeypatch.setenv("CNNVIZ_DATA_DIR", str(tmp_path))
    try:
        question = quiz.make_question(quiz.SHIFTED_DIGIT, 1)
        assert quiz.check(question, str(question.answer[0])).correct
    finally:
        data._load_mnist.cache_clear()


def test_answers_are_formatted_as_the_page_shows_them():
    assert quiz.format_answer(quiz.SHAPE, (288,)) == "(288,)"
    assert quiz.format_answer(quiz.COUNT, (37914,)) == "37,914"
