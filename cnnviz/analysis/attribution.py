"""Why the classifier gave its answer: saliency (gradient x input) and Grad-CAM, for any class.

Both come from one forward and one backward pass of the class's logit:

- **Saliency** ``x * d logit / d x`` per input pixel: how much each pixel's ink
  pushed the logit up (> 0) or down (< 0), to first order.
- **Grad-CAM** (Selvaraju et al., ICCV 2017) on the last convolution stage:
  each channel ``k`` of that stage's output ``A`` gets the weight
  ``alpha_k = mean over cells of d logit / d A_k``, the map is
  ``sum_k alpha_k A_k`` at the stage's resolution, upsampled bilinearly to the
  input. The paper keeps its positive part (evidence *for* the class); the
  signed map also shows evidence against it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from cnnviz.analysis.features import watched_layers


@dataclass(frozen=True)
class Attribution:
    """What pushed the classifier towards (or away from) one class for one digit."""

    target: int  # the class explained
    probabilities: np.ndarray  # (classes,) softmax of the logits
    logit: float  # the target's logit
    saliency: np.ndarray  # (H, W) gradient x input: > 0 pushed the logit up, < 0 down
    gradient: np.ndarray  # (H, W) d logit / d pixel
    gradcam: np.ndarray  # (H, W) signed Grad-CAM, upsampled to the input
    gradcam_cells: np.ndarray  # (h, w) the same at the stage's own resolution
    layer: str  # the convolution stage Grad-CAM used, as in model.named_modules()

    @property
    def prediction(self) -> int:
        """The most probable class."""
        return int(np.argmax(self.probabilities))

    @property
    def gradcam_positive(self) -> np.ndarray:
        """``(H, W)`` the paper's Grad-CAM: the positive part (evidence for the class)."""
        return np.maximum(self.gradcam, 0.0)


def convolution_stages(model: nn.Module) -> list[str]:
    """Names of the convolutions and residual blocks Grad-CAM can look at, in forward order."""
    return [path for path, kind, _ in watched_layers(model) if kind in ("convolution", "residual block")]


def last_convolution_stage(model: nn.Module) -> str:
    """The last convolution or residual block that runs before the classifier's head (its name).

    Raises:
        ValueError: the model has no convolution.
    """
    convolutions = convolution_stages(model)
    if not convolutions:
        raise ValueError("this model has no convolution for Grad-CAM to look at.")
    return convolutions[-1]


def explain(model: nn.Module, digit: torch.Tensor, target: int | None = None, layer: str | None = None) -> Attribution:
    """Saliency and Grad-CAM of ``target`` (default: the predicted class) for one digit.

    Args:
        model: a classifier in eval mode, ``(1, 1, H, W)`` -> ``(1, classes)`` logits.
        digit: ``(1, 1, H, W)`` in [0, 1].
        target: the class to explain ("why not 7?"); None: the top class.
        layer: the convolution stage for Grad-CAM; default :func:`last_convolution_stage`.

    Raises:
        ValueError: a target outside the classes, or a batch instead of one digit.
    """
    if digit.dim() != 4 or digit.shape[0] != 1:
        raise ValueError(f"explain takes one digit (1, C, H, W), got shape {tuple(digit.shape)}")
    layer = layer or last_convolution_stage(model)
    module = dict(model.named_modules())[layer]
    caught: list[torch.Tensor] = []

    def keep(_module, _inputs, output):
        output.retain_grad()
        caught.append(output)

    hook = module.register_forward_hook(keep)
    parameter = next(model.parameters())
    x = digit.detach().to(parameter.device, parameter.dtype).requires_grad_(True)  # (1, C, H, W)
    try:
        with torch.enable_grad():
            logits = model(x)  # (1, classes)
            classes = logits.shape[1]
            if target is None:
                target = int(logits[0].argmax())
            if not 0 <= target < classes:
                raise ValueError(f"class {target} does not exist; the model knows 0 to {classes - 1}.")
            logits[0, target].backward()
    finally:
        hook.remove()
    activation = caught[0]  # (1, K, h, w)
    weights = activation.grad.mean(dim=(2, 3), keepdim=True)  # (1, K, 1, 1) alpha_k
    cells = (weights * activation).sum(dim=1, keepdim=True).detach()  # (1, 1, h, w)
    upsampled = nn.functional.interpolate(cells, size=digit.shape[2:], mode="bilinear", align_corners=False)
    gradient = x.grad[0].sum(0)  # (H, W)
    saliency = (x.grad * x)[0].sum(0).detach()  # (H, W)
    return Attribution(
        target=target,
        probabilities=torch.softmax(logits.detach().float(), dim=1)[0].cpu().numpy(),
        logit=float(logits[0, target].detach()),
        saliency=saliency.float().cpu().numpy(),
        gradient=gradient.float().cpu().numpy(),
        gradcam=upsampled[0, 0].float().cpu().numpy(),
        gradcam_cells=cells[0, 0].float().cpu().numpy(),
        layer=layer,
    )
