"""Network shape builder: stack layers in a table, follow the shape, export PyTorch code.

A thin view: the table -> cnnviz (builder_table, stack, field_growth, code_export) -> render. Inputs are images
``(C, H, W)`` or sequences ``(C, L)``. The editor is seeded from ``st.session_state["net_rows"]``: a preset, a
solver answer (or a test) writes the rows there.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import streamlit as st

from cnnviz.layers import code_export, registry, stack
from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.layers.spec import LayerSpec, format_bytes, show_shape
from cnnviz.views import builder_table, field_growth
from cnnviz.views.presets import Preset, builder_presets

CUSTOM = "(your own)"
IMAGE, SEQUENCE = "image (C, H, W)", "sequence (C, L)"

st.title("Network builder")
st.caption(
    "Stack layers in the table (add rows at the bottom, delete with the row menu) and follow the tensor's shape "
    "through the network. Shapes are per sample; memory is float32 activations of one sample. Images take 2-D "
    "layers (Conv2d, ...), sequences such as one-hot DNA take 1-D layers (Conv1d, ...)."
)

presets = builder_presets()


def _seed(preset: Preset) -> None:
    st.session_state["net_rows"] = [builder_table.spec_to_row(s) for s in preset.specs]
    st.session_state["net_c"] = preset.input_shape[0]
    if len(preset.input_shape) == 3:
        st.session_state["net_input"] = IMAGE
        st.session_state["net_h"], st.session_state["net_w"] = preset.input_shape[1:]
    else:
        st.session_state["net_input"] = SEQUENCE
        st.session_state["net_l"] = preset.input_shape[1]


if "net_rows" not in st.session_state:
    _seed(next(iter(presets.values())))
    st.session_state["net_preset"] = next(iter(presets))
for key, default in (("net_input", IMAGE), ("net_h", 28), ("net_w", 28), ("net_l", 100), ("net_c", 1)):
    st.session_state.setdefault(key, default)


def _load_preset() -> None:
    """Seed the table and the input shape from the chosen preset."""
    preset = presets.get(st.session_state["net_preset"])
    if preset is not None:
        _seed(preset)


def _use(specs: list[LayerSpec]) -> None:
    """Put a solver answer into the table."""
    st.session_state["net_rows"] = [builder_table.spec_to_row(s) for s in specs]
    st.session_state["net_preset"] = CUSTOM


top = st.columns([3, 2, 1, 1, 1])
top[0].selectbox("Preset", [*presets, CUSTOM], key="net_preset", on_change=_load_preset,
                 help="The project's own networks (read from models/, so they stay in sync), LeNet-5 and a 1-D "
                      "DNA classifier.")  # fmt: skip
top[1].radio("Input", [IMAGE, SEQUENCE], key="net_input", horizontal=True,
             help="An image has height and width; a sequence (DNA one-hot: 4 channels; a signal: 1) has a "
                  "length.")  # fmt: skip
c = top[2].number_input("channels (C)", 1, 512, key="net_c", help="Channels of one input sample.")
if st.session_state["net_input"] == IMAGE:
    h = top[3].number_input("height (H)", 1, 1024, key="net_h", help="Rows of the input image.")
    w = top[4].number_input("width (W)", 1, 1024, key="net_w", help="Columns of the input image.")
    input_shape: tuple[int, ...] = (int(c), int(h), int(w))
else:
    length = top[3].number_input("length (L)", 1, 100_000, key="net_l", help="Positions of the input sequence.")
    input_shape = (int(c), int(length))

try:
    seed_rows = builder_table.complete_rows(st.session_state["net_rows"])
except (TypeError, ValueError):
    st.error("The table's saved rows could not be read; the preset is shown instead.")
    seed_rows = builder_table.complete_rows([builder_table.spec_to_row(s) for s in next(iter(presets.values())).specs])
# A new seed (preset, solver answer or test) gets a fresh editor; edits live in that editor's own state.
seed_id = hashlib.sha1(json.dumps(seed_rows, sort_keys=True, default=str).encode()).hexdigest()[:10]
edited = st.data_editor(
    pd.DataFrame(seed_rows, columns=list(builder_table.TABLE_COLUMNS)),
    key=f"net_editor_{seed_id}",
    num_rows="dynamic",
    width="stretch",
    height=min(900, 38 + 35 * (len(seed_rows) + 1)),
    column_config={
        "layer": st.column_config.SelectboxColumn("layer", options=list(registry.LAYER_KINDS), required=True,
                                                  help="The kind of layer (…1d for sequences, …2d for images)."),
        "out": st.column_config.NumberColumn("out", min_value=1, step=1,
                                             help="Output channels (convolutions) or features (Linear)."),
        "kernel": st.column_config.TextColumn("kernel", help="kernel_size: 3, or 3x5 for height x width (2-D)."),
        "stride": st.column_config.TextColumn("stride", help="Blank: the default (1; a pool's kernel size)."),
        "padding": st.column_config.TextColumn("padding", help="A number, 1x2, or same / valid (convolutions)."),
        "dilation": st.column_config.TextColumn("dilation", help="Gap between kernel taps; blank = 1."),
        "groups": st.column_config.NumberColumn("groups", min_value=1, step=1, help="Convolution groups."),
        "extra": st.column_config.TextColumn(
            "extra", help="p=0.5 (Dropout, ResidualBlock), scale=2 mode=bilinear (Upsample), output_padding=1, "
            "ceil_mode, in=288 (Linear in_features), no_bias."),
    },
)  # fmt: skip

try:
    specs = builder_table.rows_to_specs(edited.to_dict("records"))
except InvalidLayerConfig as error:
    st.error(f"{error.constraint}" + (f" Fix: {error.fix}" if error.fix else ""))
    st.stop()

report = stack.evaluate_stack(specs, input_shape)
st.subheader("Shapes through the network")
table = builder_table.report_table(report)
st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch", height=min(900, 38 + 35 * len(table)))

if report.error_index is not None:
    bad = report.rows[report.error_index]
    st.error(
        f"**Layer {report.error_index + 1} ({bad.spec.kind}) cannot work** on input "
        f"{show_shape(bad.input_shape)}: {bad.error.constraint}"
    )
    if bad.error.fix:
        st.info(f"**Fix:** {bad.error.fix}")
    fix = builder_table.size_fixes(specs, input_shape, report)
    if fix is not None:
        st.info(f"**Or change layer {fix.layer_index + 1}:** {fix.reason} The solver's answers, simplest first:")
        for number, (fixed, line) in enumerate(zip(fix.specs, fix.lines)):
            changed = [*specs[: fix.layer_index], fixed, *specs[fix.layer_index + 1 :]]
            st.button(f"Use {line}", key=f"net_fix_{number}", on_click=_use, args=(changed,))
    st.stop()

total = report.total_parameters
metrics = st.columns(3)
metrics[0].metric("Output shape", show_shape(report.output_shape))
metrics[1].metric("Parameters", f"{total.total:,}", help=f"{total.weights:,} weights + {total.biases:,} biases")
metrics[2].metric("Activation memory", format_bytes(report.total_activation_bytes),
                  help="All layer outputs of one sample, float32 (4 bytes each).")  # fmt: skip

st.subheader("How the receptive field grows")
FIRST_CELL, OVER_PIXEL = "the first cell of each layer", "the cell over one input pixel"
follow = st.radio(
    "Follow", [FIRST_CELL, OVER_PIXEL], horizontal=True, key="net_fg_follow",
    help="The first cell is what the table's 'first cell reads' column lists: deep layers read padding there. "
    "Over a pixel: at each layer the cell whose field is centred closest to that pixel.",
)  # fmt: skip
over = None
if follow == OVER_PIXEL:
    spatial = input_shape[1:]
    names = ("row", "column") if len(spatial) == 2 else ("position",)
    picked = []
    for column, name, size in zip(st.columns(len(spatial) + 1), names, spatial):
        key = f"net_fg_{name}"
        # The input may have shrunk since the pixel was picked: keep it inside (before the widget exists).
        st.session_state[key] = min(int(st.session_state.get(key, size // 2)), size - 1)
        picked.append(column.number_input(f"input {name}", 0, size - 1, key=key))
    over = tuple(int(value) for value in picked)
growth = field_growth.field_growth(report, over)
if growth.steps:
    st.image(field_growth.growth_svg(growth))
    st.caption(
        "One box per layer that changes the field: the input this layer's followed cell reads (the hatched part "
        "is padding: zeros). A label such as '5-6 Conv2d' means layer 5 made the field and layer 6 (a ReLU, ...) "
        "keeps it."
    )
for note in growth.notes:
    st.caption(note)

st.subheader("PyTorch code")
code = code_export.export_code(specs, input_shape)
st.caption("Self-contained: it needs only torch. Run it to print every layer's output shape.")
st.code(code, language="python")
st.download_button("Download network.py", code, file_name="network.py", mime="text/x-python")
