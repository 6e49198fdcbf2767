"""Every kind of the registry against PyTorch: its examples, random configurations from its declared ranges, what
it refuses, its code export and table row, its receptive field and its solver answers.

Parametrized over ``KINDS`` with the test data of tests/layers/kind_examples.py: a new kind is tested by being
added (and fails here until it has its test data).
"""

from __future__ import annotations

import random

import pytest
import torch

from cnnviz.layers import code_export, receptive_field, registry, size_solver, stack
from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.layers.receptive_field import box
from cnnviz.layers.registry import CHOICE, FLAG, FLOAT, IMAGE, INT, NO_FLAG, PAIR, SEQUENCE, SIDES
from cnnviz.layers.spec import LayerSpec
from cnnviz.views import builder_table
from tests.layers.kind_examples import EXAMPLES, REFUSED, STACKS, Example

KIND_NAMES = sorted(registry.KINDS)
# Random configurations stay small (PyTorch builds and runs each one); within these caps, the declared range.
CAPS = {INT: 8, PAIR: 4, SIDES: 4}
KEY_CAPS = {"groups": 2}  # more groups rarely divide both random channel counts


def _torch(spec: LayerSpec, shape) -> tuple[torch.Size, int] | None:
    """PyTorch's output shape and parameter count for the layer, or None when it refuses or gives nothing."""
    try:
        module = code_export.to_module(spec, shape).eval()
        with torch.no_grad():
            y = module(torch.zeros(2, *shape))
    except (RuntimeError, ValueError, TypeError):
        return None
    return (tuple(y.shape[1:]), sum(p.numel() for p in module.parameters())) if y.numel() else None


def _weight_shape(spec: LayerSpec, shape) -> tuple[int, ...]:
    module = code_export.to_module(spec, shape)
    return tuple(next(p for name, p in module.named_parameters() if name.endswith("weight")).shape)


def test_every_kind_has_test_data_and_a_stack_chains_it():
    assert set(EXAMPLES) == set(registry.KINDS), "each kind needs examples in tests/layers/kind_examples.py"
    assert {s.kind for _, specs in STACKS for s in specs} == set(registry.LAYER_KINDS)
    for name, examples in EXAMPLES.items():
        assert all(example.spec.kind == name for example in examples)
    for name, refused in REFUSED.items():
        assert name in registry.KINDS and all(case.spec.kind == name for case in refused)


@pytest.mark.parametrize("name", KIND_NAMES)
def test_examples_have_pytorchs_shape_parameters_and_weight_shape(name):
    kind = registry.KINDS[name]
    for example in EXAMPLES[name]:
        shape, spec = example.shape, example.spec
        out = stack.output_shape(spec, shape)
        params = stack.parameters(spec, shape)
        assert _torch(spec, shape) == (out, params.total), example
        if kind.has_weights:
            assert kind.weight_shape(spec, shape) == _weight_shape(spec, shape), example


@pytest.mark.parametrize("name", KIND_NAMES)
def test_what_a_kind_refuses_pytorch_refuses_too_and_the_message_says_why(name):
    for case in REFUSED.get(name, ()):
        with pytest.raises(InvalidLayerConfig, match=case.message):
            stack.output_shape(case.spec, case.shape)
        assert _torch(case.spec, case.shape) is None, case


def _random_value(rng: random.Random, option: registry.Option, dims: int | None) -> object:
    low = option.low
    cap = KEY_CAPS.get(option.key, CAPS.get(option.value))
    high = option.high if cap is None else min(option.high, cap + max(low or 0, 0))
    low = low if cap is None or low is None else max(low, -cap)
    if option.value == INT:
        return rng.randint(int(low), int(high))
    if option.value == FLOAT:
        return round(rng.uniform(low, high), 2)
    if option.value == CHOICE:
        return rng.choice(option.choices)
    if option.value in (FLAG, NO_FLAG):
        return rng.random() < 0.5
    if option.value == SIDES:
        return tuple(rng.randint(int(low), int(high)) for _ in range(4)) if rng.random() < 0.7 else rng.randint(
            int(low), int(high))  # fmt: skip
    if option.choices and rng.random() < 0.2:  # a padding that also takes words
        return rng.choice(option.choices)
    first = rng.randint(int(low), int(high))
    return (first, first) if dims != IMAGE or rng.random() < 0.3 else (first, rng.randint(int(low), int(high)))


def _random_input(rng: random.Random, dims: int | None) -> tuple[int, ...]:
    channels = rng.choice([1, 2, 3, 4, 8, 9, 12, 16])
    if dims is None:
        dims = rng.choice([registry.FLAT, SEQUENCE, IMAGE])
    if dims == IMAGE:
        return (channels, rng.randint(1, 16), rng.randint(1, 16))
    if dims == SEQUENCE:
        return (channels, rng.randint(1, 30))
    return (rng.randint(1, 40),)


@pytest.mark.parametrize("name", KIND_NAMES)
def test_random_configurations_from_the_declared_ranges_agree_with_pytorch(name):
    kind = registry.KINDS[name]
    rng = random.Random(name)
    agreed = 0
    for _ in range(200):
        values = {o.field: _random_value(rng, o, kind.input_dims) for o in kind.options if o.high is not None
                  or o.value in (CHOICE, FLAG, NO_FLAG)}  # fmt: skip
        spec = LayerSpec(name, **values)
        shape = _random_input(rng, kind.input_dims)
        try:
            out = stack.output_shape(spec, shape)
        except InvalidLayerConfig as error:
            assert error.constraint
            assert _torch(spec, shape) is None, (spec, shape)  # PyTorch refuses too (or gives an empty tensor)
            continue
        assert _torch(spec, shape) == (out, stack.parameters(spec, shape).total), (spec, shape)
        agreed += 1
    assert agreed >= 15, f"only {agreed} of 200 random {name} layers work: the declared ranges are too wide"


@pytest.mark.parametrize("name", KIND_NAMES)
def test_code_export_module_read_back_and_table_row_round_trip(name, tmp_path):
    for example in EXAMPLES[name]:
        shape, spec = example.shape, example.spec
        line = code_export.pytorch_line(spec, shape)
        module = code_export.to_module(spec, shape)
        assert registry.module_kind(module) is registry.KINDS[name]
        assert code_export.pytorch_line(code_export.spec_from_module(module), shape) == line
        row = builder_table.spec_to_row(spec)
        assert code_export.pytorch_line(builder_table.row_to_spec(row, 1), shape) == line, row
        code = code_export.export_code([spec], shape, batch=2)
        namespace = {"__name__": "exported"}
        exec(compile(code, str(tmp_path / "exported.py"), "exec"), namespace)  # noqa: S102 - the code under test
        model = namespace["model"].eval()
        with torch.no_grad():
            assert tuple(model(torch.zeros(2, *shape)).shape) == (2, *stack.output_shape(spec, shape))


@pytest.mark.parametrize("index", range(len(STACKS)))
def test_every_stack_matches_pytorch_layer_by_layer(index):
    input_shape, specs = STACKS[index]
    report = stack.evaluate_stack(specs, input_shape)
    assert report.error_index is None, report.rows[report.error_index].error
    x, params = torch.rand(2, *input_shape), 0
    for spec, row in zip(specs, report.rows):
        module = code_export.to_module(spec, tuple(x.shape[1:])).eval()
        params += sum(p.numel() for p in module.parameters())
        with torch.no_grad():
            x = module(x)
        assert tuple(x.shape[1:]) == row.output_shape, spec
    assert report.total_parameters.total == params


def footprints(example: Example) -> dict[tuple[int, ...], set[tuple[int, ...]]]:
    """Per output cell (row, col) or (position,): the input positions whose change changes it (any channel).

    For a layer linear in its input (a convolution, an average) that is the gradient's support; unlike the
    gradient it also finds every tap of a max pool, not only the largest one.
    """
    module = code_export.to_module(example.spec, example.shape).eval().double()
    torch.manual_seed(0)
    base = torch.rand(1, *example.shape, dtype=torch.float64)
    with torch.no_grad():
        reference = module(base)
        found: dict[tuple[int, ...], set[tuple[int, ...]]] = {}
        for position in torch.cartesian_prod(*(torch.arange(n) for n in example.shape[1:])).reshape(
                -1, len(example.shape) - 1).tolist():  # fmt: skip
            changed = torch.zeros(reference.shape[2:], dtype=torch.bool)
            for delta in (1000.0, -1000.0):
                moved = base.clone()
                moved[(0, slice(None), *position)] += delta
                changed |= (module(moved) - reference).abs().amax(dim=(0, 1)) > 1e-9
            for cell in changed.nonzero().tolist():
                found.setdefault(tuple(cell), set()).add(tuple(position))
    return found


def _windowed(name: str) -> list[Example]:
    """The examples whose layer has a receptive-field window and keeps its input's dimensions."""
    kind = registry.KINDS[name]
    return [e for e in EXAMPLES[name] if len(e.shape) > 1 and kind.window(e.spec, e.shape) is not None
            and len(stack.output_shape(e.spec, e.shape)) == len(e.shape)]  # fmt: skip


@pytest.mark.parametrize("name", [name for name in KIND_NAMES if _windowed(name)])
def test_the_receptive_field_is_the_footprint_of_the_real_layer(name):
    for example in _windowed(name):
        window = registry.KINDS[name].window(example.spec, example.shape)
        field = receptive_field.receptive_fields([window])[-1]
        size = example.shape[1:]
        image = (size[0], size[-1])
        largest = [0] * len(size)
        for cell, inputs in footprints(example).items():
            (top, left), (bottom, right) = box(field, cell[0], cell[-1], image)
            low, high = (top,) if len(size) == 1 else (top, left), (bottom,) if len(size) == 1 else (bottom, right)
            for axis in range(len(size)):
                along = [p[axis] for p in inputs]
                if field.exact:  # uneven windows (an adaptive pool): the size is the largest, the box an estimate
                    assert low[axis] <= min(along) and max(along) <= high[axis], (example, cell)
                largest[axis] = max(largest[axis], max(along) - min(along) + 1)
        assert tuple(largest) == field.size[: len(size)], example  # the largest footprint: the field's size


@pytest.mark.parametrize("name", size_solver.SOLVER_KINDS)
def test_every_solver_answer_gives_the_wanted_size_in_pytorch(name):
    for example in EXAMPLES[name]:
        shape = example.shape
        wanted = stack.output_shape(example.spec, shape)[1:]
        two_d = registry.KINDS[name].input_dims == IMAGE
        answers = size_solver.solve(name, shape[1:] if two_d else shape[1], wanted if two_d else wanted[0])
        assert answers, example
        for answer in answers[:: max(1, len(answers) // 25)]:
            spec = LayerSpec(name, out_channels=example.spec.out_channels, **answer.changes())
            result = _torch(spec, shape)
            assert result is not None and result[0][1:] == wanted, (answer, example)
