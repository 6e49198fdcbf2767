"""Saliency and Grad-CAM on the shipped classifier and real MNIST test digits."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cnnviz.analysis.attribution import explain, last_convolution_stage
from cnnviz.data.mnist import to_float

DIGITS = 100  # real test digits averaged over in the sanity checks


def _near_ink(digit: torch.Tensor, reach: int = 2) -> np.ndarray:
    """Pixels within ``reach`` of ink (> 0.2): a Grad-CAM cell of the 7 x 7 stage spans 4 pixels."""
    ink = (digit > 0.2).float()  # (1, 1, H, W)
    return (torch.nn.functional.max_pool2d(ink, 2 * reach + 1, 1, reach)[0, 0] > 0).numpy()


def _mass_near_ink(model, images: torch.Tensor, layer: str | None = None) -> tuple[float, float]:
    """Mean share of positive Grad-CAM mass near the ink, and mean share of the image near the ink."""
    shares, areas = [], []
    for image in images:
        digit = to_float(image[None])  # (1, 1, 28, 28)
        cam = explain(model, digit, layer=layer).gradcam_positive
        near = _near_ink(digit)
        shares.append(cam[near].sum() / max(cam.sum(), 1e-12))
        areas.append(near.mean())
    return float(np.mean(shares)), float(np.mean(areas))


def test_shapes_and_the_default_class(trained_classifier, mnist):
    digit = to_float(mnist.test.images[:1])
    top = explain(trained_classifier, digit)
    assert top.layer == last_convolution_stage(trained_classifier) == "backbone.layers.res3_1"
    assert top.target == top.prediction == int(mnist.test.labels[0])
    assert top.saliency.shape == top.gradient.shape == top.gradcam.shape == (28, 28)
    assert top.gradcam_cells.shape == (7, 7)
    assert top.probabilities.shape == (10,) and top.probabilities.sum() == pytest.approx(1, abs=1e-5)
    np.testing.assert_allclose(top.saliency, top.gradient * digit[0, 0].numpy(), rtol=1e-6)
    assert (top.gradcam_positive >= 0).all() and top.gradcam_positive.max() == top.gradcam.max()


def test_gradient_is_the_logits_own(trained_classifier, mnist):
    digit = to_float(mnist.test.images[3:4]).requires_grad_(True)
    (expected,) = torch.autograd.grad(trained_classifier(digit)[0, 7], digit)
    why_not_7 = explain(trained_classifier, digit.detach(), target=7)
    assert why_not_7.target == 7
    np.testing.assert_allclose(why_not_7.gradient, expected[0, 0].numpy(), atol=1e-6)
    assert why_not_7.logit == pytest.approx(float(trained_classifier(digit)[0, 7].detach()), abs=1e-5)


def test_gradcam_weights_channels_by_mean_gradient(trained_classifier, mnist):
    digit = to_float(mnist.test.images[5:6])
    stage = trained_classifier.backbone.layers.res3_1
    caught = []

    def keep(_module, _inputs, output):
        output.retain_grad()
        caught.append(output)

    hook = stage.register_forward_hook(keep)
    trained_classifier(digit)[0, 2].backward()
    hook.remove()
    activation = caught[0]  # (1, 32, 7, 7)
    expected = (activation.grad.mean((2, 3), keepdim=True) * activation).sum(1)[0].detach().numpy()
    np.testing.assert_allclose(explain(trained_classifier, digit, target=2).gradcam_cells, expected, atol=1e-5)


def test_gradcam_mass_lies_on_the_ink(trained_classifier, mnist):
    images = mnist.test.images[:DIGITS]
    # The 14 x 14 second stage's rectified convolution: most of the evidence lies on or next to the strokes
    # (measured 0.77 of the mass on 0.40 of the area).
    share, area = _mass_near_ink(trained_classifier, images, "backbone.layers.relu2")
    assert share > 0.6 and share > 1.4 * area
    # The coarse 7 x 7 last stage (each cell a 4 x 4 block, bilinearly spread; its batch-norm offsets light up
    # the background too) still favours the ink over chance: measured 0.50 of the mass on 0.40 of the area.
    share, area = _mass_near_ink(trained_classifier, images)
    assert share > 1.15 * area


def test_bad_requests(trained_classifier):
    with pytest.raises(ValueError, match="class 10 does not exist"):
        explain(trained_classifier, torch.zeros(1, 1, 28, 28), target=10)
    with pytest.raises(ValueError, match="one digit"):
        explain(trained_classifier, torch.zeros(2, 1, 28, 28))
