"""What the benchmarks share: a median of timed calls."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def median_ms(call: Callable[[], object], rounds: int, *, warmup: int = 20) -> float:
    """The median time of ``call()`` in milliseconds over ``rounds`` calls,
    after ``warmup`` untimed calls (connections opened, caches filled)."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)
