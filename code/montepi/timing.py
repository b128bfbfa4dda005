"""Timing a piece of work the way the lesson and the benchmark do: best of a few runs."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(run: Callable[[], object], repeat: int = 3) -> float:
    """The shortest of ``repeat`` wall-clock times of ``run()``, in seconds.

    The minimum is the least disturbed by other programs on the machine: noise
    only ever adds time.
    """
    times = []
    for _ in range(max(1, repeat)):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return min(times)
