"""The Train page's charts: the numbers of the metrics file."""

import json

from cnnviz import train_view

RECORDS = [
    *({"kind": "step", "epoch": i / 10, "loss": 2.0 / (i + 1), "accuracy": i / 20} for i in range(20)),
    {"kind": "val", "epoch": 1.0, "val_loss": 0.4, "val_accuracy": 0.88},
    {"kind": "epoch", "epoch": 2.0, "val_loss": 0.3, "val_accuracy": 0.91},
    {"kind": "step", "epoch": 2.1, "loss": None},  # a step logged without the metric: left out
]


def test_the_training_curves_carry_the_logged_numbers_and_their_axes():
    for metric, model in (("loss", "classifier"), ("accuracy", "classifier"), ("loss", "autoencoder")):
        chart = train_view.curves_chart([("lab", RECORDS), ("wider", RECORDS[:5])], metric, model)
        train, validation, other_train, other_validation = chart.curves
        assert train.y == tuple(float(f"{r[metric]:.4g}") for r in RECORDS[:20])
        assert train.x == tuple(i / 10 for i in range(20))
        assert validation.x == (1.0, 2.0) and validation.y == tuple(r[f"val_{metric}"] for r in RECORDS[20:22])
        assert (train.name, other_train.name) == ("lab: train", "wider: train") and other_validation.x == ()
        assert validation.markers and not train.markers and train.colour != other_train.colour
        assert chart.y_log == (metric == "loss") and chart.y_percent == (metric == "accuracy")
        assert json.loads(json.dumps(chart.payload()))["kind"] == "curves"  # what widgets/chart.js draws
    models = ("classifier", "autoencoder")
    titles = {train_view.curves_chart([("r", RECORDS)], "loss", model).title for model in models}
    assert titles == {"Loss (cross-entropy)", "Loss (mean squared error)"}
    assert [c.name for c in train_view.curves_chart([("r", RECORDS)], "loss", "classifier").curves] == [
        "train", "validation"]  # fmt: skip


def test_the_progress_of_a_run_whose_steps_lack_a_speed_has_no_speed_and_no_eta(tmp_path):
    from cnnviz.runs import create_run
    from cnnviz.training import TrainConfig

    run = create_run(TrainConfig(model="classifier"), name="old", root=tmp_path)
    progress = train_view.run_progress(run, [{"kind": "step", "epoch": 0.5, "loss": 0.3, "progress": 0.25}])
    assert (progress.fraction, progress.epoch, progress.images_per_s, progress.eta_s) == (0.25, 0.5, None, None)
