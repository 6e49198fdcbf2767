"""Training speed: time to 98% validation accuracy, default recipe vs the lab's; the full default run; stop latency.

Training time counts optimisation steps only (not process start, imports, data
loading or validation). Both recipes validate on the full 12,000-image split
every 2,000 training images; the lab's stops at the first pass reaching 98%, the
default's goes on to 99%.

- default: ``TrainConfig()`` through :func:`cnnviz.training.train` (in-memory batches).
- lab: the same model, batch 16 through a ``torch.utils.data.DataLoader`` over a
  ``TensorDataset`` with shuffling and ``pin_memory=True``, Adam at 1e-3.
- the full default run: ``python -m cnnviz.train`` with no options, as a user starts it
  (its own validation schedule): wall time from launch, seconds of training, test accuracy.
- stop latency: a real background job (:mod:`cnnviz.training.jobs`) is asked to stop;
  the time until its status reads "stopped" with the checkpoint written.

Run: ``python -m benchmarks training`` (about 5 minutes on 2 cores).
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from benchmarks.table import median_p95, print_table
from cnnviz.data.mnist import load_mnist
from cnnviz.device import use_all_cores
from cnnviz.training import jobs
from cnnviz.training import worker as training_worker
from cnnviz.training.recipe import Milestone, TrainConfig, TrainingCallbacks, evaluate, make_model, milestones, train
from cnnviz.training.runs import list_runs

TARGET = 0.98
DEFAULT_TARGETS = (0.98, 0.99)
VAL_EVERY = 2000  # training images between two validation passes
LAB_TIME_LIMIT = 600.0  # seconds of training after which the lab's recipe is reported as not there yet
STOP_REPEATS = 5
ROOT = Path(__file__).resolve().parents[1]


class UntilTargets(TrainingCallbacks):
    """Keeps the validation passes; stops at the first one reaching the last target."""

    def __init__(self, last_target: float):
        self.records: list[dict] = []
        self.last_target = last_target

    def on_record(self, record):
        self.records.append(record)

    def should_stop(self):
        return any(m.accuracy >= self.last_target for m in milestones(self.records, (self.last_target,)))


def default_recipe(data) -> dict[float, Milestone]:
    """When ``TrainConfig()`` first reaches 98% and 99% validation accuracy, validating every VAL_EVERY images."""
    callbacks = UntilTargets(DEFAULT_TARGETS[-1])
    train(dataclasses.replace(TrainConfig(), val_every=VAL_EVERY), data, callbacks)
    return {m.accuracy: m for m in milestones(callbacks.records, DEFAULT_TARGETS)}


@dataclass(frozen=True)
class FullRun:
    wall_seconds: float  # from launching the process to its exit
    train_seconds: float  # optimisation steps only
    test_accuracy: float
    reached: tuple[Milestone, ...]  # with the run's own validation schedule


def full_default_run() -> FullRun:
    """``python -m cnnviz.train`` with its defaults, in a runs folder of its own."""
    with tempfile.TemporaryDirectory() as folder:
        env = {**os.environ, "CNNVIZ_RUNS_DIR": folder}
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "cnnviz.train", "--quiet"], env=env, check=True, capture_output=True)
        wall = time.perf_counter() - started
        (run,) = list_runs(folder)
        records = run.metrics()
        train_seconds = max(r["train_seconds"] for r in records if "train_seconds" in r)
        return FullRun(wall, train_seconds, run.results()["test_accuracy"], tuple(milestones(records)))


def lab_recipe(data) -> tuple[float | None, int | None]:
    """The lab's loop: batch 16 from a DataLoader, Adam 1e-3, same model; timed the same way."""
    use_all_cores()
    model = make_model(TrainConfig())
    train_x = data.train.images.float() / 255  # the lab's X / 255, whole split as float
    dataset = torch.utils.data.TensorDataset(train_x, data.train.labels)
    loader = torch.utils.data.DataLoader(dataset, batch_size=16, shuffle=True, pin_memory=True)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    seconds, images, next_val = 0.0, 0, VAL_EVERY
    while seconds < LAB_TIME_LIMIT:
        model.train()
        iterator = iter(loader)
        while True:
            started = time.perf_counter()
            try:
                x, y = next(iterator)  # the DataLoader's work counts: it is part of the recipe
            except StopIteration:
                break
            optimizer.zero_grad()
            loss_fn(model(x), y).backward()
            optimizer.step()
            seconds += time.perf_counter() - started
            images += len(y)
            if images >= next_val:
                next_val += VAL_EVERY
                if evaluate(model, data.val).accuracy >= TARGET:
                    return seconds, images
                model.train()
            if seconds >= LAB_TIME_LIMIT:
                break
    return None, None


def stop_latencies() -> list[float]:
    """Seconds from a stop request to the job's status reading "stopped" (checkpoint written), on a real queue
    worker process."""
    latencies = []
    with tempfile.TemporaryDirectory() as folder:
        previous = os.environ.get("CNNVIZ_RUNS_DIR")
        os.environ["CNNVIZ_RUNS_DIR"] = folder
        queue_worker = training_worker.start_local(ROOT)
        try:
            for seed in range(STOP_REPEATS):
                run = jobs.submit(TrainConfig(seed=seed), owner="bench")
                while len(run.metrics("step")) < 2:
                    if jobs.refresh(run).state not in ("queued", "running"):
                        raise RuntimeError(f"the job ended early: {run.status}")
                    time.sleep(0.05)
                started = time.perf_counter()
                jobs.stop(run, owner="bench")
                while jobs.refresh(run).state == "running":
                    time.sleep(0.01)
                latencies.append(time.perf_counter() - started)
                assert run.state == "stopped" and run.load_checkpoint()["step"] > 0
        finally:
            training_worker.stop_local(queue_worker)
            if previous is None:
                os.environ.pop("CNNVIZ_RUNS_DIR", None)
            else:
                os.environ["CNNVIZ_RUNS_DIR"] = previous
    return latencies


def _seconds(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else f"> {LAB_TIME_LIMIT:.0f}"


def main() -> None:
    data = load_mnist()
    default = default_recipe(data)
    lab_s, lab_images = lab_recipe(data)
    hit = default.get(TARGET)
    ratio = f"{lab_s / hit.train_seconds:.1f}x" if hit and lab_s else (">" if hit else "-")
    config = TrainConfig()
    print(f"time to {TARGET:.0%} validation accuracy (training steps only, validated every {VAL_EVERY} images)")
    print_table(
        ["recipe", "seconds to 98%", "images to 98%", "seconds to 99%", "images to 99%", "speed-up to 98%"],
        [
            [
                f"default (in-memory, batch {config.batch_size}, {config.optimizer} {config.schedule})",
                _seconds(hit and hit.train_seconds), hit and hit.images,
                _seconds(default[0.99].train_seconds) if 0.99 in default else "-",
                default[0.99].images if 0.99 in default else "-", ratio,
            ],
            ["lab (DataLoader, batch 16, Adam 1e-3)", _seconds(lab_s), lab_images, "-", "-", "1.0x"],
        ],
    )  # fmt: skip
    full = full_default_run()
    print()
    print_table(
        ["python -m cnnviz.train (defaults)", "wall s from launch", "seconds of training", "test accuracy"]
        + [f"images to {m.accuracy:.0%}" for m in full.reached],
        [["full run", full.wall_seconds, full.train_seconds, f"{full.test_accuracy:.2%}"]
         + [m.images for m in full.reached]],
    )  # fmt: skip
    latencies = stop_latencies()
    median, p95 = median_p95(latencies)
    print()
    print_table(
        ["stop latency (request -> stopped, checkpoint kept)", "median ms", "p95 ms", "runs"],
        [["background job, default classifier", median * 1000, p95 * 1000, len(latencies)]],
    )


if __name__ == "__main__":
    main()
