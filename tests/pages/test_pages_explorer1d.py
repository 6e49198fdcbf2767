"""The 1-D explorer page under streamlit.testing: DNA and signals, every layer, the URL, bad input."""

from streamlit.testing.v1 import AppTest

from cnnviz.data import sequences
from cnnviz.explorer import layer1d
from cnnviz.page_list import page_path

PAGE = f"../../{page_path('explorer1d')}"


def _app(query=None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def _metrics(at):
    return {m.label: m.value for m in at.metric}


def _lines(at):
    return list(at.get("plotly_chart"))


def _formula(at) -> str:
    return next(c.value for c in at.code if c.value.startswith("L_out"))


def _pytorch(at) -> str:
    return next(c.value for c in at.code if c.value.startswith("nn."))


def test_the_default_view_is_the_tata_detector_on_the_promoter_example():
    at = _app()
    assert not at.exception and not at.error
    length = len(layer1d.DEFAULT_DNA)
    assert _metrics(at) == {"Input shape": f"(1, 4, {length})", "Output shape": f"(1, 1, {length - 5})",
                            "Parameters": "25"}  # fmt: skip
    assert _formula(at).endswith(f"= {length - 5}")
    assert _pytorch(at) == "nn.Conv1d(4, 1, kernel_size=6)"
    assert len(_lines(at)) == 1  # the line plots (the sliding window is drawn by its own browser widget)


def test_switching_to_a_signal_fits_the_kernel_to_its_preset_and_pooling_keeps_channels():
    at = _app()
    at.selectbox(key="e1_source").set_value("heartbeat").run()
    assert not at.exception and not at.error
    preset = at.selectbox(key="e1_preset").value
    assert preset in sequences.SIGNAL_KERNELS
    assert at.number_input(key="e1_kernel").value == len(sequences.SIGNAL_KERNELS[preset])
    assert at.query_params["in"] == "heartbeat"
    at.selectbox(key="e1_layer").set_value("MaxPool1d").run()
    assert not at.exception and not at.error
    assert "e1_out_channels" not in [w.key for w in at.number_input]  # pooling has no out_channels
    assert _metrics(at)["Output shape"].startswith("(1, 1, ")
    at.toggle(key="e1_ceil_mode").set_value(True).run()
    assert at.query_params["ceil"] == "1"
    at.selectbox(key="e1_layer").set_value("Conv1d").run()  # the hidden settings come back as they were
    assert at.selectbox(key="e1_preset").value == preset
    assert at.query_params["in"] == "heartbeat"


def test_a_link_opens_the_view_it_describes_and_bad_values_are_reported():
    at = _app({"layer": "ConvTranspose1d", "k": "4", "s": "2", "p": "1", "op": "1", "out": "3", "kern": "random",
               "g": "1", "n": "5", "bogus": "1", "d": "oops"})  # fmt: skip
    assert not at.exception
    length = len(layer1d.DEFAULT_DNA)
    assert _metrics(at)["Output shape"] == f"(5, 3, {(length - 1) * 2 - 2 + 3 + 1 + 1})"
    assert any("d='oops'" in w.value for w in at.warning)
    assert _pytorch(at) == "nn.ConvTranspose1d(4, 3, kernel_size=4, stride=2, padding=1, output_padding=1)"


def test_impossible_layers_and_typos_in_the_dna_say_what_to_do():
    at = _app({"k": "60", "d": "2", "kern": "random"})
    assert not at.exception
    assert "cannot work" in at.error[0].value and at.info[0].value.startswith("**Fix:**")
    at = _app()
    at.text_area(key="e1_dna").set_value("ACGTXACGT").run()
    assert not at.exception
    assert "'X'" in at.error[0].value and "position 5" in at.error[0].value


def test_a_preset_that_does_not_fit_the_kernel_explains_instead_of_drawing():
    at = _app({"k": "4"})
    assert not at.exception and not at.error
    assert "kernel_size to 6" in at.info[-1].value
    assert not _lines(at)  # no line plots, only the explanation


def test_the_layer_explorer_offers_the_1d_layers_and_opens_them_here():
    at = AppTest.from_file("../../app.py", default_timeout=60).run()
    at.switch_page(page_path("explorer")).run()
    assert "MaxPool1d (sequences)" in at.selectbox(key="ex_layer").options
    at.selectbox(key="ex_layer").set_value("MaxPool1d").run()
    assert not at.exception
    assert at.title[0].value == "1-D layer explorer"
    assert at.selectbox(key="e1_layer").value == "MaxPool1d"
    assert _pytorch(at).startswith("nn.MaxPool1d(")
    at.query_params.clear()  # the sidebar's link to the layer explorer carries no query
    at.switch_page(page_path("explorer")).run()  # back in the layer explorer: its own layer, no loop
    assert at.title[0].value == "Layer explorer" and at.selectbox(key="ex_layer").value == "Conv2d"


def test_a_layer_explorer_link_to_a_1d_layer_opens_the_1d_explorer():
    at = AppTest.from_file("../../app.py", default_timeout=60)
    at.query_params["layer"] = "ConvTranspose1d"
    at.query_params["s"] = "2"
    at.run()
    at.switch_page(page_path("explorer")).run()
    assert not at.exception
    assert at.title[0].value == "1-D layer explorer"
    assert _pytorch(at) == "nn.ConvTranspose1d(4, 1, kernel_size=6, stride=2)"
