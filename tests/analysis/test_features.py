"""cnnviz.analysis.features: hooks catch exactly what each layer computes; probabilities; reconstruction."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from cnnviz.analysis.features import classify, invariance_sweeps, probabilities, reconstruct, watched_layers
from cnnviz.data.mnist import to_float
from cnnviz.data.preprocess import shift_rotate
from cnnviz.layers.arithmetic import pool2d_output_size
from models import (
    AutoencoderConfig,
    BackboneConfig,
    ClassifierConfig,
    CNNClassifier,
    ConvAutoencoder,
    bottleneck_shape,
)


@pytest.fixture
def classifier():
    torch.manual_seed(0)
    return CNNClassifier().eval()


@pytest.fixture
def digit():
    torch.manual_seed(1)
    return torch.rand(1, 1, 28, 28)


def test_every_convolution_residual_block_and_pooling_layer_is_watched_in_order(classifier):
    names = [(path.rsplit(".", 1)[-1], kind) for path, kind, _ in watched_layers(classifier)]
    assert names == [
        ("conv1", "convolution"),
        ("res1_1", "residual block"),
        ("pool1", "max pooling"),
        ("conv2", "convolution"),
        ("res2_1", "residual block"),
        ("pool2", "max pooling"),
        ("conv3", "convolution"),
        ("res3_1", "residual block"),
        ("pool3", "max pooling"),
    ]


def test_the_maps_are_what_pytorch_computes_layer_by_layer(classifier, digit):
    result = classify(classifier, digit)
    expected = classifier.normalize(digit)
    by_name = {layer.name: layer for layer in result.layers}
    with torch.inference_mode():
        for name, module in classifier.backbone.layers.named_children():
            expected = module(expected)
            if name in by_name:
                np.testing.assert_allclose(by_name[name].maps, expected[0].numpy(), rtol=1e-5, atol=1e-6)
    assert len(by_name) == 9


def test_map_shapes_follow_the_shape_arithmetic():
    config = ClassifierConfig(BackboneConfig(channels=(8, 12), blocks_per_stage=2, kernel_size=5))
    result = classify(CNNClassifier(config).eval(), torch.rand(1, 1, 28, 28))
    shapes = {layer.name: layer.shape for layer in result.layers}
    after_pool1 = pool2d_output_size((28, 28), 2)
    assert shapes["conv1"] == shapes["res1_2"] == (8, 28, 28)
    assert shapes["pool1"] == (8, *after_pool1)
    assert shapes["pool2"] == (12, *pool2d_output_size(after_pool1, 2))
    assert [layer.name for layer in result.layers].count("res2_2") == 1


def test_probabilities_are_the_softmax_of_the_logits(classifier, digit):
    result = classify(classifier, digit)
    with torch.inference_mode():
        expected = torch.softmax(classifier(digit), dim=1)[0].numpy()
    np.testing.assert_allclose(result.probabilities, expected, rtol=1e-5, atol=1e-7)
    assert result.probabilities.sum() == pytest.approx(1.0, abs=1e-5)
    assert result.prediction == int(expected.argmax()) and result.confidence == pytest.approx(expected.max())
    np.testing.assert_allclose(probabilities(classifier, digit)[0], expected, rtol=1e-5, atol=1e-7)
    assert classify(classifier, digit, layers=False).layers == []


def test_hooks_are_removed_even_when_the_forward_pass_fails(classifier):
    with pytest.raises(RuntimeError):
        classify(classifier, torch.rand(1, 3, 28, 28))  # three channels: the first convolution refuses
    assert all(not module._forward_hooks for module in classifier.modules())
    classify(classifier, torch.rand(1, 1, 28, 28))
    assert all(not module._forward_hooks for module in classifier.modules())


def test_one_digit_at_a_time(classifier):
    with pytest.raises(ValueError, match="one digit"):
        classify(classifier, torch.rand(2, 1, 28, 28))


def test_the_trained_classifier_reads_real_digits_and_tolerates_small_shifts(mnist, trained_classifier):
    digits, labels = to_float(mnist.test.images[:40]), mnist.test.labels[:40]
    predictions = [classify(trained_classifier, digits[i : i + 1]).prediction for i in range(len(labels))]
    assert np.mean(np.array(predictions) == labels.numpy()) >= 0.95
    kept = 0
    for i in range(len(labels)):
        sweep, _ = invariance_sweeps(trained_classifier, digits[i : i + 1], [-2, -1, 0, 1, 2], [])  # (5, 10)
        np.testing.assert_allclose(sweep[2], probabilities(trained_classifier, digits[i : i + 1])[0], atol=1e-5)
        kept += bool((sweep.argmax(axis=1) == predictions[i]).all())
    assert kept >= 0.85 * len(labels)  # pooling buys some tolerance to shifts of a pixel or two


def test_sweeps_have_one_row_per_offset_and_angle(classifier, digit):
    shifts, turns = invariance_sweeps(classifier, digit, [-3, 0, 3, 5], [-30, 0, 30])
    assert shifts.shape == (4, 10) and turns.shape == (3, 10)
    alone = probabilities(classifier, digit)[0]
    np.testing.assert_allclose(shifts[1], alone, atol=1e-5)
    np.testing.assert_allclose(turns[1], alone, atol=1e-5)
    np.testing.assert_allclose(shifts[3], probabilities(classifier, shift_rotate(digit, right=5))[0], atol=1e-5)
    assert not np.allclose(turns[0], turns[2])


def test_reconstruction_error_mse_and_bottleneck(digit):
    torch.manual_seed(0)
    config = AutoencoderConfig()
    autoencoder = ConvAutoencoder(config).eval()
    result = reconstruct(autoencoder, digit)
    with torch.inference_mode():
        expected = autoencoder(digit)
        code = autoencoder.encode(digit)
    np.testing.assert_allclose(result.output, expected[0, 0].numpy(), atol=1e-6)
    np.testing.assert_allclose(result.error, result.output - digit[0, 0].numpy(), atol=1e-6)
    assert result.mse == pytest.approx(nn.functional.mse_loss(expected, digit).item(), rel=1e-5)
    np.testing.assert_allclose(result.code, code[0].numpy(), atol=1e-6)
    assert result.bottleneck_shape == bottleneck_shape(config) == (4, 3, 3)
    assert result.code_size == 36 and result.compression == pytest.approx(784 / 36)


def test_the_autoencoder_layers_include_the_decoders_transposed_convolutions():
    kinds = {path: kind for path, kind, _ in watched_layers(ConvAutoencoder())}
    assert kinds["decoder.layers.up3"] == "transposed convolution"
    assert kinds["encoder.layers.res1_1"] == "residual block"
    assert "encoder.layers.res1_1.conv" not in kinds  # inside the block: the block stands for it
