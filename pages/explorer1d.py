"""1-D layer explorer: a kernel sliding along a DNA sequence or a signal, every option, the formula filled in.

A thin view: widgets (derived from cnnviz.explorer.layer1d.SETTINGS) -> Explorer1dSettings ->
cnnviz.views.explorer1d_view.build -> render. Every setting is mirrored in the URL, so a link reproduces the view.
"""

from __future__ import annotations

from dataclasses import asdict

import streamlit as st

from cnnviz.data import sequences
from cnnviz.explorer import layer1d
from cnnviz.explorer.layer1d import SETTINGS, Explorer1dSettings, Setting
from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.layers.spec import show_shape
from cnnviz.views import explorer1d_view
from widgets.sliding_window import sliding_window

PREFIX = "e1_"  # session-state keys of the widgets: PREFIX + field
SAVED = "e1_saved"  # every setting after the last run: hidden widgets get their value back from here
LINKED = "e1_linked"  # the query this page last wrote: a different one is a new link to follow


def _fit_kernel() -> None:
    """A preset has its own length: choosing it (or an input with other presets) sets kernel_size to match."""
    state = st.session_state
    source = state.get(PREFIX + "source", "dna")
    if state.get(PREFIX + "kernel_mode", "preset") != "preset":
        return
    presets = layer1d.kernel_presets(source)
    if state.get(PREFIX + "preset") not in presets:
        state[PREFIX + "preset"] = presets[0]
    state[PREFIX + "kernel"] = layer1d.preset_length(source, state[PREFIX + "preset"])


def _seed(settings: Explorer1dSettings) -> None:
    for setting in SETTINGS:
        st.session_state[PREFIX + setting.field] = getattr(settings, setting.field)
    st.session_state[SAVED] = asdict(settings)


def _widget(setting: Setting, container, current: Explorer1dSettings) -> None:
    key = PREFIX + setting.field
    if key not in st.session_state:  # hidden on the last run: Streamlit dropped its state
        st.session_state[key] = st.session_state[SAVED][setting.field]
    refit = _fit_kernel if setting.field in ("source", "preset", "kernel_mode") else None
    if setting.widget == "select":
        choices = layer1d.kernel_presets(current.source) if setting.field == "preset" else setting.choices
        labels = layer1d.SOURCE_NAMES if setting.field == "source" else {}
        container.selectbox(setting.label, choices, key=key, help=setting.help, on_change=refit,
                            format_func=lambda value: labels.get(value, value))  # fmt: skip
    elif setting.widget == "number":
        container.number_input(setting.label, int(setting.low), int(setting.high), step=1, key=key, help=setting.help)
    elif setting.widget == "float":
        container.number_input(setting.label, float(setting.low), float(setting.high), step=0.05, key=key,
                               help=setting.help)  # fmt: skip
    elif setting.widget == "toggle":
        container.toggle(setting.label, key=key, help=setting.help)
    else:
        container.text_area(setting.label, key=key, help=setting.help, max_chars=int(setting.high), height=100)


st.title("1-D layer explorer")
st.caption(
    "The lab's first picture of a convolution: a kernel sliding along a sequence. DNA is one-hot encoded, one "
    "channel per base (A, C, G, T); a motif detector scores +1 per matching base and -1 per other, so its output "
    "peaks where the motif is. Signals have one channel: smooth them, or find their edges. Images: the "
    "[layer explorer](/explorer)."
)

url_settings, url_problems = layer1d.from_query(st.query_params.to_dict())
if SAVED not in st.session_state or st.query_params.to_dict() != st.session_state.get(LINKED):
    _seed(url_settings)
for problem in url_problems:
    st.warning(problem)

saved = st.session_state[SAVED]
current, _ = layer1d.clamp(
    Explorer1dSettings(**{s.field: st.session_state.get(PREFIX + s.field, saved[s.field]) for s in SETTINGS})
)
controls, results = st.columns([1, 2], gap="large")
for setting in SETTINGS:
    if layer1d.applies(setting, current):
        _widget(setting, controls, current)

values = {s.field: st.session_state.get(PREFIX + s.field, st.session_state[SAVED][s.field]) for s in SETTINGS}
settings, clamped = layer1d.clamp(Explorer1dSettings(**values))
for note in clamped:
    st.warning(note)
st.session_state[SAVED] = asdict(settings)
query = layer1d.to_query(settings)
if query != st.query_params.to_dict():
    st.query_params.from_dict(query)
st.session_state[LINKED] = query

with controls:
    with st.expander("Shipped DNA examples"):
        st.caption("Made-up sequences (not from a genome) holding the motifs their names say. Copy one into the "
                   "sequence box.")  # fmt: skip
        for name, dna in sequences.SHIPPED_DNA.items():
            st.code(dna, language=None)
            st.caption(name)

with results:
    try:
        view = explorer1d_view.build(settings)
    except InvalidLayerConfig as error:
        st.error(f"**This layer cannot work:** {error.constraint}")
        if error.fix:
            st.info(f"**Fix:** {error.fix}")
        st.stop()
    except sequences.SequenceError as error:
        st.error(str(error))
        st.stop()
    report = view.report
    top = st.columns(3)
    top[0].metric("Input shape", show_shape(report.input_shape), help="(N, C, L): batch, channels, length.")
    top[1].metric("Output shape", show_shape(report.output_shape), help="(N, C, L_out).")
    top[2].metric("Parameters", f"{report.parameters.total:,}",
                  help=f"{report.parameters.weights:,} weights + {report.parameters.biases:,} biases")  # fmt: skip
    st.code(f"L_out = {report.general_formula}\n{report.formula}", language=None)
    facts = []
    if report.weight_shape is not None:
        facts.append(f"weight tensor {show_shape(report.weight_shape)}")
    facts.append(f"padding {report.padding[0]} before, {report.padding[1]} after")
    facts.append("receptive field: n/a (it spreads, not gathers)" if report.receptive_field is None
                 else f"receptive field {report.receptive_field} positions")  # fmt: skip
    if report.leftover:
        facts.append(f"{report.leftover} position(s) at the end never read (the floor drops them)")
    st.caption(" · ".join(facts))
    for note in report.notes:
        st.info(note)
    st.code(report.pytorch, language="python")
    st.markdown("**The window, step by step**")
    sliding_window(view.sliding, key="e1_sliding")
    st.caption(view.sliding_caption)
    if view.lines is not None:
        st.plotly_chart(view.lines, key="e1_lines", config={"displaylogo": False})
        st.caption(f"Output: {view.description}.")
    else:
        st.info(f"**No output drawn:** {view.note}")
