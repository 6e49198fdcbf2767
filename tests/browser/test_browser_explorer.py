"""The explorer in real Chromium: change the kernel size, see the new shape, play the window; no exception."""

import pytest
from playwright.sync_api import expect

from tests.conftest import wait_for_app

WAIT_MS = 90_000  # a busy 2-core machine (other suites beside this one) can take tens of seconds per rerun


def _type_number(page, name: str, value: str, *, shows: str):
    """Type ``value`` into the number input labelled ``name`` and wait for the page to show ``shows``."""
    box = page.get_by_role("spinbutton", name=name)
    box.fill(value)
    box.press("Enter")
    page.get_by_text(shows).first.wait_for()
    return box


@pytest.mark.browser
def test_changing_the_kernel_size_updates_the_shape_in_the_browser(page, app_url):
    page.set_default_timeout(WAIT_MS)
    page.goto(app_url)  # the app's main script first, so that its navigation is in place
    wait_for_app(page)
    page.goto(f"{app_url}/explorer")
    wait_for_app(page)
    page.get_by_text("(1, 8, 26, 26)").first.wait_for()
    kernel = _type_number(page, "kernel_size", "5", shows="(1, 8, 24, 24)")
    wait_for_app(page)
    assert "nn.Conv2d(3, 8, kernel_size=5)" in page.locator("[data-testid='stCode']").first.inner_text()
    assert "k=5" in page.url  # the link carries the setting
    # the animation plays in the browser, without asking the server
    label = page.locator(".sw-label")
    expect(label).to_contain_text("step 1 of 576: output (0, 0) reads grid rows 0-4, columns 0-4", timeout=WAIT_MS)
    page.get_by_role("button", name="▶ play").click()
    expect(label).not_to_contain_text("step 1 of 576", timeout=WAIT_MS)  # it moves on by itself
    page.get_by_role("button", name="❚❚ pause").click()
    slider = page.locator(".sw-controls input[type=range]")
    slider.fill("575")
    last = "step 576 of 576: output (23, 23) reads grid rows 23-27, columns 23-27"
    expect(label).to_contain_text(last, timeout=WAIT_MS)
    # a second view-only change, then one that reruns the page: the controls kept every value through both
    stride = _type_number(page, "stride", "2", shows="(1, 8, 12, 12)")
    _type_number(page, "out_channels", "6", shows="(1, 6, 12, 12)")
    wait_for_app(page)
    expect(kernel).to_have_value("5")
    expect(stride).to_have_value("2")
    assert "nn.Conv2d(3, 6, kernel_size=5, stride=2)" in page.locator("[data-testid='stCode']").first.inner_text()
    assert all(part in page.url for part in ("k=5", "s=2", "out=6"))


def test_the_output_shape_travels_before_the_controls_and_once(app_url):
    """A control that changes only the layer's numbers reruns only the view: no control is sent again. One that
    changes the controls (out_channels: other groups) reruns the page, and the shape comes first (the browser
    paints it while ~20 controls follow). Either way the shape is sent once (issue 8)."""

    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.proto.WidgetStates_pb2 import WidgetState

    from benchmarks import bench_classroom as client

    def number(session, key, value):
        return WidgetState(id=session.widget_ids[key], double_value=value)

    async def runs():
        orders = []
        for query, changes in (
            ("", [("ex_k_h", 5.0), ("ex_s_h", 2.0), ("ex_out", 6.0)]),
            ("layer=MaxPool2d&k=3", [("ex_k_h", 2.0)]),
            ("k=3x5", [("ex_k_w", 4.0), ("ex_h", 30.0), ("ex_c", 2.0)]),
        ):
            session, _ = await client.open_session(app_url, "explorer", query)
            for key, value in changes:
                received = []
                socket_recv = session.socket.recv

                async def recv(socket_recv=socket_recv, received=received):
                    data = await socket_recv()
                    received.append(data)
                    return data

                session.socket.recv = recv
                await client.interact(session, [number(session, key, value)])
                session.socket.recv = socket_recv
                shapes, first_control = [], None
                for index, data in enumerate(received):
                    message = ForwardMsg.FromString(data)
                    if message.WhichOneof("type") != "delta":
                        continue
                    if b"class='cnnviz-shape'" in data:
                        shapes.append(index)
                    if first_control is None and message.metadata.delta_path[:1] == [1]:  # the sidebar
                        first_control = index
                orders.append((query, key, shapes, first_control))
            await session.socket.close()
        return orders

    for query, key, shapes, first_control in client.run_async(runs()):
        assert len(shapes) == 1, f"{query} / {key}: the shape was sent {len(shapes)} times"
        if key in ("ex_out", "ex_c"):  # the page reran
            assert first_control is not None and shapes[0] < first_control, f"{query} / {key}: controls came first"
        else:
            assert first_control is None, f"{query} / {key}: the controls were sent again"
