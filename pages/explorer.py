"""Layer explorer: change one number, see at once what the layer does to a tensor.

A thin view: widgets -> ExplorerSettings -> cnnviz.views.explorer_view.build_view -> render.
Every setting is mirrored in the URL, so a link reproduces the view.
"""

from __future__ import annotations

import math
from dataclasses import replace
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import streamlit as st

from cnnviz.data import images
from cnnviz.explorer import kernels, layer1d, layer2d
from cnnviz.explorer.layer2d import EXPLORER_LAYERS, ExplorerSettings, Setting
from cnnviz.layers import format_bytes, show_shape
from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.layers.registry import KINDS
from cnnviz.page_list import page_path
from cnnviz.views.explorer_view import analysis, build_view
from widgets.map_grid import map_grid
from widgets.sliding_window import sliding_window

# One sentence per control, in the lab's words: what it does to the output.
HELP = {
    **{setting.field: setting.help for setting in layer2d.SETTINGS},
    "square": "Use one number for height and width (kernel, stride, padding, ...), or set them separately.",
    "padding_mode": "Zeros added around the input: a number, 'same' (keep the size, stride 1 only) or 'valid' (none).",
    "source": "Where the input image comes from; it sets the channels (grayscale 1, colour 3) and is resized.",
    "upload": "Your own picture becomes the input: grayscale gives 1 channel, colour 3; it is resized to H x W.",
    "camera": "A photo from your camera becomes the input (3 channels), resized to H x W.",
}

SOURCES = ("sample", "upload", "camera")
SEQUENCE_LAYERS = layer1d.SEQUENCE_LAYERS  # offered here, shown by the 1-D explorer
CHANNEL_LIMIT = layer2d.MAX_CHANNELS
VIEW = "explorer_view"  # the view fragment's key (st.rerun(VIEW) reruns it alone)
KEEP_DECODED_BYTES = 4 * 2**20  # an upload's decoded pixels are kept in its session up to this size
KEY = {setting.field: setting.widget_key for setting in layer2d.SETTINGS}  # session-state key of each setting
# The page's own session-state keys (the settings' keys come from their declaration, KEY).
SQUARE, SOURCE, UPLOAD, CAMERA = "ex_square", "ex_source", "ex_upload", "ex_camera"
DECODED = "ex_decoded"  # (file id, decoded upload or its refusal)
OPEN_1D, LAYER_2D = "ex_open_1d", "ex_layer_2d"  # a 1-D layer chosen here: open it there; the 2-D layer kept
ANIMATION, MAPS_CHART = "ex_animation", "ex_maps_chart"


def _sequence_layer() -> None:
    """A 1-D layer opens the 1-D explorer (sequences need other inputs and controls); this page keeps its layer."""
    chosen = st.session_state[KEY["layer"]]
    if chosen in SEQUENCE_LAYERS:
        st.session_state[OPEN_1D] = chosen
        st.session_state[KEY["layer"]] = st.session_state.get(LAYER_2D, EXPLORER_LAYERS[0])
    else:
        st.session_state[LAYER_2D] = chosen


def _seed_widgets(settings: ExplorerSettings) -> None:
    """Give every widget its starting value from the URL (only for widgets not yet in the session)."""
    square = settings.height == settings.width and all(
        isinstance(value, str) or len(set(value)) == 1
        for value in (getattr(settings, s.field) for s in layer2d.SETTINGS if s.widget in ("pair", "padding"))
    )
    for key, value in {**layer2d.widget_values(settings), SQUARE: square, SOURCE: "sample"}.items():
        st.session_state.setdefault(key, value)


def _settle_state(sample_names: list[str], image: images.LoadedImage | None) -> ExplorerSettings:
    """Bring the session state to what the widgets will show, before any widget is drawn; return its settings.

    The widgets only display this state (each returns its key's value), so the view can be drawn from the
    state alone: before the sidebar on a full run (the shape is the first thing sent), and by itself when a
    control reruns only the view. Writes only what differs, so a second call in a run (after the widgets)
    changes nothing.
    """
    state = st.session_state
    if state.get(KEY["sample"]) not in sample_names:
        state[KEY["sample"]] = sample_names[0]
    if state.get(SQUARE):  # one number for all: a later switch to rectangular starts from it
        for key in ("ex", *(s.widget_key for s in layer2d.SETTINGS if s.widget in ("pair", "padding"))):
            if f"{key}_h" in state and state.get(f"{key}_w") != state[f"{key}_h"]:  # "ex": height and width
                state[f"{key}_w"] = state[f"{key}_h"]
            for side in ("_r", "_t", "_b"):  # four sides follow the left one
                if f"{key}_l" in state and state.get(f"{key}{side}") != state[f"{key}_l"]:
                    state[f"{key}{side}"] = state[f"{key}_l"]
    if image is not None and state.get(KEY["in_channels"]) != image.channels:
        state[KEY["in_channels"]] = image.channels  # the image decides the channels
    if _layer_has(state.get(KEY["layer"]), "groups") and KEY["in_channels"] in state and KEY["out_channels"] in state:
        _keep_groups_valid(int(state[KEY["in_channels"]]), int(state[KEY["out_channels"]]))
    return layer2d.clamp(layer2d.settings_from_widgets(state))[0]


def _chosen_image() -> images.LoadedImage | images.ImageRejected | None:
    """The picture the image controls hold (None: maps off, or no upload or photo yet), or why it was refused.

    An upload or a photo is decoded once (kept in this session's state by file id), not on every rerun,
    unless its pixels take more than ``KEEP_DECODED_BYTES``: a class of 40-megapixel photos would hold
    gigabytes; those are decoded again on each rerun.
    """
    state = st.session_state
    if not state.get(KEY["maps"]):
        return None
    source = state.get(SOURCE, "sample")
    if source == "sample":
        return images.load_sample(state[KEY["sample"]])
    picture = state.get(UPLOAD if source == "upload" else CAMERA)
    if picture is None:
        return None
    decoded = state.get(DECODED)
    if decoded is None or decoded[0] != picture.file_id:
        name = picture.name if source == "upload" else "camera picture"
        try:
            decoded = (picture.file_id, images.decode_upload(picture.getvalue(), name))
        except images.ImageRejected as error:
            decoded = (picture.file_id, error)
        kept = not isinstance(decoded[1], images.LoadedImage) or decoded[1].pixels.nbytes <= KEEP_DECODED_BYTES
        state[DECODED] = decoded if kept else None
    return decoded[1]


def _loaded(chosen) -> images.LoadedImage | None:
    return chosen if isinstance(chosen, images.LoadedImage) else None


def _rerun_view() -> None:
    """A control whose change shows only in the view: rerun the view alone, not the ~20 controls around it.

    The page still reruns whole while the kernel grid is edited (the grid's values come from the sidebar).
    A click cost 36 ms of server CPU with the whole page and 23 ms with the view alone (the 2-core machine,
    websocket students, one worker; issue 8).
    """
    if not _editing_kernel():
        st.rerun(VIEW)


def _layer_has(layer: object, field: str) -> bool:
    """Whether the explored layer has this setting (its control shows)."""
    return layer in layer2d.SETTING_BY_FIELD[field].layers


def _editing_kernel() -> bool:
    state = st.session_state
    return (
        bool(state.get(KEY["maps"]))
        and _layer_has(state.get(KEY["layer"]), "kernel_mode")
        and state.get(KEY["kernel_mode"]) == "edit"
    )


def _keep_groups_valid(c: int, out: int) -> list[int]:
    """The groups offered for ``c`` in and ``out`` out channels; a kept value that divides not both becomes 1."""
    options = _divisors_of_both(c, out)
    if st.session_state.get(KEY["groups"]) not in options:
        st.session_state[KEY["groups"]] = 1
    return options


def _shape(report) -> None:
    st.markdown(
        f"<div class='cnnviz-shape'>{show_shape(report.input_shape)} &rarr; "
        f"<b>{show_shape(report.output_shape)}</b></div>"
        "<div class='cnnviz-caption'>input &rarr; output shape (N, C, H, W)</div>",
        unsafe_allow_html=True,
    )


def _early_shape(settings: ExplorerSettings | None):
    """The output shape of ``settings`` in a slot at the top of the view; returns (slot, the analysis: a report,
    why the layer cannot work, or None without settings).

    Sent before the view is computed: the browser paints it while the animation and the maps follow.
    """
    slot = st.empty()
    if settings is None:
        return slot, None
    analysed = analysis(settings)
    if not isinstance(analysed, InvalidLayerConfig):  # an error is explained below, with its fix
        with slot.container():
            _shape(analysed)
    return slot, analysed


def _pair(label: str, key: str, low: int, high: int, square: bool, help_text: str) -> None:
    """One number (square) or a height/width pair of number inputs; a change reruns only the view."""
    if square:
        st.number_input(label, low, high, key=f"{key}_h", help=help_text, on_change=_rerun_view)
        return
    left, right = st.columns(2)
    left.number_input(f"{label} (h)", low, high, key=f"{key}_h", help=help_text, on_change=_rerun_view)
    right.number_input(f"{label} (w)", low, high, key=f"{key}_w", help=help_text, on_change=_rerun_view)


def _sides(label: str, key: str, low: int, high: int, square: bool, help_text: str) -> None:
    """One number (square) or the four sides (left, right, top, bottom); a change reruns only the view."""
    if square:
        st.number_input(label, low, high, key=f"{key}_l", help=help_text, on_change=_rerun_view)
        return
    sides = (("_l", "left"), ("_r", "right"), ("_t", "top"), ("_b", "bottom"))
    for column, (side, name) in zip([*st.columns(2), *st.columns(2)], sides):  # two rows: they fit the sidebar
        column.number_input(f"{label} ({name})", low, high, key=f"{key}{side}", help=help_text, on_change=_rerun_view)


# The layer's settings whose change alters what the sidebar offers (the groups follow the channels): a full rerun.
_PAGE_RERUNS = ("out_channels",)


def _layer_control(setting: Setting, layer: str, square: bool) -> None:
    """The widget of one of the layer's own settings, drawn as its declaration says."""
    state = st.session_state
    low, high = layer2d.setting_range(setting, layer)
    rerun = {} if setting.field in _PAGE_RERUNS else {"on_change": _rerun_view}
    help_text = HELP[setting.field]
    if setting.widget == "number":
        st.number_input(setting.label, int(low), int(high), key=setting.widget_key, help=help_text, **rerun)
    elif setting.widget == "divisor":
        options = _keep_groups_valid(int(state[KEY["in_channels"]]), int(state[KEY["out_channels"]]))
        st.selectbox(setting.label, options, key=setting.widget_key, help=help_text, **rerun)
    elif setting.widget == "pair":
        _pair(setting.label, setting.widget_key, int(low), int(high), square, help_text)
    elif setting.widget == "padding":
        takes = layer2d.padding_takes(layer)
        if takes == "sides":
            _sides(setting.label, setting.widget_key, int(low), int(high), square, help_text)
            return
        pad_mode = "number"
        if takes == "words":
            pad_mode = st.radio(setting.label, ("number", "same", "valid"), key=setting.mode_key, horizontal=True,
                                help=HELP["padding_mode"])  # fmt: skip
        if pad_mode == "number":
            _pair(setting.label, setting.widget_key, int(low), int(high), square, help_text)
    elif setting.widget == "float":
        st.number_input(setting.label, float(low), float(high), step=0.5, key=setting.widget_key, help=help_text,
                        **rerun)  # fmt: skip
    elif setting.widget == "select":
        st.selectbox(setting.label, setting.choices, key=setting.widget_key, help=help_text, **rerun)
    elif setting.widget == "toggle":
        st.checkbox(setting.label, key=setting.widget_key, help=help_text, **rerun)


def _divisors_of_both(a: int, b: int) -> list[int]:
    g = math.gcd(a, b)
    return [d for d in range(1, g + 1) if g % d == 0]


def _image_controls(sample_names: list[str], chosen) -> None:
    """The image source widgets, and what became of the chosen picture (refused, or converted)."""
    source = st.radio("Image", SOURCES, key=SOURCE, horizontal=True, help=HELP["source"])
    if source == "sample":
        st.selectbox("Sample", sample_names, key=KEY["sample"], help=HELP["sample"])
        return
    if source == "upload":
        st.file_uploader("PNG or JPEG", type=["png", "jpg", "jpeg"], key=UPLOAD, help=HELP["upload"],
                         max_upload_size=images.MAX_UPLOAD_MB)  # fmt: skip
        st.caption("Uploads stay in this browser tab; a copied link cannot carry them.")
    else:
        st.camera_input("Take a picture", key=CAMERA, help=HELP["camera"])
        st.caption(
            "Browsers allow the camera only on localhost or over HTTPS; elsewhere, upload a photo instead. "
            "A copied link cannot carry the picture."
        )
    if isinstance(chosen, images.ImageRejected):
        st.error(str(chosen))
    elif chosen is not None:
        for note in chosen.notes:
            st.info(f"{chosen.name}: {note}")


def _controls(sample_names: list[str], chosen) -> np.ndarray | None:
    """All widgets (in the sidebar); returns the edited kernel (kernel mode "edit"), else None.

    The widgets show the session state that :func:`_settle_state` settled. Those whose change shows only
    in the view rerun only the view (``on_change=_rerun_view``); the others change what the sidebar offers
    and rerun the page.
    """
    state = st.session_state
    image = _loaded(chosen)
    view_only = {"on_change": _rerun_view}
    with st.sidebar:
        layer = st.selectbox("Layer", EXPLORER_LAYERS + SEQUENCE_LAYERS, key=KEY["layer"], on_change=_sequence_layer,
                             format_func=lambda name: f"{name} (sequences)" if name in SEQUENCE_LAYERS else name,
                             help=HELP["layer"] + " The …1d layers slide along a sequence.")  # fmt: skip
        square = st.toggle("Square (one number for height and width)", key=SQUARE, help=HELP["square"])
        st.subheader("Input")
        maps_on = st.toggle("Feature maps on an image", key=KEY["maps"], help=HELP["maps"])
        if maps_on:
            _image_controls(sample_names, chosen)
        st.number_input("in_channels (C)", 1, CHANNEL_LIMIT, key=KEY["in_channels"], help=HELP["in_channels"],
                        disabled=image is not None)  # fmt: skip
        if image is not None:
            st.caption(f"{'Grayscale' if image.channels == 1 else 'Colour'} image: {image.channels} channel(s).")
        if square:
            st.number_input("height = width", 1, layer2d.MAX_INPUT, key=KEY["height"], help=HELP["height"], **view_only)
        else:
            left, right = st.columns(2)
            left.number_input("height (H)", 1, layer2d.MAX_INPUT, key=KEY["height"], help=HELP["height"], **view_only)
            right.number_input("width (W)", 1, layer2d.MAX_INPUT, key=KEY["width"], help=HELP["width"], **view_only)
        st.number_input("batch (N)", 1, layer2d.MAX_BATCH, key=KEY["batch"], help=HELP["batch"], **view_only)

        st.subheader(layer)
        st.caption(KINDS[layer].summary)
        for setting in layer2d.SETTINGS:
            if setting.spec_field and layer in setting.layers:
                _layer_control(setting, layer, square)

        grid = None
        if maps_on:
            st.subheader("Feature maps")
            if _layer_has(layer, "kernel_mode"):
                mode = st.selectbox("Kernel", layer2d.KERNEL_MODES, key=KEY["kernel_mode"], help=HELP["kernel_mode"])
                if mode == "preset":
                    preset = st.selectbox("Preset", kernels.PRESETS, key=KEY["preset"], help=HELP["preset"])
                    st.caption(kernels.DESCRIPTIONS[preset])
                elif mode == "random":
                    st.number_input("seed", 0, 2**31 - 1, key=KEY["seed"], help=HELP["seed"], **view_only)
                elif mode == "edit":
                    kernel = (int(state[KEY["kernel"] + "_h"]), int(state[KEY["kernel"] + "_w"]))
                    grid = _kernel_editor(kernel)
            st.checkbox("ReLU after the layer", key=KEY["relu"], help=HELP["relu"], **view_only)
            st.checkbox("2 x 2 max pooling after that", key=KEY["pool"], help=HELP["pool"], **view_only)
    return grid


def _kernel_editor(size: tuple[int, int]) -> np.ndarray | None:
    kh, kw = size
    if kh * kw > 15 * 15:
        st.warning("The grid editor is offered for kernels up to 15 x 15.")
        return None
    start = kernels.preset_kernel(kernels.SOBEL_X, size) if min(size) >= 3 else np.ones(size, np.float32)
    frame = pd.DataFrame(start, columns=[str(j) for j in range(kw)])
    edited = st.data_editor(frame, key=f"ex_grid_{kh}x{kw}", hide_index=False, num_rows="fixed")
    try:
        return kernels.parse_kernel_grid(edited.to_numpy(dtype=object).tolist(), size)
    except kernels.KernelError as error:
        st.error(str(error))
        return None


def _render(view, present: bool, shape_slot, shown=None) -> None:
    settings, report = view.settings, view.report
    if report is None:
        shape_slot.empty()
        error = view.error
        st.error(f"**This {settings.layer} cannot work.** {error.constraint}")
        if error.fix:
            st.info(f"**Fix:** {error.fix}")
        st.caption(f"Input {show_shape(settings.input_shape)}.")
        return
    n, c, h, w = report.output_shape
    if shown != report:  # not sent first (an upload, present mode), or the widgets settled it otherwise
        with shape_slot.container():
            _shape(report)
    st.code(report.pytorch, language="python")
    st.markdown("**The formula**, per dimension, with the numbers filled in:")
    channels = "" if report.channel_formula is None else f"\n{report.channel_formula}"
    st.code(f"out = {report.general_formula}\n{report.formulas[0]}\n{report.formulas[1]}{channels}", language=None)
    left, right = st.columns(2)
    with left:
        for note in report.notes:
            st.caption(note)
        if report.leftover is not None:
            rows, cols = report.leftover
            if rows or cols:
                st.warning(
                    f"The floor in the formula leaves **{rows} row(s) and {cols} column(s)** of the padded input "
                    "unread at the bottom and right (orange in the animation)."
                )
            else:
                st.caption("Every row and column of the padded input is read: nothing is left over.")
    with right:  # one markdown for three lines: every element costs the server ~0.3 ms per rerun
        p = report.parameters
        if report.weight_shape is not None:
            shape = " × ".join(str(s) for s in report.weight_shape)
            parameters = f"**Parameters: {p.total:,}** = {p.weights:,} weights ({shape}) + {p.biases:,} biases" + (
                " (one per output channel)" if p.biases else ""
            )
        else:
            parameters = "**Parameters: 0**: this layer has nothing to learn."
        if report.receptive_field is not None:
            rh, rw = report.receptive_field
            field = f"**Receptive field:** each output pixel sees {rh} x {rw} input pixels."
        else:
            field = (
                "**Receptive field:** n/a: this layer makes the image larger; each input pixel spreads over "
                "several output pixels instead."
            )
        memory = format_bytes(n * c * h * w * 4)
        size = f"**Output size:** {n * c * h * w:,} numbers ({memory} as float32)."
        st.markdown(f"{parameters}\n\n{field}\n\n{size}")
    st.subheader("The window, step by step")
    if view.animation is None:  # the layer slides no window: the line says why
        st.info(view.animation_caption)
    else:
        st.caption(view.animation_caption)
        sliding_window(view.animation, key=ANIMATION)
    if settings.maps:
        st.subheader("Feature maps")
        if view.maps is not None:
            st.caption(view.maps_message)
            left, right = st.columns([1, 2])
            if (preview := view.input_preview) is not None:
                left.image(preview.png, caption=f"The input as the layer receives it: {preview.height} x "
                           f"{preview.width}", width=min(256, max(112, preview.width)))  # fmt: skip
            if view.kernel is not None and view.kernel.size <= 49 and not present:
                right.caption("Kernel on every channel (rows x columns):")
                right.dataframe(pd.DataFrame(view.kernel).round(3), hide_index=False)
            map_grid(view.maps, key=MAPS_CHART, panel_px=160 if present else 128)
        elif view.maps_message:
            st.info(view.maps_message)
        else:
            st.info("Choose an image in the sidebar to see the feature maps.")


STYLE = """
<style>
.cnnviz-shape {font-size: 1.8rem; font-family: monospace;}
.cnnviz-caption {color: #555; margin-bottom: 0.6rem;}
</style>
"""
PRESENT_STYLE = """
<style>
html, body, [data-testid="stMarkdownContainer"] p, code {font-size: 1.35rem !important;}
.cnnviz-shape {font-size: 3rem !important;}
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] {display: none;}
</style>
"""


@st.fragment(key=VIEW)
def show_view(grid: np.ndarray | None) -> images.LoadedImage | images.ImageRejected | None:
    """The shape, the code, the formula, the animation and the maps of the layer the controls hold.

    A fragment: a control that changes only the layer's numbers reruns this alone (see :func:`_rerun_view`),
    so everything here is read from the session state; ``grid`` is the edited kernel, if one. Returns the
    chosen picture (:func:`_chosen_image`), so that a full run's controls do not decode an upload again.
    """
    _seed_widgets(layer2d.from_query(st.query_params.to_dict())[0])  # Streamlit forgets hidden widgets' values
    chosen = _chosen_image()
    image = _loaded(chosen)
    settings = _settle_state(images.sample_names(), image)
    shape_slot, analysed = _early_shape(settings)
    query = layer2d.to_query(settings)
    if query != st.query_params.to_dict():
        st.query_params.from_dict(query)
    _render(build_view(settings, image, grid, analysed), False, shape_slot, analysed)
    return chosen


st.markdown(STYLE, unsafe_allow_html=True)
if st.query_params.get("layer") in SEQUENCE_LAYERS:  # a link to a 1-D layer: the 1-D explorer reads it
    st.switch_page(page_path("explorer1d"), query_params=st.query_params.to_dict())
if OPEN_1D in st.session_state:
    st.switch_page(page_path("explorer1d"), query_params={"layer": st.session_state.pop(OPEN_1D)})
url_settings, url_problems = layer2d.from_query(st.query_params.to_dict())
if url_settings.present:
    st.markdown(PRESENT_STYLE, unsafe_allow_html=True)
    for problem in url_problems:
        st.warning(problem)
    settings = url_settings
    image = images.load_sample(settings.sample) if settings.maps and settings.sample in images.sample_names() else None
    if image is not None:
        settings = replace(settings, in_channels=image.channels)
    st.title(f"{settings.layer}")
    shape_slot, _ = _early_shape(None)
    _render(build_view(settings, image), True, shape_slot)
    controls = urlencode(layer2d.to_query(replace(url_settings, present=False)))
    st.markdown(f"[Show the controls](?{controls})")
else:
    st.title("Layer explorer")
    st.caption("Change one number and see what the layer does to a tensor. Every setting is in the URL: copy it "
               "to share exactly this view (add `present=1` to hide the controls for projection).")  # fmt: skip
    _seed_widgets(url_settings)
    for problem in url_problems:
        st.warning(problem)
    sample_names = images.sample_names()
    if _editing_kernel():  # the grid's values are known once its editor is drawn: the controls go first
        chosen = _chosen_image()  # (the view reads it again: an upload over KEEP_DECODED_BYTES is decoded twice)
        _settle_state(sample_names, _loaded(chosen))
        show_view(_controls(sample_names, chosen))
    else:  # the view first: the browser paints the shape while the controls are on their way
        _controls(sample_names, show_view(None))
