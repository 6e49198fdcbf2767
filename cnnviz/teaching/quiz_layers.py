"""The layer-arithmetic question templates: output shapes, stacks, parameters, padding, stride, fields, errors.

Each draws its numbers from the ``rng`` :func:`cnnviz.teaching.quiz.make_question` seeds, so the
same seed gives the same question; the answers come from :mod:`cnnviz.layers`.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from dataclasses import replace

from cnnviz import layers
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
)  # fmt: skip
from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.teaching import quiz_core as core
from cnnviz.teaching.quiz_core import (
    LAYER_KINDS,
    Question,
    has_options,
    is_pool,
    is_transposed,
    layer_line,
    learns_kernels,
    retry_draw,
    shape_text,
    takes_flat,
    takes_sequence,
    valid_output,
)  # fmt: skip


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
    # only max pooling has a dilation (AvgPool2d offers none)
    dilation = rng.choice([1, 1, 1, 1, 2]) if LAYER_KINDS[kind].option("dilation") else 1
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


def make_output_shape(rng: random.Random, seed: int, variant: str | None) -> Question:
    def draw(r: random.Random) -> tuple[LayerSpec, Shape, Shape] | None:
        kind = variant or r.choice([CONV, CONV, CONV, MAX_POOL, MAX_POOL, AVG_POOL, CONV_T, UPSAMPLE])
        channels, size = _draw_input(r)
        if kind == "channels" or (learns_kernels(kind) and not is_transposed(kind)):
            spec = _draw_conv(r)
            if kind == "channels":  # the lab's picture: RGB in, several kernels, no padding
                channels, spec = 3, LayerSpec(CONV, out_channels=r.choice([1, 8, 16]), kernel_size=spec.kernel_size)
        elif is_pool(kind):
            spec = _draw_pool(r, kind)
        elif is_transposed(kind):
            channels, size = r.choice([4, 8, 16, 32]), (h := r.randint(2, 14), h)
            spec = _draw_conv_t(r)
        else:
            channels, size = r.choice([1, 4, 8, 16]), (h := r.randint(2, 14), h)
            spec = LayerSpec(
                UPSAMPLE, scale_factor=r.choice([2.0, 2.0, 3.0, 1.5]), mode=r.choice(layers.UPSAMPLE_MODES)
            )
        shape = (channels, *size)
        out = valid_output(spec, shape)
        return None if out is None else (spec, shape, out)

    if variant is not None and takes_sequence(variant):
        spec, shape, out = retry_draw(rng, lambda r: _draw_sequence_layer(r, variant))  # type: ignore[misc]
    else:
        spec, shape, out = retry_draw(rng, draw)  # type: ignore[misc]
    batch = rng.choice([1, 4, 8, 16, 32])
    axes = "(N, C, L)" if len(shape) == 2 else "(N, C, H, W)"
    text = f"`x` has shape `{shape_text(batch, shape)}` {axes}. What is the shape of `{layer_line(spec, shape)}(x)`?"
    hint = "(C, L), with or without N" if len(shape) == 2 else "(C, H, W), with or without N"
    return Question(core.OUTPUT_SHAPE, variant, seed, text, hint, core.SHAPE, out, shape, batch, (spec,))


def _draw_sequence_spec(rng: random.Random, kind: str) -> LayerSpec:
    if learns_kernels(kind):
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
    out = valid_output(spec, shape)
    return None if out is None else (spec, shape, out)


def _sequence_stack_draw(rng: random.Random) -> tuple[Shape, tuple[LayerSpec, ...]] | None:
    """Conv1d, ReLU and MaxPool1d on one-hot DNA, as the lab's note on 1-D convolutions describes."""
    shape: Shape = (4, rng.choice([100, 100, 200, rng.randint(40, 300)]))
    specs: list[LayerSpec] = []
    current = shape
    for position in range(rng.randint(2, 4)):
        kind = CONV1D if position == 0 else rng.choice([CONV1D, MAX_POOL1D, MAX_POOL1D, RELU])
        spec = _draw_sequence_spec(rng, kind) if has_options(kind) else LayerSpec(RELU)
        out = valid_output(spec, current)
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
                # each drawn kind's builder (called after the draw, so the random numbers come in the same order)
                decoder = {
                    CONV_T: lambda: _draw_conv_t(rng),
                    UPSAMPLE: lambda: LayerSpec(UPSAMPLE, scale_factor=2.0),
                    CONV: lambda: LayerSpec(CONV, out_channels=rng.choice([1, 8, 16]), kernel_size=(3, 3),
                                            padding=(1, 1)),
                    RELU: lambda: LayerSpec(RELU),
                }  # fmt: skip
                spec = decoder[choice]()
            else:
                choice = rng.choice([CONV, CONV, MAX_POOL, RELU] + ([RESIDUAL] * 2 if variant == "residual" else []))
                if position == 0:
                    choice = CONV
                encoder = {
                    CONV: lambda: _draw_conv(rng),
                    MAX_POOL: lambda: LayerSpec(MAX_POOL, kernel_size=(2, 2)),
                    RESIDUAL: lambda: LayerSpec(RESIDUAL, kernel_size=(k := rng.choice([3, 5]), k), p=0.1),
                    RELU: lambda: LayerSpec(RELU),
                }
                spec = encoder[choice]()
            out = valid_output(spec, current)
            if out is not None and min(out[1:]) >= 2:
                specs.append(spec)
                current = out
                break
        else:
            return None
    # the residual variant promises a ResidualBlock: the template checks for the kind it means to show
    if variant == "residual" and not any(s.kind == RESIDUAL for s in specs):
        specs.append(LayerSpec(RESIDUAL, kernel_size=(3, 3), p=0.1))
    if variant == "classifier":
        specs.append(LayerSpec(FLATTEN))
    return shape, tuple(specs)


def make_stack_shape(rng: random.Random, seed: int, variant: str | None) -> Question:
    chosen = variant or rng.choice(core.VARIANTS[core.STACK_SHAPE])
    shape, specs = retry_draw(rng, lambda r: _stack_draw(r, chosen))  # type: ignore[misc]
    out = layers.evaluate_stack(specs, shape).output_shape
    batch = rng.choice([1, 4, 8, 16])
    lines = [f"    {layer_line(row.spec, row.input_shape)}," for row in layers.evaluate_stack(specs, shape).rows]
    text = (
        f"`x` has shape `{shape_text(batch, shape)}`. What is the shape of `model(x)`?\n\n"
        "```python\nmodel = nn.Sequential(\n" + "\n".join(lines) + "\n)\n```"
    )
    hint = {3: "(C, H, W)", 2: "(C, L)"}.get(len(out), "(features,)") + ", with or without N"  # type: ignore[arg-type]
    return Question(core.STACK_SHAPE, variant, seed, text, hint, core.SHAPE, out, shape, batch, specs)  # type: ignore[arg-type]


def make_parameter_count(rng: random.Random, seed: int, variant: str | None) -> Question:
    kind = variant or rng.choice([CONV, CONV, CONV, CONV_T, LINEAR, LINEAR, BATCHNORM, RESIDUAL])
    if takes_flat(kind):
        shape: Shape = (rng.choice([8, 16, 32, 64]), s := rng.choice([1, 2, 3, 4, 7]), s)
        spec = LayerSpec(LINEAR, out_channels=rng.choice([10, 10, 32, 64, 128]), bias=rng.random() < 0.9)
        features = math.prod(shape)
        bias = "" if spec.bias else ", bias=False"
        text = (
            f"A backbone outputs `{shape_text(1, shape)}` per image; `nn.Flatten()` follows, then "
            f"`nn.Linear(in_features, {spec.out_channels}{bias})` with `in_features` set right. "
            "How many learnable parameters does the Linear layer have (weights and biases)?"
        )
        params = arithmetic.linear_parameters(features, spec.out_channels, spec.bias)
        return Question(core.PARAMETER_COUNT, variant, seed, text,
                        "a whole number, e.g. 2,890", core.COUNT, (params.total,),
                        shape, 1, (LayerSpec(FLATTEN), spec))  # fmt: skip
    channels = rng.choice([1, 3, 3, 8, 16, 32])
    residual = False
    if takes_sequence(kind):
        channels = rng.choice([1, 4, 4, 16])
        spec = _draw_sequence_spec(rng, CONV1D)
        spec = replace(spec, bias=rng.random() < 0.85)
        params = layers.parameters(spec, (channels, 100))
        text = f"How many learnable parameters (weights and biases) does `{layer_line(spec, (channels, 100))}` have?"
        return Question(core.PARAMETER_COUNT, variant, seed, text,
                        "a whole number, e.g. 528", core.COUNT, (params.total,),
                        (channels, 100), 1, (spec,))  # fmt: skip
    if kind == "channels":  # the lab's thought exercise: 3 channels in, 1 or 8 kernels
        channels = 3
        spec = LayerSpec(CONV, out_channels=rng.choice([1, 8]), kernel_size=(k := rng.choice([3, 5]), k))
    elif learns_kernels(kind):
        groups = rng.choice([1] * 8 + [2, 4]) if channels % 4 == 0 else 1
        spec = LayerSpec(
            kind,
            out_channels=rng.choice([4, 8, 16, 32, 64]),
            kernel_size=(k := rng.choice([1, 3, 3, 5, 7]), k if rng.random() < 0.9 else rng.choice([1, 3])),
            groups=groups,
            bias=rng.random() < 0.85,
        )
    elif not has_options(kind):  # BatchNorm2d: nothing to draw but the channels
        channels, spec = rng.choice([8, 16, 32, 64]), LayerSpec(BATCHNORM)
    else:  # the lab's ResidualBlock
        residual = True
        channels, spec = rng.choice([8, 16, 32, 64]), LayerSpec(RESIDUAL, kernel_size=(k := rng.choice([3, 5]), k))
    shape = (channels, 28, 28)
    params = layers.parameters(spec, shape)
    text = f"How many learnable parameters (weights and biases) does `{layer_line(spec, shape)}` have?"
    if residual:
        text = (
            f"The lab's `ResidualBlock({channels}, kernel_size={spec.kernel_size[0]})` is Conv2d (same padding) -> "
            "ReLU -> Dropout -> BatchNorm2d, plus the input. How many learnable parameters does it have?"
        )
    return Question(core.PARAMETER_COUNT, variant, seed, text,
                    "a whole number, e.g. 1,216", core.COUNT, (params.total,), shape,
                    1, (spec,))  # fmt: skip


def _smallest(values: range, works: Callable[[int], bool]) -> int | None:
    return next((v for v in values if works(v)), None)


def _conv_size(size: int, kernel: int, stride: int, padding: int | str, dilation: int) -> int | None:
    try:
        return arithmetic.conv2d_output_size(size, kernel, stride, padding, dilation)[0]
    except InvalidLayerConfig:
        return None


def make_padding(rng: random.Random, seed: int, variant: str | None) -> Question:
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

    size, spec, target, answer = retry_draw(rng, draw)  # type: ignore[misc]
    channels = rng.choice([1, 3, 8])
    shape = (channels, size, size)
    line = layer_line(spec, shape).rstrip(")") + ", padding=?)"
    text = (
        f"`x` has shape `{shape_text(1, shape)}`. Which `padding` (zeros on every side) makes "
        f"`{line}` give an output of {target} × {target}?"
    )
    if spec.stride != (1, 1):
        text += " (If several work, any of them is right.)"
    return Question(core.PADDING_FOR_SIZE, variant, seed, text,
                    "a whole number, e.g. 2", core.NUMBER, (answer,), shape, 1,
                    (spec,), (target, target))  # fmt: skip


def make_stride(rng: random.Random, seed: int, variant: str | None) -> Question:
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

    size, spec, target, answer = retry_draw(rng, draw)  # type: ignore[misc]
    shape = (rng.choice([1, 3, 8]), size, size)
    line = layer_line(spec, shape).rstrip(")") + ", stride=?)"
    text = (
        f"`x` has shape `{shape_text(1, shape)}`. Which `stride` makes `{line}` give an output of "
        f"{target} × {target}? (If several work, any of them is right.)"
    )
    return Question(core.STRIDE_FOR_SIZE, variant, seed, text,
                    "a whole number, e.g. 2", core.NUMBER, (answer,), shape, 1,
                    (spec,), (target, target))  # fmt: skip


def make_receptive_field(rng: random.Random, seed: int, variant: str | None) -> Question:
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

    shape, specs = retry_draw(rng, draw)  # type: ignore[misc]
    field = layers.evaluate_stack(specs, shape).rows[-1].receptive_field
    lines = [f"    {layer_line(row.spec, row.input_shape)}," for row in layers.evaluate_stack(specs, shape).rows]
    text = (
        "One pixel of the last layer's output sees a square of input pixels. How many pixels wide is that "
        "square (the receptive field)?\n\n```python\nmodel = nn.Sequential(\n" + "\n".join(lines) + "\n)\n```"
    )
    return Question(core.RECEPTIVE_FIELD, variant, seed, text,
                    "a whole number, e.g. 7", core.NUMBER, (field[0],), shape, 1,
                    specs)  # type: ignore[index]  # fmt: skip


def _break(rng: random.Random, spec: LayerSpec, shape: Shape) -> LayerSpec | None:
    """A version of ``spec`` that PyTorch refuses on ``shape`` (each a rule of cnnviz.layers.arithmetic)."""
    c, h, w = shape
    ways = []
    if learns_kernels(spec.kind):
        ways += [
            lambda: LayerSpec(CONV, out_channels=spec.out_channels, kernel_size=(k := min(h, w) + rng.randint(1, 3), k)),  # noqa: E501
            lambda: LayerSpec(CONV, out_channels=spec.out_channels, kernel_size=spec.kernel_size, stride=(2, 2),
                              padding="same"),
        ]  # fmt: skip
        groups = [g for g in range(2, spec.out_channels + 1) if spec.out_channels % g == 0 and c % g]
        if groups:
            ways.append(lambda: LayerSpec(CONV, out_channels=spec.out_channels, kernel_size=spec.kernel_size,
                                          padding=spec.padding, groups=rng.choice(groups)))  # fmt: skip
    if is_pool(spec.kind):
        ways += [
            lambda: LayerSpec(MAX_POOL, kernel_size=(3, 3), padding=(2, 2)),
            lambda: LayerSpec(MAX_POOL, kernel_size=(k := min(h, w) + rng.randint(1, 2), k)),
        ]
    if not ways:
        return None
    broken = rng.choice(ways)()
    return broken if valid_output(broken, shape) is None else None


def make_invalid_layer(rng: random.Random, seed: int, variant: str | None) -> Question:
    def draw(r: random.Random) -> tuple[Shape, tuple[LayerSpec, ...], int, list[Shape]] | None:
        found = _stack_draw(r, "conv")
        if found is None:
            return None
        shape, specs = found
        specs = specs + (LayerSpec(MAX_POOL, kernel_size=(2, 2)),) if len(specs) < 3 else specs
        report = layers.evaluate_stack(specs, shape)
        if report.error_index is not None:
            return None
        candidates = [
            i for i, s in enumerate(specs) if LAYER_KINDS[s.kind].geometry == "window"
        ]  # Conv2d and MaxPool2d, not ReLU
        index = r.choice(candidates)
        broken = _break(r, specs[index], report.rows[index].input_shape)
        if broken is None:
            return None
        intended = [row.input_shape for row in report.rows]
        new = specs[:index] + (broken,) + specs[index + 1 :]
        if layers.evaluate_stack(new, shape).error_index != index:
            return None
        return shape, new, index, intended  # type: ignore[return-value]

    shape, specs, index, intended = retry_draw(rng, draw)  # type: ignore[misc]
    rows = layers.evaluate_stack(specs, shape).rows
    # Layers after the broken one are written for the input the unbroken stack gives them (same channels).
    lines = [f"    {layer_line(spec, seen)},  # layer {number}" for number, (spec, seen) in
             enumerate(zip(specs, intended), start=1)]  # fmt: skip
    text = (
        f"`x` has shape `{shape_text(1, shape)}`. Which layer is the first one PyTorch refuses, and why?"
        "\n\n```python\nmodel = nn.Sequential(\n" + "\n".join(lines) + "\n)\n```"
    )
    assert rows[-1].error is not None
    return Question(core.INVALID_LAYER, variant, seed, text, f"the layer's number, 1 to {len(specs)}", core.NUMBER,
                    (index + 1,), shape, 1, specs)  # fmt: skip
