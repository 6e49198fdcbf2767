"""The solver page under streamlit.testing: answers with explorer links, 1-D kinds, no answer explained."""

from urllib.parse import parse_qs, urlparse

import torch
from streamlit.testing.v1 import AppTest

from cnnviz.explorer import layer2d
from cnnviz.layers import size_solver
from cnnviz.layers.registry import IMAGE, KINDS
from cnnviz.page_list import page_path

PAGE = f"../../{page_path('solver')}"


def _app() -> AppTest:
    return AppTest.from_file(PAGE, default_timeout=60).run()


def test_28_to_14_lists_answers_that_open_the_explorer_on_them():
    at = _app()
    assert not at.exception and not at.error
    assert "configurations of Conv2d turn 28 x 28 into 14 x 14" in at.success[0].value
    table = at.dataframe[0].value
    assert table["PyTorch"][0] == "nn.Conv2d(1, 8, kernel_size=1, stride=2)"
    assert list(table["PyTorch"])[4] == "nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=1)"
    assert "(25 of them square)" in at.success[0].value
    at.toggle(key="solve_square").set_value(False).run()
    assert "kernel_size=(1, 2)" in at.dataframe[0].value["PyTorch"][2]
    for link in list(table["explore"])[:25]:
        url = urlparse(link)
        assert url.path == "/explorer"
        settings, problems = layer2d.from_query({k: v[-1] for k, v in parse_qs(url.query).items()})
        assert not problems
        assert layer2d.analyze(settings).output_shape == (1, 8, 14, 14)


def test_sequences_pools_and_rectangles():
    at = _app()
    at.selectbox(key="solve_kind").set_value("MaxPool1d").run()
    at.number_input(key="solve_in_l").set_value(96).run()
    at.number_input(key="solve_out_l").set_value(25).run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert all(line.startswith("nn.MaxPool1d(") for line in table["PyTorch"])
    assert "solve_c_out" not in [w.key for w in at.number_input]  # pooling keeps the channels
    at.selectbox(key="solve_kind").set_value("ConvTranspose2d").run()
    at.number_input(key="solve_in_h").set_value(7).run()
    at.number_input(key="solve_in_w").set_value(3).run()
    at.number_input(key="solve_out_h").set_value(14).run()
    at.number_input(key="solve_out_w").set_value(7).run()
    assert "ConvTranspose2d turn 7 x 3 into 14 x 7" in at.success[0].value


def test_no_configuration_is_explained_with_the_nearest_sizes():
    at = _app()
    at.selectbox(key="solve_kind").set_value("Conv1d").run()
    at.number_input(key="solve_in_l").set_value(10).run()
    at.number_input(key="solve_out_l").set_value(30).run()
    assert not at.exception and not at.dataframe
    warning = at.warning[0].value
    assert "No configuration of Conv1d" in warning and "20, 19, 18, 17" in warning and "ConvTranspose1d" in warning


def test_every_kind_the_solver_knows_is_offered_and_its_first_answer_works():
    at = _app()
    assert tuple(at.selectbox(key="solve_kind").options) == size_solver.SOLVER_KINDS
    for kind in size_solver.SOLVER_KINDS:
        at.selectbox(key="solve_kind").set_value(kind).run()
        two_d = KINDS[kind].input_dims == IMAGE
        at.number_input(key="solve_c_in").set_value(4).run()
        for key, value in (
            (("in_h", 10), ("in_w", 10), ("out_h", 20), ("out_w", 20)) if two_d else (("in_l", 10), ("out_l", 20))
        ):
            at.number_input(key=f"solve_{key}").set_value(value).run()
        assert not at.exception and not at.error, kind
        if not at.dataframe:  # no answer: said why
            assert "No configuration" in at.warning[0].value
            continue
        line = at.dataframe[0].value["PyTorch"][0]
        module = eval(line, {"nn": torch.nn})  # noqa: S307 - a line this project wrote
        size = (4, 10, 10) if two_d else (4, 10)
        assert module(torch.zeros(1, *size)).shape[2] == 20, line
    at.selectbox(key="solve_kind").set_value("AdaptiveAvgPool2d").run()
    assert "1 configurations of AdaptiveAvgPool2d" in at.success[0].value
    at.selectbox(key="solve_kind").set_value("PixelShuffle").run()
    for key, value in (("c_in", 1), ("in_h", 10), ("in_w", 10), ("out_h", 20), ("out_w", 20)):
        at.number_input(key=f"solve_{key}").set_value(value).run()
    assert "not on 1 input channel(s)" in at.warning[0].value and "divisible by upscale_factor²" in at.warning[0].value
