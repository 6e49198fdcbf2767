"""Network shape builder: stack layers in a table, follow the shape, export PyTorch code.

A thin view: the table -> cnnviz.layers (parse, evaluate_stack, export_code) -> render.
The editor is seeded from ``st.session_state["net_rows"]``: a preset (or a test) writes the rows there.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import streamlit as st

from cnnviz import layers
from cnnviz.arithmetic import InvalidLayerConfig

CUSTOM = "(your own)"

st.title("Network builder")
st.caption(
    "Stack layers in the table (add rows at the bottom, delete with the row menu) and follow the tensor's shape "
    "through the network. Shapes are per sample; memory is float32 activations of one sample."
)

presets = layers.presets()
if "net_rows" not in st.session_state:
    first = next(iter(presets.values()))
    st.session_state["net_rows"] = [layers.spec_to_row(s) for s in first.specs]
    st.session_state["net_c"], st.session_state["net_h"], st.session_state["net_w"] = first.input_shape
    st.session_state["net_preset"] = first.name


def _load_preset() -> None:
    """Seed the table and the input shape from the chosen preset."""
    preset = presets.get(st.session_state["net_preset"])
    if preset is not None:
        st.session_state["net_rows"] = [layers.spec_to_row(s) for s in preset.specs]
        st.session_state["net_c"], st.session_state["net_h"], st.session_state["net_w"] = preset.input_shape


top = st.columns([3, 1, 1, 1])
top[0].selectbox("Preset", [*presets, CUSTOM], key="net_preset", on_change=_load_preset,
                 help="The project's own networks (read from models/, so they stay in sync) and LeNet-5.")  # fmt: skip
c = top[1].number_input("channels (C)", 1, 512, key="net_c", help="Channels of one input image.")
h = top[2].number_input("height (H)", 1, 1024, key="net_h", help="Rows of the input image.")
w = top[3].number_input("width (W)", 1, 1024, key="net_w", help="Columns of the input image.")

try:
    seed_rows = layers.complete_rows(st.session_state["net_rows"])
except (TypeError, ValueError):
    st.error("The table's saved rows could not be read; the preset is shown instead.")
    seed_rows = layers.complete_rows([layers.spec_to_row(s) for s in next(iter(presets.values())).specs])
# A new seed (preset or test) gets a fresh editor; edits live in that editor's own state.
seed_id = hashlib.sha1(json.dumps(seed_rows, sort_keys=True, default=str).encode()).hexdigest()[:10]
edited = st.data_editor(
    pd.DataFrame(seed_rows, columns=list(layers.TABLE_COLUMNS)),
    key=f"net_editor_{seed_id}",
    num_rows="dynamic",
    width="stretch",
    height=min(900, 38 + 35 * (len(seed_rows) + 1)),
    column_config={
        "layer": st.column_config.SelectboxColumn("layer", options=list(layers.LAYER_KINDS), required=True,
                                                  help="The kind of layer."),
        "out": st.column_config.NumberColumn("out", min_value=1, step=1,
                                             help="Output channels (Conv2d, ConvTranspose2d) or features (Linear)."),
        "kernel": st.column_config.TextColumn("kernel", help="kernel_size: 3, or 3x5 for height x width."),
        "stride": st.column_config.TextColumn("stride", help="Blank: the default (1; a pool's kernel size)."),
        "padding": st.column_config.TextColumn("padding", help="A number, 1x2, or same / valid (Conv2d)."),
        "dilation": st.column_config.TextColumn("dilation", help="Gap between kernel taps; blank = 1."),
        "groups": st.column_config.NumberColumn("groups", min_value=1, step=1, help="Convolution groups."),
        "extra": st.column_config.TextColumn(
            "extra", help="p=0.5 (Dropout, ResidualBlock), scale=2 mode=bilinear (Upsample), output_padding=1, "
            "ceil_mode, in=288 (Linear in_features), no_bias."),
    },
)  # fmt: skip

try:
    specs = layers.rows_to_specs(edited.to_dict("records"))
except InvalidLayerConfig as error:
    st.error(f"{error.constraint}" + (f" Fix: {error.fix}" if error.fix else ""))
    st.stop()

report = layers.evaluate_stack(specs, (int(c), int(h), int(w)))
st.subheader("Shapes through the network")
table = layers.report_table(report)
st.dataframe(pd.DataFrame(table), hide_index=True, width="stretch", height=min(900, 38 + 35 * len(table)))

if report.error_index is not None:
    bad = report.rows[report.error_index]
    st.error(
        f"**Layer {report.error_index + 1} ({bad.spec.kind}) cannot work** on input "
        f"{layers.show_shape(bad.input_shape)}: {bad.error.constraint}"
    )
    if bad.error.fix:
        st.info(f"**Fix:** {bad.error.fix}")
    st.stop()

total = report.total_parameters
out_shape = layers.show_shape(report.output_shape)
metrics = st.columns(3)
metrics[0].metric("Output shape", out_shape)
metrics[1].metric("Parameters", f"{total.total:,}", help=f"{total.weights:,} weights + {total.biases:,} biases")
metrics[2].metric("Activation memory", layers.format_bytes(report.total_activation_bytes),
                  help="All layer outputs of one sample, float32 (4 bytes each).")  # fmt: skip

st.subheader("PyTorch code")
code = layers.export_code(specs, (int(c), int(h), int(w)))
st.caption("Self-contained: it needs only torch. Run it to print every layer's output shape.")
st.code(code, language="python")
st.download_button("Download network.py", code, file_name="network.py", mime="text/x-python")
