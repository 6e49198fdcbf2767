"""Specs: sizes read and shown as people write them; 1-D sizes kept as one number."""

from cnnviz import specs
from cnnviz.specs import LayerSpec


def test_pairs_and_bytes_are_read_and_shown_as_people_write_them():
    assert specs.parse_pair("3") == (3, 3)
    assert specs.parse_pair("3x5") == specs.parse_pair("(3, 5)") == (3, 5)
    assert specs.parse_padding(" Same ") == "same"
    assert specs.format_bytes(784) == "784 B"
    assert specs.format_bytes(3 * 1024 + 200) == "3.2 KB"
    assert specs.format_bytes(5 * 1024**2) == "5.0 MB"


def test_ints_and_one_tuples_become_equal_pairs():
    spec = LayerSpec("Conv1d", kernel_size=5, stride=(2,), padding=1, dilation=[3])
    assert (spec.kernel_size, spec.stride, spec.padding, spec.dilation) == ((5, 5), (2, 2), (1, 1), (3, 3))
    assert LayerSpec("MaxPool1d", kernel_size=4).resolved_stride == (4, 4)
    assert LayerSpec("Conv1d", kernel_size=4).resolved_stride == (1, 1)
