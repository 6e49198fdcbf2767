"""The Train page shared by a class (issue 9, findings 2, 8, 9, 12-15), under streamlit.testing."""

from __future__ import annotations

import errno
import os
import tomllib
from pathlib import Path

import torch
from streamlit.testing.v1 import AppTest

from cnnviz.data import images
from cnnviz.page_list import page_path
from cnnviz.training import jobs, runs
from cnnviz.training.jobs import process_start_ticks
from cnnviz.training.recipe import TrainConfig
from cnnviz.training.runs import Run, create_run, get_run, list_runs
from cnnviz.views import train_view
from cnnviz.views.model_sources import checkpoint_upload_mb
from models import CNNClassifier
from models.checkpoint import checkpoint_dict

ROOT = Path(__file__).resolve().parents[2]
HOSTILE_NAME = "**bold** [free marks](http://evil.example) :red[alarm] $x^2$ <b>hi</b>"


def train_page(**state) -> AppTest:
    at = AppTest.from_file("../../app.py", default_timeout=60).run()
    at.switch_page(page_path("train"))
    for key, value in state.items():
        at.session_state[key] = value
    at.run()
    assert not at.exception, at.exception
    return at


def finished_run(name: str = "", owner: str = "someone") -> Run:
    run = create_run(TrainConfig(train_images=1000, epochs=1), name=name, owner=owner)
    run.save_checkpoint(checkpoint_dict(CNNClassifier()))
    run.set_status("finished", "test accuracy 91.00%")
    return run


def test_the_largest_form_settings_are_refused_with_their_cost_shown_and_nothing_built(monkeypatch):
    build = CNNClassifier.__init__

    def only_on_meta(self, *args, **kwargs):
        assert torch.get_default_device().type == "meta", "the page built a real model to show its summary"
        build(self, *args, **kwargs)

    monkeypatch.setattr(CNNClassifier, "__init__", only_on_meta)
    at = train_page()
    labels = [metric.label for metric in at.metric]
    assert labels[:3] == ["Parameters", "Estimated time", "Checkpoint"] and "min" in at.metric[1].value
    at.text_input(key="tr_channels").set_value("256, 256, 256, 256")
    at.number_input(key="tr_blocks").set_value(4)
    at.selectbox(key="tr_kernel").set_value(7).run()
    assert at.metric[0].value == f"{61_042_442:,}"
    assert any("too big for the shared server" in error.value for error in at.error)
    assert at.button(key="tr_start").disabled
    at.text_input(key="tr_channels").set_value("32, 32, 32")
    at.number_input(key="tr_epochs").set_value(50).run()
    assert any("minutes here; one run may take at most 60 minutes" in e.value for e in at.error)
    assert at.button(key="tr_start").disabled and not list_runs()


def test_run_names_reach_other_students_as_plain_text():
    run = finished_run(HOSTILE_NAME)
    at = train_page(train_run=run.id)
    (heading,) = [h.value for h in at.subheader if "bold" in h.value]
    assert heading.endswith(train_view.escape_markdown(HOSTILE_NAME))
    assert "**bold**" not in heading and "](http" not in heading and ":red[" not in heading


def test_a_full_disk_leaves_the_page_working_and_saved_runs_readable(monkeypatch):
    saved = finished_run("saved before the disk filled")
    dead = create_run(TrainConfig(seed=1, train_images=1000, epochs=1), owner="x")
    dead.set_status("running", "training", pid=2**22 + 3)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(runs, "atomic_write_text", full)
    monkeypatch.setattr(runs, "atomic_torch_save", full)
    at = train_page(train_run=saved.id)
    assert any("saved before the disk filled" in h.value for h in at.subheader)
    assert at.get("download_button")
    at.number_input(key="tr_images").set_value(1000).run()
    at.button(key="tr_start").click().run()
    assert not at.exception, at.exception
    assert any("the disk is full" in error.value for error in at.error)
    assert [r.id for r in list_runs()] == [saved.id, dead.id]


def test_a_rerun_does_not_read_checkpoints_for_the_download_button(monkeypatch):
    run = finished_run("with a checkpoint")
    read = []
    original = Path.read_bytes

    def counting(self):
        if self.name == "checkpoint.pt":
            read.append(self)
        return original(self)

    monkeypatch.setattr(Path, "read_bytes", counting)
    at = train_page(train_run=run.id)
    assert at.get("download_button") and read == []


def test_polling_hundreds_of_runs_reads_no_file_twice(monkeypatch):
    """What the live panel does each second, with 200 runs on disk: stats, not reads."""
    for index in range(200):
        run = create_run(TrainConfig(seed=index, train_images=1000, epochs=1), owner=f"s{index}")
        run.append_metrics({"kind": "step", "step": 1, "epoch": 0.1, "loss": 1.0})
        run.set_status("finished" if index % 2 else "stopped", "done")
    watched = list_runs()[-1]

    def poll() -> None:
        for run in list_runs():
            jobs.refresh(run)
            run.meta  # noqa: B018 - what the table shows
        jobs.refresh(get_run(watched.id))
        watched.metrics()

    poll()
    opened = []
    original = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: opened.append(self) or original(self, *a, **k))
    poll()
    assert opened == []
    watched.append_metrics({"kind": "step", "step": 2, "epoch": 0.2, "loss": 0.9})
    poll()
    assert opened == [watched.path / "metrics.jsonl"] and len(watched.metrics("step")) == 2


def test_the_teacher_can_stop_every_run_at_the_end_of_class(monkeypatch):
    monkeypatch.setenv(jobs.ADMIN_TOKEN_ENV, "s3cret")
    running = create_run(TrainConfig(train_images=1000, epochs=1), owner="alice")
    running.set_status("running", "pretend", pid=os.getpid(), start_ticks=process_start_ticks(os.getpid()))
    waiting = create_run(TrainConfig(seed=2, train_images=1000, epochs=1), owner="bob")
    at = train_page()
    assert not at.sidebar.button  # no teacher button without the token
    at.sidebar.text_input(key="tr_admin").set_value("s3cret").run()
    at.sidebar.button(key="tr_stop_all").click().run()
    assert any("Asked 2 runs" in s.value for s in at.sidebar.success)
    assert running.stop_requested() and waiting.state == "stopped"


def test_the_teacher_box_says_when_the_connection_is_not_secure():
    warn = train_view.insecure_connection_warning
    assert "not secure" in warn("http://192.168.1.20:8501/train")
    assert warn("https://cnnviz.example.org/train") is None
    assert warn("http://cnnviz.example.org/train", forwarded_proto="https") is None  # TLS ends at a proxy
    assert warn("http://localhost:8501/train") is None and warn("http://127.0.0.1:8501/") is None


def test_every_uploader_has_its_own_limit_under_the_servers():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    server_limit = config["server"]["maxUploadSize"]
    assert max(checkpoint_upload_mb(), images.MAX_UPLOAD_MB) <= server_limit < 200  # Streamlit's default: 200
    at = train_page()
    (uploader,) = at.get("file_uploader")
    assert uploader.proto.max_upload_size_mb == checkpoint_upload_mb()
