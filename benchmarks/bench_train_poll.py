"""Pages that watch: server CPU per second while a student watches a training run (200 runs on disk) or a lesson.

A real server (``python serve.py``) with 200 finished runs in its runs folder (each with a config,
a status and 60 lines of metrics) and one run "training" (its status names a live stand-in process,
``sleep``, so no CPU goes to training), and real headless Chromium on ``/train?run=<that run>``,
whose page asks the server every second whether the run changed (widgets/watch.py). Reported:
the server's CPU time per second of watching (target: under 5 ms), against the same server idle with no
page open, each over ``--seconds`` (default 30); then the same while the benchmark logs a record every
``--log-seconds`` (default 3: a trainer's pace here with the default settings, 20 steps of 128 images at
~900 images/s), each of which the page draws; and one student on the Lessons page (which follows the
teacher's moves: none come). Usage:
``python -m benchmarks train_poll [--runs 200] [--seconds 30] [--log-seconds 3]``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import threading
import time

from benchmarks.bench_browser import CHROMIUM_ARGS
from benchmarks.served import ROOT, served
from benchmarks.table import print_table
from cnnviz.teaching.lesson_files import load_lessons
from cnnviz.training.jobs import process_start_ticks
from cnnviz.training.recipe import TrainConfig
from cnnviz.training.runs import RunState, create_run, get_run


def fill(folder, count: int) -> None:
    """``count`` finished runs, alternately classifier and autoencoder, with a curve each."""
    for i in range(count):
        run = create_run(TrainConfig(model=("classifier", "autoencoder")[i % 2]), name=f"run {i}", root=folder)
        for step in range(60):
            run.append_metrics({"kind": "step", "step": step * 100, "epoch": step // 10, "loss": 1.0 / (step + 1)})
        run.set_status(RunState.FINISHED)


def watched_run(folder, stand_in: subprocess.Popen) -> str:
    """A run that looks like it is training (status "running", the stand-in's pid); returns its id."""
    run = create_run(TrainConfig(model="classifier"), name="watched run", root=folder)
    for step in range(40):  # what the trainer logs (cnnviz.training), so the page draws its progress and curves
        run.append_metrics({"kind": "step", "step": step * 100, "epoch": step / 40, "loss": 1.0 / (step + 1),
                            "accuracy": step / 40, "images_per_s": 900.0, "progress": step / 240})  # fmt: skip
    pid = stand_in.pid
    run.set_status(RunState.RUNNING, "training", pid=pid, start_ticks=process_start_ticks(pid), launched=time.time())
    return run.id


def log_records(run, every_s: float, stop: threading.Event) -> int:
    """Append a step record every ``every_s`` seconds, as a trainer would, until ``stop``; returns how many."""
    count = 0
    while not stop.wait(every_s):
        count += 1
        step = 4000 + count * 20
        run.append_metrics({"kind": "step", "step": step, "epoch": step / 1500, "loss": 0.5 / count, "accuracy": 0.9,
                            "images_per_s": 900.0 + count, "progress": step / 9000})  # fmt: skip
    return count


def cpu_per_second(server, seconds: float) -> float:
    """Milliseconds of server CPU per second of wall time, over ``seconds``."""
    start_cpu, start = server.cpu_seconds(), time.monotonic()
    time.sleep(seconds)
    return (server.cpu_seconds() - start_cpu) * 1000 / (time.monotonic() - start)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks train_poll", description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="finished runs on disk (default 200)")
    parser.add_argument("--seconds", type=float, default=30.0, help="measured seconds each way (default 30)")
    parser.add_argument("--log-seconds", type=float, default=3.0, help="seconds between logged records (default 3)")
    args = parser.parse_args(argv or [])
    from playwright.sync_api import sync_playwright

    stand_in = subprocess.Popen(["sleep", str(int(args.seconds * 5 + 300))])
    with served(ROOT, "train-poll") as server:
        fill(server.folder / "runs", args.runs)
        run_id = watched_run(server.folder / "runs", stand_in)
        # Idle is measured before and after watching: the queue worker's scans (every 10 s) land unevenly in a window.
        idle_before = cpu_per_second(server, args.seconds)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(server.url)
            page.wait_for_selector("[data-testid='stSidebarNav']", timeout=90_000)
            page.goto(f"{server.url}/train?run={run_id}")
            page.get_by_text("watched run").first.wait_for(timeout=90_000)
            time.sleep(3)  # the first polls load what the page caches
            watching = cpu_per_second(server, args.seconds)
            watched, stop, logged = get_run(run_id, server.folder / "runs"), threading.Event(), []
            logger = threading.Thread(target=lambda: logged.append(log_records(watched, args.log_seconds, stop)))
            logger.start()
            with_records = cpu_per_second(server, args.seconds)
            stop.set()
            logger.join()
            page.get_by_text(f"{900 + logged[0]:,} images/s").first.wait_for(timeout=10_000)  # the last one was drawn
            page.goto(f"{server.url}/lessons")
            page.get_by_role("heading", name=load_lessons()[0].steps[0].title).wait_for(timeout=90_000)
            time.sleep(3)
            on_lessons = cpu_per_second(server, args.seconds)
            browser.close()
        time.sleep(3)  # the session's websocket closes
        idle = (idle_before + cpu_per_second(server, args.seconds)) / 2
    stand_in.kill()
    print_table(
        ["server", "runs on disk", "CPU ms per second"],
        [
            ["idle, no page open (mean of before and after)", args.runs + 1, f"{idle:.1f}"],
            ["one student watching a training run", args.runs + 1, f"{watching:.1f}"],
            ["watching minus idle [target < 5]", args.runs + 1, f"{watching - idle:.1f}"],
            [
                f"watching, a record logged every {args.log_seconds:g} s, minus idle",
                args.runs + 1,
                f"{with_records - idle:.1f}",
            ],
            ["one student on the Lessons page, following the teacher, minus idle", "", f"{on_lessons - idle:.1f}"],
        ],
    )


if __name__ == "__main__":
    main()
