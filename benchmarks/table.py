"""Timing helpers shared by the benchmarks: run, take median and p95, print a table."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence


def measure(fn: Callable[[], object], repeats: int = 20, warmup: int = 2) -> tuple[float, float]:
    """Median and 95th percentile of ``fn()``'s wall time in milliseconds."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return median_p95(times)


def median_p95(samples: Sequence[float]) -> tuple[float, float]:
    """Median and 95th percentile (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A plain Markdown table, ready to paste into the README."""
    cells = [[str(c) for c in headers]] + [[f"{c:.1f}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    line = lambda r: "| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    print(line(cells[0]))
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in cells[1:]:
        print(line(r))
