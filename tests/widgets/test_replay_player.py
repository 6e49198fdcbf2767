"""The replay player's payload: every frame's kernels and maps as colour indices, valid JSON, encoded once."""

from __future__ import annotations

import base64
import io
import json

import numpy as np
import torch
from PIL import Image

from cnnviz.training import replay
from cnnviz.training.recipe import TrainConfig, make_model
from tests.training.test_replay import a_frame
from widgets.replay_player import replay_payload


def indices(url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def test_kernels_are_centred_on_zero_per_frame_and_maps_are_sent_as_stored():
    frames = (a_frame(0, seed=0), a_frame(256, seed=1))
    payload = replay_payload(frames)
    json.dumps(payload, allow_nan=False)  # what the browser parses
    kernels = indices(payload["kernels_png"]).reshape(2, 16, 3, 3).astype(int)
    for i, frame in enumerate(frames):
        weights = frame.kernels[:, 0].astype(np.float32)
        largest = np.abs(weights).max()
        assert payload["frames"][i]["largest"] == float(f"{largest:.3g}")
        np.testing.assert_allclose(kernels[i], (weights + largest) / (2 * largest) * 255, atol=0.51)
    change = indices(payload["change_png"]).reshape(2, 16, 3, 3).astype(int)
    assert (change[0] == 128).all() and payload["frames"][0]["moved"] == 0  # nothing changed yet: white
    moved = frames[1].kernels[:, 0].astype(np.float32) - frames[0].kernels[:, 0].astype(np.float32)
    widest = np.abs(moved).max()  # one range for every moment
    np.testing.assert_allclose(change[1], (moved + widest) / (2 * widest) * 255, atol=0.51)
    norm = np.linalg.norm(frames[0].kernels[:, 0].astype(np.float32))
    assert payload["frames"][1]["moved"] == round(float(np.linalg.norm(moved) / norm), 4)
    maps = indices(payload["maps_png"]).reshape(2, 16, 28, 28)
    assert np.array_equal(maps[1], frames[1].maps)
    assert (payload["kernel_cmap"], payload["map_cmap"]) == ("blue-red", "viridis")


def test_a_replay_is_encoded_once_until_a_frame_is_added():
    frames = (a_frame(0, seed=0), a_frame(256, seed=1))
    first = replay_payload(frames)
    assert replay_payload(tuple(frames)) is first
    grown = replay_payload((*frames, a_frame(512, seed=2)))
    assert grown is not first and grown["signature"] != first["signature"]


def test_a_frame_with_huge_weights_still_sends_valid_json():
    model = make_model(TrainConfig())
    with torch.no_grad():
        replay.first_convolution(model).weight.mul_(1e12)
    frame = replay.capture(model, torch.full((1, 28, 28), 100, dtype=torch.uint8), 0, 0, 0.0)
    json.dumps(replay_payload((frame,)), allow_nan=False)
