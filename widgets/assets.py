"""What the pages' components are made of: their JavaScript and CSS (with cnnviz's colour lookup tables
injected), and the data each rerun sends them."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from cnnviz.views.grids import COLORMAPS
from cnnviz.views.palette import NAMED_COLOURS, colormap_anchors

HERE = Path(__file__).parent


def source(name: str) -> str:
    """The text of ``widgets/<name>`` without indentation and whole-line comments.

    Streamlit sends a component's code with every instance on every rerun, so
    the bytes saved here are saved per grid per click.
    """
    lines = (line.strip() for line in (HERE / name).read_text(encoding="utf-8").splitlines())
    return "\n".join(line for line in lines if line and not line.startswith("//"))


def colormap_constants() -> str:
    """``const ANCHORS = {...}``: every colormap's anchor colours, the single source being cnnviz.views.palette."""
    anchors = {name: [[round(float(v), 2) for v in rgb] for rgb in colormap_anchors(name)] for name in COLORMAPS}
    return f"const ANCHORS = {json.dumps(anchors, separators=(',', ':'))};\n"


def palette_constants() -> str:
    """``const PALETTE = {"blue": "#0072B2", ...}``: the Okabe-Ito colours by name, from cnnviz.views.palette."""
    return f"const PALETTE = {json.dumps(NAMED_COLOURS, separators=(',', ':'))};\n"


def with_palette(css: str) -> str:
    """``css`` with each ``var(--palette-NAME)`` written out as that Okabe-Ito colour of cnnviz.views.palette.

    Written out here rather than declared as CSS custom properties, so the colour holds wherever Streamlit
    mounts the component's styles. An unknown name raises KeyError when the widget module is imported.
    """
    return re.sub(r"var\(--palette-([a-z]+)\)", lambda match: NAMED_COLOURS[match.group(1)], css)


def sent(payload: dict) -> list[dict]:
    """A component's ``data`` as sent: ``payload`` stamped with this rerun's ``revision``, in a one-item list.

    The browser side reads ``data[0]``. Streamlit may hand it an older rerun's data after a newer one (two
    reruns close together); the revision, the server's clock at the rerun, lets it keep the newest.

    In a list because Streamlit checks each top-level value of a ``data`` dict for a dataframe to send as
    Arrow, through ~20 type tests per value: 1.1 ms for a 16-panel map grid's payload on the 2-core machine,
    0.09 ms for the same payload in a list, which it sends as JSON unchecked. Our payloads hold no dataframes.
    """
    return [{**payload, "revision": time.monotonic_ns()}]
