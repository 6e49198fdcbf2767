"""Everything the draw page shows for one picture, in two calls: the numbers, then the figures.

:func:`read_picture` does the computing of a rerun (preprocessing, the
invariance adjustments, classification with every layer's maps, the sweeps,
the reconstruction); :func:`build_figures` turns that into what the page draws:
:class:`~cnnviz.views.draw_charts.Chart` for the probabilities and sweeps, :class:`~cnnviz.views.grids.MapGrid`
pictures for the digits and the feature maps. The page calls both; the benchmark
times each. A clicked feature-map cell gets :func:`cell_view`: its receptive field on the input, boxed,
and its effective field (one forward and backward pass, a few milliseconds).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image
from torch import nn

from cnnviz.analysis.features import (
    Classification,
    LayerMaps,
    Reconstruction,
    classify,
    invariance_sweeps,
    probabilities,
    reconstruct,
)
from cnnviz.analysis.receptive import CellField, NoReceptiveField, cell_field
from cnnviz.data.preprocess import naive_resize, shift_rotate, to_mnist
from cnnviz.device import one_thread
from cnnviz.views.draw_charts import Chart, probability_chart, sweep_chart
from cnnviz.views.grids import MapGrid, map_grid
from cnnviz.views.palette import DIVERGING, GREYS, format_value

SHIFT_LIMIT = 6  # the sliders and the sweep move the digit up to this many pixels each way
ROTATION_LIMIT = 60  # ... and turn it up to this many degrees each way
# The sweep charts' points: every image costs as much as the prediction itself, so 13 + 7 of them.
SWEEP_SHIFTS = tuple(range(-SHIFT_LIMIT, SHIFT_LIMIT + 1))  # pixels
SWEEP_ANGLES = tuple(range(-ROTATION_LIMIT, ROTATION_LIMIT + 1, 20))  # degrees
# Shown until the user picks others: the first convolution and every pooling layer, from "looks like
# the digit" to the abstract 3 x 3 maps the linear layer reads.
DEFAULT_LAYERS = ("conv1", "pool1", "pool2", "pool3")


@dataclass(frozen=True)
class DrawSettings:
    """The page's knobs that change what is computed."""

    right: int = 0  # pixels the model's input is moved right (negative: left), within SHIFT_LIMIT
    down: int = 0  # pixels it is moved down (negative: up)
    degrees: float = 0.0  # anticlockwise rotation of the input, within ROTATION_LIMIT
    compare_naive: bool = False  # also classify the whole picture squeezed to 28 x 28
    mnist_format: bool = False  # the picture is already an MNIST digit: use it as it is


@dataclass(frozen=True)
class DigitReading:
    """What the networks make of one picture."""

    settings: DrawSettings  # what it was computed with
    prepared: np.ndarray  # (28, 28) the picture as MNIST, before the invariance adjustments
    digit: np.ndarray  # (28, 28) what the models see: prepared, moved and turned
    naive: np.ndarray | None  # (28, 28) the naive resize (adjusted the same way), if compared
    classification: Classification | None  # None without a classifier
    naive_probabilities: np.ndarray | None  # (10,) for the naive resize, if compared
    shift_probabilities: np.ndarray | None  # (len(SWEEP_SHIFTS), 10): the prepared digit moved right
    rotation_probabilities: np.ndarray | None  # (len(SWEEP_ANGLES), 10): the prepared digit turned
    reconstruction: Reconstruction | None  # None without an autoencoder


@dataclass(frozen=True)
class DrawFigures:
    """The page's figures for one reading."""

    model_input: MapGrid  # the 28 x 28 input (and the naive resize beside it, if compared)
    probabilities: Chart | None  # the bar chart
    layers: list[tuple[LayerMaps, MapGrid]]  # one feature-map grid per layer, in forward order
    shift_sweep: Chart | None  # probabilities against horizontal shift
    rotation_sweep: Chart | None  # probabilities against rotation
    reconstruction: MapGrid | None  # input | reconstruction, both in [0, 1]
    error: MapGrid | None  # reconstruction - input, signed
    code: MapGrid | None  # the bottleneck's maps


def _as_mnist(picture: Image.Image | np.ndarray, mnist_format: bool) -> torch.Tensor:
    if mnist_format:  # an MNIST digit already is what the model expects: uint8 (28, 28)
        return torch.from_numpy(np.asarray(picture, dtype=np.float32) / 255.0)[None, None]
    return to_mnist(picture)


def _adjust(digit: torch.Tensor, settings: DrawSettings) -> torch.Tensor:
    if settings.right == 0 and settings.down == 0 and settings.degrees == 0:
        return digit
    return shift_rotate(digit, right=settings.right, down=settings.down, degrees=settings.degrees)


def read_picture(
    picture: Image.Image | np.ndarray,
    classifier: nn.Module | None,
    autoencoder: nn.Module | None,
    settings: DrawSettings = DrawSettings(),
) -> DigitReading:
    """Preprocess a picture and run both networks on it.

    Args:
        picture: a drawing, photo or upload (see :func:`cnnviz.data.preprocess.to_mnist`), or with
            ``settings.mnist_format`` a ``(28, 28)`` uint8 MNIST digit.
        classifier: a classifier in eval mode, or None to skip classification.
        autoencoder: an autoencoder in eval mode, or None to skip the reconstruction.
        settings: the invariance sliders and comparisons.

    Raises:
        cnnviz.data.preprocess.EmptyDrawing: the picture is blank.
    """
    with one_thread():  # a single small image: two threads only add hand-offs (see cnnviz.device.one_thread)
        prepared = _as_mnist(picture, settings.mnist_format)  # (1, 1, 28, 28)
        digit = _adjust(prepared, settings)
        naive = None
        if settings.compare_naive and not settings.mnist_format:
            naive = _adjust(naive_resize(picture), settings)
        classification = naive_probabilities = shifts = rotations = None
        if classifier is not None:
            classification = classify(classifier, digit)
            if naive is not None:
                naive_probabilities = probabilities(classifier, naive)[0]
            shifts, rotations = invariance_sweeps(classifier, prepared, SWEEP_SHIFTS, SWEEP_ANGLES)
        reconstruction = None if autoencoder is None else reconstruct(autoencoder, digit)
    return DigitReading(
        settings=settings,
        prepared=prepared[0, 0].numpy(),
        digit=digit[0, 0].numpy(),
        naive=None if naive is None else naive[0, 0].numpy(),
        classification=classification,
        naive_probabilities=naive_probabilities,
        shift_probabilities=shifts,
        rotation_probabilities=rotations,
        reconstruction=reconstruction,
    )


def layer_title(layer: LayerMaps) -> str:
    """``"conv1 (convolution): 16 x 28 x 28"``, the grid's title."""
    c, h, w = layer.shape
    return f"{layer.name} ({layer.kind}): output {c} x {h} x {w} (channels x rows x columns)"


def build_figures(reading: DigitReading, layers: Collection[str] | None = None) -> DrawFigures:
    """All figures of the page for ``reading``.

    Args:
        reading: from :func:`read_picture`.
        layers: names of the layers whose feature-map grids to build (None: every layer). Each grid
            costs about a millisecond and a few kB per rerun; the page builds the ones asked for.
    """
    pictures, names = [reading.digit], ["what the model sees"]
    if reading.naive is not None:
        pictures.append(reading.naive)
        names.append("naive: the whole picture squeezed")
    model_input = map_grid(
        np.stack(pictures), titles=names, colormap=GREYS, value_range=(0.0, 1.0), title="The input, 28 x 28"
    )

    result = reading.classification
    chart = shifts = rotations = None
    grids: list[tuple[LayerMaps, MapGrid]] = []
    if result is not None:
        chart = probability_chart(result.probabilities, compare=reading.naive_probabilities)
        grids = [
            (layer, map_grid(layer.maps, per_row=8, title=layer_title(layer)))
            for layer in result.layers
            if layers is None or layer.name in layers
        ]
        settings = reading.settings
        shifts = sweep_chart(
            SWEEP_SHIFTS,
            reading.shift_probabilities,
            x_title="digit moved right by (pixels)",
            current=settings.right,
            title="Moving the digit left and right",
        )
        rotations = sweep_chart(
            SWEEP_ANGLES,
            reading.rotation_probabilities,
            x_title="digit turned anticlockwise by (degrees)",
            current=settings.degrees,
            title="Turning the digit",
        )

    rebuilt = error = code = None
    if reading.reconstruction is not None:
        r = reading.reconstruction
        rebuilt = map_grid(np.stack([r.original, r.output]), titles=["input", "reconstruction"], colormap=GREYS,
                           value_range=(0.0, 1.0), title="Input and reconstruction")  # fmt: skip
        error = map_grid(r.error, titles=["error = reconstruction - input"], colormap=DIVERGING, title="The error")
        c, h, w = r.bottleneck_shape
        code = map_grid(r.code, per_row=c, colormap=DIVERGING,
                        title=f"the bottleneck: {c} x {h} x {w} = {r.code_size} numbers")  # fmt: skip
    return DrawFigures(model_input, chart, grids, shifts, rotations, rebuilt, error, code)


# --- a clicked feature-map cell -------------------------------------------------------------------------------------


NOT_MOVED = "For this digit no pixel moves it (the ReLUs before it are off here): its effective field is empty."


@dataclass(frozen=True)
class CellChoice:
    """One cell of one channel of one layer, as the student clicked it in "What each layer sees"."""

    layer: str  # the layer's path in model.named_modules(), e.g. "backbone.layers.conv1"
    channel: int  # the output channel (the panel clicked)
    row: int  # the cell's row in that layer's output map
    col: int  # its column


@dataclass(frozen=True)
class CellView:
    """What the page shows for a clicked cell."""

    choice: CellChoice  # the cell
    name: str  # the layer's short name, e.g. "conv1"
    field: CellField | None  # value, box, gradient; None when the layer has no receptive field
    grids: tuple[MapGrid, ...]  # the input with the box, the effective field with the same box (none: no field)
    summary: str  # markdown: the cell, its value and the input region it reads (or why there is none)
    formula: str  # r, S and P, and the unclipped box ("" without a field)


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def cell_choice(click: dict | None, shown: Sequence[LayerMaps], current: CellChoice | None = None) -> CellChoice | None:
    """The cell to show: a new click when there is one, else ``current``; None for a stale or malformed cell.

    Args:
        click: the map grid's report ``{grid, channel, row, column}`` (``grid`` indexes ``shown``), or None.
        shown: the layers whose grids the page draws, in its order.
        current: the cell shown so far (kept in the session); dropped when its layer is no longer shown
            or the cell is outside that layer's output (another model).
    """
    if isinstance(click, dict):
        grid, channel, row, col = (_int(click.get(key)) for key in ("grid", "channel", "row", "column"))
        if grid is not None and 0 <= grid < len(shown) and None not in (channel, row, col):
            current = CellChoice(shown[grid].path, channel, row, col)
    if current is None:
        return None
    layer = next((layer for layer in shown if layer.path == current.layer), None)
    if layer is None:
        return None
    c, h, w = layer.shape
    return current if 0 <= current.channel < c and 0 <= current.row < h and 0 <= current.col < w else None


def _pair(values: tuple[int, int], joiner: str = " x ") -> str:
    return str(values[0]) if values[0] == values[1] else f"{values[0]}{joiner}{values[1]}"


def field_grids(digit: np.ndarray, cell: CellField) -> tuple[MapGrid, MapGrid]:
    """The input with the cell's theoretical box, and its effective field (signed, centred on 0) with the same box.

    Args:
        digit: ``(H, W)`` the input in [0, 1] the cell was computed on.
        cell: from :func:`cnnviz.analysis.receptive.cell_field`.
    """
    return (
        map_grid(digit, titles=["input"], colormap=GREYS, value_range=(0.0, 1.0), boxes=[cell.box],
                 title="The pixels it reads (box)"),
        map_grid(cell.gradient, titles=["d cell / d pixel"], colormap=DIVERGING, boxes=[cell.box],
                 title="What moves it (effective field)"),
    )  # fmt: skip


def cell_view(classifier: nn.Module, reading: DigitReading, choice: CellChoice) -> CellView:
    """The clicked cell's value, the input region it reads, and its effective field for this digit.

    Args:
        classifier: the model ``reading`` was computed with, in eval mode.
        reading: from :func:`read_picture` (its ``digit`` is the input the cell saw).
        choice: a cell of one of ``reading.classification``'s layers (see :func:`cell_choice`).
    """
    name = choice.layer.rsplit(".", 1)[-1]
    where = f"**{name}**, channel {choice.channel}, cell **(row {choice.row}, column {choice.col})**"
    digit = torch.from_numpy(np.ascontiguousarray(reading.digit, dtype=np.float32))[None, None]  # (1, 1, 28, 28)
    try:
        with one_thread():
            cell = cell_field(classifier, choice.layer, choice.channel, choice.row, choice.col, digit)
    except NoReceptiveField as error:
        summary = (
            f"{where} has no receptive field to draw: {error} Pick a cell of a convolution, residual block "
            "or pooling layer before it."
        )
        return CellView(choice, name, None, (), summary, "")
    (top, left), (bottom, right) = cell.box
    grids = field_grids(reading.digit, cell)
    summary = (
        f"{where}: value **{format_value(cell.value)}**. It reads input rows **{top}-{bottom}**, "
        f"columns **{left}-{right}**."
    )
    if not cell.moved:
        summary += " " + NOT_MOVED
    field = cell.field
    (utop, uleft), (ubottom, uright) = cell.unclipped
    formula = (
        f"Receptive field r = {field.size[0]} x {field.size[1]} pixels, effective stride S = {_pair(field.jump)}, "
        f"effective padding P = {_pair(field.padding)}: cell y reads `[y*S - P, y*S - P + r - 1]` per axis; "
        f"unclipped the box is rows {utop}-{ubottom}, columns {uleft}-{uright}"
        + (" (the rest is padding)." if cell.unclipped != cell.box else ".")
        + " The effective field is where, inside the box, this digit's pixels actually move the cell "
        "(red: more ink there raises it, blue: lowers it)."
    )
    return CellView(choice, name, cell, grids, summary, formula)
