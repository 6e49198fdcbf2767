"""Students share one server process (issue 9, findings 5 and 6): many threads, one cached model,
one global random state; each student must get only their own results."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from cnnviz.analysis.features import classify
from cnnviz.explorer import kernels
from models import BackboneConfig, ClassifierConfig, CNNClassifier

THREADS = 6
CALLS = 40  # per thread


def in_threads(work, count: int = THREADS) -> list:
    """Run ``work(index)`` in ``count`` threads started together; return their results (errors re-raised)."""
    results: list = [None] * count
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def body(index: int) -> None:
        try:
            start.wait()
            results[index] = work(index)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=body, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    if errors:
        raise errors[0]
    return results


@pytest.fixture(scope="module")
def shared_model():
    torch.manual_seed(0)
    return CNNClassifier().eval()  # one model, as st.cache_resource hands every session


def test_threads_classifying_different_digits_each_get_only_their_own_maps(shared_model):
    generator = torch.Generator().manual_seed(5)
    digits = [torch.rand(1, 1, 28, 28, generator=generator) for _ in range(THREADS)]
    expected = [classify(shared_model, digit) for digit in digits]
    hooks_before = sum(len(m._forward_hooks) for m in shared_model.modules())

    def work(index: int) -> int:
        wrong = 0
        for _ in range(CALLS):
            result = classify(shared_model, digits[index])
            np.testing.assert_allclose(result.probabilities, expected[index].probabilities, rtol=1e-5, atol=1e-6)
            for got, want in zip(result.layers, expected[index].layers, strict=True):
                wrong += not np.allclose(got.maps, want.maps, rtol=1e-5, atol=1e-6)
        return wrong

    assert in_threads(work) == [0] * THREADS, "a thread received another thread's feature maps"
    assert sum(len(m._forward_hooks) for m in shared_model.modules()) == hooks_before == 0


@settings(max_examples=12, deadline=None)
@given(
    channels=st.lists(st.integers(1, 12), min_size=2, max_size=3),
    blocks=st.integers(1, 2),
    kernel=st.sampled_from([1, 2, 3, 5]),
    seed=st.integers(0, 1000),
)
def test_walking_the_layers_gives_exactly_what_the_model_computes(channels, blocks, kernel, seed):
    """classify replays forward() part by part; it must agree with the model itself, layer maps included."""
    torch.manual_seed(seed)
    model = CNNClassifier(ClassifierConfig(BackboneConfig(channels=tuple(channels), blocks_per_stage=blocks,
                                                          kernel_size=kernel))).eval()  # fmt: skip
    digit = torch.rand(1, 1, 28, 28)
    result = classify(model, digit)
    with torch.inference_mode():
        logits = model(digit)
        x = model.normalize(digit)
        expected = {}
        for name, module in model.backbone.layers.named_children():
            x = module(x)
            expected[name] = x[0].numpy()
    np.testing.assert_allclose(result.probabilities, torch.softmax(logits, 1)[0].numpy(), rtol=1e-5, atol=1e-7)
    assert [layer.name for layer in result.layers] == [n for n in expected if not n.startswith("relu")]
    for layer in result.layers:
        np.testing.assert_allclose(layer.maps, expected[layer.name], rtol=1e-5, atol=1e-6)


def test_a_model_of_another_shape_is_watched_on_a_private_copy(shared_model):
    """A model cnnviz cannot replay (its own forward) still gets its maps, and is left untouched."""

    class Wrapped(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = shared_model

        def forward(self, x):
            return self.inner(x) * 1.0

    wrapped = Wrapped().eval()
    digit = torch.rand(1, 1, 28, 28)
    result = classify(wrapped, digit)
    direct = classify(shared_model, digit)
    assert [layer.name for layer in result.layers] == [layer.name for layer in direct.layers]
    np.testing.assert_allclose(result.layers[0].maps, direct.layers[0].maps)
    assert all(not m._forward_hooks for m in wrapped.modules())


def test_seeded_random_kernels_are_the_same_while_other_threads_use_the_global_random_state():
    expected = kernels.random_conv(3, 8, (5, 5), seed=5)
    stop = threading.Event()

    def disturb() -> None:  # another session: training, dropout, torch.rand ...
        while not stop.is_set():
            torch.manual_seed(int(torch.randint(0, 10**6, ()).item()))
            torch.rand(64)

    noise = [threading.Thread(target=disturb) for _ in range(2)]
    for thread in noise:
        thread.start()
    try:

        def work(index: int) -> int:
            different = 0
            for _ in range(CALLS):
                weight, bias = kernels.random_conv(3, 8, (5, 5), seed=5)
                different += not (torch.equal(weight, expected[0]) and torch.equal(bias, expected[1]))
            return different

        assert in_threads(work, 4) == [0] * 4, "the same seed gave different weights under load"
    finally:
        stop.set()
        for thread in noise:
            thread.join()


def test_seeded_random_kernels_leave_the_global_random_state_alone():
    torch.manual_seed(11)
    expected = torch.rand(5)
    torch.manual_seed(11)
    kernels.random_conv(2, 4, (3, 3), seed=1, transposed=True)
    assert torch.equal(torch.rand(5), expected)
