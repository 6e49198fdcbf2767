"""Which layer gives this size? Input and wanted output in, every configuration that does it out.

A thin view: widgets -> cnnviz.views.solver_view.build (cnnviz.layers.size_solver.solve) -> render. Each answer
links to the layer explorer, set to it.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from cnnviz.layers import size_solver
from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.layers.registry import IMAGE, KINDS
from cnnviz.views import solver_view

st.title("Which layer gives this size?")
st.caption(
    "Give the size you have and the size you want: every kernel, stride, padding and dilation within the bounds "
    "below that PyTorch accepts and that gives exactly that size, simplest first. Each row opens the layer explorer."
)

top = st.columns([2, 1, 1, 1, 1])
kind = top[0].selectbox("Layer", size_solver.SOLVER_KINDS, key="solve_kind",
                        help="…2d for images (height x width), …1d for sequences (a length).")  # fmt: skip
two_d = KINDS[kind].input_dims == IMAGE
high = solver_view.MAX_SIZE_2D if two_d else solver_view.MAX_LENGTH
if two_d:
    inputs = st.columns(4)
    in_h = inputs[0].number_input("input height", 1, high, 28, key="solve_in_h")
    in_w = inputs[1].number_input("input width", 1, high, 28, key="solve_in_w")
    out_h = inputs[2].number_input("wanted height", 1, solver_view.MAX_WANTED, 14, key="solve_out_h")
    out_w = inputs[3].number_input("wanted width", 1, solver_view.MAX_WANTED, 14, key="solve_out_w")
    input_size: int | tuple[int, int] = (int(in_h), int(in_w))
    output_size: int | tuple[int, int] = (int(out_h), int(out_w))
else:
    inputs = st.columns(2)
    input_size = int(inputs[0].number_input("input length", 1, high, 100, key="solve_in_l"))
    output_size = int(inputs[1].number_input("wanted length", 1, solver_view.MAX_WANTED, 50, key="solve_out_l"))
in_channels = int(top[1].number_input("in channels", 1, 512, 1, key="solve_c_in", help="C_in of the layer."))
# only a layer with out_channels asks for them (pooling keeps C_in, a pixel shuffle divides it by r^2)
out_channels = in_channels if KINDS[kind].option("out") is None else int(
    top[2].number_input("out channels", 1, 512, 8, key="solve_c_out", help="C_out of the layer.")
)  # fmt: skip

with st.expander("Bounds of the search"):
    columns = st.columns(len(solver_view.BOUND_LIMITS))
    bounds = {
        name: int(column.number_input(name, low, top_value, default, key=f"solve_{name}"))
        for column, (name, (low, top_value, default)) in zip(columns, solver_view.BOUND_LIMITS.items())
    }
    st.caption("Kernels of 1 use no dilation (it changes nothing); padding 'same' is listed where it pads unevenly, "
               "which no number can say.")  # fmt: skip

square_only = two_d and in_h == in_w and out_h == out_w and st.toggle(
    "only square configurations", value=True, key="solve_square",
    help="One number for height and width in every option, as most networks use; off: rectangular ones too.",
)  # fmt: skip
try:
    view = solver_view.build(kind, input_size, output_size, in_channels, out_channels, square_only, **bounds)
except InvalidLayerConfig as error:
    st.error(error.constraint + (f" Fix: {error.fix}" if error.fix else ""))
    st.stop()

if not view.total:
    st.warning(view.message)
    st.stop()

st.success(view.message)
table = pd.DataFrame(
    {
        "options": [row.options for row in view.rows],
        "PyTorch": [row.pytorch for row in view.rows],
        "explore": [row.link for row in view.rows],
    }
)
st.dataframe(
    table,
    hide_index=True,
    width="stretch",
    height=min(700, 38 + 35 * len(table)),
    column_config={
        "options": st.column_config.TextColumn("options", help="PyTorch's defaults left out."),
        "PyTorch": st.column_config.TextColumn("PyTorch"),
        "explore": st.column_config.LinkColumn("explore", display_text="open in the explorer",
                                               help="The layer explorer, set to this configuration."),
    },
)  # fmt: skip
