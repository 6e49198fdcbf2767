"""The Train page under streamlit.testing: live parameter count, start a real run, see progress, stop it."""

import time

import pytest
from streamlit.testing.v1 import AppTest

from cnnviz.page_list import page_path
from cnnviz.training import jobs
from cnnviz.training.recipe import TrainConfig
from cnnviz.training.runs import create_run, list_runs
from cnnviz.views import train_view
from tests.map_grids import component_data


def train_page() -> AppTest:
    at = AppTest.from_file("../../app.py", default_timeout=60).run()
    at.switch_page(page_path("train")).run()
    assert not at.exception, at.exception
    return at


def all_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [e.value for e in at.error] + [w.value for w in at.warning]
    parts += [i.value for i in at.info] + [c.value for c in at.caption]
    return "\n".join(str(p) for p in parts)


def test_parameter_count_updates_live_and_warns_past_100k():
    at = train_page()
    params = at.metric[0]
    assert params.label == "Parameters" and params.value == f"{37_914:,}"
    at.text_input(key="tr_channels").set_value("64, 128, 128").run()
    assert int(at.metric[0].value.replace(",", "")) > 100_000
    assert "more than the lab's budget of 100,000" in all_text(at)
    at.text_input(key="tr_channels").set_value("16, x").run()
    assert "whole numbers" in all_text(at) and at.button(key="tr_start").disabled
    at.text_input(key="tr_channels").set_value("8")
    at.number_input(key="tr_blocks").set_value(0).run()
    assert "at least three convolutions" in all_text(at)  # InvalidLayerConfig, shown not raised
    assert not at.exception


def test_start_see_progress_and_stop_a_real_run(mnist, start_worker):
    at = train_page()
    at.number_input(key="tr_images").set_value(2000)
    at.number_input(key="tr_epochs").set_value(20)
    at.button(key="tr_start").click().run()
    assert not at.exception, at.exception
    (run,) = list_runs()
    assert run.state == "queued" and run.owner == at.session_state.train_owner
    assert "Waiting in the queue: place 1" in all_text(at)  # no queue worker yet
    start_worker()
    deadline = time.monotonic() + 90
    while not run.metrics("step"):
        assert time.monotonic() < deadline and jobs.refresh(run).state in ("queued", "running"), run.status
        time.sleep(0.2)
    at.run()
    progress = at.get("progress")[0]
    assert "images/s" in progress.proto.text and progress.value > 0
    (curves,) = [e for e in at.get("bidi_component") if e.proto.component_name == "cnnviz.curves"]
    loss, accuracy = component_data(curves)["charts"]  # both curves, with the steps logged so far
    assert (loss["title"], accuracy["title"]) == ("Loss (cross-entropy)", "Accuracy")
    assert 0 < len(loss["curves"][0]["x"]) <= len(run.metrics("step"))  # the run goes on logging meanwhile
    (watch,) = [e for e in at.get("bidi_component") if e.proto.component_name == "cnnviz.watch"]
    assert component_data(watch)["url"] == f"/api/runs/{run.id}/version"
    at.button(key=f"tr_stop_{run.id}").click().run()
    assert jobs.wait(run, 60) == "stopped"
    at.run()
    assert "stopped" in all_text(at)
    assert at.button(key=f"tr_resume_{run.id}")  # the owner can resume it
    assert at.get("download_button")


def test_another_browser_cannot_stop_a_run_and_sees_it_queued_or_finished():
    run = create_run(TrainConfig(), owner="someone-else")
    run.set_status("stopped", "stopped at step 3")
    at = train_page()
    at.selectbox(key="tr_manage").set_value(run.id)
    at.button(key="tr_open").click().run()
    assert "belongs to another browser" in all_text(at)
    assert not [b for b in at.button if b.key and b.key.startswith("tr_resume_")]


def test_a_browser_keeps_its_owner_id_though_streamlit_remasks_its_cookie():
    token = bytes(range(16))
    masks = [b"\x01\x02\x03\x04", b"\xff\x00\xaa\x55"]

    def cookie(mask: bytes, secret: bytes = token) -> str:
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(secret))
        return f"2|{mask.hex()}|{masked.hex()}|1700000000"

    first, second = (train_view.owner_from_cookie(cookie(m)) for m in masks)
    assert first == second and cookie(masks[0]) != cookie(masks[1])
    other_browser = cookie(masks[0], bytes(range(1, 17)))
    assert train_view.owner_from_cookie(other_browser) != first
    assert token.hex() not in first  # the secret token is not exposed


def test_an_uploaded_checkpoint_is_described_or_refused_with_the_reason():
    from models import PRETRAINED_DIR, CheckpointError

    line = train_view.describe_checkpoint((PRETRAINED_DIR / "autoencoder.pt").read_bytes())
    assert line.startswith("A valid cnnviz checkpoint: ConvAutoencoder with channels 16, 32, 32")
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        train_view.describe_checkpoint(b"GIF89a not a checkpoint")


def test_the_bottleneck_comparison_form_queues_every_size_and_shows_its_progress():
    from cnnviz.training import bottleneck
    from tests.training.test_hostile_queue import occupy_the_slot

    occupy_the_slot(owner="teacher")  # the slot is busy: the sizes wait in the queue, nothing trains
    at = train_page()
    assert at.multiselect(key="tr_bn_sizes").value == list(bottleneck.SIZES)
    assert at.number_input(key="tr_bn_epochs").value == bottleneck.EPOCHS
    at.multiselect(key="tr_bn_sizes").set_value([16, 2])
    at.number_input(key="tr_bn_epochs").set_value(1)
    at.number_input(key="tr_bn_images").set_value(1000).run()
    assert "2 runs, about" in all_text(at)
    at.button(key="tr_bn_start").click().run()
    assert not at.exception, at.exception
    owner = at.session_state.train_owner
    runs = [r for r in list_runs() if r.owner == owner]
    assert [r.name for r in runs] == ["bottleneck 2 values", "bottleneck 16 values"]
    assert [r.config for r in runs] == bottleneck.configs([2, 16], bottleneck.base_config(1, 1000))
    text = all_text(at)
    assert "Queued 2 autoencoders (2, 16 values)." in [s.value for s in at.success]
    assert "**Your bottleneck comparison:** 0 of 2 sizes finished; 2 waiting." in text
    assert any("Bottleneck sizes" in link.proto.label for link in at.get("page_link"))
    at.button(key="tr_bn_start").click().run()  # a second comparison while the first waits: refused, clearly
    assert "you already have a run waiting in the queue" in all_text(at) and len(list_runs()) == 3
    at.button(key="tr_bn_stop").click().run()
    assert {r.state for r in runs} == {"stopped"}
    assert "0 of 2 sizes finished; 2 values stopped; 16 values stopped." in all_text(at)
    assert not at.exception


def test_the_bottleneck_form_refuses_what_the_queue_would_refuse(monkeypatch):
    monkeypatch.setenv(jobs.MAX_RUN_MINUTES_ENV, "5")
    at = train_page()
    at.number_input(key="tr_bn_epochs").set_value(1).run()  # six sizes of about 1 minute each: 6 minutes
    at.button(key="tr_bn_start").click().run()
    assert "runs together may take at most 5 minutes" in all_text(at) and list_runs() == []
    at.multiselect(key="tr_bn_sizes").set_value([]).run()
    assert "Pick at least one code size." in all_text(at) and not at.exception


def test_the_teacher_marks_a_run_shown_and_a_student_compares_its_settings_with_theirs(monkeypatch):
    monkeypatch.setenv(jobs.ADMIN_TOKEN_ENV, "s3cret")
    teachers = create_run(TrainConfig(lr=3e-3, batch_size=128), name="teacher's run", owner="teacher")
    mine = create_run(TrainConfig(lr=1e-2, batch_size=128), name="my run", owner="student")
    for run in (teachers, mine):
        run.set_status("finished", "done")
    teacher = train_page()
    teacher.sidebar.text_input(key="tr_admin").set_value("s3cret").run()
    teacher.selectbox(key="tr_manage").set_value(teachers.id).run()
    teacher.checkbox(key=f"tr_shown_{teachers.id}").check().run()
    assert teachers.shown_to_class and not teacher.exception

    student = train_page()
    assert not [c for c in student.checkbox if c.key and c.key.startswith("tr_shown_")]  # only the teacher marks
    student.multiselect(key="tr_compare").set_value([mine.id]).run()
    student.button(key="tr_add_shown").click().run()
    assert student.multiselect(key="tr_compare").value == [mine.id, teachers.id]
    table = student.dataframe[-1].value
    assert list(table.columns) == ["setting", "differs", "my run", "⭐ teacher's run"]
    differing = table[table["differs"] == "≠"]
    assert list(differing["setting"]) == ["lr"]  # the one setting that differs, first
    assert list(differing.iloc[0][["my run", "⭐ teacher's run"]]) == ["0.01", "0.003"]
    assert table.set_index("setting").loc["batch_size", "differs"] == ""


def test_wrong_admin_tokens_are_slowed_and_the_right_one_controls_nothing_during_the_lock(monkeypatch, caplog):
    """Issue 25: 100 wrong guesses went through in 2.3 s; now a few are compared, then each waits."""
    import logging

    from cnnviz import admin

    caplog.set_level(logging.INFO, logger="cnnviz")
    monkeypatch.setenv(jobs.ADMIN_TOKEN_ENV, "s3cret-long-enough")
    run = create_run(TrainConfig(), owner="someone-else")
    run.set_status("stopped", "stopped at step 3")
    at = train_page()
    at.selectbox(key="tr_manage").set_value(run.id)
    at.button(key="tr_open").click().run()
    box = at.sidebar.text_input(key="tr_admin")
    for n in range(admin.GUARD.limits.free_per_session + 1):
        box.set_value(f"guess-{n}").run()
    box.set_value("s3cret-long-enough").run()
    assert "Too many wrong admin tokens" in all_text(at) and not at.exception
    assert "belongs to another browser" in all_text(at), "no teacher's control during the lock"
    assert not [b for b in at.button if b.key == "tr_stop_all"]
    assert len([r for r in caplog.records if r.name == "cnnviz.admin"]) == admin.GUARD.limits.free_per_session + 2
    admin.GUARD.reset()  # the lock over
    at.run()
    assert "belongs to another browser" not in all_text(at) and at.button(key="tr_stop_all")
