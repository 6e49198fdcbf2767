"""``python -m cnnviz.train``: train from a terminal into the same run folder the app uses.

Examples::

    python -m cnnviz.train                          # the default classifier (about 3 minutes on 2 cores)
    python -m cnnviz.train --model autoencoder --epochs 2
    python -m cnnviz.train --resume RUN_ID          # continue a stopped or interrupted run
    python -m cnnviz.train --export models/pretrained/classifier.pt

The queue workers (:mod:`cnnviz.training.worker`) run ``python -m cnnviz.train --run-dir DIR`` on a
queued folder; Ctrl-C (or SIGTERM) stops cleanly, keeping the last checkpoint.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import sys
import time
from typing import Any, TextIO

from cnnviz.data.mnist import load_mnist
from cnnviz.files import atomic_torch_save
from cnnviz.training import jobs, replay
from cnnviz.training.recipe import (
    OPTIMIZERS,
    SCHEDULES,
    TrainConfig,
    TrainingDiverged,
    confusion_matrix,
    evaluate,
    reconstruct,
    train,
)
from cnnviz.training.runs import Run, RunRecorder, RunState, create_run, get_run, runs_dir
from cnnviz.training.state import HOST
from models.checkpoint import CheckpointError, checkpoint_dict

MISCLASSIFIED_KEPT = 48  # misclassified test digits stored for the gallery


def test_results(model, data, model_kind: str) -> tuple[dict[str, Any], str]:
    """Evaluate on the test split; return what results.pt stores and a one-line summary."""
    evaluation = evaluate(model, data.test)
    if model_kind == "autoencoder":
        images = data.test.images[:16]
        results = {"test_loss": evaluation.loss, "images": images, "reconstructions": reconstruct(model, images)}
        return results, f"test reconstruction error (MSE) {evaluation.loss:.4f}"
    labels, predicted = data.test.labels, evaluation.predictions
    wrong = (predicted != labels).nonzero().flatten()[:MISCLASSIFIED_KEPT]
    results = {
        "test_loss": evaluation.loss,
        "test_accuracy": evaluation.accuracy,
        "confusion": confusion_matrix(predicted, labels),  # (10, 10) rows = true digit
        "wrong_images": data.test.images[wrong],  # (K, 1, 28, 28) uint8
        "wrong_predicted": predicted[wrong],
        "wrong_true": labels[wrong],
    }
    return results, f"test accuracy {evaluation.accuracy:.2%}"


def execute(run: Run, resume: bool = False, on_progress=None, time_limit_s: float | None = None) -> str:
    """Train ``run`` in this process, keeping its folder up to date; return the final state.

    Args:
        run: a queued (or, with ``resume``, a stopped/interrupted) run folder.
        resume: continue from the run's checkpoint instead of starting afresh.
        on_progress: called with every metrics record (the CLI's progress bar).
        time_limit_s: stop, resumably, after this much wall time (the shared server's limit); None: none.
    """
    config = run.config
    checkpoint = None
    if resume and run.checkpoint_path.exists():
        checkpoint = run.load_checkpoint()
        run.truncate_metrics(checkpoint["step"])
        replay.truncate_replay(run.path, checkpoint["images"])
    elif not resume:
        run.truncate_metrics(-1)
        replay.truncate_replay(run.path, -1)
    pid = os.getpid()
    me = {"pid": pid, "start_ticks": jobs.process_start_ticks(pid), "host": HOST, "started": time.time()}
    if time_limit_s is not None:
        me["time_limit_s"] = time_limit_s  # shown by the pages; the queue worker kills a trainer stuck far past it
    run.set_status(RunState.RUNNING, "loading MNIST", **me)
    recorder = RunRecorder(run, on_progress, time_limit_s)
    try:
        data = load_mnist()
        run.set_status(RunState.RUNNING, "training", **me)
        result = train(config, data, recorder, resume=checkpoint)
        if result.stopped:
            run.clear_stop()
            if recorder.timed_out:
                minutes = time_limit_s / 60 if time_limit_s else 0
                message = f"reached the time limit of {minutes:.0f} minutes at step {result.step}"
            else:
                message = f"stopped at step {result.step}"
            resumable = "; resume continues from there" if result.step > 0 else " (nothing to keep yet)"
            run.set_status(RunState.STOPPED, message + resumable)
            return RunState.STOPPED
        results, summary = test_results(result.model, data, config.model)
        run.save_results(results)
        run.append_metrics({"kind": "test", "step": result.step, **{k: v for k, v in results.items() if "test" in k}})
        run.set_status(RunState.FINISHED, summary, train_seconds=result.train_seconds)
        return RunState.FINISHED
    except TrainingDiverged as error:
        run.set_status(RunState.FAILED, f"{error}; the last good checkpoint is kept", step=error.step)
        return RunState.FAILED
    except Exception as error:  # noqa: BLE001 - the folder must say why the run ended
        message = f"{type(error).__name__}: {error}"
        if isinstance(error, OSError) and error.errno in (errno.ENOSPC, errno.EDQUOT):
            message = "the disk is full: the run stopped; its last checkpoint is kept"
        with contextlib.suppress(OSError):  # on a full disk even this may fail; the page then says interrupted
            run.set_status(RunState.FAILED, message)
        raise


def export_model(run: Run, path: str | os.PathLike) -> None:
    """Write the run's model alone (config + weights, no optimizer) for ``models.load_model``."""
    from models.checkpoint import model_from_checkpoint

    data = run.load_checkpoint()
    model = model_from_checkpoint(data)
    atomic_torch_save(checkpoint_dict(model, train_config=data.get("train_config", {})), path)


class ProgressBar:
    """A one-line text progress bar with images per second and ETA.

    Args:
        stream: where to draw (a terminal redraws in place; a file gets a line per update).
    """

    def __init__(self, stream: TextIO = sys.stderr, width: int = 30):
        self.stream, self.width = stream, width
        self.started = time.monotonic()
        self.last = ""

    def __call__(self, record: dict[str, Any]) -> None:
        if record["kind"] == "step":
            progress = record["progress"]
            elapsed = time.monotonic() - self.started
            eta = elapsed * (1 - progress) / progress if progress > 0 else 0
            filled = int(self.width * progress)
            accuracy = f" acc {record['accuracy']:.3f}" if record.get("accuracy") is not None else ""
            self.last = (
                f"[{'#' * filled}{'.' * (self.width - filled)}] {progress:6.1%} epoch {record['epoch']:.2f} "
                f"loss {record['loss']:.4f}{accuracy} {record['images_per_s']:.0f} img/s ETA {eta:.0f}s"
            )
            end = "\r" if self.stream.isatty() else "\n"
            self.stream.write(self.last + end)
        elif record["kind"] == "epoch":
            val = f"val loss {record['val_loss']:.4f}" if record.get("val_loss") is not None else "val -"
            if record.get("val_accuracy") is not None:
                val += f" val acc {record['val_accuracy']:.4f}"
            self.stream.write(f"\nepoch {record['epoch']}: train loss {record['loss']:.4f}, {val}\n")
        self.stream.flush()


def parser() -> argparse.ArgumentParser:
    defaults = TrainConfig()
    p = argparse.ArgumentParser(
        prog="python -m cnnviz.train",
        description="Train the lab's residual CNN classifier or convolutional autoencoder on MNIST. "
        f"Writes a run folder under $CNNVIZ_RUNS_DIR (now {runs_dir()}) that the app's Train page shows.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--model", choices=("classifier", "autoencoder"), default=defaults.model, help="what to train")
    p.add_argument(
        "--channels",
        type=int,
        nargs="+",
        default=list(defaults.channels),
        help="output channels of each backbone stage (one 2x2 max pool per stage)",
    )
    p.add_argument("--blocks", type=int, default=defaults.blocks_per_stage, help="residual blocks per stage")
    p.add_argument("--kernel-size", type=int, default=defaults.kernel_size, help="kernel of every convolution")
    p.add_argument("--dropout", type=float, default=defaults.dropout, help="dropout inside the residual blocks")
    p.add_argument(
        "--bottleneck-channels",
        type=int,
        default=defaults.bottleneck_channels,
        help="autoencoder: channels of the 3x3 bottleneck",
    )
    p.add_argument("--epochs", type=int, default=defaults.epochs, help="passes over the 48,000 training images")
    p.add_argument("--batch-size", type=int, default=defaults.batch_size, help="images per optimisation step")
    p.add_argument("--lr", type=float, default=defaults.lr, help="peak learning rate")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=defaults.optimizer, help="optimisation algorithm")
    p.add_argument("--weight-decay", type=float, default=defaults.weight_decay, help="weight decay")
    p.add_argument("--schedule", choices=SCHEDULES, default=defaults.schedule, help="learning-rate schedule")
    p.add_argument("--seed", type=int, default=defaults.seed, help="seed for weights, shuffling and dropout")
    p.add_argument("--train-images", type=int, default=0, help="train on the first N training images only (0: all)")
    p.add_argument("--val-images", type=int, default=0, help="validate on the first N validation images (0: all)")
    p.add_argument(
        "--val-every",
        type=int,
        default=defaults.val_every,
        help="also validate every N training images (0: once per epoch)",
    )
    p.add_argument("--log-every", type=int, default=defaults.log_every, help="steps between logged records")
    p.add_argument(
        "--checkpoint-every", type=int, default=defaults.checkpoint_every, help="steps between periodic checkpoints"
    )
    p.add_argument("--name", default="", help="display name of the run in the app")
    p.add_argument("--resume", metavar="RUN_ID", help="continue this stopped or interrupted run from its checkpoint")
    p.add_argument("--run-dir", metavar="DIR", help="train this existing (queued) run folder (used by the app)")
    p.add_argument(
        "--export", metavar="PATH", help="when finished, also write the model alone (config + weights) to PATH"
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    return TrainConfig(
        model=args.model,
        channels=tuple(args.channels),
        blocks_per_stage=args.blocks,
        kernel_size=args.kernel_size,
        dropout=args.dropout,
        bottleneck_channels=args.bottleneck_channels,
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        optimizer=args.optimizer,
        weight_decay=args.weight_decay,
        schedule=args.schedule,
        seed=args.seed,
        train_images=args.train_images,
        val_images=args.val_images,
        val_every=args.val_every,
        log_every=args.log_every,
        checkpoint_every=args.checkpoint_every,
    )


def _stop_on_signal(run: Run) -> None:
    """SIGTERM and Ctrl-C request a clean stop (checkpoint kept) instead of killing mid-step."""

    def handler(signum, frame):
        run.request_stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _claim_for_resume(run: Run) -> str | None:
    """Mark ``run`` as running in this process, unless it is queued or already training; else say why."""
    try:
        with jobs.queue_decisions(run.path.parent):  # no page can queue it meanwhile
            state = jobs.refresh(run).state
            if state in (RunState.QUEUED, RunState.RUNNING):
                return f"run {run.id} is {state} already; stop it first (or wait for it)."
            if state == RunState.FINISHED:
                return f"run {run.id} has finished; start a new run instead."
            run.clear_stop()
            me = os.getpid()
            ticks = jobs.process_start_ticks(me)
            run.set_status(RunState.RUNNING, "resuming from a terminal", pid=me, start_ticks=ticks, host=HOST)
    except jobs.JobRefused as error:
        return str(error)
    return None


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    time_limit_s = None
    try:
        if args.run_dir:
            run = Run(args.run_dir)
            if "train" not in run.meta:  # checked here so a wrong folder reads as one line, not a traceback
                print(f"error: {args.run_dir} is not a queued run (no config.json with a recipe).", file=sys.stderr)
                return 2
            resume = run.checkpoint_path.exists()
            time_limit_s = jobs.Limits.from_env().max_run_minutes * 60  # launched by a queue worker
        elif args.resume:
            run, resume = get_run(args.resume), True
            refusal = _claim_for_resume(run)
            if refusal:
                print(f"error: {refusal}", file=sys.stderr)
                return 2
        else:
            run, resume = create_run(config_from_args(args), name=args.name, owner="cli"), False
    except (KeyError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    _stop_on_signal(run)
    if not args.quiet:
        print(f"run {run.id} in {run.path.parent} ({'resuming' if resume else 'new'})", file=sys.stderr)
    try:
        state = execute(
            run, resume=resume, on_progress=None if args.quiet else ProgressBar(), time_limit_s=time_limit_s
        )
    except CheckpointError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    status = run.status
    print(f"\n{state}: {status.message}", file=sys.stderr)
    if state == RunState.FINISHED and args.export:
        export_model(run, args.export)
        print(f"exported the model to {args.export}", file=sys.stderr)
    return 0 if state in (RunState.FINISHED, RunState.STOPPED) else 1


if __name__ == "__main__":
    sys.exit(main())
