"""The lab's networks: shapes, parameter counts, the residual skip, and the arithmetic they rely on."""

import math

import pytest
import torch
from torch import nn

from cnnviz.layers.arithmetic import InvalidLayerConfig, conv2d_parameters
from models import (
    AutoencoderConfig,
    BackboneConfig,
    ClassifierConfig,
    CNNBackbone,
    CNNClassifier,
    ConvAutoencoder,
    ResidualBlock,
    backbone_output_shape,
    bottleneck_shape,
    flatten_size,
)


def n_params(module):
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4, 5])
def test_residual_block_preserves_shape_and_adds_the_input(kernel_size):
    block = ResidualBlock(6, kernel_size, dropout=0.2).eval()
    x = torch.randn(3, 6, 11, 8)
    y = block(x)
    assert y.shape == x.shape
    f = block.norm(block.dropout(block.relu(block.conv(x))))
    torch.testing.assert_close(y, f + x)
    assert [type(m) for m in block.children()] == [nn.Conv2d, nn.ReLU, nn.Dropout, nn.BatchNorm2d]


def test_residual_block_parameter_count():
    # conv: 8*8*3*3 weights + 8 biases; batch norm: 8 scales + 8 shifts.
    assert n_params(ResidualBlock(8, 3)) == conv2d_parameters(8, 8, 3).total + 16


@pytest.mark.parametrize(
    "config",
    [
        BackboneConfig(),
        BackboneConfig(channels=(8, 16), blocks_per_stage=2, kernel_size=5),
        BackboneConfig(channels=(4,) * 4),
    ],
)
def test_backbone_output_shape_comes_from_the_arithmetic(config):
    y = CNNBackbone(config)(torch.zeros(2, config.in_channels, config.input_size, config.input_size))
    assert tuple(y.shape) == (2, *backbone_output_shape(config))


def test_backbone_has_at_least_three_convolutions_and_max_pooling():
    backbone = CNNBackbone()
    convs = [m for m in backbone.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) >= 3
    assert any(isinstance(m, nn.MaxPool2d) for m in backbone.modules())
    with pytest.raises(InvalidLayerConfig, match="at least three convolutions"):
        BackboneConfig(channels=(8,), blocks_per_stage=1)


def test_backbone_that_pools_the_image_away_is_refused():
    with pytest.raises(InvalidLayerConfig, match="larger than the padded input"):
        CNNBackbone(BackboneConfig(channels=(4,) * 6))  # 28 -> 14 -> 7 -> 3 -> 1 -> 0


def test_default_classifier_is_under_100k_parameters_with_10_logits():
    model = CNNClassifier()
    assert n_params(model) < 100_000
    for batch in (8, 4, 1):
        assert model(torch.rand(batch, 1, 28, 28)).shape == (batch, 10)


@pytest.mark.parametrize("channels", [(16, 32, 32), (8, 16), (4, 8, 8, 8)])
def test_classifier_head_matches_the_flattened_backbone(channels):
    config = ClassifierConfig(BackboneConfig(channels=channels, blocks_per_stage=1))
    model = CNNClassifier(config)
    features = model.flatten(model.backbone(torch.zeros(1, 1, 28, 28)))
    assert model.head.in_features == features.shape[1] == flatten_size(config)


def test_autoencoder_round_trip_shapes_and_range():
    model = ConvAutoencoder().eval()
    x = torch.rand(5, 1, 28, 28)
    z = model.encode(x)
    assert tuple(z.shape) == (5, *bottleneck_shape(model.config))
    assert math.prod(z.shape[1:]) <= 36
    y = model(x)
    assert y.shape == x.shape
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0
    torch.testing.assert_close(model.decode(z), y)


@pytest.mark.parametrize(
    ("channels", "bottleneck"), [((16, 32, 32), 4), ((8, 16), 2), ((8, 8, 8, 8), 16), ((8, 8, 8), 1)]
)
def test_decoder_mirrors_the_encoder_for_every_stage_count(channels, bottleneck):
    config = AutoencoderConfig(BackboneConfig(channels=channels), bottleneck_channels=bottleneck)
    model = ConvAutoencoder(config)
    assert model(torch.rand(2, 1, 28, 28)).shape == (2, 1, 28, 28)
    ups = [m for m in model.decoder.modules() if isinstance(m, nn.ConvTranspose2d)]
    pools = [m for m in model.encoder.modules() if isinstance(m, nn.MaxPool2d)]
    assert len(ups) == len(pools)


def test_models_normalise_inside_so_inputs_stay_in_unit_range():
    model = CNNClassifier().eval()
    x = torch.rand(2, 1, 28, 28)
    normalised = (x - 0.1307) / 0.3081
    torch.testing.assert_close(model.backbone(model.normalize(x)), model.backbone(normalised))
