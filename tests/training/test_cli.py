"""`python -m cnnviz.train`: every option documented, the same run folder, a clean stop and --resume."""

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from cnnviz.training.cli import config_from_args, main, parser
from cnnviz.training.recipe import TrainConfig
from cnnviz.training.runs import list_runs
from models import load_model

ROOT = Path(__file__).resolve().parents[2]
QUICK = ["--train-images", "1000", "--val-images", "500", "--batch-size", "32", "--log-every", "5"]


def cli(*args: str, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "cnnviz.train", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def test_help_documents_every_training_option():
    help_text = parser().format_help()
    for option in ("--model", "--channels", "--epochs", "--batch-size", "--lr", "--optimizer", "--seed", "--resume"):
        assert option in help_text
    for action in parser()._actions:
        assert action.help, f"{action.option_strings} has no help"
    # Every field of TrainConfig can be set from the command line, and the defaults agree.
    assert config_from_args(parser().parse_args([])) == TrainConfig()
    fields = {f.name for f in dataclasses.fields(TrainConfig)}
    set_from_cli = set(dataclasses.asdict(config_from_args(parser().parse_args([]))))
    assert fields == set_from_cli


def test_cli_trains_into_a_run_folder_and_exports_the_model(mnist, tmp_path):
    exported = tmp_path / "model.pt"
    process = cli(*QUICK, "--epochs", "1", "--name", "from the terminal", "--export", str(exported))
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err
    assert "img/s" in err and "ETA" in err and "finished: test accuracy" in err
    (run,) = list_runs()
    assert run.name == "from the terminal" and run.state == "finished" and run.owner == "cli"
    assert run.config.train_images == 1000
    assert [r["epoch"] for r in run.metrics("epoch")] == [1]
    assert run.metrics("test")[0]["test_accuracy"] > 0.3  # chance is 0.1
    assert run.results()["confusion"].sum() == 10_000
    model = load_model(exported)
    assert model.config == load_model(run.checkpoint_path).config


def test_sigterm_stops_cleanly_and_resume_continues_the_curve(mnist):
    process = cli(*QUICK, "--epochs", "3", "--quiet")
    deadline = time.monotonic() + 90
    while not (list_runs() and list_runs()[0].metrics("step")):
        assert process.poll() is None and time.monotonic() < deadline, process.communicate()
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    (run,) = list_runs()
    assert run.state == "stopped" and "resume" in run.status.message
    stopped_at = run.load_checkpoint()["step"]
    assert 0 < stopped_at < 3 * 32

    resumed = cli("--resume", run.id, "--quiet")
    out, err = resumed.communicate(timeout=120)
    assert resumed.returncode == 0, err
    assert run.state == "finished"
    steps = [r["step"] for r in run.metrics("step")]
    assert steps == sorted(set(steps)) and steps[-1] > stopped_at  # one curve, no step twice
    assert [(r["epoch"], r["step"]) for r in run.metrics("epoch")] == [(1, 32), (2, 64), (3, 96)]


def test_resuming_an_unknown_run_says_so(capsys):
    assert main(["--resume", "no-such-run"]) == 2
    assert "no run 'no-such-run'" in capsys.readouterr().err


def test_run_dir_that_is_not_a_queued_run_is_one_clear_line(tmp_path, capsys):
    assert main(["--run-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is not a queued run" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_the_thread_policy_is_set_once_by_the_package_before_torch_loads():
    # A fresh interpreter without the variable: importing the command line (which loads torch) sets it.
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    code = "import os, sys; import cnnviz.training.cli; print(os.environ['OMP_WAIT_POLICY'])"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "PASSIVE"
    sources = Path(__file__).resolve().parents[2]
    setters = [
        p
        for d in ("cnnviz", "serving", "benchmarks")
        for p in (sources / d).rglob("*.py")
        if 'setdefault("OMP_WAIT_POLICY"' in p.read_text()
    ]
    assert setters == [sources / "cnnviz" / "__init__.py"]
