"""Reading the map grids a page sent (cnnviz.views.grids payloads inside Streamlit v2 component elements)."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
from PIL import Image


def component_data(element) -> dict:
    """What a cnnviz component element carries (widgets/assets.py sends it as a one-item list)."""
    sent = json.loads(element.proto.json)
    assert isinstance(sent, list) and len(sent) == 1, sent
    return sent[0]


def map_grids(at) -> list[dict]:
    """The payloads of every map grid on an AppTest page, in page order."""
    found = []
    for element in at.get("bidi_component"):
        if element.proto.component_name == "cnnviz.views.grids":
            found.extend(component_data(element)["grids"])
    return found


def grid_values(payload: dict) -> np.ndarray:
    """``(C, rows, columns)`` values as the browser reads them back (within 1/255 of each panel's range)."""
    png = base64.b64decode(payload["png"].split(",", 1)[1])
    indices = np.asarray(Image.open(io.BytesIO(png)), dtype=np.float64)
    count, rows, cols = len(payload["panels"]), payload["rows"], payload["columns"]
    indices = indices.reshape(count, rows, cols)
    low = np.array([p["low"] for p in payload["panels"]])[:, None, None]
    high = np.array([p["high"] for p in payload["panels"]])[:, None, None]
    return low + indices / 255 * (high - low)


def grid_titles(at) -> list[str]:
    return [payload["title"] for payload in map_grids(at)]
