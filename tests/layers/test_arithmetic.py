"""cnnviz.layers.arithmetic against PyTorch itself: same shape, and raises exactly when PyTorch does."""

import warnings

import pytest
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from torch import nn

from cnnviz.layers import arithmetic as ar
from cnnviz.layers import receptive_field, size_solver
from cnnviz.layers.arithmetic import InvalidLayerConfig

EXAMPLES = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def sizes(lo, hi):
    """An int or an (h, w) pair: square and rectangular configurations."""
    return st.one_of(st.integers(lo, hi), st.tuples(st.integers(lo, hi), st.integers(lo, hi)))


def torch_shape(layer_factory, h, w, channels=2):
    """Output (h, w) of the real layer on a zero tensor, or None if PyTorch refuses."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            layer = layer_factory()
            out = layer(torch.zeros(1, channels, h, w))
    except (RuntimeError, ValueError, TypeError):
        return None
    return tuple(out.shape[2:])


def ours(function, *args, **kwargs):
    try:
        return function(*args, **kwargs)
    except InvalidLayerConfig:
        return None


@EXAMPLES
@given(
    size=sizes(1, 24),
    kernel=sizes(0, 9),
    stride=sizes(0, 4),
    padding=st.one_of(sizes(-1, 5), st.sampled_from(["same", "valid"])),
    dilation=sizes(0, 3),
)
@example(size=4, kernel=7, stride=1, padding=0, dilation=1)  # kernel larger than the input
@example(size=5, kernel=3, stride=2, padding="same", dilation=1)  # "same" with stride 2
@example(size=(5, 9), kernel=(2, 4), stride=1, padding="same", dilation=(1, 2))  # even kernel: asymmetric padding
@example(size=7, kernel=3, stride=2, padding=0, dilation=3)  # exactly fits: output 1
def test_conv2d_matches_pytorch(size, kernel, stride, padding, dilation):
    h, w = ar.pair(size)
    expected = torch_shape(lambda: nn.Conv2d(2, 2, kernel, stride=stride, padding=padding, dilation=dilation), h, w)
    assert ours(ar.conv2d_output_size, size, kernel, stride, padding, dilation) == expected


@EXAMPLES
@given(
    size=sizes(1, 24),
    kernel=sizes(0, 7),
    stride=st.one_of(st.none(), sizes(0, 4)),
    padding=sizes(-1, 4),
    dilation=sizes(0, 3),
    ceil_mode=st.booleans(),
)
@example(size=5, kernel=2, stride=2, padding=0, dilation=1, ceil_mode=True)  # ceil keeps the last half window
@example(size=5, kernel=2, stride=2, padding=1, dilation=1, ceil_mode=True)  # last window would start in padding
@example(size=4, kernel=3, stride=1, padding=2, dilation=1, ceil_mode=False)  # padding over half the kernel
def test_maxpool2d_matches_pytorch(size, kernel, stride, padding, dilation, ceil_mode):
    h, w = ar.pair(size)
    expected = torch_shape(
        lambda: nn.MaxPool2d(kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode), h, w
    )
    assert ours(ar.pool2d_output_size, size, kernel, stride, padding, dilation, ceil_mode) == expected


@EXAMPLES
@given(
    size=sizes(1, 24),
    kernel=sizes(1, 7),
    stride=st.one_of(st.none(), sizes(1, 4)),
    padding=sizes(0, 4),
    ceil_mode=st.booleans(),
)
def test_avgpool2d_matches_pytorch(size, kernel, stride, padding, ceil_mode):
    h, w = ar.pair(size)
    expected = torch_shape(lambda: nn.AvgPool2d(kernel, stride=stride, padding=padding, ceil_mode=ceil_mode), h, w)
    assert ours(ar.pool2d_output_size, size, kernel, stride, padding, 1, ceil_mode) == expected


@EXAMPLES
@given(
    size=sizes(1, 16),
    kernel=sizes(1, 6),
    stride=sizes(1, 4),
    padding=sizes(0, 6),
    output_padding=sizes(0, 3),
    dilation=sizes(1, 3),
)
@example(size=3, kernel=2, stride=2, padding=0, output_padding=1, dilation=1)  # the decoder's 3 -> 7
@example(size=1, kernel=1, stride=1, padding=1, output_padding=0, dilation=1)  # empty output
@example(size=4, kernel=3, stride=2, padding=0, output_padding=2, dilation=1)  # output_padding too large
@example(size=4, kernel=3, stride=(2, 1), padding=0, output_padding=(1, 1), dilation=(1, 2))  # mixed rule
def test_conv_transpose2d_matches_pytorch(size, kernel, stride, padding, output_padding, dilation):
    h, w = ar.pair(size)
    expected = torch_shape(
        lambda: nn.ConvTranspose2d(
            2, 2, kernel, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation
        ),
        h,
        w,
    )
    if expected is not None and 0 in expected:
        expected = None  # an empty output: see test_conv_transpose_empty_output_is_refused_...
    got = ours(ar.conv_transpose2d_output_size, size, kernel, stride, padding, output_padding, dilation)
    assert got == expected


@EXAMPLES
@given(
    size=sizes(1, 16),
    target=st.one_of(st.none(), sizes(0, 40)),
    scale=st.one_of(
        st.none(),
        st.floats(0.05, 4.0, allow_nan=False),
        st.tuples(st.floats(0.05, 4.0), st.floats(0.05, 4.0)),
    ),
    mode=st.sampled_from(["nearest", "bilinear"]),
)
@example(size=3, target=None, scale=2.0, mode="nearest")
@example(size=3, target=None, scale=None, mode="nearest")  # neither given
@example(size=3, target=6, scale=2.0, mode="nearest")  # both given
@example(size=3, target=None, scale=0.3, mode="nearest")  # output 0
def test_upsample_matches_pytorch(size, target, scale, mode):
    h, w = ar.pair(size)
    expected = torch_shape(lambda: nn.Upsample(size=target, scale_factor=scale, mode=mode), h, w)
    assert ours(ar.upsample_output_size, size, target, scale) == expected


@pytest.mark.parametrize(
    ("function", "args", "words"),
    [
        (ar.conv2d_output_size, (4, 7), ["kernel is larger", "spans 7", "only 4", "kernel_size <= 4", "padding >= 2"]),
        (ar.conv2d_output_size, (8, 3, 2, "same"), ['padding="same" needs stride 1', "stride is 2", "stride to 1"]),
        (ar.pool2d_output_size, (8, 3, None, 2), ["at most half", "padding 2", "padding <= 1"]),
        (ar.conv_transpose2d_output_size, (4, 3, 2, 0, 2), ["output_padding", "smaller", "output_padding <= 1"]),
        (ar.conv_transpose2d_output_size, (1, 1, 1, 1), ["empty", "= -1", "padding <= 0"]),
        (ar.upsample_output_size, (3, None, 0.3), ["at least 1", "would be 0", "scale_factor of at least 0.3333"]),
        (ar.conv2d_output_size, (8, 3, 0), ["stride must be at least 1", "height is 0"]),
    ],
)
def test_messages_name_the_constraint_the_numbers_and_the_fix(function, args, words):
    with pytest.raises(InvalidLayerConfig) as raised:
        function(*args)
    for word in words:
        assert word in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_suggested_fix_for_a_too_large_kernel_works():
    with pytest.raises(InvalidLayerConfig) as raised:
        ar.conv2d_output_size(4, 7)
    assert raised.value.fix is not None
    assert ar.conv2d_output_size(4, 4) == (1, 1)  # "kernel_size <= 4"
    assert ar.conv2d_output_size(4, 7, padding=2) == (2, 2)  # "padding >= 2"


@given(kernel=sizes(1, 9), dilation=sizes(1, 3), size=sizes(1, 20))
@settings(max_examples=200, deadline=None)
def test_same_padding_matches_pytorch(kernel, dilation, size):
    (top, bottom), (left, right) = ar.same_padding(kernel, dilation)
    h, w = ar.pair(size)
    conv = nn.Conv2d(1, 1, kernel, padding="same", dilation=dilation, bias=False)
    x = torch.randn(1, 1, h, w)
    explicit = nn.functional.conv2d(
        nn.functional.pad(x, (left, right, top, bottom)), conv.weight, dilation=conv.dilation
    )
    torch.testing.assert_close(conv(x), explicit)


@given(
    cin=st.integers(1, 12),
    cout=st.integers(1, 12),
    kernel=sizes(1, 5),
    groups=st.integers(1, 6),
    bias=st.booleans(),
)
@settings(max_examples=200, deadline=None)
def test_parameter_counts_match_pytorch(cin, cout, kernel, groups, bias):
    for ours_fn, layer in (
        (ar.conv2d_parameters, nn.Conv2d),
        (ar.conv_transpose2d_parameters, nn.ConvTranspose2d),
    ):
        try:
            module = layer(cin, cout, kernel, groups=groups, bias=bias)
        except ValueError:
            with pytest.raises(InvalidLayerConfig):
                ours_fn(cin, cout, kernel, groups, bias)
            continue
        count = ours_fn(cin, cout, kernel, groups, bias)
        assert count.weights == module.weight.numel()
        assert count.biases == (module.bias.numel() if bias else 0)
        assert count.total == sum(p.numel() for p in module.parameters())
    assert ar.linear_parameters(cin, cout, bias).total == sum(
        p.numel() for p in nn.Linear(cin, cout, bias).parameters()
    )
    assert ar.batchnorm2d_parameters(cin).total == sum(p.numel() for p in nn.BatchNorm2d(cin).parameters())


def test_lab_thought_exercise_parameter_counts():
    # 3 -> 1 and 3 -> 8 channels with a 3x3 kernel: 27 weights + 1 bias, and 216 + 8.
    assert ar.conv2d_parameters(3, 1, 3) == ar.ParameterCount(27, 1)
    assert ar.conv2d_parameters(3, 8, 3).total == 224


def _receptive_field_by_gradient(layers, size=64):
    """Receptive field of the centre output pixel: the input pixels with a non-zero gradient."""
    x = torch.zeros(1, 1, size, size, requires_grad=True)
    out = x
    for layer in layers:
        out = layer(out)
    h, w = out.shape[2:]
    out[0, 0, h // 2, w // 2].backward()
    rows = x.grad[0, 0].abs().sum(1).nonzero()
    cols = x.grad[0, 0].abs().sum(0).nonzero()
    return (int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1))


@given(
    stack=st.lists(
        st.tuples(st.integers(1, 4), st.integers(1, 2), st.integers(1, 2), st.integers(1, 3)), min_size=1, max_size=4
    )
)
@settings(max_examples=60, deadline=None)
def test_receptive_field_matches_gradient_footprint(stack):
    layers, windows = [], []
    for kh, kw, stride, dilation in stack:
        conv = nn.Conv2d(1, 1, (kh, kw), stride=stride, dilation=dilation, bias=False)
        nn.init.constant_(conv.weight, 1.0)
        layers.append(conv)
        windows.append(receptive_field.Window((kh, kw), stride, dilation))
    fields = receptive_field.receptive_fields(windows)
    try:
        measured = _receptive_field_by_gradient(layers)
    except RuntimeError:  # the stack shrank the 64x64 input away
        return
    assert fields[-1].size == measured
    jump = 1
    for _, _, stride, _ in stack:
        jump *= stride
    assert fields[-1].jump == (jump, jump)


def test_leftover_rows_are_the_ones_the_floor_drops():
    # input 6, kernel 3, stride 2: windows start at 0 and 2; row 5 is never read.
    assert ar.conv2d_output_size(6, 3, 2) == (2, 2)
    assert ar.conv2d_leftover(6, 3, 2) == (1, 1)
    assert ar.conv2d_leftover(7, 3, 2) == (0, 0)
    assert ar.conv2d_leftover((6, 7), 3, 2, padding=1) == (1, 0)


def test_conv_transpose_empty_output_is_refused_although_one_cpu_kernel_returns_it():
    # (2 - 1) * 1 - 2 * 4 + 2 * (4 - 1) + 0 + 1 = 0: one PyTorch CPU kernel returns an empty
    # tensor, the other refuses; an empty output is never a usable layer, so we refuse.
    assert torch_shape(lambda: nn.ConvTranspose2d(2, 2, 4, padding=(4, 0), dilation=2), 2, 1) == (0, 7)
    with pytest.raises(InvalidLayerConfig, match="empty in height"):
        ar.conv_transpose2d_output_size((2, 1), 4, padding=(4, 0), dilation=2)


# --- 1-D layers: ints in, an int out, refused exactly where PyTorch refuses -----------------


def torch_length(layer_factory, length, channels=2):
    """Output length of the real 1-D layer on a zero tensor, or None if PyTorch refuses."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = layer_factory()(torch.zeros(1, channels, length))
    except (RuntimeError, ValueError, TypeError):
        return None
    return int(out.shape[-1])


@EXAMPLES
@given(
    length=st.integers(1, 40),
    kernel=st.integers(0, 11),
    stride=st.integers(0, 4),
    padding=st.one_of(st.integers(-1, 6), st.sampled_from(["same", "valid"])),
    dilation=st.integers(0, 3),
)
@example(length=4, kernel=7, stride=1, padding=0, dilation=1)  # kernel longer than the sequence
@example(length=5, kernel=3, stride=2, padding="same", dilation=1)  # "same" with stride 2
@example(length=9, kernel=4, stride=1, padding="same", dilation=1)  # even kernel: one more zero after
def test_conv1d_matches_pytorch(length, kernel, stride, padding, dilation):
    expected = torch_length(lambda: nn.Conv1d(2, 2, kernel, stride=stride, padding=padding, dilation=dilation), length)
    got = ours(ar.conv1d_output_size, length, kernel, stride, padding, dilation)
    assert got == expected
    assert got is None or type(got) is int


@EXAMPLES
@given(
    length=st.integers(1, 40),
    kernel=st.integers(0, 9),
    stride=st.one_of(st.none(), st.integers(0, 4)),
    padding=st.integers(-1, 5),
    dilation=st.integers(0, 3),
    ceil_mode=st.booleans(),
)
@example(length=5, kernel=2, stride=2, padding=1, dilation=1, ceil_mode=True)  # last window would start in padding
@example(length=4, kernel=3, stride=1, padding=2, dilation=1, ceil_mode=False)  # padding over half the kernel
@example(length=3, kernel=3, stride=1, padding=0, dilation=2, ceil_mode=False)  # dilated window too long
def test_maxpool1d_matches_pytorch(length, kernel, stride, padding, dilation, ceil_mode):
    expected = torch_length(
        lambda: nn.MaxPool1d(kernel, stride=stride, padding=padding, dilation=dilation, ceil_mode=ceil_mode), length
    )
    assert ours(ar.pool1d_output_size, length, kernel, stride, padding, dilation, ceil_mode) == expected


@EXAMPLES
@given(
    length=st.integers(1, 40),
    kernel=st.integers(1, 9),
    stride=st.one_of(st.none(), st.integers(1, 4)),
    padding=st.integers(0, 5),
    ceil_mode=st.booleans(),
)
def test_avgpool1d_matches_pytorch(length, kernel, stride, padding, ceil_mode):
    expected = torch_length(lambda: nn.AvgPool1d(kernel, stride=stride, padding=padding, ceil_mode=ceil_mode), length)
    assert ours(ar.pool1d_output_size, length, kernel, stride, padding, 1, ceil_mode) == expected


@EXAMPLES
@given(
    length=st.integers(1, 24),
    kernel=st.integers(0, 8),
    stride=st.integers(0, 4),
    padding=st.integers(-1, 8),
    output_padding=st.integers(-1, 3),
    dilation=st.integers(0, 3),
)
@example(length=1, kernel=1, stride=1, padding=1, output_padding=0, dilation=1)  # empty output
@example(length=4, kernel=3, stride=2, padding=0, output_padding=2, dilation=1)  # output_padding too large
@example(length=4, kernel=3, stride=1, padding=0, output_padding=1, dilation=2)  # allowed by the dilation
def test_conv_transpose1d_matches_pytorch(length, kernel, stride, padding, output_padding, dilation):
    expected = torch_length(
        lambda: nn.ConvTranspose1d(
            2, 2, kernel, stride=stride, padding=padding, output_padding=output_padding, dilation=dilation
        ),
        length,
    )
    if expected == 0:
        expected = None  # an empty output: refused, as for 2-D
    got = ours(ar.conv_transpose1d_output_size, length, kernel, stride, padding, output_padding, dilation)
    assert got == expected


@pytest.mark.parametrize(
    ("function", "args", "words"),
    [
        (ar.conv1d_output_size, (4, 7), ["along the length", "spans 7 positions", "only 4", "kernel_size <= 4",
                                         "padding >= 2"]),
        (ar.conv1d_output_size, (8, 3, 2, "same"), ['padding="same" needs stride 1', "stride is 2", "stride to 1"]),
        (ar.conv1d_output_size, (8, 3, 0), ["stride must be at least 1, but it is 0"]),
        (ar.pool1d_output_size, (8, 3, None, 2), ["at most half", "padding 2", "padding <= 1"]),
        (ar.pool1d_output_size, (2, 2, 1, 0, 2), ["pooling window is larger", "output would be 0"]),
        (ar.conv_transpose1d_output_size, (4, 3, 2, 0, 2), ["output_padding", "smaller", "output_padding <= 1"]),
        (ar.conv_transpose1d_output_size, (1, 1, 1, 1), ["empty along the length", "= -1", "padding <= 0"]),
        (ar.conv1d_output_size, (8, (3, 3)), ["kernel_size must be a whole number"]),
        (ar.conv1d_output_size, (True, 3), ["length must be a whole number"]),
    ],
)  # fmt: skip
def test_1d_messages_name_the_constraint_the_numbers_and_the_fix(function, args, words):
    with pytest.raises(InvalidLayerConfig) as raised:
        function(*args)
    for word in words:
        assert word in str(raised.value)


def test_1d_suggested_fixes_work():
    with pytest.raises(InvalidLayerConfig, match="kernel_size <= 4, or padding >= 2"):
        ar.conv1d_output_size(4, 7)
    assert ar.conv1d_output_size(4, 4) == 1
    assert ar.conv1d_output_size(4, 7, padding=2) == 2


def test_terms_are_the_formula_written_out():
    h, w = ar.conv2d_terms((28, 9), 5, stride=2, padding=(1, 2))
    assert (h.padded, h.span, h.numerator, h.rounded, h.output) == (30, 5, 25, 13, 13)
    assert (w.pad_before, w.pad_after, w.padded, w.numerator, w.output, w.leftover) == (2, 2, 13, 8, 5, 0)
    dna = ar.conv1d_terms(12, 4, padding="same")
    assert (dna.pad_before, dna.pad_after, dna.output) == (1, 2, 12)
    pool = ar.pool1d_terms(5, 2, 2, padding=1, ceil_mode=True)
    assert (pool.rounded, pool.output, pool.dropped_last) == (4, 3, True)
    assert ar.conv_transpose1d_terms(3, 2, 2, output_padding=1).output == 7  # the decoder's 3 -> 7
    for terms in (h, w, dna, pool):
        assert terms.output == (terms.numerator + (terms.stride - 1 if terms.ceil_mode else 0)) // terms.stride + 1 \
            - terms.dropped_last  # fmt: skip


# --- the solver: every answer checked by PyTorch, complete against brute force ----------------

SMALL = {"max_kernel": 4, "max_stride": 3, "max_padding": 2, "max_dilation": 2}  # 1-D brute force
TINY = {"max_kernel": 3, "max_stride": 2, "max_padding": 1, "max_dilation": 2}  # 2-D: every pair of pairs


def _torch_layer(kind, options):
    if kind.startswith("MaxPool"):
        return getattr(nn, kind)(**options)
    return getattr(nn, kind)(2, 2, **options)


def _torch_output(kind, size, options):
    """Output size of the real layer (int for 1-D, pair for 2-D), None when refused or empty."""
    shape = (1, 2, *size) if isinstance(size, tuple) else (1, 2, size)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = _torch_layer(kind, options)(torch.zeros(shape))
    except (RuntimeError, ValueError):
        return None
    dims = tuple(int(v) for v in out.shape[2:])
    if 0 in dims:
        return None
    return dims if isinstance(size, tuple) else dims[0]


def _brute_force(kind, size, wanted, bounds):
    """Every configuration within ``bounds`` that torch accepts and that gives ``wanted``, as option tuples."""
    two_d = kind.endswith("2d")

    def values(high, low=1):
        if two_d:
            return [(a, b) for a in range(low, high + 1) for b in range(low, high + 1)]
        return list(range(low, high + 1))

    found = set()
    for k in values(bounds["max_kernel"]):
        for d in values(bounds["max_dilation"]):
            if any(dd > 1 and kk == 1 for kk, dd in zip(ar.pair(k), ar.pair(d))):
                continue  # the solver's documented rule: dilation only with kernels of 2 or more
            for s in values(bounds["max_stride"]):
                pads = values(bounds["max_padding"], 0)
                if kind.startswith("Conv") and "Transpose" not in kind:
                    uneven = any(dd * (kk - 1) % 2 for kk, dd in zip(ar.pair(k), ar.pair(d)))
                    if uneven and all(-(-dd * (kk - 1) // 2) <= bounds["max_padding"]
                                      for kk, dd in zip(ar.pair(k), ar.pair(d))):  # fmt: skip
                        pads = [*pads, "same"]
                extras = [{}]
                if kind.startswith("MaxPool"):
                    extras = [{"ceil_mode": False}, {"ceil_mode": True}]
                if "Transpose" in kind:
                    largest = max(bounds["max_stride"], bounds["max_dilation"]) - 1  # output_padding < that
                    extras = [{"output_padding": op} for op in values(largest, 0)]
                for p in pads:
                    for extra in extras:
                        options = {"kernel_size": k, "stride": s, "padding": p, "dilation": d, **extra}
                        if _torch_output(kind, size, options) == wanted:
                            found.add(tuple(sorted((name, str(v)) for name, v in options.items())))
    return found


def _as_options(solution):
    options = {"kernel_size": solution.kernel_size, "stride": solution.stride, "padding": solution.padding,
               "dilation": solution.dilation}  # fmt: skip
    if solution.kind.startswith("MaxPool"):
        options["ceil_mode"] = solution.ceil_mode
    if "Transpose" in solution.kind:
        options["output_padding"] = solution.output_padding
    return options


@pytest.mark.parametrize(
    ("kind", "size", "wanted"),
    [
        ("Conv1d", 9, 4), ("Conv1d", 6, 6), ("Conv1d", 5, 1), ("MaxPool1d", 9, 4), ("MaxPool1d", 7, 4),
        ("ConvTranspose1d", 3, 7), ("ConvTranspose1d", 4, 4), ("Conv2d", (6, 5), (3, 5)), ("Conv2d", 4, 4),
        ("MaxPool2d", (5, 6), (3, 2)), ("ConvTranspose2d", (2, 3), (4, 5)),
    ],
)  # fmt: skip
def test_solver_is_complete_and_every_answer_works_in_pytorch(kind, size, wanted):
    bounds = TINY if kind.endswith("2d") else SMALL
    solutions = size_solver.solve(kind, size, wanted, **bounds)
    assert solutions, "these cases all have answers"
    if kind.endswith("2d"):  # the solver takes an int as a square; torch needs the pair
        size, wanted = ar.pair(size), ar.pair(wanted)
    for solution in solutions:
        assert _torch_output(kind, size, _as_options(solution)) == wanted, solution
        # options() leaves defaults out; PyTorch must build the same layer from it
        assert _torch_output(kind, size, solution.options()) == wanted, solution
    ours_found = {tuple(sorted((name, str(v)) for name, v in _as_options(s).items())) for s in solutions}
    assert len(ours_found) == len(solutions)  # no duplicates
    assert ours_found == _brute_force(kind, size, wanted, bounds)


def test_solver_answers_come_simplest_first():
    answers = size_solver.solve("Conv2d", 28, 14)
    assert answers[0].options() == {"kernel_size": 1, "stride": 2}
    assert answers[1].options() == {"kernel_size": 2, "stride": 2}
    assert [a.simplicity() for a in answers] == sorted(a.simplicity() for a in answers)
    plain = [a.options() for a in size_solver.solve("Conv1d", 28, 28) if a.dilation == 1]
    assert plain[:3] == [{"kernel_size": 1}, {"kernel_size": 2, "padding": "same"}, {"kernel_size": 3, "padding": 1}]
    kernels = [max(ar.pair(a.kernel_size)) for a in answers]
    assert kernels == sorted(kernels)


def test_no_answer_comes_with_the_nearest_reachable_sizes():
    assert size_solver.solve("Conv1d", 10, 30) == []
    nearest = size_solver.nearest_sizes("Conv1d", 10, 30)
    assert nearest[0] == 20  # 10 + 2 * 5 padding with a 1-tap kernel: the longest a Conv1d makes
    assert all(size_solver.solve("Conv1d", 10, n) for n in nearest)
    assert size_solver.nearest_sizes("ConvTranspose1d", 3, 7)[0] == 7  # reachable: itself first
    pairs = size_solver.nearest_sizes("MaxPool2d", (10, 12), (30, 1), count=3)
    assert len(pairs) == 3 and all(size_solver.solve("MaxPool2d", (10, 12), p) for p in pairs)
    assert pairs[0] == (11, 1)  # ceil_mode with padding reaches 11 rows at stride 1


def test_solver_refuses_what_it_cannot_answer():
    with pytest.raises(InvalidLayerConfig, match="not 'AvgPool3d'"):
        size_solver.solve("AvgPool3d", 8, 4)
    with pytest.raises(InvalidLayerConfig, match="output size must be at least 1"):
        size_solver.solve("Conv2d", 8, 0)
    with pytest.raises(InvalidLayerConfig, match="max_kernel must be between"):
        size_solver.solve("Conv1d", 8, 4, max_kernel=1000)
