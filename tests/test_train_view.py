"""The Train page's figures: valid plotly, the numbers of the metrics file."""

import plotly.graph_objects as go

from cnnviz import train_view

RECORDS = [
    *({"kind": "step", "epoch": i / 10, "loss": 2.0 / (i + 1), "accuracy": i / 20} for i in range(20)),
    {"kind": "val", "epoch": 1.0, "val_loss": 0.4, "val_accuracy": 0.88},
    {"kind": "epoch", "epoch": 2.0, "val_loss": 0.3, "val_accuracy": 0.91},
    {"kind": "step", "epoch": 2.1, "loss": None},  # a step logged without the metric: left out
]


def test_the_training_curves_are_valid_plotly_with_the_logged_numbers():
    for metric, model in (("loss", "classifier"), ("accuracy", "classifier"), ("loss", "autoencoder")):
        figure = train_view.curves_figure([("lab", RECORDS), ("wider", RECORDS[:5])], metric, model)
        validated = go.Figure(figure.to_dict())  # plotly checks every property here (the page skips that)
        assert validated.to_dict() == figure.to_dict()
        train, validation, other_train, _ = figure.data
        assert list(train.y) == [r[metric] for r in RECORDS[:20]] and list(train.x) == [i / 10 for i in range(20)]
        assert list(validation.x) == [1.0, 2.0] and list(validation.y) == [r[f"val_{metric}"] for r in RECORDS[20:22]]
        assert (train.name, other_train.name) == ("lab: train", "wider: train")
        assert figure.layout.yaxis.type == ("log" if metric == "loss" else None)
    models = ("classifier", "autoencoder")
    titles = {train_view.curves_figure([("r", RECORDS)], "loss", model).layout.title.text for model in models}
    assert titles == {"Loss (cross-entropy)", "Loss (mean squared error)"}


def test_the_progress_of_a_run_whose_steps_lack_a_speed_has_no_speed_and_no_eta(tmp_path):
    from cnnviz.runs import create_run
    from cnnviz.training import TrainConfig

    run = create_run(TrainConfig(model="classifier"), name="old", root=tmp_path)
    progress = train_view.run_progress(run, [{"kind": "step", "epoch": 0.5, "loss": 0.3, "progress": 0.25}])
    assert (progress.fraction, progress.epoch, progress.images_per_s, progress.eta_s) == (0.25, 0.5, None, None)
