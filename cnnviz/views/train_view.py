"""What the Train page shows, computed without Streamlit: summaries of configs and runs, charts and figures.

Figures follow the house rules for a projector: labelled axes, a sequential
colour-blind-safe map (viridis) for counts, grey ink on white for digits.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
import re
import time
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

import plotly.graph_objects as go
import torch

from cnnviz.training import bottleneck, jobs
from cnnviz.training.recipe import MILESTONES, TrainConfig, count_parameters, milestones, model_config
from cnnviz.training.runs import Run, RunState
from cnnviz.views.grids import MapGrid, map_grid
from cnnviz.views.palette import BLACK, GREYS, OKABE_ITO, ORANGE, YELLOW
from models import bottleneck_shape, load_model
from models.checkpoint import model_cost

PARAMETER_WARNING = 100_000  # the lab asks for a classifier below this many parameters
# Okabe-Ito colours; yellow before black here, as the runs have always been drawn.
RUN_COLOURS = (*OKABE_ITO[:6], YELLOW, BLACK)


def parse_channels(text: str) -> tuple[int, ...]:
    """``"16, 32, 32"`` -> ``(16, 32, 32)``; ``ValueError`` with a readable message otherwise."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    try:
        channels = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(
            f"channels must be whole numbers separated by commas, like 16, 32, 32 (got {text!r})."
        ) from None
    if not channels or not all(1 <= c <= 256 for c in channels) or len(channels) > 4:
        raise ValueError("give 1 to 4 stages, each with 1 to 256 channels, like 16, 32, 32.")
    return channels


@dataclass(frozen=True)
class ConfigSummary:
    """What a training config would build and cost, shown before it starts (nothing is built)."""

    parameters: int  # trainable parameters of the model
    seconds: float | None  # estimated training time on this server (None when over the model budget)
    checkpoint_bytes: int | None  # size of its resumable checkpoint
    refusal: str | None  # why this server will not train it (a limit and how to get under it), else None
    warning: str | None  # set when the classifier exceeds the lab's budget
    description: str  # one line: what the model is


def summarize_config(config: TrainConfig) -> ConfigSummary:
    """Count and estimate the run without building it (shape arithmetic; cached per config).

    Raises:
        InvalidLayerConfig: the settings cannot make a network (the image shrinks away, ...).
    """
    model_settings = model_config(config)  # raises InvalidLayerConfig for impossible shapes
    cost = model_cost(config.model, model_settings)
    refusal, seconds, checkpoint = None, None, None
    try:
        estimate = jobs.check_budget(config)
        seconds, checkpoint = estimate.seconds, estimate.checkpoint_bytes
    except jobs.JobRefused as error:
        refusal = str(error)
    warning = None
    if config.model == "classifier" and cost.parameters > PARAMETER_WARNING:
        warning = (
            f"{cost.parameters:,} parameters: more than the lab's budget of {PARAMETER_WARNING:,}. "
            "Fewer channels or fewer residual blocks bring it down."
        )
    if config.model == "autoencoder":
        c, h, w = bottleneck_shape(model_settings)
        description = f"autoencoder squeezing 784 pixels into {c} x {h} x {w} = {c * h * w} numbers"
    else:
        description = f"classifier with {len(config.channels)} stages of {config.channels} channels"
    return ConfigSummary(cost.parameters, seconds, checkpoint, refusal, warning, description)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:^=&])")


def escape_markdown(text: str) -> str:
    """``text`` shown literally by Streamlit's Markdown: no links, emphasis, colours, maths or HTML.

    Run names are typed by students and read by the whole class.
    """
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def insecure_connection_warning(url: str | None, forwarded_proto: str | None = None) -> str | None:
    """A warning when the page travels unencrypted to another machine; None over HTTPS or on this machine.

    Args:
        url: the address in the browser (``st.context.url``); None when unknown.
        forwarded_proto: the ``X-Forwarded-Proto`` header a reverse proxy adds, if any.
    """
    if not url or (forwarded_proto or "").lower() == "https":
        return None
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" or host in ("localhost", "127.0.0.1", "::1"):
        return None
    return (
        "This connection is not secure (http://): the admin token typed here, and every student's "
        "browser id, can be read by anyone on the network. Serve the app over HTTPS (see the README, "
        "Serving a class) before typing the token."
    )


@dataclass(frozen=True)
class Progress:
    """Where a run stands, from its metrics."""

    fraction: float  # 0..1 of all planned optimisation steps
    epoch: float  # fractional epoch
    images_per_s: float | None  # of the latest logged window
    eta_s: float | None  # remaining seconds at the recent speed
    latest: dict[str, Any]  # the latest record of any kind


def run_progress(run: Run, records: list[dict[str, Any]] | None = None) -> Progress:
    """Progress of ``run`` (fraction, epoch, speed, ETA) from its metrics records."""
    records = run.metrics() if records is None else records
    steps = [r for r in records if r.get("kind") == "step"]
    epochs = [r for r in records if r.get("kind") == "epoch"]
    fraction = max([r.get("progress", 0.0) for r in steps + epochs] or [0.0])
    if run.state == RunState.FINISHED:
        fraction = 1.0
    speed = steps[-1].get("images_per_s") if steps else None  # a metrics file from an older trainer may lack it
    eta = None
    if speed and 0 < fraction < 1:
        config = run.config
        train_images = config.train_images or 48_000
        remaining = (1 - fraction) * config.epochs * train_images
        val_images = config.val_images or 12_000
        eta = remaining / speed + val_images / (4 * speed) * (config.epochs - int(fraction * config.epochs))
    epoch = steps[-1]["epoch"] if steps else (epochs[-1]["epoch"] if epochs else 0.0)
    if epochs and epochs[-1]["epoch"] > epoch:
        epoch = epochs[-1]["epoch"]
    return Progress(fraction, epoch, speed, eta, records[-1] if records else {})


def format_seconds(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "-"
    seconds = int(round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


def milestone_text(records: list[dict[str, Any]]) -> str | None:
    """``"98% validation after 12,288 images (6.1 s of training) · 99% after ..."``; None before the first."""
    reached = milestones(records)
    if not reached:
        return None
    parts = [f"{m.accuracy:.0%} after {m.images:,} images ({m.train_seconds:.1f} s of training)" for m in reached]
    return "validation " + " · ".join(parts)


def _milestone_columns(records: list[dict[str, Any]]) -> dict[str, int | None]:
    reached = {m.accuracy: m.images for m in milestones(records)}
    return {f"images to {target:.0%}": reached.get(target) for target in MILESTONES}


def run_row(run: Run) -> dict[str, Any]:
    """One line of the past-runs table."""
    status, meta = run.status, run.meta
    try:
        config = TrainConfig.from_dict(meta["train"])
    except (KeyError, TypeError, ValueError):  # a damaged config.json: listed, not trusted
        return {"name": run.name, "model": "?", "state": "damaged", "id": run.id}
    epochs = run.metrics("epoch")
    test = run.metrics("test")
    best_val = None
    if epochs:
        key = "val_accuracy" if config.model == "classifier" else "val_loss"
        values = [r[key] for r in epochs if r.get(key) is not None]
        if values:
            best_val = max(values) if config.model == "classifier" else min(values)
    result = None
    if test:
        result = test[-1].get("test_accuracy", test[-1].get("test_loss"))
    return {
        "name": meta.get("name") or run.id,
        "model": config.model,
        "state": status.state,
        "channels": ", ".join(map(str, config.channels)),
        "epochs": config.epochs,
        "best val (acc or MSE)": best_val,
        "test (acc or MSE)": result,
        **(_milestone_columns(run.metrics()) if config.model == "classifier" else {}),
        "created": time.strftime("%Y-%m-%d %H:%M", time.localtime(meta.get("created", 0))),
        "id": run.id,
    }


DIFFERS_STYLE = f"font-weight: bold; background-color: {ORANGE}33"  # a light orange tint, bold: also in grey


@dataclass(frozen=True)
class SettingsComparison:
    """Runs' settings and results side by side: one row per setting, one column per run."""

    runs: tuple[str, ...]  # the column headings: each run's name (a ⭐ for the runs the teacher showed)
    rows: tuple[tuple[str, tuple[str, ...]], ...]  # (setting, its value in each run), settings first, then results
    differs: tuple[bool, ...]  # per row: the runs do not all agree

    def as_records(self) -> list[dict[str, str]]:
        """Rows for a table: the setting, a "≠" where the runs differ (readable without colour), each run."""
        return [
            {"setting": name, "differs": "≠" if differs else "", **dict(zip(self.runs, values))}
            for (name, values), differs in zip(self.rows, self.differs)
        ]


def _show_value(value: Any) -> str:
    if isinstance(value, tuple | list):
        return ", ".join(map(str, value))
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def compare_settings(runs: list[Run]) -> SettingsComparison:
    """Every training setting of ``runs`` (damaged configs read as "?"), then their milestones and test result."""
    names, configs = [], []
    for run in runs:
        names.append(("⭐ " if run.shown_to_class else "") + run.name)
        try:
            configs.append(dataclasses.asdict(run.config))
        except (KeyError, TypeError, ValueError):
            configs.append({})
    names = [name if names.count(name) == 1 else f"{name} ({run.id})" for name, run in zip(names, runs)]
    rows = [
        (field.name, tuple(_show_value(c[field.name]) if field.name in c else "?" for c in configs))
        for field in dataclasses.fields(TrainConfig)
    ]
    records = [run.metrics() for run in runs]
    for target in MILESTONES:
        reached = [{m.accuracy: m for m in milestones(r)}.get(target) for r in records]
        rows.append((f"images to {target:.0%} validation", tuple(f"{m.images:,}" if m else "-" for m in reached)))
    results = [run.results() or {} for run in runs]
    rows.append(("test accuracy", tuple(f"{r['test_accuracy']:.2%}" if "test_accuracy" in r else "-" for r in results)))
    return SettingsComparison(tuple(names), tuple(rows), tuple(len(set(values)) > 1 for _, values in rows))


COMPARISON_SIZE_CHOICES = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 36, 48, 64, 96, 128)  # the form's code sizes


def comparison_rows(entries: list[bottleneck.ComparisonRun]) -> list[dict[str, str]]:
    """One line per size of a comparison: its state, how far it is, its test error once finished."""
    rows = []
    for entry in entries:
        if entry.state == RunState.RUNNING:
            progress = run_progress(entry.run)
            done = f"epoch {progress.epoch:.1f} of {entry.run.config.epochs} ({progress.fraction:.0%})"
        else:
            done = "done" if entry.state == RunState.FINISHED else ""
        rows.append(
            {
                "code size": f"{entry.code_size} values",
                "state": entry.state,
                "progress": done,
                "test MSE": "—" if entry.test_mse is None else f"{entry.test_mse:.4f}",
                "run": entry.run.name,
            }
        )
    return rows


def comparison_summary(entries: list[bottleneck.ComparisonRun]) -> str:
    """``"2 of 6 sizes finished (2, 4 values); training 8 values; 3 waiting."``"""
    finished = [e.code_size for e in entries if e.state == RunState.FINISHED]
    running = [e.code_size for e in entries if e.state == RunState.RUNNING]
    waiting = sum(e.state == RunState.QUEUED for e in entries)
    ended = [
        f"{e.code_size} values {e.state}"
        for e in entries
        if e.state in (RunState.STOPPED, RunState.FAILED, RunState.INTERRUPTED)
    ]
    parts = [f"{len(finished)} of {len(entries)} sizes finished" + (
        f" ({', '.join(map(str, finished))} values)" if finished else "")]  # fmt: skip
    parts += [f"training {', '.join(map(str, running))} values"] if running else []
    parts += [f"{waiting} waiting"] if waiting else []
    parts += ended
    return "; ".join(parts) + "."


@dataclass(frozen=True)
class Curve:
    """One line of a :class:`CurveChart`."""

    name: str  # in the legend and the hover text
    x: tuple[float, ...]  # epochs, increasing
    y: tuple[float, ...]  # the metric at each epoch
    colour: str
    dash: str  # "solid" or "dot" (widgets/svg.js's DASH names)
    width: float  # line width in pixels
    markers: bool  # a diamond at each point (validation passes: few, each one a number to read)


@dataclass(frozen=True)
class CurveChart:
    """Curves along epochs, drawn as SVG in the browser by widgets/curves.js."""

    title: str
    x_title: str
    y_title: str
    y_log: bool  # a logarithmic axis (losses: the late, small improvements stay visible)
    y_percent: bool  # ticks and hover values as percentages (accuracy)
    curves: tuple[Curve, ...]
    kind: str = "curves"  # the payload's kind, beside cnnviz.views.draw_charts.Chart's "bars" and "lines"

    def payload(self) -> dict:
        return asdict(self)


def _significant(values: list[float]) -> tuple[float, ...]:
    """Four significant digits: what a chart can show, in a third of the bytes of a float's seventeen."""
    return tuple(float(f"{v:.4g}") for v in values)


def curves_chart(series: list[tuple[str, list[dict[str, Any]]]], metric: str, model: str) -> CurveChart:
    """Training (thin line, per logged step) and validation (dotted, diamonds) curves for one or more runs.

    An SVG chart drawn in the browser: the plotly figure it replaces cost the server ~6 ms to build and
    serialise, twice per rerun of a student's live panel (each logged step, every ~3 s while training).

    Args:
        series: ``(run name, metrics records)`` per run.
        metric: ``"loss"`` or ``"accuracy"``.
        model: ``"classifier"`` or ``"autoencoder"`` (names the loss on the axis).
    """
    curves = []
    for index, (name, records) in enumerate(series):
        colour = RUN_COLOURS[index % len(RUN_COLOURS)]
        steps = [r for r in records if r.get("kind") == "step" and r.get(metric) is not None]
        vals = [r for r in records if r.get("kind") in ("epoch", "val") and r.get(f"val_{metric}") is not None]
        prefix = f"{name}: " if len(series) > 1 else ""
        epochs, values = _significant([r["epoch"] for r in steps]), _significant([r[metric] for r in steps])
        curves.append(Curve(f"{prefix}train", epochs, values, colour, "solid", 1.5, markers=False))
        epochs, values = _significant([r["epoch"] for r in vals]), _significant([r[f"val_{metric}"] for r in vals])
        curves.append(Curve(f"{prefix}validation", epochs, values, colour, "dot", 3, markers=True))
    loss_name = "cross-entropy" if model == "classifier" else "mean squared error"
    return CurveChart(
        title={"loss": f"Loss ({loss_name})", "accuracy": "Accuracy"}[metric],
        x_title="epoch",
        y_title="accuracy" if metric == "accuracy" else "loss (log scale)",
        y_log=metric == "loss",
        y_percent=metric == "accuracy",
        curves=tuple(curves),
    )


def confusion_figure(matrix: torch.Tensor) -> go.Figure:
    """Heatmap of a ``(10, 10)`` confusion matrix: rows true digit, columns predicted digit."""
    counts = matrix.tolist()
    figure = go.Figure(
        go.Heatmap(
            z=counts,
            x=[str(d) for d in range(10)],
            y=[str(d) for d in range(10)],
            colorscale="Viridis",
            colorbar={"title": "images"},
            text=counts,
            texttemplate="%{text}",
            hovertemplate="true %{y}, predicted %{x}: %{z} images<extra></extra>",
        )
    )
    figure.update_layout(
        title="Confusion matrix on the 10,000 test digits",
        xaxis={"title": "predicted digit", "dtick": 1},
        yaxis={"title": "true digit", "autorange": "reversed", "dtick": 1},
        height=520,
        font={"size": 15},
    )
    return figure


def digits_grid(images: torch.Tensor, captions: list[str], *, per_row: int = 8, title: str) -> MapGrid:
    """28 x 28 digits (uint8, or float in [0, 1]) as one map grid painted in the browser, as the draw page's.

    It replaced a plotly figure of one heatmap subplot per digit: 150-300 ms and 260 KB for sixteen
    digits, sent again on each rerun of a student's live panel.

    Args:
        images: ``(N, 1, 28, 28)``.
        captions: one label per digit.
        per_row: digits per row.
        title: above the grid.
    """
    pixels = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    return map_grid(pixels[:, 0].clamp(0, 1).numpy(), titles=captions, per_row=per_row, colormap=GREYS,
                    value_range=(0.0, 1.0), title=title)  # fmt: skip


def misclassified_grid(results: dict[str, Any], limit: int = 24) -> MapGrid | None:
    """Misclassified test digits with predicted and true labels (None if there are none)."""
    images = results.get("wrong_images")
    if images is None or len(images) == 0:
        return None
    predicted, true = results["wrong_predicted"][:limit].tolist(), results["wrong_true"][:limit].tolist()
    captions = [f"said {p}, is {t}" for p, t in zip(predicted, true)]
    return digits_grid(images[:limit], captions, title="Misclassified test digits (prediction, truth)")


def reconstructions_grid(samples: dict[str, Any], title: str) -> MapGrid:
    """Each original digit followed by its reconstruction, three pairs a row (a row of 16 would not fit)."""
    originals, recon = samples["images"], samples["reconstructions"]
    count = len(originals)
    pairs = torch.stack([originals.float() / 255.0, recon.float().clamp(0, 1)], dim=1)  # (N, 2, 1, 28, 28)
    captions = [caption for i in range(1, count + 1) for caption in (f"digit {i}", f"rebuilt {i}")]
    return digits_grid(pairs.flatten(0, 1), captions, per_row=6, title=title)


def describe_checkpoint(data: bytes) -> str:
    """One line about an uploaded checkpoint; raises CheckpointError (with the reason) if it is not one."""
    model = load_model(data)
    channels = ", ".join(map(str, model.config.backbone.channels))
    return (
        f"A valid cnnviz checkpoint: {type(model).__name__} with channels {channels} "
        f"and {count_parameters(model):,} parameters."
    )


def owner_from_cookie(cookie: str) -> str:
    """A stable, non-secret owner id for a browser from its XSRF cookie.

    Streamlit re-masks the same token on every page load (``2|mask|masked|time``,
    XOR-masked), so the raw value changes; the unmasked token stays the same for
    the browser, and only its hash is kept.
    """
    value = cookie.strip("\"'")
    token = value.encode()
    parts = value.split("|")
    if len(parts) == 4 and parts[0] == "2":
        try:
            mask, masked = bytes.fromhex(parts[1]), bytes.fromhex(parts[2])
            token = bytes(b ^ mask[i % len(mask)] for i, b in enumerate(masked)) if mask else masked
        except ValueError:
            pass  # not hex: keep the raw value
    return "browser-" + hashlib.sha256(token).hexdigest()[:16]
