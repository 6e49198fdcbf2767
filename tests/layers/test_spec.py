"""Specs: sizes read and shown as people write them; 1-D sizes kept as one number."""

from cnnviz.layers import spec
from cnnviz.layers.registry import stride_of
from cnnviz.layers.spec import LayerSpec


def test_pairs_and_bytes_are_read_and_shown_as_people_write_them():
    assert spec.parse_pair("3") == (3, 3)
    assert spec.parse_pair("3x5") == spec.parse_pair("(3, 5)") == (3, 5)
    assert spec.parse_padding(" Same ") == "same"
    assert spec.format_bytes(784) == "784 B"
    assert spec.format_bytes(3 * 1024 + 200) == "3.2 KB"
    assert spec.format_bytes(5 * 1024**2) == "5.0 MB"


def test_ints_and_one_tuples_become_equal_pairs():
    spec = LayerSpec("Conv1d", kernel_size=5, stride=(2,), padding=1, dilation=[3])
    assert (spec.kernel_size, spec.stride, spec.padding, spec.dilation) == ((5, 5), (2, 2), (1, 1), (3, 3))
    assert stride_of(LayerSpec("MaxPool1d", kernel_size=4)) == (4, 4)
    assert stride_of(LayerSpec("Conv1d", kernel_size=4)) == (1, 1)


def test_the_documented_names_import_from_the_layers_package():
    from cnnviz import layers

    assert layers.CONV == "Conv2d" and layers.UPSAMPLE_MODES == ("nearest", "bilinear")
    assert callable(layers.format_bytes) and callable(layers.evaluate_stack) and callable(layers.export_code)
    assert layers.evaluate_stack([layers.LayerSpec("Conv2d", out_channels=8)], (1, 28, 28)).output_shape == (8, 26, 26)
