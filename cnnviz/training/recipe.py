"""Train and evaluate the lab's networks on in-memory MNIST; report through callbacks.

This module knows no files and no UI: :func:`train` loops over batches of
:mod:`cnnviz.data` and tells a :class:`TrainingCallbacks` what happened (a
logged step, a validation pass, an epoch, a checkpoint to keep). The run folder
(:mod:`cnnviz.training.runs`), the CLI and the tests plug in their own callbacks.

Resuming is exact: each epoch's shuffle comes from ``seed + epoch``, and the
checkpoint holds the optimizer, the schedule, the step inside the epoch and
torch's RNG state (dropout), so a stopped run continues on the same curve.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from cnnviz.data.mnist import MNIST, Split, batches, to_float
from cnnviz.device import pick_device, use_all_cores
from cnnviz.training import replay
from models import AutoencoderConfig, BackboneConfig, ClassifierConfig, build_model
from models.checkpoint import checkpoint_dict

MODELS = ("classifier", "autoencoder")
OPTIMIZERS = ("adamw", "adam", "sgd")
SCHEDULES = ("onecycle", "constant")
EVAL_BATCH = 1000  # images per forward pass when evaluating (no gradients, so large is fast)
# Share of the one-cycle schedule spent warming up. Short: with BatchNorm, Adam needs little
# warm-up, and a long one delays 98% validation accuracy (measured: 30k images with 2%,
# 54k with 10% at batch 128).
WARMUP_FRACTION = 0.02


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides what a run computes (its folder's config.json)."""

    model: str = "classifier"  # "classifier" or "autoencoder"
    channels: tuple[int, ...] = (16, 32, 32)  # output channels of each backbone stage
    blocks_per_stage: int = 1  # residual blocks per stage
    kernel_size: int = 3  # kernel of every convolution
    dropout: float = 0.05  # dropout inside the residual blocks
    bottleneck_channels: int = 4  # autoencoder only: channels of the 3 x 3 code
    epochs: int = 6  # passes over the training split
    batch_size: int = 128  # images per optimisation step
    lr: float = 3e-3  # peak learning rate (the one-cycle schedule warms up to it, then anneals)
    optimizer: str = "adamw"  # "adamw", "adam" or "sgd" (with Nesterov momentum 0.9)
    weight_decay: float = 1e-4  # decoupled for AdamW, L2 for Adam and SGD
    schedule: str = "onecycle"  # "onecycle" (fast convergence) or "constant"
    seed: int = 0  # initial weights, shuffling and dropout
    train_images: int = 0  # train on the first N training images only (0: all 48,000)
    val_images: int = 0  # validate on the first N validation images only (0: all 12,000)
    val_every: int = 0  # extra validation pass every N training images (0: once per epoch)
    log_every: int = 20  # steps between two logged training records
    checkpoint_every: int = 200  # steps between two periodic checkpoints (epoch ends always save)

    def __post_init__(self):
        object.__setattr__(self, "channels", tuple(int(c) for c in self.channels))
        if self.model not in MODELS:
            raise ValueError(f"model must be one of {MODELS}, got {self.model!r}.")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}.")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {SCHEDULES}, got {self.schedule!r}.")
        for name in ("epochs", "batch_size", "log_every", "checkpoint_every"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}.")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise ValueError(f"the learning rate must be a positive number, got {self.lr}.")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """Rebuild from ``dataclasses.asdict`` (unknown keys are refused with their names)."""
        unknown = set(data) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown training options: {sorted(unknown)}")
        return cls(**data)


def model_config(config: TrainConfig) -> ClassifierConfig | AutoencoderConfig:
    """The model's own config dataclass for a training config."""
    backbone = BackboneConfig(
        channels=config.channels,
        blocks_per_stage=config.blocks_per_stage,
        kernel_size=config.kernel_size,
        dropout=config.dropout,
    )
    if config.model == "classifier":
        return ClassifierConfig(backbone=backbone)
    return AutoencoderConfig(backbone=backbone, bottleneck_channels=config.bottleneck_channels)


def make_model(config: TrainConfig) -> nn.Module:
    """A freshly initialised model for ``config`` (seeded by ``config.seed``)."""
    torch.manual_seed(config.seed)
    return build_model(config.model, model_config(config))


TRAIN_IMAGES, VAL_IMAGES = 48_000, 12_000  # the lab's split of MNIST's 60,000 training images
MACHINE_GMACS_ENV = "CNNVIZ_MACHINE_GMACS"
# Multiply-adds per second a training step achieves, in billions: the default classifier
# trains at about 1,900 images/s on the 2-core machine (README), 3 x 5.5 M multiply-adds each
# (forward, and backward twice that). Larger layers run faster per multiply-add, so estimates
# err long for them; a teacher with a GPU or more cores raises it.
DEFAULT_MACHINE_GMACS = 30
STEP_OVERHEAD_S = 0.002  # per optimisation step: optimizer, logging, Python


@dataclass(frozen=True)
class TrainingEstimate:
    """What a run would cost, from the config alone (nothing is built)."""

    parameters: int  # trainable parameters
    macs_per_image: int  # multiply-adds of one forward pass for one image
    seconds: float  # estimated training and validation time on this machine
    memory_bytes: int  # activations and gradients of one batch, weights, optimizer state
    checkpoint_bytes: int  # a resumable checkpoint: weights and the optimizer's moments


def estimate(config: TrainConfig) -> TrainingEstimate:
    """Time, memory and checkpoint size of training ``config``, from the shape arithmetic.

    Raises:
        models.CheckpointError: the model itself is invalid or over the server's model budget.
    """
    from models.checkpoint import check_budget  # the one budget shared with loading checkpoints

    cost = check_budget(config.model, model_config(config))
    train_images = config.train_images or TRAIN_IMAGES
    val_images = config.val_images or VAL_IMAGES
    validations = config.epochs + (config.epochs * train_images // config.val_every if config.val_every else 0)
    work = cost.macs_per_image * (3 * config.epochs * train_images + validations * val_images)
    steps = config.epochs * math.ceil(train_images / config.batch_size)
    gmacs = DEFAULT_MACHINE_GMACS
    try:
        gmacs = max(0.1, float(os.environ.get(MACHINE_GMACS_ENV, DEFAULT_MACHINE_GMACS)))
    except ValueError:
        pass
    seconds = work / (gmacs * 1e9) + steps * STEP_OVERHEAD_S
    moments = 1 if config.optimizer == "sgd" else 2
    memory = 4 * (2 * config.batch_size * cost.activations_per_image + (2 + moments) * cost.parameters)
    checkpoint = 4 * (1 + moments) * cost.parameters + 64 * 1024
    return TrainingEstimate(cost.parameters, cost.macs_per_image, seconds, memory, checkpoint)


MILESTONES = (0.98, 0.99)  # validation accuracies a run's page reports the first images and seconds for


@dataclass(frozen=True)
class Milestone:
    """When a classifier run first reached a validation accuracy."""

    accuracy: float  # the target, e.g. 0.98
    images: int  # training images seen at the first validation pass at or above it
    train_seconds: float  # seconds of optimisation steps by then (validation not counted)


def milestones(records: list[dict[str, Any]], targets: tuple[float, ...] = MILESTONES) -> list[Milestone]:
    """The first validation pass reaching each of ``targets``, from a run's metrics records (unmet ones left out).

    As precise as the run's validation schedule: the images are those seen at that pass.
    """
    passes = [r for r in records if r.get("kind") in ("val", "epoch") and r.get("val_accuracy") is not None]
    reached = []
    for target in targets:
        first = next((r for r in passes if r["val_accuracy"] >= target), None)
        if first is not None:
            reached.append(Milestone(target, int(first["images"]), float(first["train_seconds"])))
    return reached


def count_parameters(model: nn.Module) -> int:
    """Trainable parameters of ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


class TrainingDiverged(RuntimeError):
    """The loss or the gradients became NaN or infinite; the last good checkpoint is kept."""

    def __init__(self, step: int):
        super().__init__(f"training diverged at step {step}")
        self.step = step


class TrainingCallbacks:
    """What :func:`train` reports to; override what you need (all default to doing nothing)."""

    def on_record(self, record: dict[str, Any]) -> None:
        """A metrics record: ``kind`` is ``"step"``, ``"val"`` or ``"epoch"``; plain JSON types only."""

    def on_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """A complete, resumable checkpoint (tensors and plain types) to keep."""

    def on_samples(self, epoch: int, samples: dict[str, torch.Tensor]) -> None:
        """Autoencoder: fixed validation digits and their reconstructions after ``epoch``."""

    def on_replay(self, frame: replay.ReplayFrame) -> None:
        """A moment of the run's replay (first-layer kernels, the fixed digit's maps and prediction)."""

    def should_stop(self) -> bool:
        """Asked before every step and every evaluation batch; ``True`` stops within one step."""
        return False


@dataclass
class TrainResult:
    """How a call to :func:`train` ended."""

    model: nn.Module  # the trained model (eval mode)
    stopped: bool  # True when should_stop ended it early
    epoch: int  # completed epochs
    step: int  # optimisation steps done in total
    train_seconds: float  # time spent in optimisation steps only
    last: dict[str, Any] = field(default_factory=dict)  # the last epoch record


def _optimizer(config: TrainConfig, model: nn.Module) -> torch.optim.Optimizer:
    params = model.parameters()
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    if config.optimizer == "adam":
        return torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
    return torch.optim.SGD(params, lr=config.lr, momentum=0.9, nesterov=True, weight_decay=config.weight_decay)


def _scheduler(config: TrainConfig, optimizer: torch.optim.Optimizer, steps_per_epoch: int):
    if config.schedule == "onecycle":
        return torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=config.lr, total_steps=config.epochs * steps_per_epoch, pct_start=WARMUP_FRACTION
        )
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda _: 1.0)


def _loss(config: TrainConfig, output: torch.Tensor, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    if config.model == "classifier":
        return nn.functional.cross_entropy(output, labels)
    return nn.functional.mse_loss(output, images)


@dataclass
class Evaluation:
    """A model's results on one split."""

    loss: float  # mean cross-entropy (classifier) or mean squared error per pixel (autoencoder)
    accuracy: float | None  # classifier only: fraction of correct predictions
    predictions: torch.Tensor | None  # classifier only: (N,) predicted digit per image
    stopped: bool = False  # should_stop interrupted the pass (the numbers are partial)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    split: Split,
    device: torch.device | str = "cpu",
    should_stop: Callable[[], bool] = lambda: False,
) -> Evaluation:
    """Loss (and accuracy) of ``model`` on all of ``split``, in eval mode.

    Args:
        model: a classifier or an autoencoder (its kind picks the loss).
        split: the images and labels to evaluate on.
        device: where to compute.
        should_stop: polled per batch so that a stop request is not held up by a long pass.
    """
    was_training = model.training
    model.eval()
    is_classifier = not hasattr(model, "decode")
    total, seen, predictions = 0.0, 0, []
    for images, labels in batches(split, EVAL_BATCH, device=device):
        if should_stop():
            model.train(was_training)
            return Evaluation(math.nan, None, None, stopped=True)
        output = model(images)  # (B, 10) logits or (B, 1, 28, 28) reconstruction
        if is_classifier:
            total += nn.functional.cross_entropy(output, labels, reduction="sum").item()
            predictions.append(output.argmax(1).cpu())
        else:
            total += nn.functional.mse_loss(output, images, reduction="sum").item() / images[0].numel()
        seen += len(labels)
    model.train(was_training)
    if not is_classifier:
        return Evaluation(total / seen, None, None)
    predicted = torch.cat(predictions)  # (N,)
    return Evaluation(total / seen, (predicted == split.labels).float().mean().item(), predicted)


def confusion_matrix(predicted: torch.Tensor, labels: torch.Tensor, classes: int = 10) -> torch.Tensor:
    """``(classes, classes)`` counts: row = true digit, column = predicted digit."""
    return torch.bincount(labels * classes + predicted, minlength=classes * classes).reshape(classes, classes)


def reconstruct(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """uint8 ``(B, 1, 28, 28)`` digits -> the autoencoder's float reconstructions in [0, 1]."""
    was_training = model.training
    model.eval()
    with torch.no_grad():
        device = next(model.parameters()).device
        out = model(to_float(images).to(device)).cpu()
    model.train(was_training)
    return out


SAMPLE_DIGITS = 8  # fixed validation digits whose reconstructions are shown each epoch


def _limit(split: Split, count: int) -> Split:
    return split.subset(count) if count else split


def train(
    config: TrainConfig,
    data: MNIST,
    callbacks: TrainingCallbacks | None = None,
    resume: dict[str, Any] | None = None,
    device: torch.device | str | None = None,
) -> TrainResult:
    """Train ``config``'s model on ``data``; report to ``callbacks``; return when done or stopped.

    Args:
        config: the run's settings.
        data: MNIST in memory (train and validation splits are used).
        callbacks: receives records, checkpoints and samples; asked whether to stop.
        resume: a checkpoint from ``on_checkpoint`` to continue from (same curve).
        device: where to compute; default a GPU if present, else the CPU.

    Raises:
        TrainingDiverged: the loss or gradients became non-finite (no checkpoint is sent after it).
    """
    callbacks = callbacks or TrainingCallbacks()
    device = pick_device(str(device) if device else None)
    if device.type == "cpu":
        use_all_cores()
    train_split, val_split = _limit(data.train, config.train_images), _limit(data.val, config.val_images)
    steps_per_epoch = math.ceil(len(train_split) / config.batch_size)

    # channels_last (NHWC) lets oneDNN's CPU convolutions skip layout conversions: measured ~1.4x
    # faster steps for the default classifier at batch 128 on 2 cores. Results are identical.
    model = make_model(config).to(device, memory_format=torch.channels_last)
    optimizer = _optimizer(config, model)
    scheduler = _scheduler(config, optimizer, steps_per_epoch)
    epoch, step_in_epoch, step, train_seconds, images_seen = 0, 0, 0, 0.0, 0
    if resume is not None:
        model.load_state_dict(resume["state_dict"])
        optimizer.load_state_dict(resume["optimizer"])
        scheduler.load_state_dict(resume["scheduler"])
        epoch, step_in_epoch, step = resume["epoch"], resume["step_in_epoch"], resume["step"]
        train_seconds, images_seen = resume["train_seconds"], resume["images"]
        torch.set_rng_state(resume["rng_state"])
    else:
        torch.manual_seed(config.seed + 1)  # dropout stream, independent of the initial weights

    def checkpoint() -> dict[str, Any]:
        return checkpoint_dict(
            model,
            train_config=dataclasses.asdict(config),
            optimizer=optimizer.state_dict(),
            scheduler=scheduler.state_dict(),
            epoch=epoch,
            step_in_epoch=step_in_epoch,
            step=step,
            train_seconds=train_seconds,
            images=images_seen,
            rng_state=torch.get_rng_state(),
        )

    is_classifier = config.model == "classifier"
    sample_images = val_split.images[:SAMPLE_DIGITS]
    next_val = (images_seen // config.val_every + 1) * config.val_every if config.val_every else None
    last_epoch_record: dict[str, Any] = {}
    replay_digit, replay_label = val_split.images[0], int(val_split.labels[0])  # the same digit in every run
    replay_moments = replay.Schedule(config.epochs * len(train_split))

    def replay_frame() -> None:
        epochs_done = epoch + step_in_epoch / steps_per_epoch
        callbacks.on_replay(replay.capture(model, replay_digit, replay_label, images_seen, epochs_done))

    if images_seen == 0:
        replay_frame()  # the untrained network: where the filters start from
    model.train()
    while epoch < config.epochs:
        order = torch.randperm(len(train_split), generator=torch.Generator().manual_seed(config.seed * 1000 + epoch))
        loss_sum, correct, count, epoch_start = 0.0, 0, 0, train_seconds
        window_loss, window_correct, window_count, window_start = 0.0, 0, 0, train_seconds
        while step_in_epoch < steps_per_epoch:
            if callbacks.should_stop():
                if step > 0:  # nothing learnt yet: no file (submit, stop, repeat must not fill the disk)
                    callbacks.on_checkpoint(checkpoint())
                return TrainResult(model.eval(), True, epoch, step, train_seconds, last_epoch_record)
            idx = order[step_in_epoch * config.batch_size : (step_in_epoch + 1) * config.batch_size]
            images = to_float(train_split.images[idx]).to(device)  # (B, 1, 28, 28)
            images = images.contiguous(memory_format=torch.channels_last)
            labels = train_split.labels[idx].to(device)  # (B,)
            started = time.perf_counter()
            output = model(images)
            loss = _loss(config, output, images, labels)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), math.inf)
            loss_value = loss.item()
            if not (math.isfinite(loss_value) and math.isfinite(grad_norm.item())):
                raise TrainingDiverged(step + 1)
            optimizer.step()
            scheduler.step()
            train_seconds += time.perf_counter() - started
            step += 1
            step_in_epoch += 1
            images_seen += len(labels)
            if replay_moments.due(images_seen - len(labels), images_seen):
                replay_frame()
            batch_correct = (output.argmax(1) == labels).sum().item() if is_classifier else 0
            loss_sum += loss_value * len(labels)
            correct += batch_correct
            count += len(labels)
            window_loss += loss_value * len(labels)
            window_correct += batch_correct
            window_count += len(labels)
            if step % config.log_every == 0:
                elapsed = max(train_seconds - window_start, 1e-9)
                callbacks.on_record(
                    {
                        "kind": "step",
                        "epoch": epoch + step_in_epoch / steps_per_epoch,
                        "step": step,
                        "images": images_seen,
                        "loss": window_loss / window_count,
                        "accuracy": window_correct / window_count if is_classifier else None,
                        "lr": optimizer.param_groups[0]["lr"],
                        "images_per_s": window_count / elapsed,
                        "train_seconds": train_seconds,
                        "progress": (epoch * steps_per_epoch + step_in_epoch) / (config.epochs * steps_per_epoch),
                    }
                )
                window_loss, window_correct, window_count, window_start = 0.0, 0, 0, train_seconds
            if next_val is not None and images_seen >= next_val:
                next_val += config.val_every
                result = evaluate(model, val_split, device, callbacks.should_stop)
                if not result.stopped:
                    callbacks.on_record(
                        {
                            "kind": "val",
                            "epoch": epoch + step_in_epoch / steps_per_epoch,
                            "step": step,
                            "images": images_seen,
                            "val_loss": result.loss,
                            "val_accuracy": result.accuracy,
                            "train_seconds": train_seconds,
                        }
                    )
            if step % config.checkpoint_every == 0 and step_in_epoch < steps_per_epoch:
                callbacks.on_checkpoint(checkpoint())
        result = evaluate(model, val_split, device, callbacks.should_stop)
        epoch, step_in_epoch = epoch + 1, 0
        last_epoch_record = {
            "kind": "epoch",
            "epoch": epoch,
            "step": step,
            "images": images_seen,
            "loss": loss_sum / max(count, 1),
            "accuracy": correct / max(count, 1) if is_classifier else None,
            "val_loss": None if result.stopped else result.loss,
            "val_accuracy": None if result.stopped else result.accuracy,
            "lr": optimizer.param_groups[0]["lr"],
            "images_per_s": count / max(train_seconds - epoch_start, 1e-9),
            "train_seconds": train_seconds,
            "progress": epoch / config.epochs,
        }
        callbacks.on_record(last_epoch_record)
        if not is_classifier:
            callbacks.on_samples(epoch, {"images": sample_images, "reconstructions": reconstruct(model, sample_images)})
        callbacks.on_checkpoint(checkpoint())
    return TrainResult(model.eval(), False, epoch, step, train_seconds, last_epoch_record)
