"""A class on one server: N simulated students without browsers, half on the explorer, half drawing.

Each student is one Streamlit session speaking the browser's own protocol over the websocket
(``/_stcore/stream``: protobuf ``BackMsg`` up, ``ForwardMsg`` down), so the server does exactly the work a
browser's widget change causes: a ``rerun_script`` with the changed widget's value, the page's script
run, every element sent back. A student thinks 3 s (uniformly 1.5-4.5 s, seeded), then acts. Which half a
student is in is drawn at random (seeded; with N = 1 the one student is on the explorer), not by arrival
order: students arrive in order and the front gives each new browser to the worker with the fewest, so
alternating pages would put every explorer on one worker and every drawer on the other, which a class
(pages chosen after arriving) does not do.

- explorer students (``/explorer``, default view) change kernel_size (3 <-> 4) or stride (1 <-> 2);
- draw students (``/draw``) send a drawing of a 7, one of 64 jittered ones drawn before the window, as the
  page's canvas component (cnnviz's own or streamlit-drawable-canvas) sends it: see
  :func:`drawing_widget_state`, the one place to adapt when the drawing component changes.

A widget inside an ``st.fragment`` (the draw page's canvas) reruns only its fragment, as in a browser: the
client learns each widget's fragment from the elements it receives and names it in the rerun request. A
widget whose callback reruns a keyed fragment (the explorer's controls) is sent as the browser sends it; the
server reruns the fragment.

Students load their page (connect, first run; not measured) 8 at a time, then the measured window starts.
Latency = from sending the rerun request to the server's ``script_finished`` message for that run
(everything the run sends comes before it). Errors: an exception element on the page, a run that
does not finish in 60 s, a dropped connection. Per N: p50 / p95 / max latency, errors, the server's
CPU time per attempted interaction (process CPU time from the window's start until the last answer, over
the interactions sent, answered or not) and its memory at the end (the server and its children, worker
processes included: the sum of their proportional set sizes, so libraries they share count once). All N share
one server in increasing order, so sessions of the earlier levels are still held (Streamlit keeps a
disconnected session's state for ``server.disconnectedSessionTTL``): the memory column is what a server that
has seen that many students holds.

Why not Streamlit 1.67's agent API (``--server.enableAgentApi``, ``POST /_stcore/agent/interact``)?
It refuses to set the drawing canvas: a custom component is ``support: browser_required`` and any
write to it is ``unsupported_element``. It also builds a JSON snapshot of the whole page per call,
server work a browser never causes. The websocket client drives both pages through the path a
browser takes.

Usage: ``python -m benchmarks classroom [--students 1,10,30,60,120] [--duration 20] [--baseline REF]``.
With ``--baseline REF`` the baseline (a temporary ``git worktree`` of REF) and this tree are served
side by side and each N is run on both, alternating which goes first, so both see the same noise. With ``--hosts 2``
the two are this tree served as ``make app`` serves it and as two app hosts (127.0.0.2, 127.0.0.3, one worker each)
behind a front on 127.0.0.1 (docs/serving.md, "Several machines"); ``--only-hosts`` runs the app hosts alone.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import functools
import io
import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import websockets
from PIL import Image, ImageDraw
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState

from benchmarks.served import Server, ratio, versions
from benchmarks.table import median_p95, print_table

STUDENTS = (1, 10, 30, 60, 120)
DURATION_S = 20.0  # measured seconds per N (after every student has loaded the page)
THINK_S = 3.0  # mean think time; each pause is uniform in [0.5, 1.5] x this
RUN_TIMEOUT_S = 60.0  # a run that has not finished by then counts as an error
LOAD_TIMEOUT_S = 300.0  # connecting and a page's first run (not measured): a class arriving at once queues
LOADING_AT_ONCE = 8  # students loading their page at the same time (loading is not measured)
SEED = 8
REST_S = 10.0  # after both servers answer, before memory at rest is read (the last worker's start settles)
POOL_SIZE = 64  # different drawings the draw students send, made before the measured window

# The widgets the students use, by the user key the pages give them (Streamlit's element id ends in it).
EXPLORER_PAGE, DRAW_PAGE = "explorer", "draw"
KERNEL_KEY, STRIDE_KEY = "ex_k_h", "ex_s_h"  # number_input (double_value); square mode is the default
CANVAS_KEY = "draw_canvas"  # the drawing canvas, a components.v2 component (json_value)
CANVAS_PX = 280
# Text that must arrive in every run of the page: without it the interaction did not do what it should (e.g. the
# drawing was not read and the page shows its prompt): counted as an error.
EXPECTED = {EXPLORER_PAGE: b"cnnviz-shape", DRAW_PAGE: b"draw-prediction"}
# Messages longer than this are figures and images: counted, never parsed (keeps the client cheap).
PARSE_LIMIT = 64 * 1024


class InteractionFailed(Exception):
    """A run that raised on the page, never finished, or lost its connection."""


@dataclass
class RunResult:
    seconds: float  # request sent -> script_finished received
    received_bytes: int  # every websocket message of the run


@dataclass
class Session:
    """One browser-less Streamlit session on one page."""

    socket: websockets.ClientConnection
    page: str
    widget_ids: dict[str, str] = field(default_factory=dict)  # user key -> element id
    component_names: dict[str, str] = field(default_factory=dict)  # user key -> components.v2 component name
    fragment_of: dict[str, str] = field(default_factory=dict)  # element id -> the st.fragment it is in ("" if none)
    page_script_hash: str = ""
    query_string: str = ""


def _element_id(element) -> str:
    kind = element.WhichOneof("type")
    return getattr(getattr(element, kind), "id", "") if kind else ""


def _user_key(element_id: str) -> str:
    """Streamlit's ids for keyed elements are ``$$ID-<hash>-<user key>``."""
    return element_id.split("-", 2)[2] if element_id.startswith("$$ID-") and element_id.count("-") >= 2 else ""


async def _run(session: Session, message: BackMsg, expect: bool = True, timeout: float = RUN_TIMEOUT_S) -> RunResult:
    """Send one rerun request and read until its script_finished; raise InteractionFailed on a page error.

    ``expect``: the run must also send the page's ``EXPECTED`` text (not so for a page's first load).
    """
    start = time.perf_counter()
    await session.socket.send(message.SerializeToString())
    received = 0
    problems: list[str] = []
    seen_expected = False
    deadline = start + timeout
    while True:
        try:
            data = await asyncio.wait_for(session.socket.recv(), max(0.01, deadline - time.perf_counter()))
        except TimeoutError:
            raise InteractionFailed(f"no script_finished within {timeout:.0f} s") from None
        except websockets.ConnectionClosed as error:
            raise InteractionFailed(f"connection closed: {error}") from None
        received += len(data)
        seen_expected = seen_expected or EXPECTED.get(session.page, b"") in data
        if len(data) > PARSE_LIMIT:
            continue
        msg = ForwardMsg.FromString(data)
        kind = msg.WhichOneof("type")
        if kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            if element.WhichOneof("type") == "exception":
                problems.append(f"{element.exception.type}: {element.exception.message}")
            if key := _user_key(_element_id(element)):
                session.widget_ids[key] = _element_id(element)
                session.fragment_of[_element_id(element)] = msg.delta.fragment_id
                if element.WhichOneof("type") == "bidi_component":
                    session.component_names[key] = element.bidi_component.component_name
        elif kind == "navigation":
            for page in msg.navigation.app_pages:
                if page.url_pathname == session.page:
                    session.page_script_hash = page.page_script_hash
        elif kind == "page_info_changed":
            session.query_string = msg.page_info_changed.query_string
        elif kind == "page_not_found":
            problems.append(f"page not found: {session.page}")
        elif kind == "script_finished":
            status = msg.script_finished
            if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                continue  # another rerun follows; its script_finished ends this interaction
            if status == ForwardMsg.FINISHED_WITH_COMPILE_ERROR:
                problems.append("the page failed to compile")
            if expect and not seen_expected:
                problems.append(f"the run sent no {EXPECTED[session.page].decode()!r}")
            if problems:
                raise InteractionFailed("; ".join(problems))
            return RunResult(time.perf_counter() - start, received)


def _rerun_message(session: Session, states: list[WidgetState]) -> BackMsg:
    message = BackMsg()
    rerun = message.rerun_script
    rerun.query_string = session.query_string
    rerun.page_name = session.page
    rerun.page_script_hash = session.page_script_hash
    rerun.widget_states.widgets.extend(states)  # only the changed widget: the others keep their values
    # A widget inside an st.fragment reruns only that fragment, as the browser asks for it.
    fragments = {session.fragment_of.get(state.id, "") for state in states}
    if len(fragments) == 1:
        rerun.fragment_id = fragments.pop()
    return message


async def open_session(
    url: str, page: str, query_string: str = "", cookie: str | None = None
) -> tuple[Session, RunResult]:
    """Connect as a new browser tab would and run ``page`` once; returns the session and that first run.

    ``cookie``: the ``Cookie`` header a browser that was here before sends (the front's worker cookie).
    """
    socket = await websockets.connect(
        url.replace("http://", "ws://") + "/_stcore/stream",
        subprotocols=["streamlit"],
        additional_headers={"Cookie": cookie} if cookie else None,
        max_size=None,
        open_timeout=LOAD_TIMEOUT_S,
        ping_interval=None,  # browsers send no pings; a busy server answering late must not drop the student
    )
    session = Session(socket, page, query_string=query_string)
    first = await _run(session, _rerun_message(session, []), expect=False, timeout=LOAD_TIMEOUT_S)
    return session, first


async def interact(session: Session, states: list[WidgetState]) -> RunResult:
    """One widget change: the rerun a browser sends, timed until the run finished."""
    return await _run(session, _rerun_message(session, states))


def number_state(session: Session, key: str, value: float) -> WidgetState:
    return WidgetState(id=session.widget_ids[key], double_value=value)


def digit_png(rng: random.Random) -> tuple[bytes, list[tuple[int, int]]]:
    """A 7 in black on white, 280 x 280 RGBA, its corners jittered by up to 15 pixels."""
    image = Image.new("RGBA", (CANVAS_PX, CANVAS_PX), (255, 255, 255, 255))
    points = [(x + rng.randint(-15, 15), y + rng.randint(-15, 15)) for x, y in ((70, 60), (210, 60), (120, 235))]
    ImageDraw.Draw(image).line(points, fill=(0, 0, 0, 255), width=20, joint="curve")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue(), points


@functools.cache
def drawing_pool() -> tuple[tuple[bytes, list[tuple[int, int]]], ...]:
    """:data:`POOL_SIZE` different 7s, drawn once: drawing and encoding one costs the client ~5 ms, which the
    server would lose to it on the same 2 cores (a real student's browser draws on its own machine)."""
    return tuple(digit_png(random.Random(SEED * 7919 + i)) for i in range(POOL_SIZE))


def drawing_widget_state(session: Session, rng: random.Random) -> WidgetState:
    """A new drawing, as the page's canvas component sends one when the pen lifts.

    Both canvases are ``components.v2`` components: the browser sends the component's whole state dict as
    the widget's JSON value, under the element id of ``key="draw_canvas"``.

    - cnnviz's own (``widgets/draw_canvas.js``): ``{"picture": "data:image/png;base64,..."}``, the canvas
      as a PNG after each stroke.
    - streamlit-drawable-canvas 0.13: ``{"drawing": {"raw": <Fabric.js canvas JSON>, "data":
      "data:image/png;base64,..."}}`` (``data`` because the page asks for ``return_image_data=True``;
      the page reads only the PNG).

    A new component needs a branch here: what its frontend sends, recognised by its component name.
    """
    png, points = rng.choice(drawing_pool())
    data_url = "data:image/png;base64," + base64.b64encode(png).decode()
    component = session.component_names.get(CANVAS_KEY, "")
    if "streamlit_drawable_canvas" in component:
        path = [["M", *points[0]], *(["L", x, y] for x, y in points[1:])]
        raw = {
            "version": "6.0.0",
            "objects": [{"type": "Path", "path": path, "stroke": "#000000", "strokeWidth": 20, "fill": None}],
            "background": "#FFFFFF",
        }
        value: dict = {"drawing": {"raw": raw, "data": data_url}}
    elif "draw_canvas" in component:
        value = {"picture": data_url}
    else:
        raise InteractionFailed(f"unknown drawing component {component!r}: teach drawing_widget_state its value")
    return WidgetState(id=session.widget_ids[CANVAS_KEY], json_value=json.dumps(value))


# --- students -----------------------------------------------------------------------------------


@dataclass
class Record:
    page: str
    seconds: float | None  # None: failed
    error: str = ""


def explorer_action(rng: random.Random) -> Callable[[Session], list[WidgetState]]:
    values = {KERNEL_KEY: 3.0, STRIDE_KEY: 1.0}
    flips = {KERNEL_KEY: (3.0, 4.0), STRIDE_KEY: (1.0, 2.0)}

    def act(session: Session) -> list[WidgetState]:
        key = rng.choice((KERNEL_KEY, STRIDE_KEY))
        low, high = flips[key]
        values[key] = high if values[key] == low else low
        return [number_state(session, key, values[key])]

    return act


def draw_action(rng: random.Random) -> Callable[[Session], list[WidgetState]]:
    return lambda session: [drawing_widget_state(session, rng)]


def pages_of(students: int) -> list[str]:
    """Each student's page: half on the explorer (the odd one out too), half drawing, in a seeded random order."""
    pages = [EXPLORER_PAGE] * (students - students // 2) + [DRAW_PAGE] * (students // 2)
    random.Random(SEED + students).shuffle(pages)
    return pages


async def student(
    number: int,
    page: str,
    url: str,
    loading: asyncio.Semaphore,
    ready: asyncio.Barrier,
    window: dict[str, float],
    records: list[Record],
) -> None:
    rng = random.Random(SEED * 1000 + number)
    act = explorer_action(rng) if page == EXPLORER_PAGE else draw_action(rng)
    session = None
    try:
        async with loading:
            session, _ = await open_session(url, page)
    except (InteractionFailed, OSError, TimeoutError, websockets.WebSocketException) as error:
        records.append(Record(page, None, f"loading: {error}"))
    try:
        await ready.wait()  # every student has loaded the page: the measured window starts
        if session is None:
            return
        await asyncio.sleep(rng.uniform(0, THINK_S))  # students do not all act at the same moment
        while time.monotonic() < window["end"]:
            try:
                result = await interact(session, act(session))
                records.append(Record(page, result.seconds))
            except InteractionFailed as error:
                records.append(Record(page, None, str(error)))
            await asyncio.sleep(THINK_S * rng.uniform(0.5, 1.5))
    finally:
        if session is not None:
            await session.socket.close()


@dataclass
class LevelResult:
    students: int
    explorer: list[float]
    draw: list[float]
    errors: list[str]
    cpu_ms_per_interaction: float  # server CPU time from the window's start to the last answer / attempts
    memory_mb: float
    front_mb: float  # resident memory of the front (Caddy and serve.py's own process; before Caddy: the door)


async def _level(server: Server, students: int, duration: float) -> LevelResult:
    drawing_pool()  # before the measured window
    records: list[Record] = []
    ready = asyncio.Barrier(students + 1)
    window = {"end": float("inf")}
    loading = asyncio.Semaphore(LOADING_AT_ONCE)
    tasks = [
        asyncio.create_task(student(i, page, server.url, loading, ready, window, records))
        for i, page in enumerate(pages_of(students))
    ]
    await ready.wait()
    cpu_before = server.cpu_seconds()
    window["end"] = time.monotonic() + duration
    await asyncio.gather(*tasks)
    cpu = server.cpu_seconds() - cpu_before
    done = [r for r in records if r.seconds is not None]
    attempts = [r for r in records if not r.error.startswith("loading")]
    return LevelResult(
        students,
        [r.seconds * 1000 for r in done if r.page == EXPLORER_PAGE],
        [r.seconds * 1000 for r in done if r.page == DRAW_PAGE],
        [r.error for r in records if r.seconds is None],
        cpu * 1000 / max(1, len(attempts)),
        server.memory_bytes() / 2**20,
        server.front_rss_bytes() / 2**20,
    )


def run_async(coroutine):
    """``asyncio.run`` in a thread of its own: works even where the caller's thread runs an event loop
    (Playwright's sync API leaves one in the main thread)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def run_level(server: Server, students: int, duration: float) -> LevelResult:
    return run_async(_level(server, students, duration))


def _p(samples: list[float], which: str) -> float:
    if not samples:
        return float("nan")
    if which == "max":
        return max(samples)
    median, p95 = median_p95(samples)
    return median if which == "p50" else p95


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks classroom", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--students", default=",".join(map(str, STUDENTS)), help="comma-separated N (default %(default)s)"
    )
    parser.add_argument(
        "--duration", type=float, default=DURATION_S, help="measured seconds per N (default %(default)s)"
    )
    parser.add_argument("--baseline", metavar="REF", help="also serve git REF (e.g. main) and compare, interleaved")
    parser.add_argument(
        "--hosts", type=int, default=0, metavar="N", help="compare make app's server with N app hosts behind a front"
    )
    parser.add_argument("--only-hosts", action="store_true", help="with --hosts: the app hosts alone, no comparison")
    args, ignored = parser.parse_known_args(argv or [])  # options of other benchmarks may be on the line
    if ignored:
        print(f"(ignored here: {' '.join(ignored)})")
    levels = [int(n) for n in args.students.split(",") if n.strip()]

    rows = []
    with versions(args.baseline, hosts=args.hosts, compare=not args.only_hosts) as servers:
        time.sleep(REST_S)
        for server in servers:
            print(f"at rest ({server.label}): front {server.front_rss_bytes() / 2**20:.0f} MB RSS, server"
                  f" {server.memory_bytes() / 2**20:.0f} MB PSS in all", flush=True)  # fmt: skip
        for index, students in enumerate(levels):
            order = servers if index % 2 == 0 else servers[::-1]  # alternate who goes first
            results = {server.label: run_level(server, students, args.duration) for server in order}
            for server in servers:
                r = results[server.label]
                both = r.explorer + r.draw
                rows.append([
                    students, server.label, len(both), _p(both, "p50"), _p(both, "p95"), _p(both, "max"),
                    _p(r.explorer, "p95"), _p(r.draw, "p95"), len(r.errors), r.cpu_ms_per_interaction, r.memory_mb,
                    r.front_mb,
                ])  # fmt: skip
                for error in sorted(set(r.errors))[:3]:
                    print(f"  error ({server.label}, N={students}): {error[:200]}")
            if len(servers) == 2:
                base, cand = (results[s.label] for s in servers)
                rows.append([
                    students, "ratio candidate / baseline", "", ratio(_p(cand.explorer + cand.draw, "p50"),
                    _p(base.explorer + base.draw, "p50")), ratio(_p(cand.explorer + cand.draw, "p95"),
                    _p(base.explorer + base.draw, "p95")), "", "", "", "",
                    ratio(cand.cpu_ms_per_interaction, base.cpu_ms_per_interaction),
                    ratio(cand.memory_mb, base.memory_mb), ratio(cand.front_mb, base.front_mb),
                ])  # fmt: skip
    print(
        f"{args.duration:.0f} s per N, think time {THINK_S:.0f} s (uniform +-50%), half explorer (kernel_size / stride)"
        ", half draw (a new 7); latency = rerun request -> script_finished"
    )
    print_table(
        ["students", "app", "interactions", "p50 ms", "p95 ms", "max ms", "explorer p95 ms", "draw p95 ms", "errors",
         "server CPU ms / attempt", "server memory MB (PSS)", "front MB (RSS)"],
        rows,
    )  # fmt: skip


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
