"""The network builder's presets, read from the project's models, checked against PyTorch itself."""

import pytest

from cnnviz import layers
from cnnviz.views.presets import builder_presets
from models import AutoencoderConfig, ClassifierConfig, CNNClassifier, ConvAutoencoder
from tests.layers.test_stack import _torch_shapes


@pytest.mark.parametrize("name", list(builder_presets()))
def test_presets_match_pytorch_shape_by_shape_and_parameter_by_parameter(name):
    preset = builder_presets()[name]
    report = layers.evaluate_stack(preset.specs, preset.input_shape)
    assert report.error_index is None
    shapes, params = _torch_shapes(preset.specs, preset.input_shape)
    assert [r.output_shape for r in report.rows] == shapes
    assert report.total_parameters.total == params


def test_presets_are_read_from_the_project_models():
    presets = builder_presets()
    classifier = presets["cnnviz classifier (CNNClassifier)"]
    assert classifier.input_shape == (1, 28, 28)
    model_params = sum(p.numel() for p in CNNClassifier(ClassifierConfig()).parameters())
    assert layers.evaluate_stack(classifier.specs, classifier.input_shape).total_parameters.total == model_params
    autoencoder = presets["cnnviz autoencoder (ConvAutoencoder)"]
    report = layers.evaluate_stack(autoencoder.specs, autoencoder.input_shape)
    assert report.output_shape == (1, 28, 28)
    assert report.total_parameters.total == sum(p.numel() for p in ConvAutoencoder(AutoencoderConfig()).parameters())
    lenet = presets["LeNet-5"]
    assert layers.evaluate_stack(lenet.specs, lenet.input_shape).total_parameters.total == 61_706
