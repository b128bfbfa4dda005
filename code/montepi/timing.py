"""Timing a piece of work the way the lesson and the benchmark do: best of a few runs."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping


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


def best_of_interleaved(contenders: Mapping[str, Callable[[], float]], repeat: int = 3) -> dict[str, float]:
    """The shortest of ``repeat`` times of each contender, timed in turns: A B C, A B C, …

    Each contender runs once and returns its own seconds (so that set-up, such
    as starting a cluster, can stay outside its clock).  Taking turns spreads
    whatever else the machine is doing over all contenders alike, so the
    *ratios* between them hold on a busy machine, where one best-of run after
    another would compare a quiet minute with a busy one.
    """
    best = {name: math.inf for name in contenders}
    for _ in range(max(1, repeat)):
        for name, timed in contenders.items():
            best[name] = min(best[name], timed())
    return best
