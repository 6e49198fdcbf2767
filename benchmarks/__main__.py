"""Run every ``benchmarks/bench_*.py`` module's ``main()``; each prints its own table.

Usage: ``python -m benchmarks [name ...] [--option ...]``: names without ``bench_`` (e.g. ``explorer``,
``browser``, ``classroom``); options after the names go to the benchmarks whose ``main`` takes them
(``python -m benchmarks browser --baseline main --reps 20``; ``--help`` after a name lists them).
"""

import importlib
import inspect
import os
import platform
import sys
from pathlib import Path

# isort: off
import cnnviz  # noqa: F401  (before torch: it sets the thread policy the server and training jobs run with)
import torch

# isort: on


def main(argv: list[str]) -> None:
    split = next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    wanted, options = argv[:split], argv[split:]
    names = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    if wanted:
        unknown = set(wanted) - {n.removeprefix("bench_") for n in names}
        if unknown:
            known = ", ".join(n.removeprefix("bench_") for n in names)
            sys.exit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; choose from {known}")
        names = [n for n in names if n.removeprefix("bench_") in wanted]
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {torch.get_num_threads()} torch threads, "
        f"torch {torch.__version__}, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    for name in names:
        print(f"\n## {name.removeprefix('bench_')}", flush=True)
        run = importlib.import_module(f"benchmarks.{name}").main
        if inspect.signature(run).parameters:
            run(options)
        elif options:
            print(f"(options {' '.join(options)} ignored: this benchmark takes none)")
            run()
        else:
            run()


if __name__ == "__main__":
    main(sys.argv[1:])
