"""The Train page's charts: the numbers of the metrics file."""

import json

import numpy as np
import torch

from cnnviz.views import train_view
from tests.map_grids import grid_values

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
    from cnnviz.training.recipe import TrainConfig
    from cnnviz.training.runs import create_run

    run = create_run(TrainConfig(model="classifier"), name="old", root=tmp_path)
    progress = train_view.run_progress(run, [{"kind": "step", "epoch": 0.5, "loss": 0.3, "progress": 0.25}])
    assert (progress.fraction, progress.epoch, progress.images_per_s, progress.eta_s) == (0.25, 0.5, None, None)


def test_reconstructions_and_mistakes_are_map_grids_of_the_digits_themselves():
    originals = torch.randint(0, 256, (8, 1, 28, 28), dtype=torch.uint8)
    rebuilt = torch.rand(8, 1, 28, 28) * 1.2 - 0.1  # a decoder may overshoot [0, 1]: shown clamped
    grid = train_view.reconstructions_grid({"images": originals, "reconstructions": rebuilt}, "after epoch 2")
    payload = grid.payload(panel_px=84)
    assert grid.title == "after epoch 2" and grid.per_row == 6
    assert [p["title"] for p in payload["panels"]][:4] == ["digit 1", "rebuilt 1", "digit 2", "rebuilt 2"]
    expected = torch.stack([originals.float() / 255, rebuilt.clamp(0, 1)], dim=1).flatten(0, 1)[:, 0].numpy()
    assert np.abs(grid_values(payload) - expected).max() <= 1 / 255 + 1e-6
    assert {(p["low"], p["high"]) for p in payload["panels"]} == {(0.0, 1.0)}  # one scale: comparable digits

    results = {"wrong_images": originals[:3], "wrong_predicted": torch.tensor([1, 2, 3]),
               "wrong_true": torch.tensor([7, 7, 8])}  # fmt: skip
    mistakes = train_view.misclassified_grid(results)
    assert [p.title for p in mistakes.panels] == ["said 1, is 7", "said 2, is 7", "said 3, is 8"]
    assert train_view.misclassified_grid({"wrong_images": originals[:0]}) is None


def test_the_milestones_line_names_images_and_seconds_of_training():
    records = [
        {"kind": "val", "images": 12_288, "train_seconds": 6.14, "val_accuracy": 0.981},
        {"kind": "epoch", "images": 48_000, "train_seconds": 24.0, "val_accuracy": 0.9905},
    ]
    assert train_view.milestone_text(records) == (
        "validation 98% after 12,288 images (6.1 s of training) · 99% after 48,000 images (24.0 s of training)"
    )
    assert train_view.milestone_text(records[:0]) is None
