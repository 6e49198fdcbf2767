"""The layer explorer page under streamlit.testing: widgets, PyTorch shapes, the URL, errors, uploads."""

import io
import re
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image
from streamlit.testing.v1 import AppTest
from torch import nn

from cnnviz.explorer import animation, layer2d
from cnnviz.layers import code_export
from cnnviz.page_list import page_path
from tests.layers.kind_examples import EXAMPLES
from tests.map_grids import component_data, map_grids

PAGE = f"../../{page_path('explorer')}"


def _app(query: dict[str, str] | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=60)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    return at.run()


def _shown_shapes(at: AppTest) -> tuple[tuple[int, ...], tuple[int, ...]]:
    """The (input, output) shapes the page shows in its big shape line."""
    for block in at.markdown:
        if "cnnviz-shape" in block.value and "&rarr;" in block.value:
            found = re.findall(r"\(([\d, ]+)\)", block.value)
            return tuple(int(v) for v in found[0].split(",")), tuple(int(v) for v in found[1].split(","))
    raise AssertionError("no shape shown")


def _no_problem(at: AppTest) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


def _components(at) -> list[str]:
    return [element.proto.component_name for element in at.get("bidi_component")]


def _view(at: AppTest) -> tuple:
    """What the view shows: the shape, the code cells, the errors and the components' payloads."""
    payloads = [component_data(element) for element in at.get("bidi_component")]
    for payload in payloads:
        payload.pop("revision", None)  # the server's clock at the rerun
    shape = _shown_shapes(at) if any("&rarr;" in m.value for m in at.markdown) else None  # None: an error
    return shape, [c.value for c in at.code], [e.value for e in at.error], payloads


def _query(at: AppTest) -> dict[str, str]:
    return {k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()}


def _run(changed) -> AppTest:
    """Run a change (a widget with its new value, or the app) as a browser's click does; returns the app.

    A control that changes only the view reruns only the view, and AppTest's tree then holds the view alone.
    The view's link, opened afresh, must show the same view; that page (with its controls) is returned for
    the next change.
    """
    at = changed.run()
    assert not at.exception, at.exception
    if not at.sidebar.children:  # only the view reran
        view = _view(at)
        at = _app(_query(at))
        assert _view(at) == view
    return at


def test_default_view_shows_the_shape_pytorch_gives_and_the_line_to_copy():
    at = _app()
    _no_problem(at)
    (n, c, h, w), out = _shown_shapes(at)
    layer = nn.Conv2d(c, 8, 3)
    assert out == tuple(layer(torch.zeros(n, c, h, w)).shape)
    assert at.code[0].value == f"nn.Conv2d({c}, 8, kernel_size=3)"
    assert any("Parameters:" in m.value for m in at.markdown)
    assert _components(at) == ["cnnviz.sliding_window", "cnnviz.views.grids"]  # the animation and the feature maps
    steps = component_data(at.get("bidi_component")[0])
    assert (len(steps["row_taps"]), len(steps["col_taps"])) == (h - 2, w - 2)  # every output cell animated
    (maps,) = map_grids(at)
    assert len(maps["panels"]) == 8 and (maps["rows"], maps["columns"]) == (h - 2, w - 2)


def test_changing_widgets_updates_the_shape_like_pytorch():
    at = _app({"maps": "0"})
    at = _run(at.number_input(key="ex_c").set_value(3))
    at = _run(at.number_input(key="ex_out").set_value(16))
    at = _run(at.number_input(key="ex_k_h").set_value(5))
    at = _run(at.number_input(key="ex_s_h").set_value(2))
    at = _run(at.number_input(key="ex_p_h").set_value(1))
    _no_problem(at)
    assert _shown_shapes(at)[1] == tuple(nn.Conv2d(3, 16, 5, 2, 1)(torch.zeros(1, 3, 28, 28)).shape)
    assert at.code[0].value == "nn.Conv2d(3, 16, kernel_size=5, stride=2, padding=1)"
    at = _run(at.toggle(key="ex_square").set_value(False))
    at = _run(at.number_input(key="ex_k_w").set_value(3))
    at = _run(at.number_input(key="ex_w").set_value(40))
    _no_problem(at)
    assert _shown_shapes(at)[1] == tuple(nn.Conv2d(3, 16, (5, 3), 2, 1)(torch.zeros(1, 3, 28, 40)).shape)
    at = _run(at.selectbox(key="ex_layer").set_value("MaxPool2d"))
    at = _run(at.checkbox(key="ex_ceil").check())
    _no_problem(at)
    expected = nn.MaxPool2d((5, 3), 2, 1, ceil_mode=True)(torch.zeros(1, 3, 28, 40)).shape
    assert _shown_shapes(at)[1] == tuple(expected)
    at = _run(at.selectbox(key="ex_layer").set_value("ConvTranspose2d"))
    at = _run(at.number_input(key="ex_op_h").set_value(1))
    _no_problem(at)
    layer = nn.ConvTranspose2d(3, 16, (5, 3), 2, 1, output_padding=(1, 0))
    assert _shown_shapes(at)[1] == tuple(layer(torch.zeros(1, 3, 28, 40)).shape)


def test_a_control_that_changes_only_the_layer_reruns_only_the_view_and_the_others_the_page():
    at = _app()
    at.number_input(key="ex_k_h").set_value(5).run()
    assert not at.exception and not at.sidebar.children  # the ~20 controls were not sent again
    assert _shown_shapes(at)[1] == (1, 8, 24, 24) and at.query_params["k"] == "5"
    assert _components(at) == ["cnnviz.sliding_window", "cnnviz.views.grids"]
    at.run()
    at.number_input(key="ex_out").set_value(6).run()  # offers other groups: the sidebar changes
    assert at.sidebar.children and at.selectbox(key="ex_groups").options == ["1", "3"]
    at.selectbox(key="ex_kernel_mode").set_value("edit").run()
    at.number_input(key="ex_s_h").set_value(2).run()  # the edited grid lives in the sidebar: the page reruns
    assert at.sidebar.children and at.data_editor and _shown_shapes(at)[1] == (1, 6, 12, 12)


def test_groups_are_offered_only_where_they_divide_both_channel_counts():
    at = _app({"maps": "0", "c": "6", "out": "9"})
    assert at.selectbox(key="ex_groups").options == ["1", "3"]


def test_the_url_round_trip_restores_the_same_view():
    at = _app({"maps": "0"})
    at = _run(at.selectbox(key="ex_layer").set_value("Conv2d"))
    at = _run(at.number_input(key="ex_k_h").set_value(7))
    at = _run(at.radio(key="ex_pad_mode").set_value("same"))
    at = _run(at.number_input(key="ex_d_h").set_value(2))
    at = _run(at.number_input(key="ex_h").set_value(50))
    query = _query(at)
    assert query["k"] == "7" and query["p"] == "same" and query["d"] == "2"
    shapes, code = _shown_shapes(at), at.code[0].value
    again = _app({k: (v[0] if isinstance(v, list) else v) for k, v in query.items()})
    _no_problem(again)
    assert _shown_shapes(again) == shapes and again.code[0].value == code
    assert again.number_input(key="ex_k_h").value == 7
    assert again.radio(key="ex_pad_mode").value == "same"


def test_invalid_settings_show_the_constraint_and_the_fix_not_a_traceback():
    at = _app({"maps": "0", "k": "40"})
    assert not at.exception
    assert "cannot work" in at.error[0].value and "larger than the padded input" in at.error[0].value
    assert "Fix:" in at.info[0].value
    at = _app({"maps": "0", "p": "same", "s": "2"})
    assert "stride 1" in at.error[0].value


def test_a_broken_link_warns_and_shows_the_defaults():
    at = _app({"k": "huge", "maps": "0"})
    assert not at.exception
    assert any("k='huge'" in w.value for w in at.warning)
    assert at.code[0].value.startswith("nn.Conv2d(")


def test_presentation_mode_hides_the_controls_and_keeps_the_view():
    at = _app({"present": "1", "k": "5", "img": "mnist_2"})
    assert not at.exception
    assert not at.number_input and not at.selectbox  # no controls at all
    assert at.code[0].value == "nn.Conv2d(1, 8, kernel_size=5)"
    assert at.markdown[-1].value == "[Show the controls](?k=5&img=mnist_2)"


def test_feature_maps_on_a_sample_follow_its_channels_and_the_kernel_choice():
    at = _app({"img": "mnist_4"})
    _no_problem(at)
    assert at.number_input(key="ex_c").value == 1  # a grayscale digit: one channel
    assert "as the layer receives it: 28 x 28" in str(at.get("image")[0].proto)
    at = _run(at.selectbox(key="ex_kernel_mode").set_value("preset"))
    at = _run(at.selectbox(key="ex_preset").set_value("Laplacian"))
    _no_problem(at)
    assert any("Laplacian kernel on every channel" in c.value for c in at.caption)
    at = _run(at.selectbox(key="ex_sample").set_value("colour_scene"))
    assert at.number_input(key="ex_c").value == 3


def test_editing_the_kernel_grid_changes_the_maps():
    at = _app({"kern": "edit", "img": "mnist_1", "k": "3"})
    _no_problem(at)
    assert at.data_editor, "the kernel grid is offered"
    assert any("typed in the grid" in c.value for c in at.caption)
    # the grid starts from Sobel x, and the kernel shown beside the maps is the one the grid holds
    shown = at.dataframe[-1].value.to_numpy()
    assert shown.tolist() == [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]]


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _bomb() -> bytes:
    data = bytearray(_png(Image.new("L", (1, 1))))
    ihdr = bytearray(data[16:29])
    ihdr[0:8] = struct.pack(">II", 9000, 9000)
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(ihdr)))
    return bytes(data)


def _cmyk_jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("CMYK", (20, 20), (0, 128, 255, 0)).save(buffer, format="JPEG")
    return buffer.getvalue()


UPLOADS = {
    "not an image": (b"%PDF-1.4 not a picture at all", "error", "not an image"),
    "truncated": (_png(Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8)))[:300],
                  "error", "truncated"),
    "bomb": (_bomb(), "error", "megapixels"),
    "16-bit": (_png(Image.fromarray(np.full((20, 20), 40000, np.uint16))), "info", "16-bit"),
    "CMYK": (_cmyk_jpeg(), "info", "CMYK"),
    "palette": (_png(Image.new("RGB", (20, 20), (200, 10, 10)).convert("P")), "info", "palette"),
    "alpha": (_png(Image.new("RGBA", (20, 20), (0, 0, 255, 100))), "info", "alpha"),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(UPLOADS))
def test_each_bad_kind_of_upload_is_converted_or_refused_clearly(kind):
    data, level, message = UPLOADS[kind]
    at = _app()
    at = _run(at.radio(key="ex_source").set_value("upload"))
    at = _run(at.file_uploader(key="ex_upload").set_value(("picture.png", data, "image/png")))
    assert not at.exception
    shown = [e.value for e in (at.error if level == "error" else at.info)]
    assert any(message in text for text in shown), shown
    if level == "info":  # converted: the maps are drawn
        assert len(map_grids(at)) == 1


def test_an_upload_is_decoded_once_unless_its_pixels_are_large(monkeypatch):
    from cnnviz.data import images

    decoded = []
    decode = images.decode_upload
    monkeypatch.setattr(images, "decode_upload", lambda data, name: decoded.append(name) or decode(data, name))
    at = _app()
    at = _run(at.radio(key="ex_source").set_value("upload"))
    side = 1400  # 1400 x 1400 RGB: 5.6 MB of pixels, over KEEP_DECODED_BYTES
    large = _png(Image.linear_gradient("L").resize((side, side)).convert("RGB"))
    at = _run(at.file_uploader(key="ex_upload").set_value(("large.png", large, "image/png")))
    assert at.session_state["ex_decoded"] is None
    assert decoded == ["large.png"]  # not kept, but decoded once per run: the view hands it to the controls
    (maps,) = map_grids(at)
    assert "large.png" in maps["title"]
    small = _png(Image.new("RGB", (40, 30), (10, 200, 30)))
    at = _run(at.file_uploader(key="ex_upload").set_value(("small.png", small, "image/png")))
    kept = at.session_state["ex_decoded"][1]
    assert kept.name == "small.png" and kept.pixels.shape == (30, 40, 3)
    assert decoded == ["large.png", "small.png"]
    at.number_input(key="ex_k_h").set_value(5).run()  # only the view reruns (a link cannot carry the upload)
    assert not at.exception and not at.sidebar.children
    assert at.session_state["ex_decoded"][1] is kept  # the kept picture, not a new decode
    (maps,) = map_grids(at)
    assert "small.png" in maps["title"] and (maps["rows"], maps["columns"]) == (24, 24)


def test_a_camera_picture_sets_three_channels_and_the_page_says_where_the_camera_works():
    at = _app({"out": "4"})
    at = _run(at.radio(key="ex_source").set_value("camera"))
    assert any("localhost or over HTTPS" in c.value for c in at.caption)
    photo = io.BytesIO()
    Image.fromarray(np.random.default_rng(2).integers(0, 255, (48, 64, 3), np.uint8)).save(photo, format="JPEG")
    at.camera_input(key="ex_camera").set_value(("photo.jpg", photo.getvalue(), "image/jpeg")).run()
    _no_problem(at)
    assert at.number_input(key="ex_c").value == 3
    assert _shown_shapes(at)[1] == (1, 4, 26, 26)
    (maps,) = map_grids(at)
    assert "camera picture" in maps["title"] and len(maps["panels"]) == 4


def _torch_shape(at: AppTest):
    """What PyTorch gives for the settings the page's link describes (None if PyTorch refuses)."""
    from cnnviz.explorer.layer2d import from_query

    s, _ = from_query({k: (v[0] if isinstance(v, list) else v) for k, v in at.query_params.items()})
    layer = {
        "Conv2d": lambda: nn.Conv2d(s.in_channels, s.out_channels, s.kernel, s.stride, s.padding, s.dilation,
                                    s.groups),
        "ConvTranspose2d": lambda: nn.ConvTranspose2d(s.in_channels, s.out_channels, s.kernel, s.stride, s.padding,
                                                      s.output_padding, s.groups, dilation=s.dilation),
        "MaxPool2d": lambda: nn.MaxPool2d(s.kernel, s.stride, s.padding, s.dilation, ceil_mode=s.ceil_mode),
        "AvgPool2d": lambda: nn.AvgPool2d(s.kernel, s.stride, s.padding, ceil_mode=s.ceil_mode),
        "Upsample": lambda: nn.Upsample(scale_factor=s.scale_factor, mode=s.mode),
    }[s.layer]  # fmt: skip
    try:
        y = layer()(torch.zeros(s.input_shape))
    except (RuntimeError, ValueError):
        return None
    return tuple(y.shape) if y.numel() else None


def test_a_random_walk_through_the_controls_never_breaks_and_always_agrees_with_pytorch():
    import random

    rng = random.Random(5)
    at = _app({"h": "12", "w": "12"})
    moves = [
        lambda: at.selectbox(key="ex_layer").set_value(rng.choice(["Conv2d", "MaxPool2d", "AvgPool2d",
                                                                   "ConvTranspose2d", "Upsample"])),
        lambda: at.toggle(key="ex_square").set_value(rng.random() < 0.5),
        lambda: at.toggle(key="ex_maps").set_value(rng.random() < 0.5),
        lambda: at.number_input(key="ex_h").set_value(rng.randint(1, 20)),
        lambda: at.number_input(key="ex_k_h").set_value(rng.randint(1, 6)),
        lambda: at.number_input(key="ex_s_h").set_value(rng.randint(1, 3)),
        lambda: at.number_input(key="ex_p_h").set_value(rng.randint(0, 3)),
        lambda: at.number_input(key="ex_d_h").set_value(rng.randint(1, 3)),
        lambda: at.number_input(key="ex_out").set_value(rng.choice([1, 3, 6])),
        lambda: at.radio(key="ex_pad_mode").set_value(rng.choice(["number", "same", "valid"])),
        lambda: at.checkbox(key="ex_relu").set_value(rng.random() < 0.5),
        lambda: at.checkbox(key="ex_pool").set_value(rng.random() < 0.5),
        lambda: at.selectbox(key="ex_kernel_mode").set_value(rng.choice(["preset", "all presets", "random"])),
        lambda: at.selectbox(key="ex_sample").set_value(rng.choice(["colour_scene", "mnist_0"])),
    ]  # fmt: skip
    moves.append(moves[0])  # change the layer more often, so that every kind is visited
    done = 0
    while done < 50:
        try:
            moves[rng.randrange(len(moves))]()  # a control that is hidden for this layer raises KeyError
        except KeyError:
            continue
        at = _run(at)
        done += 1
        assert not at.exception, at.exception
        expected = _torch_shape(at)
        if expected is None:
            assert at.error and "cannot work" in at.error[0].value
        else:
            assert _shown_shapes(at)[1] == expected


@pytest.mark.parametrize("layer", layer2d.EXPLORER_LAYERS)
def test_every_explored_kind_opens_from_a_link_with_its_controls_shape_formula_and_animation(layer):
    images = [e for e in EXAMPLES[layer] if len(e.shape) == 3]
    example = next((e for e in images if e.shape[0] in (1, 3)), images[0])  # a sample image can feed it
    sample = {1: "mnist_3", 3: "colour_scene"}.get(example.shape[0])
    settings = layer2d.settings_for(example.spec, example.shape, maps=sample is not None, sample=sample or "mnist_3")
    at = _app(layer2d.to_query(settings))
    _no_problem(at)
    module = code_export.to_module(example.spec, example.shape).eval()
    c, h, w = example.shape
    assert _shown_shapes(at) == ((1, *example.shape), tuple(module(torch.zeros(1, c, h, w)).shape))
    assert at.code[0].value == code_export.pytorch_line(example.spec, example.shape)
    formula = at.code[1].value.splitlines()
    assert formula[1].startswith("H_out = ") and formula[2].startswith("W_out = ")
    shown = {key for widget in (at.number_input, at.selectbox, at.checkbox, at.radio) for key in
             (w.key for w in widget)}  # fmt: skip
    for setting in layer2d.SETTINGS:  # the layer's own controls, and only those
        if setting.spec_field and setting.widget in ("number", "divisor", "select", "toggle", "float"):
            assert (setting.widget_key in shown) == (layer in setting.layers), setting.field
    if animation.no_window(settings) is None:
        assert "cnnviz.sliding_window" in _components(at)
    else:
        assert "cnnviz.sliding_window" not in _components(at)
        assert any(info.value == animation.no_window(settings) for info in at.info)
    assert ("cnnviz.views.grids" in _components(at)) == (sample is not None)  # the maps of the real layer


def test_each_rerun_analyses_the_layer_once(monkeypatch):
    from cnnviz.views import explorer_view

    calls = []
    real = explorer_view.analyze
    monkeypatch.setattr(explorer_view, "analyze", lambda settings: calls.append(settings) or real(settings))
    at = _app()
    assert len(calls) == 1  # the early shape, the view and the animation share one report
    at.number_input(key="ex_k_h").set_value(5).run()  # the view alone
    assert len(calls) == 2 and not at.sidebar.children
    at.run()
    at.number_input(key="ex_out").set_value(6).run()  # the whole page
    assert len(calls) == 4 and at.sidebar.children
    at.number_input(key="ex_k_h").set_value(40).run()  # a layer that cannot work: analysed once as well
    assert len(calls) == 5 and at.error
