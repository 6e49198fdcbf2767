"""Draw a digit: what the classifier thinks, what each layer sees, and the autoencoder's copy.

A thin view: canvas / upload / MNIST digit -> cnnviz.views.draw_view.read_picture -> build_figures -> render.
"""

from __future__ import annotations

import hashlib
import random

import numpy as np
import streamlit as st

from cnnviz.data import images
from cnnviz.data.mnist import MNISTNotFound, mnist_test_digit
from cnnviz.data.preprocess import EmptyDrawing
from cnnviz.views.draw_view import (
    DEFAULT_LAYERS,
    ROTATION_LIMIT,
    SHIFT_LIMIT,
    CellChoice,
    DrawSettings,
    build_figures,
    cell_choice,
    cell_view,
    read_picture,
)
from cnnviz.views.model_sources import checkpoint_upload_mb, file_stamp, model_sources
from models import CheckpointError
from widgets.chart import chart
from widgets.draw_canvas import draw_canvas
from widgets.map_grid import map_grid
from widgets.resources import model_from_file, model_from_upload

CANVAS_PX = 280  # the canvas is 10x MNIST's 28 pixels
SOURCES = {"draw": "✏️ Draw", "upload": "📁 Upload a picture", "mnist": "🎲 Random MNIST test digit"}
UPLOAD_CHOICE = "upload a checkpoint (.pt)"
PROMPT = (
    "✏️ **Draw a digit from 0 to 9** on the canvas with the mouse or a finger. "
    "Its prediction, what each layer sees and the autoencoder's copy appear here as you draw."
)


def pick_model(kind: str, label: str):
    """A model picker in the sidebar; returns the loaded model, or None (the reason is shown)."""
    sources = model_sources(kind)
    options = [source.label for source in sources] + [UPLOAD_CHOICE]
    choice = st.sidebar.selectbox(label, options, key=f"draw_{kind}_source")
    try:
        if choice == UPLOAD_CHOICE:
            upload = st.sidebar.file_uploader(f"{kind} checkpoint", type=["pt", "pth"], key=f"draw_{kind}_upload",
                                              max_upload_size=checkpoint_upload_mb())  # fmt: skip
            if upload is None:
                st.sidebar.info(f"Upload a {kind} checkpoint saved by cnnviz.")
                return None
            return model_from_upload(upload.getvalue(), kind)
        return model_from_file(*file_stamp(sources[options.index(choice)].path), kind)
    except CheckpointError as error:
        st.sidebar.error(f"The {kind} could not be loaded: {error}")
        return None


def pick_picture(source: str):
    """Show the chosen input and return ``(picture, is_mnist_digit)``; picture is None when there is none yet."""
    if source == "draw":
        pen = st.slider("Pen width", 6, 40, 20, key="draw_pen", help="Thicker strokes look more like MNIST's.")
        drawing = draw_canvas(key="draw_canvas", size=CANVAS_PX, pen=pen)
        st.caption("Undo, redo and clear are above the canvas.")
        if drawing is None:
            return None, False
        try:
            return images.decode_upload(drawing, "drawing").pixels, False
        except images.ImageRejected as error:
            st.error(str(error))
            return None, False
    if source == "upload":
        upload = st.file_uploader("A picture of one digit", type=["png", "jpg", "jpeg"], key="draw_picture",
                                  max_upload_size=images.MAX_UPLOAD_MB)  # fmt: skip
        if upload is None:
            return None, False
        try:
            loaded = images.decode_upload(upload.getvalue(), upload.name)
        except images.ImageRejected as error:
            st.error(str(error))
            return None, False
        st.image(loaded.pixels, caption=upload.name, width=CANVAS_PX)
        return loaded.pixels, False
    if st.button("🎲 Another digit", key="draw_another"):
        st.session_state["draw_mnist_index"] = random.randrange(10_000)
    index = st.session_state.setdefault("draw_mnist_index", random.randrange(10_000))
    try:
        digit = mnist_test_digit(index)
    except MNISTNotFound as error:
        st.error(str(error))
        return None, True
    caption = f"MNIST test digit #{digit.number}, labelled {digit.label}"
    st.image(digit.pixels, caption=caption, width=CANVAS_PX, clamp=True)
    return digit.pixels, True


def read_once(picture, classifier, autoencoder, settings: DrawSettings):
    """read_picture, reused while the picture, the models and the settings stay the same (a layer pick, say)."""
    pixels = np.ascontiguousarray(picture)
    key = (hashlib.blake2b(pixels.tobytes(), digest_size=16).digest(), pixels.shape, id(classifier), id(autoencoder),
           settings)  # fmt: skip
    last = st.session_state.get("draw_last_reading")
    if last is not None and last[0] == key:
        return last[1]
    reading = read_picture(picture, classifier, autoencoder, settings)
    st.session_state["draw_last_reading"] = (key, reading)
    return reading


def remember_click(cell: dict) -> None:
    """The layer grids' click, kept for the rerun it starts (the grid index is resolved there)."""
    st.session_state["draw_cell_click"] = cell


@st.fragment
def show_layers(classifier, reading, layer_grids) -> None:
    """The chosen layers' grids (click a cell) and, for the clicked cell, its receptive fields on the input.

    A fragment: a click reruns only this part (the grids and the cell), with the reading of the last full run.
    """
    shown = [layer for layer, _ in layer_grids]
    choice = cell_choice(st.session_state.pop("draw_cell_click", None), shown, st.session_state.get("draw_cell"))
    st.session_state["draw_cell"] = choice
    picked = None
    if choice is not None:
        grid = next(i for i, layer in enumerate(shown) if layer.path == choice.layer)
        picked = {"grid": grid, "channel": choice.channel, "row": choice.row, "column": choice.col}
    map_grid([grid for _, grid in layer_grids], key="draw_layers_maps", clickable=True, picked=picked,
             on_click=remember_click)  # fmt: skip
    if choice is None:
        st.info("🎯 Click a cell of any map above to see which input pixels it reads (its receptive field).")
        return
    show_cell(classifier, reading, choice)


def show_cell(classifier, reading, choice: CellChoice) -> None:
    view = cell_view(classifier, reading, choice)
    st.subheader("The clicked cell's receptive field")
    if view.field is None:
        st.warning(view.summary)
        return
    with st.container(key="draw_cell_summary"):  # the benchmark's marker (benchmarks/bench_browser.py)
        st.markdown(
            view.summary, help="Araujo, Norris and Sim (Distill 2019): cell y reads [y*S - P, y*S - P + r - 1]."
        )
    map_grid(list(view.grids), key="draw_cell_field", panel_px=196, side_by_side=True)
    st.caption(view.formula)


def adjustments(is_mnist: bool) -> DrawSettings:
    """The invariance sliders (one row) and the naive-resize toggle."""
    st.markdown("**Move and turn the input** and watch the probabilities follow (pooling's translation invariance).")
    row = st.container(horizontal=True, vertical_alignment="center")  # one block (columns would be five)
    move_right = row.slider("Move right (pixels)", -SHIFT_LIMIT, SHIFT_LIMIT, 0, key="draw_right")
    move_down = row.slider("Move down (pixels)", -SHIFT_LIMIT, SHIFT_LIMIT, 0, key="draw_down")
    degrees = row.slider("Turn anticlockwise (degrees)", -ROTATION_LIMIT, ROTATION_LIMIT, 0, step=5, key="draw_degrees")
    naive = False
    if not is_mnist:
        naive = row.toggle(
            "Compare with a naive resize",
            key="draw_naive",
            help="Squeeze the whole picture to 28 x 28 without cropping or centring, and classify that too.",
        )
    return DrawSettings(move_right, move_down, float(degrees), naive, is_mnist)


@st.fragment
def show_digit(source: str, classifier, autoencoder) -> None:
    """Everything that follows the digit: the input, the reading, each layer's maps and the autoencoder's copy.

    A fragment: a pen stroke, a slider or a layer pick reruns only this part, not the page around it (the
    title, the model pickers, the router). With the one-block rows below, a stroke's server CPU went from
    75 to 57 ms (websocket students, one worker). A new model or source reruns the whole page, with the new
    models passed in.
    """
    picture_column, output_column = st.columns([1, 1.7], gap="medium")
    with picture_column:
        picture, is_mnist = pick_picture(source)
    with output_column:
        input_column, answer_column = st.columns([1, 1.35])
    settings = adjustments(is_mnist)
    sweep_area = st.container()  # filled below, once there is a reading

    reading = None
    if picture is not None:
        try:
            reading = read_once(picture, classifier, autoencoder, settings)
        except EmptyDrawing:
            pass
    if reading is None:
        answer_column.info(PROMPT if source == "draw" else "Choose a picture of a digit to start.")
        return

    result = reading.classification
    shown_layers = None
    if result is not None:
        names = [layer.name for layer in result.layers]
        st.header("What each layer sees")
        st.markdown(
            "Every convolution, residual block and pooling layer of the classifier, run on this digit: one "
            "picture per channel (feature map). Early maps still look like the digit (edges, strokes); after "
            "each pooling they get coarser and more abstract, until the last 3 x 3 maps are what the linear "
            "layer reads. Click a cell to see the input pixels it reads. Pick the layers to show:"
        )
        shown_layers = st.pills(
            "Layers",
            names,
            selection_mode="multi",
            default=[name for name in DEFAULT_LAYERS if name in names] or names[:1],
            format_func=lambda name: f"{name} {' x '.join(map(str, result.layers[names.index(name)].shape))}",
            key="draw_layers",
            label_visibility="collapsed",
        )
        layer_area = st.container()
    figures = build_figures(reading, layers=shown_layers or [])
    with input_column:
        map_grid(figures.model_input, key="draw_input", panel_px=196)
        st.caption(
            "Like MNIST: cropped to the ink, scaled to fit 20 x 20 keeping its shape, centred by its centre of mass."
        )
    with answer_column:
        if result is None:
            st.warning("No classifier: pick one in the sidebar to see a prediction.")
        else:
            sure = "sure" if result.confidence >= 0.8 else "fairly sure" if result.confidence >= 0.5 else "unsure"
            st.markdown(
                f"<div style='font-size:1.3rem'>The classifier reads <span data-testid='draw-prediction' "
                f"style='font-size:5rem;font-weight:700;line-height:1'>{result.prediction}</span> "
                f"({result.confidence:.0%}, {sure})</div>",
                unsafe_allow_html=True,
            )
            chart(figures.probabilities, key="draw_probability_chart")

    if result is not None:
        if figures.layers:
            with layer_area:
                show_layers(classifier, reading, figures.layers)

        with sweep_area:
            st.markdown(
                "Max pooling keeps the strongest response in each 2 x 2 window, so a shift of a pixel or two often "
                "changes little; larger shifts and turns change the maps and the answer: a CNN is only somewhat "
                "invariant. The dashed line marks the input shown now."
            )
            chart([figures.shift_sweep, figures.rotation_sweep], key="draw_sweeps")

    st.header("The autoencoder: squeeze it, rebuild it")
    if reading.reconstruction is None:
        st.warning("No autoencoder: pick one in the sidebar to see the reconstruction.")
        return
    r = reading.reconstruction
    c, h, w = r.bottleneck_shape
    with st.container(horizontal=True):  # one block for the row (columns would be four)
        st.metric("Mean squared error", f"{r.mse:.4f}", help="Mean of (reconstruction - input)² over 784 pixels.")
        st.metric("Bottleneck", f"{c} x {h} x {w} = {r.code_size}", help="Numbers the decoder gets to see.")
        st.metric("Compression", f"{r.compression:.1f}x", help=f"784 input pixels / {r.code_size} numbers.")
    map_grid([figures.reconstruction, figures.error, figures.code], key="draw_reconstruction",
             panel_px=[196, 196, 112], side_by_side=True)  # fmt: skip
    st.caption("Error map: red where the reconstruction adds ink, blue where it loses ink, white where it is exact.")


st.title("Draw a digit and watch the network think")
st.sidebar.subheader("Models")
classifier = pick_model("classifier", "Classifier")
autoencoder = pick_model("autoencoder", "Autoencoder")
source = st.segmented_control(
    "Digit", list(SOURCES), format_func=SOURCES.get, default="draw", key="draw_source", label_visibility="collapsed"
)
show_digit(source or "draw", classifier, autoencoder)
