"""Run every ``benchmarks/bench_*.py`` module's ``main()``; each prints its own table.

Usage: ``python -m benchmarks [name ...]`` (names without ``bench_``, e.g. ``explorer``).
"""

import importlib
import os
import platform
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as the server and training jobs run; before torch loads

import torch  # noqa: E402


def main(argv: list[str]) -> None:
    names = sorted(p.stem for p in Path(__file__).parent.glob("bench_*.py"))
    if argv:
        names = [n for n in names if n.removeprefix("bench_") in argv]
    print(f"machine: {platform.machine()}, {torch.get_num_threads()} torch threads, torch {torch.__version__}")
    for name in names:
        print(f"\n## {name.removeprefix('bench_')}")
        importlib.import_module(f"benchmarks.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
