"""Pick where tensors live: a GPU when there is one, else the CPU."""

from __future__ import annotations

import os

import torch


def pick_device(preferred: str | None = None) -> torch.device:
    """The device to compute on: ``preferred`` if given, else CUDA when available, else CPU."""
    if preferred:
        return torch.device(preferred)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def use_all_cores() -> int:
    """Set torch's intra-op threads to the cores this process may use; return the count."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    torch.set_num_threads(cores)
    return cores
