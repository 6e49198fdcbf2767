"""Pick where tensors live: a GPU when there is one, else the CPU."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

import torch
from torch import nn


def pick_device(preferred: str | None = None) -> torch.device:
    """The device to compute on: ``preferred`` if given, else CUDA when available, else CPU."""
    if preferred:
        return torch.device(preferred)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def model_device(model: nn.Module) -> torch.device:
    """Where ``model``'s parameters live (the CPU for a model without any)."""
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def to_model(images: torch.Tensor, model: nn.Module) -> torch.Tensor:
    """``images`` ready for ``model``: on its device and, for a 4-D batch, in the channels-last layout.

    Channels-last images meet the channels-last weights of the served models (why, and what it saves: see
    :func:`cnnviz.views.model_sources.load_checked`); the numbers are the same in either layout.
    """
    if images.dim() == 4:
        return images.to(device=model_device(model), memory_format=torch.channels_last)
    return images.to(model_device(model))


def use_all_cores() -> int:
    """Set torch's intra-op threads to the cores this process may use; return the count."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    torch.set_num_threads(cores)
    return cores


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread inside the block, then restore the previous count.

    Interactive work (one image, one small network) takes milliseconds on one
    core; with two OpenMP threads on a busy machine (a training run in the
    background, other students) the hand-offs alone cost 20 ms or more per call.
    Training runs in its own process, so a server whose sessions overlap and
    leave the count at 1 loses nothing.
    """
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
