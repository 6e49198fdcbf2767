"""The shipped models: small, loadable without data, and as good as promised on the MNIST test set."""

import pytest
import torch

from cnnviz.training.recipe import TrainConfig, evaluate, model_config
from models import PRETRAINED_DIR, CNNClassifier, ConvAutoencoder, load_pretrained


@pytest.mark.parametrize("name", ["classifier", "autoencoder"])
def test_pretrained_files_are_small_plain_checkpoints_of_the_default_config(name):
    path = PRETRAINED_DIR / f"{name}.pt"
    assert path.stat().st_size < 1_000_000
    raw = torch.load(path, weights_only=True)
    assert raw["model"] == name and "optimizer" not in raw  # the model alone, no resume state
    model = load_pretrained(name)
    assert not model.training
    assert model.config == model_config(TrainConfig(model=name))  # trained with the default settings


def test_pretrained_classifier_reaches_99_percent_on_the_test_set(mnist):
    model = load_pretrained("classifier")
    assert isinstance(model, CNNClassifier)
    assert evaluate(model, mnist.test).accuracy >= 0.99


def test_pretrained_autoencoder_reconstructs_the_test_set(mnist):
    model = load_pretrained("autoencoder")
    assert isinstance(model, ConvAutoencoder)
    assert evaluate(model, mnist.test).loss <= 0.015
    with torch.no_grad():
        code = model.encode(torch.rand(2, 1, 28, 28))
    assert code[0].numel() <= 36


def test_unknown_pretrained_name_is_refused():
    with pytest.raises(ValueError, match="choose 'classifier' or 'autoencoder'"):
        load_pretrained("resnet")
