"""Layer explorer: change one number, see at once what the layer does to a tensor.

A thin view: widgets -> ExplorerSettings -> cnnviz.explorer_view.build_view -> render.
Every setting is mirrored in the URL, so a link reproduces the view.
"""

from __future__ import annotations

import math
from dataclasses import replace
from urllib.parse import urlencode

import numpy as np
import pandas as pd
import streamlit as st

from cnnviz import explorer, images, kernels
from cnnviz.explorer import AVG_POOL, CONV, CONV_T, EXPLORER_LAYERS, MAX_POOL, UPSAMPLE, ExplorerSettings
from cnnviz.explorer_view import build_view
from cnnviz.layers import UPSAMPLE_MODES, format_bytes, show_shape
from widgets.map_grid import map_grid
from widgets.sliding_window import sliding_window

# One sentence per control, in the lab's words: what it does to the output.
HELP = {
    "layer": "Conv2d slides learned kernels over the input; pooling summarises each window; ConvTranspose2d and "
    "Upsample make the image larger.",
    "square": "Use one number for height and width (kernel, stride, padding, ...), or set them separately.",
    "batch": "Images processed together: only the first number of the shape changes.",
    "in_channels": "Numbers per input pixel (1 for grayscale, 3 for RGB); a kernel sums over all of them.",
    "height": "Rows of the input image; the output height follows from it through the formula.",
    "width": "Columns of the input image; the output width follows from it through the formula.",
    "out_channels": "One kernel per output channel: more kernels, more feature maps, more weights.",
    "groups": "Split the channels into groups that do not see each other; fewer weights per kernel.",
    "kernel": "Size of the window one output pixel looks at.",
    "stride": "Step size of the window: stride 2 roughly halves the output.",
    "padding_mode": "Zeros added around the input: a number, 'same' (keep the size, stride 1 only) or 'valid' (none).",
    "padding": "Rows and columns of zeros added on each side: more padding, larger output.",
    "dilation": "Gaps between the kernel's taps: a wider view with the same number of weights.",
    "ceil_mode": "Round the output size up instead of down, so a last partial window still counts.",
    "output_padding": "Extra rows/columns on one side of a transposed convolution's output, to hit an exact size.",
    "bias": "One learnable number added to each output channel.",
    "scale_factor": "How many times larger the output is: output = floor(input x scale).",
    "mode": "nearest copies the closest input pixel; bilinear blends the four around it.",
    "maps": "Run the layer on a real image and show every output channel as a picture.",
    "source": "Where the input image comes from; it sets the channels (grayscale 1, colour 3) and is resized.",
    "sample": "Images shipped with cnnviz: MNIST digits and a colour scene.",
    "upload": "Your own picture becomes the input: grayscale gives 1 channel, colour 3; it is resized to H x W.",
    "camera": "A photo from your camera becomes the input (3 channels), resized to H x W.",
    "kernel_mode": "Which weights the convolution uses: a classic kernel, one per channel, PyTorch's random "
    "initialisation, or numbers you type.",
    "preset": "Classic image-processing kernels: blur, sharpen, edge detectors.",
    "seed": "The random initialisation is reproducible: the same seed gives the same weights.",
    "relu": "Set negative values to zero after the layer, as a CNN does.",
    "pool": "Halve height and width after the layer with 2 x 2 max pooling.",
}

SOURCES = ("sample", "upload", "camera")
CHANNEL_LIMIT = explorer.MAX_CHANNELS


def _seed_widgets(settings: ExplorerSettings) -> None:
    """Give every widget its starting value from the URL (only for widgets not yet in the session)."""
    square = settings.height == settings.width and all(
        isinstance(v, str) or v[0] == v[1]
        for v in (settings.kernel, settings.stride, settings.padding, settings.dilation, settings.output_padding)
    )
    pad_mode = settings.padding if isinstance(settings.padding, str) else "number"
    padding = (0, 0) if isinstance(settings.padding, str) else settings.padding
    values = {
        "ex_layer": settings.layer, "ex_square": square, "ex_batch": settings.batch, "ex_c": settings.in_channels,
        "ex_h": settings.height, "ex_w": settings.width, "ex_out": settings.out_channels, "ex_groups": settings.groups,
        "ex_k_h": settings.kernel[0], "ex_k_w": settings.kernel[1], "ex_s_h": settings.stride[0],
        "ex_s_w": settings.stride[1], "ex_pad_mode": pad_mode, "ex_p_h": padding[0], "ex_p_w": padding[1],
        "ex_d_h": settings.dilation[0], "ex_d_w": settings.dilation[1], "ex_ceil": settings.ceil_mode,
        "ex_op_h": settings.output_padding[0], "ex_op_w": settings.output_padding[1], "ex_bias": settings.bias,
        "ex_scale": settings.scale_factor, "ex_mode": settings.mode, "ex_maps": settings.maps,
        "ex_sample": settings.sample, "ex_kernel_mode": settings.kernel_mode, "ex_preset": settings.preset,
        "ex_seed": settings.seed, "ex_relu": settings.relu, "ex_pool": settings.pool,
    }  # fmt: skip
    for key, value in values.items():
        st.session_state.setdefault(key, value)
    st.session_state.setdefault("ex_source", "sample")


def _pair(label: str, key: str, low: int, high: int, square: bool, help_text: str) -> tuple[int, int]:
    """One number (square) or a height/width pair of number inputs."""
    if square:
        value = st.number_input(label, low, high, key=f"{key}_h", help=help_text)
        st.session_state[f"{key}_w"] = value  # a later switch to rectangular starts from the square value
        return (int(value), int(value))
    left, right = st.columns(2)
    h = left.number_input(f"{label} (h)", low, high, key=f"{key}_h", help=help_text)
    w = right.number_input(f"{label} (w)", low, high, key=f"{key}_w", help=help_text)
    return (int(h), int(w))


def _divisors_of_both(a: int, b: int) -> list[int]:
    g = math.gcd(a, b)
    return [d for d in range(1, g + 1) if g % d == 0]


def _image_controls(sample_names: list[str]) -> images.LoadedImage | None:
    """The image source widgets; returns the decoded image, or None (with a message shown)."""
    source = st.radio("Image", SOURCES, key="ex_source", horizontal=True, help=HELP["source"])
    if source == "sample":
        if st.session_state.get("ex_sample") not in sample_names:
            st.session_state["ex_sample"] = sample_names[0]
        name = st.selectbox("Sample", sample_names, key="ex_sample", help=HELP["sample"])
        return images.load_sample(name)
    if source == "upload":
        upload = st.file_uploader("PNG or JPEG", type=["png", "jpg", "jpeg"], key="ex_upload", help=HELP["upload"])
        st.caption("Uploads stay in this browser tab; a copied link cannot carry them.")
        if upload is None:
            return None
        return _decode(upload.getvalue(), upload.name)
    shot = st.camera_input("Take a picture", key="ex_camera", help=HELP["camera"])
    st.caption(
        "Browsers allow the camera only on localhost or over HTTPS; elsewhere, upload a photo instead. "
        "A copied link cannot carry the picture."
    )
    return None if shot is None else _decode(shot.getvalue(), "camera picture")


def _decode(data: bytes, name: str) -> images.LoadedImage | None:
    try:
        loaded = images.decode_upload(data, name)
    except images.ImageRejected as error:
        st.error(str(error))
        return None
    for note in loaded.notes:
        st.info(f"{name}: {note}")
    return loaded


def _controls(sample_names: list[str]) -> tuple[ExplorerSettings, images.LoadedImage | None, np.ndarray | None]:
    """All widgets (in the sidebar); returns the settings, the image and the edited kernel."""
    sb = st.sidebar
    with sb:
        layer = st.selectbox("Layer", EXPLORER_LAYERS, key="ex_layer", help=HELP["layer"])
        square = st.toggle("Square (one number for height and width)", key="ex_square", help=HELP["square"])
        st.subheader("Input")
        maps_on = st.toggle("Feature maps on an image", key="ex_maps", help=HELP["maps"])
        image = _image_controls(sample_names) if maps_on else None
        if image is not None:
            st.session_state["ex_c"] = image.channels  # the image decides the channels
        c = st.number_input("in_channels (C)", 1, CHANNEL_LIMIT, key="ex_c", help=HELP["in_channels"],
                            disabled=image is not None)  # fmt: skip
        if image is not None:
            st.caption(f"{'Grayscale' if image.channels == 1 else 'Colour'} image: {image.channels} channel(s).")
        if square:
            size = st.number_input("height = width", 1, explorer.MAX_INPUT, key="ex_h", help=HELP["height"])
            st.session_state["ex_w"] = size
            h = w = int(size)
        else:
            left, right = st.columns(2)
            h = int(left.number_input("height (H)", 1, explorer.MAX_INPUT, key="ex_h", help=HELP["height"]))
            w = int(right.number_input("width (W)", 1, explorer.MAX_INPUT, key="ex_w", help=HELP["width"]))
        batch = st.number_input("batch (N)", 1, explorer.MAX_BATCH, key="ex_batch", help=HELP["batch"])

        st.subheader(layer)
        values: dict[str, object] = {}
        if layer in (CONV, CONV_T):
            out = st.number_input("out_channels", 1, CHANNEL_LIMIT, key="ex_out", help=HELP["out_channels"])
            options = _divisors_of_both(int(c), int(out))
            if st.session_state.get("ex_groups") not in options:
                st.session_state["ex_groups"] = 1
            values["out_channels"] = int(out)
            values["groups"] = st.selectbox("groups", options, key="ex_groups", help=HELP["groups"])
        if layer != UPSAMPLE:
            values["kernel"] = _pair("kernel_size", "ex_k", 1, explorer.MAX_INPUT, square, HELP["kernel"])
            values["stride"] = _pair("stride", "ex_s", 1, explorer.MAX_INPUT, square, HELP["stride"])
            pad_mode = "number"
            if layer == CONV:
                pad_mode = st.radio("padding", ("number", "same", "valid"), key="ex_pad_mode", horizontal=True,
                                    help=HELP["padding_mode"])  # fmt: skip
            if pad_mode == "number":
                values["padding"] = _pair("padding", "ex_p", 0, explorer.MAX_INPUT, square, HELP["padding"])
            else:
                values["padding"] = pad_mode
            if layer != AVG_POOL:
                values["dilation"] = _pair("dilation", "ex_d", 1, explorer.MAX_INPUT, square, HELP["dilation"])
        if layer in (MAX_POOL, AVG_POOL):
            values["ceil_mode"] = st.checkbox("ceil_mode", key="ex_ceil", help=HELP["ceil_mode"])
        if layer == CONV_T:
            values["output_padding"] = _pair("output_padding", "ex_op", 0, explorer.MAX_INPUT, square,
                                             HELP["output_padding"])  # fmt: skip
        if layer in (CONV, CONV_T):
            values["bias"] = st.checkbox("bias", key="ex_bias", help=HELP["bias"])
        if layer == UPSAMPLE:
            values["scale_factor"] = st.number_input("scale_factor", 0.01, 8.0, step=0.5, key="ex_scale",
                                                     help=HELP["scale_factor"])  # fmt: skip
            values["mode"] = st.selectbox("mode", UPSAMPLE_MODES, key="ex_mode", help=HELP["mode"])

        grid = None
        if maps_on:
            st.subheader("Feature maps")
            if layer in (CONV, CONV_T):
                mode = st.selectbox("Kernel", explorer.KERNEL_MODES, key="ex_kernel_mode", help=HELP["kernel_mode"])
                if mode == "preset":
                    preset = st.selectbox("Preset", kernels.PRESETS, key="ex_preset", help=HELP["preset"])
                    st.caption(kernels.DESCRIPTIONS[preset])
                elif mode == "random":
                    st.number_input("seed", 0, 2**31 - 1, key="ex_seed", help=HELP["seed"])
                elif mode == "edit":
                    grid = _kernel_editor(values["kernel"])  # type: ignore[arg-type]
            values["relu"] = st.checkbox("ReLU after the layer", key="ex_relu", help=HELP["relu"])
            values["pool"] = st.checkbox("2 x 2 max pooling after that", key="ex_pool", help=HELP["pool"])

    settings = ExplorerSettings(
        layer=layer, batch=int(batch), in_channels=int(c), height=h, width=w, maps=maps_on,
        sample=st.session_state.get("ex_sample", ExplorerSettings.sample),
        kernel_mode=st.session_state.get("ex_kernel_mode", ExplorerSettings.kernel_mode),
        preset=st.session_state.get("ex_preset", ExplorerSettings.preset),
        seed=int(st.session_state.get("ex_seed", 0)),
        **_kept(values),
    )  # fmt: skip
    return settings, image, grid


def _kept(values: dict[str, object]) -> dict[str, object]:
    """Settings of controls that are hidden for this layer keep their session value (the link keeps them)."""
    state = st.session_state
    defaults = ExplorerSettings()
    keep = {
        "out_channels": int(state.get("ex_out", defaults.out_channels)),
        "groups": int(state.get("ex_groups", defaults.groups)),
        "kernel": (int(state.get("ex_k_h", 3)), int(state.get("ex_k_w", 3))),
        "stride": (int(state.get("ex_s_h", 1)), int(state.get("ex_s_w", 1))),
        "dilation": (int(state.get("ex_d_h", 1)), int(state.get("ex_d_w", 1))),
        "ceil_mode": bool(state.get("ex_ceil", False)),
        "output_padding": (int(state.get("ex_op_h", 0)), int(state.get("ex_op_w", 0))),
        "bias": bool(state.get("ex_bias", True)),
        "scale_factor": float(state.get("ex_scale", defaults.scale_factor)),
        "mode": state.get("ex_mode", defaults.mode),
        "relu": bool(state.get("ex_relu", False)),
        "pool": bool(state.get("ex_pool", False)),
    }
    pad_mode = state.get("ex_pad_mode", "number")
    keep["padding"] = pad_mode if pad_mode in ("same", "valid") else (
        int(state.get("ex_p_h", 0)), int(state.get("ex_p_w", 0)))  # fmt: skip
    keep.update(values)
    return keep


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


def _render(view, present: bool) -> None:
    settings, report = view.settings, view.report
    if report is None:
        error = view.error
        st.error(f"**This {settings.layer} cannot work.** {error.constraint}")
        if error.fix:
            st.info(f"**Fix:** {error.fix}")
        st.caption(f"Input {show_shape(settings.input_shape)}.")
        return
    n, c, h, w = report.output_shape
    st.markdown(
        f"<div class='cnnviz-shape'>{show_shape(report.input_shape)} &rarr; "
        f"<b>{show_shape(report.output_shape)}</b></div>"
        "<div class='cnnviz-caption'>input &rarr; output shape (N, C, H, W)</div>",
        unsafe_allow_html=True,
    )
    st.code(report.pytorch, language="python")
    st.markdown("**The formula**, per dimension, with the numbers filled in:")
    st.code(f"out = {report.general_formula}\n{report.formulas[0]}\n{report.formulas[1]}", language=None)
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
    with right:
        p = report.parameters
        if report.weight_shape is not None:
            shape = " × ".join(str(s) for s in report.weight_shape)
            st.markdown(
                f"**Parameters: {p.total:,}** = {p.weights:,} weights ({shape}) + {p.biases:,} biases"
                + (" (one per output channel)" if p.biases else "")
            )
        else:
            st.markdown("**Parameters: 0**: this layer has nothing to learn.")
        if report.receptive_field is not None:
            rh, rw = report.receptive_field
            st.markdown(f"**Receptive field:** each output pixel sees {rh} x {rw} input pixels.")
        else:
            st.markdown(
                "**Receptive field:** n/a: this layer makes the image larger; each input pixel spreads over "
                "several output pixels instead."
            )
        memory = format_bytes(n * c * h * w * 4)
        st.markdown(f"**Output size:** {n * c * h * w:,} numbers ({memory} as float32).")
    st.subheader("The window, step by step")
    st.caption(view.animation_caption)
    sliding_window(view.animation, key="ex_animation")
    if settings.maps:
        st.subheader("Feature maps")
        if view.maps is not None:
            st.caption(view.maps_message)
            left, right = st.columns([1, 2])
            if view.input_preview is not None:
                h, w = view.input_preview.shape[:2]
                left.image(view.input_preview, caption=f"The input as the layer receives it: {h} x {w}",
                           width=min(256, max(112, w)))  # fmt: skip
            if view.kernel is not None and view.kernel.size <= 49 and not present:
                right.caption("Kernel on every channel (rows x columns):")
                right.dataframe(pd.DataFrame(view.kernel).round(3), hide_index=False)
            map_grid(view.maps, key="ex_maps_chart", panel_px=160 if present else 128)
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

st.markdown(STYLE, unsafe_allow_html=True)
url_settings, url_problems = explorer.from_query(st.query_params.to_dict())
present = url_settings.present
if present:
    st.markdown(PRESENT_STYLE, unsafe_allow_html=True)
    for problem in url_problems:
        st.warning(problem)
    settings = url_settings
    image = images.load_sample(settings.sample) if settings.maps and settings.sample in images.sample_names() else None
    if image is not None:
        settings = replace(settings, in_channels=image.channels)
    grid = None
    st.title(f"{settings.layer}")
else:
    st.title("Layer explorer")
    st.caption("Change one number and see what the layer does to a tensor. Every setting is in the URL: copy it "
               "to share exactly this view (add `present=1` to hide the controls for projection).")  # fmt: skip
    _seed_widgets(url_settings)
    for problem in url_problems:
        st.warning(problem)
    settings, image, grid = _controls(images.sample_names())
    settings, _ = explorer.clamp(settings)  # the widgets' own limits already hold
    query = explorer.to_query(settings)
    if query != st.query_params.to_dict():
        st.query_params.from_dict(query)

view = build_view(settings, image, grid)
_render(view, present)
if present:
    controls = urlencode(explorer.to_query(replace(url_settings, present=False)))
    st.markdown(f"[Show the controls](?{controls})")
