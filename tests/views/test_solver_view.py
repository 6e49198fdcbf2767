"""The solver page's rows: every link opens the explorer on a layer that really gives the wanted size."""

from urllib.parse import parse_qs, urlparse

import pytest
import torch

from cnnviz.explorer import layer1d, layer2d
from cnnviz.layers.arithmetic import InvalidLayerConfig
from cnnviz.views import solver_view


def _settings(link):
    url = urlparse(link)
    assert url.path == "/explorer"
    settings, problems = layer2d.from_query({k: v[-1] for k, v in parse_qs(url.query).items()})
    assert not problems
    return settings


@pytest.mark.parametrize(("kind", "size", "wanted"), [("Conv2d", 28, 14), ("MaxPool2d", (28, 20), (9, 7)),
                                                      ("ConvTranspose2d", 7, 14)])  # fmt: skip
def test_every_link_opens_the_explorer_on_a_layer_of_the_wanted_size(kind, size, wanted):
    view = solver_view.build(kind, size, wanted, in_channels=3, out_channels=4)
    assert view.total == len(view.rows) or len(view.rows) == solver_view.MAX_ROWS
    wanted_pair = wanted if isinstance(wanted, tuple) else (wanted, wanted)
    for row in view.rows:
        report = layer2d.analyze(_settings(row.link))
        assert report.output_shape[2:] == wanted_pair, row
        assert report.pytorch == row.pytorch  # the page's line is the explorer's line
    first = view.rows[0]
    module = eval(first.pytorch, {"nn": torch.nn})  # noqa: S307 - a line this project wrote
    h, w = size if isinstance(size, tuple) else (size, size)
    assert tuple(module(torch.zeros(1, 3, h, w)).shape[2:]) == wanted_pair


def test_1d_answers_list_their_pytorch_line():
    view = solver_view.build("Conv1d", 100, 50, in_channels=4, out_channels=16)
    assert view.rows[0].pytorch == "nn.Conv1d(4, 16, kernel_size=1, stride=2)"
    for row in view.rows[:10]:  # the 1-D explorer opens on a signal of the same length
        url = urlparse(row.link)
        assert url.path == "/explorer1d"
        settings, problems = layer1d.from_query({k: v[-1] for k, v in parse_qs(url.query).items()})
        assert not problems and layer1d.analyze(settings).output_shape == (1, 16, 50)
    for row in view.rows[:40]:
        module = eval(row.pytorch, {"nn": torch.nn})  # noqa: S307 - a line this project wrote
        assert module(torch.zeros(1, 4, 100)).shape == (1, 16, 50), row


def test_no_answer_names_the_nearest_sizes_and_what_to_try():
    view = solver_view.build("Conv1d", 10, 30)
    assert view.total == 0 and view.rows == ()
    assert view.nearest[0] == 20
    assert "No configuration of Conv1d" in view.message and "20" in view.message
    assert "ConvTranspose1d" in view.message
    assert "Conv2d or MaxPool2d" in solver_view.build("ConvTranspose2d", 20, 2).message


def test_bounds_outside_the_pages_limits_are_refused():
    with pytest.raises(InvalidLayerConfig, match="max_kernel must be between 1 and 15"):
        solver_view.build("Conv2d", 28, 14, max_kernel=40)


def test_square_only_keeps_one_number_per_option_and_says_how_many_there_are_in_all():
    everything = solver_view.build("Conv2d", 28, 14)
    square = solver_view.build("Conv2d", 28, 14, square_only=True)
    assert 0 < square.total < everything.total
    assert f"{everything.total} configurations" in square.message
    assert f"({square.total} of them square)" in square.message
    assert all("(" not in row.options for row in square.rows)
    assert "none uses one number" in solver_view.build("Conv2d", (28, 20), (14, 20), square_only=True).message
