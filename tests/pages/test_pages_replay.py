"""A run's replay on the Train and Inside pages under streamlit.testing: the player with every frame, sent once per
session; a clear line where there is no replay (an older run, the shipped classifier)."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image
from streamlit.testing.v1 import AppTest

from cnnviz.page_list import page_path
from cnnviz.training import replay
from cnnviz.training.recipe import TrainConfig, make_model
from cnnviz.training.runs import Run, create_run
from models.checkpoint import checkpoint_dict
from tests.map_grids import component_data
from tests.training.test_replay import a_frame

TIMEOUT = 120  # a busy 2-core machine
MOMENTS = (0, 256, 512, 1024, 2048)


def finished_run_with_replay(name: str = "replayed", frames: bool = True) -> Run:
    run = create_run(TrainConfig(), name=name, owner="someone")
    model = make_model(run.config)
    run.save_checkpoint(checkpoint_dict(model, train_config=run.meta["train"]))
    if frames:
        for seed, images in enumerate(MOMENTS):
            assert replay.write_frame(run.path, a_frame(images, seed=seed))
    run.set_status("finished", "test accuracy 10.00%")
    return run


def players(app: AppTest) -> list[dict]:
    return [component_data(e) for e in app.get("bidi_component") if e.proto.component_name == "cnnviz.replay"]


def png_rows(url: str) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))))


def train_page(run: Run) -> AppTest:
    app = AppTest.from_file(f"../../{page_path('train')}", default_timeout=TIMEOUT)
    app.session_state["train_run"] = run.id
    return app.run()


def test_the_train_page_plays_a_finished_runs_replay_sending_its_frames_once():
    run = finished_run_with_replay()
    app = train_page(run)
    assert not app.exception, app.exception
    (player,) = players(app)
    assert [f["images"] for f in player["frames"]] == list(MOMENTS) and player["live"] is False
    assert (player["channels"], player["kernel"], player["height"], player["width"]) == (16, 3, 28, 28)
    assert png_rows(player["kernels_png"]).shape == (len(MOMENTS) * 16 * 3, 3)
    assert png_rows(player["maps_png"]).shape == (len(MOMENTS) * 16 * 28, 28)
    stored = replay.load_replay(run.path)
    assert np.array_equal(png_rows(player["maps_png"]).reshape(len(MOMENTS), 16, 28, 28)[2], stored[2].maps)
    assert [round(sum(f["probabilities"]), 3) for f in player["frames"]] == [1.0] * len(MOMENTS)
    assert "watch the first layer's filters form" in "\n".join(m.value for m in app.markdown)
    app.run()  # nothing changed: only the signature travels
    (again,) = players(app)
    assert again == {"signature": player["signature"], "live": False, "revision": again["revision"]}
    assert replay.write_frame(run.path, a_frame(4096, seed=9))
    app.run()  # a new frame: all of them again
    (grown,) = players(app)
    assert [f["images"] for f in grown["frames"]] == [*MOMENTS, 4096] and grown["signature"] != player["signature"]


def test_a_run_without_replay_says_so():
    app = train_page(finished_run_with_replay("old run", frames=False))
    assert not app.exception and players(app) == []
    assert any("has no replay" in c.value for c in app.caption)


def inside_page(classifier_label: str | None = None) -> AppTest:
    app = AppTest.from_file(f"../../{page_path('inside')}", default_timeout=TIMEOUT)
    app.session_state["inside_section"] = "replay"
    app.session_state["inside_index"] = 0
    if classifier_label:
        app.session_state["inside_classifier"] = classifier_label
    return app.run()


def test_the_inside_page_replays_the_run_its_classifier_picker_shows(mnist_digits):
    app = inside_page()
    assert not app.exception, app.exception
    assert players(app) == [] and any("shipped classifier comes without a replay" in i.value for i in app.info)
    run = finished_run_with_replay("watched")
    app = inside_page("run: watched")
    assert not app.exception, app.exception
    assert app.selectbox(key="inside_classifier").value == "run: watched"
    (player,) = players(app)
    assert [f["images"] for f in player["frames"]] == list(MOMENTS)
    assert "How this run's first layer learned" in "\n".join(m.value for m in app.markdown)
    replay.truncate_replay(run.path, -1)
    app.run()
    assert players(app) == [] and any("This run has no replay" in i.value for i in app.info)
