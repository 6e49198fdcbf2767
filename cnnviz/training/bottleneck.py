"""``python -m cnnviz.training.bottleneck``: the lab's bottleneck comparison, autoencoders of several code sizes.

Every model shares one architecture and differs only in its bottleneck's
channels (the lab's fair comparison). By default four backbone stages shrink
the digit to 1 x 1 (28 -> 14 -> 7 -> 3 -> 1), so ``n`` channels are a code of
exactly ``n`` numbers; with three stages the code is ``c x 3 x 3`` and the
sizes must be multiples of 9. Each size is an ordinary run folder (the Train page shows
them); a ``comparison.json`` beside its config names the batch it belongs to,
so the Inside page can plot test MSE against code size and show the same test
digits reconstructed by each.

The Train page submits the same runs through :func:`submit_comparison`: the
background queue's limits apply (:func:`cnnviz.training.jobs.submit_batch`: the
comparison is one request of its browser, its runs together get one run's wall
time), and :func:`comparison_progress` says which sizes have finished.

Examples::

    python -m cnnviz.training.bottleneck                              # 2, 4, 8, 16, 36, 64 values, 2 epochs each
    python -m cnnviz.training.bottleneck --sizes 2 8 32 --epochs 1
    python -m cnnviz.training.bottleneck --queue                      # hand them to the app's background queue instead
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np

from cnnviz.files import atomic_write_text
from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.training import jobs
from cnnviz.training.recipe import TrainConfig, estimate
from cnnviz.training.runs import Run, RunState, create_run, list_runs
from models import AutoencoderConfig, BackboneConfig, bottleneck_shape

SIZES = (2, 4, 8, 16, 36, 64)  # code sizes compared by default (numbers per digit)
CHANNELS = (16, 32, 32, 32)  # four stages: the code is bottleneck_channels x 1 x 1
EPOCHS = 2  # per model by default (about 3 minutes each on the 2-core machine when it is quiet)
MARKER = "comparison.json"  # in each run folder: {"batch": ..., "code_size": ...}


@dataclass(frozen=True)
class ComparisonEntry:
    """One finished model of a comparison."""

    code_size: int  # numbers in the code (c * h * w)
    test_mse: float  # mean squared reconstruction error on the test digits
    run: Run  # its folder
    images: np.ndarray  # (K, 28, 28) the first test digits in [0, 1] (the same for every entry)
    reconstructions: np.ndarray  # (K, 28, 28) this model's reconstructions of them


def cells_per_channel(channels: Sequence[int]) -> int:
    """``h * w`` of the code for backbone stages ``channels`` (1 for four stages on 28 x 28)."""
    _, h, w = bottleneck_shape(AutoencoderConfig(BackboneConfig(channels=tuple(channels))))
    return h * w


def configs(sizes: Sequence[int], base: TrainConfig, channels: Sequence[int] = CHANNELS) -> list[TrainConfig]:
    """One autoencoder config per code size (numbers in the code), everything else from ``base``.

    Raises:
        ValueError: a size below 1, or one the code's ``h x w`` does not divide.
    """
    if not sizes or min(sizes) < 1:
        raise ValueError(f"code sizes must be positive whole numbers, got {list(sizes)}.")
    stages = tuple(int(c) for c in channels)
    cells = cells_per_channel(stages)
    if any(n % cells for n in sizes):
        raise ValueError(
            f"with {len(stages)} stages the code is c x {cells} cells, so every size must be a multiple of {cells}; "
            f"got {list(sizes)}. Use four stages (--channels 16 32 32 32) for any size."
        )
    return [replace(base, model="autoencoder", channels=stages, bottleneck_channels=int(n) // cells) for n in sizes]


def base_config(epochs: int = EPOCHS, train_images: int = 0, **options) -> TrainConfig:
    """What every model of a comparison shares (the CLI's defaults): an autoencoder, ``epochs``, seed 0, ..."""
    return TrainConfig(model="autoencoder", epochs=epochs, train_images=train_images, **options)


def code_size(config: TrainConfig) -> int:
    """Numbers in the code of an autoencoder config (bottleneck channels x the code's cells)."""
    return config.bottleneck_channels * cells_per_channel(config.channels)


def run_name(size: int) -> str:
    return f"bottleneck {size} values"


def _mark(run: Run, batch: str, size: int) -> None:
    atomic_write_text(run.path / MARKER, json.dumps({"batch": batch, "code_size": size}))


def create_comparison(
    sizes: Sequence[int], base: TrainConfig, channels: Sequence[int] = CHANNELS, owner: str = "cli"
) -> list[Run]:
    """Queued run folders for each size, marked as one batch (the CLI: a terminal has no queue limits)."""
    batch = f"{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(2)}"
    runs = []
    for config in configs(sizes, base, channels):
        run = create_run(config, name=run_name(code_size(config)), owner=owner)
        _mark(run, batch, code_size(config))
        runs.append(run)
    return runs


def comparison_seconds(sizes: Sequence[int], base: TrainConfig, channels: Sequence[int] = CHANNELS) -> float:
    """Estimated training time of the whole comparison on this machine, one model after another.

    Raises:
        ValueError: as :func:`configs`.
        models.CheckpointError: a model over the server's budget.
    """
    return sum(estimate(config).seconds for config in configs(sizes, base, channels))


def submit_comparison(
    sizes: Sequence[int],
    base: TrainConfig,
    owner: str,
    channels: Sequence[int] = CHANNELS,
    root: str | os.PathLike | None = None,
) -> list[Run]:
    """The Train page's comparison: the CLI's runs (names, markers), queued with the queue's limits, all or none.

    The whole comparison is one request of ``owner`` (``$CNNVIZ_MAX_QUEUED_PER_OWNER`` counts it once), every
    one of its runs needs a free place in the queue, and together they may take as long as one run may
    (``$CNNVIZ_MAX_RUN_MINUTES``). See :func:`cnnviz.training.jobs.submit_batch`.

    Raises:
        ValueError: no sizes, a size twice, or one :func:`configs` refuses.
        cnnviz.training.jobs.JobRefused: over a limit of the queue (the message says which).
    """
    if len(set(sizes)) != len(sizes):
        raise ValueError(f"each code size once, please: got {sorted(sizes)}.")
    found = configs(sorted(int(n) for n in sizes), base, channels)
    code_sizes = [code_size(config) for config in found]
    return jobs.submit_batch(
        found,
        owner,
        [run_name(size) for size in code_sizes],
        root=root,
        prepare=lambda index, run, batch: _mark(run, batch, code_sizes[index]),
    )


@dataclass(frozen=True)
class ComparisonRun:
    """One size of a comparison, finished or not."""

    code_size: int  # numbers in the code
    run: Run  # its folder
    state: str  # queued, running, finished, stopped, failed or interrupted (liveness checked)
    test_mse: float | None  # when finished: the test reconstruction error (MSE per pixel)


def comparison_progress(owner: str, root: str | os.PathLike | None = None) -> list[ComparisonRun]:
    """The newest comparison ``owner`` asked for, smallest code first (empty when they asked for none)."""
    marked = [(run, marker) for run in list_runs(root) if run.owner == owner and (marker := _marker(run)) is not None]
    if not marked:
        return []
    batch = marked[-1][1].get("batch")
    entries = []
    for run, marker in marked:
        if marker.get("batch") != batch:
            continue
        state = jobs.refresh(run).state
        test = run.metrics("test") if state == RunState.FINISHED else []  # a line of JSON, not the results' tensors
        mse = test[-1].get("test_loss") if test else None
        entries.append(ComparisonRun(int(marker.get("code_size", 0)), run, state, mse))
    return sorted(entries, key=lambda entry: entry.code_size)


def _marker(run: Run) -> dict | None:
    try:
        return json.loads((run.path / MARKER).read_text())
    except (OSError, ValueError):
        return None


def latest_comparison(root: str | os.PathLike | None = None, owner: str | None = None) -> list[ComparisonEntry]:
    """The finished models of one comparison, smallest code first (empty if none has a finished model).

    The newest comparison of ``owner`` with a finished model, else the newest of anyone's: on a class server a
    student sees their own comparison, and the teacher's (or a classmate's) until they have one.
    """
    marked = [(run, marker) for run in list_runs(root) if (marker := _marker(run)) is not None]
    finished = [(run, marker) for run, marker in marked if run.state == RunState.FINISHED]
    mine = [(run, marker) for run, marker in finished if owner is not None and run.owner == owner]
    chosen = mine or finished
    if not chosen:
        return []
    batch = chosen[-1][1].get("batch")
    entries = []
    for run, marker in finished:
        if marker.get("batch") != batch:
            continue
        results = run.results()
        if not results or "reconstructions" not in results:
            continue
        entries.append(
            ComparisonEntry(
                code_size=int(marker["code_size"]),
                test_mse=float(results["test_loss"]),
                run=run,
                images=results["images"][:, 0].float().numpy() / 255.0,
                reconstructions=results["reconstructions"][:, 0].float().numpy(),
            )
        )
    return sorted(entries, key=lambda entry: entry.code_size)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m cnnviz.training.bottleneck",
        description="Train autoencoders with several bottleneck sizes (codes of n x 1 x 1 numbers) into run "
        "folders under $CNNVIZ_RUNS_DIR; the Inside page compares their test MSE and reconstructions.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="code sizes (numbers per digit)")
    p.add_argument(
        "--channels", type=int, nargs="+", default=list(CHANNELS), help="output channels of each backbone stage"
    )
    p.add_argument("--epochs", type=int, default=EPOCHS, help="passes over the training images, per model")
    p.add_argument("--train-images", type=int, default=0, help="train on the first N training images only (0: all)")
    p.add_argument("--val-images", type=int, default=0, help="validate on the first N validation images (0: all)")
    p.add_argument("--batch-size", type=int, default=TrainConfig.batch_size, help="images per optimisation step")
    p.add_argument("--lr", type=float, default=TrainConfig.lr, help="peak learning rate")
    p.add_argument("--dropout", type=float, default=TrainConfig.dropout, help="dropout inside the residual blocks")
    p.add_argument("--seed", type=int, default=0, help="seed for weights, shuffling and dropout (all models)")
    p.add_argument("--queue", action="store_true", help="queue the runs for the app's background jobs and return")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        base = base_config(
            args.epochs,
            args.train_images,
            batch_size=args.batch_size,
            lr=args.lr,
            dropout=args.dropout,
            seed=args.seed,
            val_images=args.val_images,
        )
        runs = create_comparison(args.sizes, base, args.channels)
    except (ValueError, InvalidLayerConfig) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.queue:
        try:
            jobs.enqueue_waiting()  # a queue worker takes them (serve.py starts one; python -m cnnviz.training.worker)
        except jobs.JobRefused as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        print(f"queued {len(runs)} runs: {', '.join(run.id for run in runs)}", file=sys.stderr)
        return 0
    from cnnviz.training.cli import ProgressBar, execute

    failed = 0
    for run in runs:
        print(f"\n{run.name} ({run.id})", file=sys.stderr)
        state = execute(run, on_progress=None if args.quiet else ProgressBar())
        failed += state != RunState.FINISHED
        print(f"{state}: {run.status.message}", file=sys.stderr)
    print("\ncode size  test MSE", file=sys.stderr)
    for entry in latest_comparison():
        print(f"{entry.code_size:9d}  {entry.test_mse:.4f}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
