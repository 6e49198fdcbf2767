"""Inside the network: receptive fields you can click, why this answer, what the filters look for, the latent space,
and how a run learned (its replay).

A thin view: widgets -> cnnviz.analysis (receptive / attribution / filters / latent), cnnviz.training.bottleneck
-> cnnviz.views.inside_view -> render.
Slow results (filter pictures, the latent projection) are computed a slice per rerun with a progress bar and
cached on disk per model file, so no rerun blocks for more than about a second.
"""

from __future__ import annotations

import random
from pathlib import Path

import streamlit as st
import torch

from cnnviz.analysis import attribution, filters, latent, receptive
from cnnviz.analysis.features import classify, reconstruct
from cnnviz.data import images
from cnnviz.data.mnist import MNISTNotFound, mnist_test_digit, test_digits
from cnnviz.data.preprocess import EmptyDrawing, to_mnist
from cnnviz.device import one_thread
from cnnviz.training import bottleneck, replay
from cnnviz.views import inside_view
from cnnviz.views.draw_view import NOT_MOVED, field_grids
from cnnviz.views.model_sources import ModelSource, file_stamp, model_sources
from models import PRETRAINED_DIR, CheckpointError
from widgets.browser_id import browser_id
from widgets.map_grid import map_grid
from widgets.replay_player import replay_player
from widgets.resources import model_from_file

SECTIONS = {
    "fields": "🎯 Receptive fields",
    "why": "❓ Why this answer",
    "filters": "🔬 What filters look for",
    "latent": "🌌 Latent space",
    "bottleneck": "🍾 Bottleneck sizes",
    "replay": "🎞️ How it learned",
}
SLICE_SECONDS = 0.7  # work per rerun on a long computation (the page never blocks much longer)
SHIPPED_2D = ModelSource("shipped autoencoder, 2-value code", PRETRAINED_DIR / "autoencoder_2d.pt", "autoencoder")

SHIPPED_NOTE = (
    "MNIST is missing here, so this uses the 200 MNIST test digits shipped with cnnviz, not all 10,000 "
    "(python -m cnnviz.data --download fetches the full set)."
)


def pick_model(kind: str, label: str, extra: tuple[ModelSource, ...] = ()):
    """A sidebar picker (the shipped model first, then ``extra``, then runs); ``(model, path)`` or ``(None, None)``."""
    shipped, *runs = model_sources(kind)
    sources = [shipped, *extra, *runs]
    labels = [source.label for source in sources]
    choice = st.sidebar.selectbox(label, labels, key=f"inside_{kind}")
    path = sources[labels.index(choice)].path
    try:
        return model_from_file(*file_stamp(path), kind), str(path)
    except CheckpointError as error:
        st.sidebar.error(f"The {kind} could not be loaded: {error}")
        return None, None


def pick_digit():
    """The input digit ``(1, 1, 28, 28)`` and its label (None for an upload), or ``(None, None)``."""
    source = st.sidebar.radio("Digit", ["MNIST test digit", "Upload a picture"], key="inside_source")
    if source == "Upload a picture":
        upload = st.sidebar.file_uploader("A picture of one digit", type=["png", "jpg", "jpeg"], key="inside_upload")
        if upload is None:
            return None, None
        try:
            return to_mnist(images.decode_upload(upload.getvalue(), upload.name).pixels), None
        except (images.ImageRejected, EmptyDrawing) as error:
            st.sidebar.error(str(error))
            return None, None
    if st.sidebar.button("🎲 Another digit", key="inside_another"):
        st.session_state["inside_index"] = random.randrange(10_000)
    index = st.sidebar.number_input("Test digit number", 0, 9_999, key="inside_index")
    try:
        digit = mnist_test_digit(int(index))
    except MNISTNotFound as error:
        st.sidebar.error(str(error))
        return None, None
    if not test_digits()[1]:
        st.sidebar.caption(
            f"MNIST is missing: these are the 200 test digits shipped with cnnviz (numbers wrap); this one is "
            f"MNIST test digit #{digit.number}."
        )
    return torch.from_numpy(digit.pixels).float().div(255.0)[None, None], digit.label


def run_job(job, label: str) -> bool:
    """Advance a long computation by one slice; True when done (else a progress bar and a rerun)."""
    if job.result is not None:
        return True
    progress = job.advance(seconds=SLICE_SECONDS)
    if job.result is not None:
        return True
    st.progress(progress, text=f"{label}: {progress:.0%} (once per model file; kept on disk afterwards)")
    st.rerun()
    return False


def selected_point(event) -> dict | None:
    """The last point clicked in a plotly chart, or None."""
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    return points[-1] if points else None


def remember_cell(cell: dict) -> None:
    """The picker's click, kept before the rerun it starts (show_fields checks it against the map's size)."""
    row, column = cell.get("row"), cell.get("column")
    if type(row) is int and type(column) is int:  # not bool, not text: only what map_grid.js sends
        st.session_state["inside_rf_cell"] = (row, column)


def show_fields(classifier, digit: torch.Tensor) -> None:
    layers = filters.filter_layers(classifier)
    layer_column, channel_column = st.columns(2)
    layer = layer_column.selectbox("Layer", layers, index=layers.index("backbone.layers.res2_1"), key="inside_rf_layer")
    reading = classify(classifier, digit)
    maps = next(item.maps for item in reading.layers if item.path == layer)  # (C, h, w)
    channel = channel_column.number_input("Channel", 0, maps.shape[0] - 1, 0, key="inside_rf_channel")
    h, w = maps.shape[1:]
    chosen = st.session_state.get("inside_rf_cell", (h // 2, w // 2))
    if not (0 <= chosen[0] < h and 0 <= chosen[1] < w):  # another layer's cell, or a forged one
        chosen = (h // 2, w // 2)
    with one_thread():
        cell = receptive.cell_field(classifier, layer, int(channel), chosen[0], chosen[1], digit)
    name = layer.rsplit(".", 1)[-1]
    picker_column, text_column = st.columns([1, 1.6])
    with picker_column:
        picker = inside_view.cell_picker(maps[channel], f"{name}, channel {channel}: click a cell")
        map_grid(picker, key="inside_rf_picker", panel_px=224, clickable=True, enlarge=False, on_click=remember_cell,
                 picked={"grid": 0, "channel": 0, "row": chosen[0], "column": chosen[1]})  # fmt: skip
    (top, left), (bottom, right) = cell.box
    field = cell.field
    text_column.markdown(
        f"Cell **(row {cell.row}, column {cell.col})** of channel {cell.channel}: value **{cell.value:.3f}**. "
        f"It reads input rows **{top}-{bottom}**, columns **{left}-{right}**"
        + ("" if cell.moved else f". {NOT_MOVED}"),
        help="Araujo, Norris and Sim (Distill 2019): cell y reads [y*S - P, y*S - P + r - 1] per axis.",
    )
    text_column.caption(
        f"Receptive field r = {field.size[0]} x {field.size[1]} pixels, effective stride S = {field.jump[0]}, "
        f"effective padding P = {field.padding[0]}; unclipped the box is rows {cell.unclipped[0][0]}-"
        f"{cell.unclipped[1][0]}, columns {cell.unclipped[0][1]}-{cell.unclipped[1][1]} (the rest is padding). "
        "The effective field is where, inside the box, this digit's pixels actually move the cell."
    )
    map_grid(list(field_grids(digit[0, 0].numpy(), cell)), key="inside_rf_fields", panel_px=196, side_by_side=True)


def show_why(classifier, digit: torch.Tensor) -> None:
    stages = attribution.convolution_stages(classifier)
    class_column, layer_column = st.columns([2, 1])
    with one_thread():
        top = attribution.explain(classifier, digit)
    options = ["top"] + list(range(10))
    target = class_column.radio(
        "Explain the class", options, horizontal=True, key="inside_why_class",
        format_func=lambda o: f"top ({top.prediction})" if o == "top" else str(o),
    )  # fmt: skip
    layer = layer_column.selectbox("Grad-CAM layer", stages, index=len(stages) - 1, key="inside_why_layer")
    with one_thread():
        explained = attribution.explain(classifier, digit, None if target == "top" else int(target), layer)
    with st.container(key="inside_why_summary"):  # the benchmark's marker (benchmarks/bench_browser.py)
        st.markdown(
            f"The network answers **{top.prediction}** ({top.probabilities[top.prediction]:.1%}); "
            f"explaining **{explained.target}** (probability {explained.probabilities[explained.target]:.1%}, "
            f"logit {explained.logit:.2f})."
        )
    grids = inside_view.attribution_grids(digit[0, 0].numpy(), explained.saliency, explained.gradcam, explained.target)
    map_grid(list(grids), key="inside_why_maps", panel_px=196, side_by_side=True)
    st.caption(
        "Saliency: each pixel's ink times the logit's gradient there (zero where there is no ink). "
        f"Grad-CAM: the channels of {layer.rsplit('.', 1)[-1]} weighted by their mean gradient, upsampled; "
        "red supports the class, blue speaks against it. Pick another class to ask 'why not 7?'."
    )


def show_filters(classifier, path: str) -> None:
    kernels = filters.first_layer_kernels(classifier)
    title = f"The {len(kernels)} learned first-layer kernels (hover for the weights)"
    kernel_titles = [str(i) for i in range(len(kernels))]
    st.plotly_chart(inside_view.digit_row(list(kernels[:, 0]), kernel_titles, title, height=200, signed=True))
    layers = filters.filter_layers(classifier)
    layer = st.selectbox("Layer", layers, index=layers.index("backbone.layers.conv2"), key="inside_filter_layer")
    stamp = file_stamp(path)
    jobs = st.session_state.setdefault("inside_filter_jobs", {})
    key = (stamp, layer)
    if key not in jobs:
        jobs[key] = filters.FilterJob(classifier, path, layer)
    if not run_job(jobs[key], f"Finding what each channel of {layer.rsplit('.', 1)[-1]} looks for"):
        return
    found = jobs[key].result
    scanned = "10,000"
    if jobs[key].shipped_digits:
        st.caption(SHIPPED_NOTE)
        scanned = "200 shipped"
    channel = st.number_input("Channel", 0, found.channels - 1, 0, key="inside_filter_channel")
    st.plotly_chart(
        inside_view.digit_row(
            list(found.crops[channel]),
            [f"#{d}: {v:.2f}" for d, v in zip(found.top_digits[channel], found.top_values[channel])],
            title=f"The 9 test digits that excite channel {channel} most (cut to the receptive field)",
        )
    )
    st.plotly_chart(
        inside_view.maximised_figure(found.maximised[channel], found.centre_box, float(found.maximised_values[channel]))
    )
    st.caption(
        f"Top digits: the strongest cell of this channel over all {scanned} test digits, each crop the receptive "
        "field of that cell. Grown input: gradient ascent on the centre cell from faint noise, with a smoothness "
        "prior (seeded, so the same every time)."
    )


@st.fragment
def show_plane(autoencoder, plane, here: tuple[float, float], stamp) -> None:
    """The plane and the decoder's image of the clicked point; a fragment: a click reruns only this part."""
    plane_column, decoded_column = st.columns([1.6, 1])
    with plane_column:
        event = st.plotly_chart(
            inside_view.latent_plane(plane.points, plane.labels, here, plane.exact, plane.explained),
            on_select="rerun", selection_mode="points", key=f"inside_plane_{stamp}",
        )  # fmt: skip
    point = selected_point(event)
    with decoded_column:
        if point is None:
            st.info("Click anywhere on the plane (a digit or the grey grid) to see the decoder's image of that point.")
            return
        x, y = float(point["x"]), float(point["y"])
        with one_thread():
            decoded = latent.decode_point(autoencoder, plane, x, y)
        picture = inside_view.digit_strip([decoded], [f"decoded at ({x:.2f}, {y:.2f})"], "The decoder's image")
        map_grid(picture, key="inside_decoded_image", panel_px=224)
        with st.container(key="inside_decoded"):  # a benchmark's marker
            st.markdown(f"Decoded point: **({x:.2f}, {y:.2f})**")


def show_latent(autoencoder, path: str, digit: torch.Tensor) -> None:
    jobs = st.session_state.setdefault("inside_latent_jobs", {})
    stamp = file_stamp(path)
    if stamp not in jobs:
        jobs[stamp] = latent.ProjectionJob(autoencoder, path)
    if not run_job(jobs[stamp], "Encoding the test digits"):
        return
    plane = jobs[stamp].result
    if jobs[stamp].shipped_digits:
        st.caption(SHIPPED_NOTE)
    with one_thread():
        copy = reconstruct(autoencoder, digit)
    here = plane.project(copy.code)
    show_plane(autoencoder, plane, (float(here[0]), float(here[1])), stamp)
    count = min(3, plane.mean.size)
    st.markdown("**Move this digit's code along the principal directions** (in standard deviations of the codes)")
    columns = st.columns(count)
    steps = [
        column.slider(f"direction {i + 1}", -3.0, 3.0, 0.0, 0.25, key=f"inside_pc_{i}")
        for i, column in enumerate(columns)
    ]
    with one_thread():
        moved = latent.along_directions(autoencoder, plane, copy.code, steps)
    titles = ["this digit", "its reconstruction", "moved code"]
    moved_strip = inside_view.digit_strip([copy.original, copy.output, moved], titles, "Along the directions")
    map_grid(moved_strip, key="inside_moved", panel_px=150)
    other = st.number_input("Interpolate to test digit number", 0, 9_999, 1, key="inside_interp_to")
    try:
        pixels = mnist_test_digit(int(other)).pixels
    except MNISTNotFound as error:
        st.error(str(error))
        return
    with one_thread():
        strip = latent.interpolate(autoencoder, digit, torch.from_numpy(pixels).float().div(255.0)[None, None], 10)
    weights = [f"{w:.1f}" for w in strip.weights]
    code_strip = inside_view.digit_strip(list(strip.decoded), weights, "In code space: decode the blended code")
    pixel_strip = inside_view.digit_strip(list(strip.pixels), weights, "In pixel space: blend the pixels")
    map_grid([code_strip, pixel_strip], key="inside_interpolation", panel_px=84)


def show_bottleneck() -> None:
    entries = bottleneck.latest_comparison(owner=browser_id("train_owner"))  # the Train page's id: yours first
    if not entries:
        st.info(
            "No bottleneck comparison has finished yet. Start one on the **Train** page (*Bottleneck comparison: "
            "several autoencoders in one go*), or from a terminal: "
            "`python -m cnnviz.training.bottleneck` (2, 4, 8, 16, 36 "
            "and 64 values, 2 epochs each; `--queue` hands them to the background queue)."
        )
        return
    mine = entries[0].run.owner == browser_id("train_owner")
    st.caption("Your newest comparison." if mine else "The newest comparison on this server (you have none yet).")
    st.plotly_chart(inside_view.bottleneck_chart([e.code_size for e in entries], [e.test_mse for e in entries]))
    shown = 8
    st.plotly_chart(
        inside_view.digit_row(list(entries[0].images[:shown]), [f"test #{i}" for i in range(shown)], "The test digits")
    )
    for entry in entries:
        st.plotly_chart(
            inside_view.digit_row(
                list(entry.reconstructions[:shown]),
                [""] * shown,
                f"{entry.code_size} values (test MSE {entry.test_mse:.4f})",
                height=200,
            )
        )


def show_replay(path: str) -> None:
    """The replay of the run the classifier picker shows; a line saying why there is none otherwise."""
    frames = replay.replay_of_checkpoint(path)
    if frames:
        st.markdown(
            "How this run's first layer learned: its kernels, and their maps and the prediction of one fixed "
            "validation digit, at moments through training (drag the slider, or press play)."
        )
        replay_player(frames, key="inside_replay")
    elif Path(path).name == replay.CHECKPOINT_NAME:
        st.info("This run has no replay: it was trained before cnnviz kept one. A new run on the Train page has one.")
    else:
        st.info(
            "The shipped classifier comes without a replay (it was trained before cnnviz kept them). Pick a run "
            "in the sidebar's Classifier list, or train one on the Train page, to watch its filters form."
        )


st.title("Inside the network")
st.sidebar.subheader("Models")
classifier, classifier_path = pick_model("classifier", "Classifier")
autoencoder, autoencoder_path = pick_model("autoencoder", "Autoencoder", (SHIPPED_2D,))
digit, label = pick_digit()
section = st.segmented_control(
    "Section", list(SECTIONS), format_func=SECTIONS.get, default="fields", key="inside_section",
    label_visibility="collapsed",
)  # fmt: skip
section = section or "fields"
if digit is None and section not in ("filters", "bottleneck", "replay"):
    st.info("Pick an MNIST test digit or upload a picture of one digit in the sidebar.")
elif section == "fields" and classifier is not None:
    show_fields(classifier, digit)
elif section == "why" and classifier is not None:
    show_why(classifier, digit)
elif section == "filters" and classifier is not None:
    show_filters(classifier, classifier_path)
elif section == "latent" and autoencoder is not None:
    show_latent(autoencoder, autoencoder_path, digit)
elif section == "bottleneck":
    show_bottleneck()
elif section == "replay" and classifier_path is not None:
    show_replay(classifier_path)
else:
    st.info("Pick a model in the sidebar.")
