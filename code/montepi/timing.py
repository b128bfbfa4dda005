"""Timing a piece of work the way the lesson and the benchmark do: best of a few runs."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_of(run: Callable[[], object], repeat: int = 3, clock: Callable[[], float] = time.perf_counter) -> float:
    """The shortest of ``repeat`` wall-clock times of ``run()``, in seconds.

    The minimum is the least disturbed by other programs on the machine: noise
    only ever adds time.  ``clock=time.thread_time`` measures the CPU time of
    this thread instead: for work done in this thread it does not grow when
    other programs share the core, so one-core rates hold on a busy machine.
    """
    times = []
    for _ in range(max(1, repeat)):
        began = clock()
        run()
        times.append(clock() - began)
    return min(times)
