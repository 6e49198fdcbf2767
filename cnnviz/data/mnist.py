"""MNIST from ``CNNVIZ_DATA_DIR``, split as the lab does, held in memory as tensors.

Images stay ``uint8`` ``(N, 1, 28, 28)`` (47 MB for the 60,000 training
images) and become float in [0, 1] (the lab's ``X / 255``) one batch at a time.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

DATA_DIR_ENV = "CNNVIZ_DATA_DIR"
SPLIT_SEED = 42  # the lab's np.random.seed(42)
TRAIN_FRACTION = 0.8  # the lab's 80/20 train/validation split


class MNISTNotFound(FileNotFoundError):
    """MNIST is not where cnnviz looked; the message says where and how to fix it."""


def data_dir() -> Path:
    """The folder holding ``MNIST/raw``: ``$CNNVIZ_DATA_DIR``, default ``./data``."""
    return Path(os.environ.get(DATA_DIR_ENV, "data")).expanduser()


@dataclass(frozen=True)
class Split:
    """Images ``(N, 1, 28, 28)`` uint8 and labels ``(N,)`` int64 of one split."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, count: int) -> Split:
        """The first ``count`` examples (the split is already shuffled by the lab's permutation)."""
        return Split(self.images[:count], self.labels[:count])


@dataclass(frozen=True)
class MNIST:
    """The lab's three splits: 48,000 train, 12,000 validation, 10,000 test."""

    train: Split
    val: Split
    test: Split


def split_indices(count: int, seed: int = SPLIT_SEED, train_fraction: float = TRAIN_FRACTION):
    """The lab's split: ``np.random.seed(seed)``, a permutation, cut at ``train_fraction``.

    Uses a private ``RandomState`` seeded the same way, which draws the same
    permutation without touching NumPy's global state.
    """
    permutation = np.random.RandomState(seed).permutation(count)
    train, val = np.split(permutation, [int(count * train_fraction)])
    return torch.from_numpy(train), torch.from_numpy(val)


def _read(root: Path, train: bool, download: bool):
    from torchvision.datasets import MNIST as TorchvisionMNIST  # noqa: N811 - slow import, only when loading

    try:
        dataset = TorchvisionMNIST(root=str(root), train=train, download=download)
    except RuntimeError as error:  # torchvision: "Dataset not found. You can use download=True ..."
        raise MNISTNotFound(
            f"MNIST was not found in {root.resolve() / 'MNIST' / 'raw'} ({error}). Fix it in one of two ways: "
            f"set {DATA_DIR_ENV} to a folder that holds MNIST/raw, or run with internet access once "
            "so that cnnviz can download it there (python -m cnnviz.data --download)."
        ) from None
    return dataset.data.unsqueeze(1).contiguous(), dataset.targets.long()


def load_mnist(root: str | os.PathLike | None = None, download: bool = False) -> MNIST:
    """Load MNIST once per process and folder from ``root`` (default :func:`data_dir`)."""
    return _load_mnist(Path(root or data_dir()).resolve(), download)


@functools.lru_cache(maxsize=2)
def _load_mnist(folder: Path, download: bool) -> MNIST:
    train_images, train_labels = _read(folder, train=True, download=download)
    test_images, test_labels = _read(folder, train=False, download=download)
    train_idx, val_idx = split_indices(len(train_labels))
    return MNIST(
        train=Split(train_images[train_idx], train_labels[train_idx]),
        val=Split(train_images[val_idx], train_labels[val_idx]),
        test=Split(test_images, test_labels),
    )


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> float32 in [0, 1], the lab's ``X / 255``."""
    return images.float().div_(255.0)


def batches(
    split: Split,
    batch_size: int,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
    device: torch.device | str = "cpu",
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(images (B, 1, 28, 28) float in [0, 1], labels (B,))`` by indexing the in-memory tensors."""
    order = torch.randperm(len(split), generator=generator) if shuffle else torch.arange(len(split))
    for start in range(0, len(split), batch_size):
        idx = order[start : start + batch_size]
        yield to_float(split.images[idx]).to(device), split.labels[idx].to(device)


SHIPPED_DIGITS = Path(__file__).resolve().parent / "mnist_test_digits.npz"
SHIPPED_PER_LABEL = 20  # the first 20 of each label in the MNIST test split: 200 digits, ~40 kB


def write_shipped_digits(path: Path = SHIPPED_DIGITS, per_label: int = SHIPPED_PER_LABEL) -> Path:
    """Regenerate the shipped digits from the full MNIST test split: the first ``per_label`` of each label.

    Stored in test-set order (so the first few match the full set's numbering) as ``images`` (N, 28, 28) uint8,
    ``labels`` (N,) int64 and ``indices`` (N,) int64, the digits' numbers in the full test split.
    Run ``python -m cnnviz.data --write-shipped-digits`` with MNIST in ``$CNNVIZ_DATA_DIR``.
    """
    import io

    from cnnviz.files import atomic_write_bytes

    test = load_mnist().test
    labels = test.labels.numpy()
    picked = np.sort(np.concatenate([np.flatnonzero(labels == digit)[:per_label] for digit in range(10)]))
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, images=test.images[picked, 0].numpy(), labels=labels[picked].astype(np.int64), indices=picked
    )
    atomic_write_bytes(path, buffer.getvalue())
    return path


@functools.lru_cache(maxsize=1)
def shipped_test_digits() -> Split:
    """The 200 MNIST test digits shipped with cnnviz (:data:`SHIPPED_DIGITS`), as a :class:`Split`.

    Used where the full test set is missing; see ``cnnviz/data/MNIST_DIGITS_LICENSE.md`` for their licence.
    """
    with np.load(SHIPPED_DIGITS, allow_pickle=False) as stored:
        images = torch.from_numpy(stored["images"].astype(np.uint8)).unsqueeze(1).contiguous()
        labels = torch.from_numpy(stored["labels"].astype(np.int64))
    return Split(images, labels)


@functools.lru_cache(maxsize=1)
def shipped_test_numbers() -> np.ndarray:
    """Each shipped digit's number in the full MNIST test split, as ``(200,)`` int64."""
    with np.load(SHIPPED_DIGITS, allow_pickle=False) as stored:
        return stored["indices"].astype(np.int64)


@dataclass(frozen=True)
class MnistDigit:
    """One MNIST test digit, as a page shows it."""

    pixels: np.ndarray  # (28, 28) uint8, ink 255
    label: int  # the digit it is labelled as
    number: int  # its number in MNIST's 10,000-digit test split (a shipped digit keeps its own)


def test_digits() -> tuple[Split, bool]:
    """``(digits, full)``: the 10,000 MNIST test digits (``full``), or the shipped 200 when MNIST is missing."""
    try:
        return load_mnist().test, True
    except MNISTNotFound:
        if not SHIPPED_DIGITS.is_file():
            raise
        return shipped_test_digits(), False


def mnist_test_digit(index: int) -> MnistDigit:
    """MNIST test digit number ``index`` (wrapped around the 10,000).

    Without MNIST in ``$CNNVIZ_DATA_DIR``: the shipped digit number ``index`` (wrapped around the 200), which
    says its own number in the full test split.
    """
    test, full = test_digits()
    index %= len(test)
    number = index if full else int(shipped_test_numbers()[index])
    return MnistDigit(test.images[index, 0].numpy(), int(test.labels[index]), number)


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Check or download MNIST for cnnviz.")
    parser.add_argument("--download", action="store_true", help=f"download MNIST into {DATA_DIR_ENV} (needs internet)")
    parser.add_argument(
        "--write-shipped-digits", action="store_true", help=f"regenerate {SHIPPED_DIGITS.name} from the full test split"
    )
    args = parser.parse_args()
    if args.write_shipped_digits:
        print(write_shipped_digits())
        return
    data = load_mnist(download=args.download)
    print(f"MNIST in {data_dir().resolve()}: {len(data.train)} train, {len(data.val)} val, {len(data.test)} test")


if __name__ == "__main__":
    main()
