"""Props for the threads-and-the-GIL notebook: a pure-Python dart loop and a fair race.

``python_count_inside`` is the dart loop a newcomer writes first: Python's own
``random`` module in a ``for`` loop.  It holds the GIL the whole time, which is
what the notebook measures.  It lives in the package (not in a notebook cell)
so that a process pool can import it.

Its darts are *not* the numbered darts: the ``random`` module's generator
(Mersenne Twister) cannot jump ahead cheaply, so each block seeds its own from
``(seed, start)``.  Different blocks get different darts and the estimate is
sound, but its count differs from the kernels' count.  Only its speed matters
here.

``race`` times several ways of doing the same work fairly on a busy machine:
it runs them in turn, A B C A B C …, and keeps each one's best time, so that
a burst of load from another program hurts all of them alike.  Beside the
wall-clock time it reads this process's CPU time, which other programs' load
does not inflate: CPU seconds per wall second is how many cores the run kept
busy, and the GIL caps that at one for Python bytecode.

On a busy machine neither the wall clock nor "cores busy" can show the GIL:
when other programs hold the second core, two threads that *could* run at once
get no further than two that take turns.  What load does not change is how
long a thread *sleeps* while it works: Linux counts, per thread, the time on a
core and the time queued for one (``/proc/thread-self/schedstat``); the rest of
its wall time it slept, and a thread counting darts sleeps only to wait for the
GIL.  Functions wrapped by :func:`clocked` read those clocks around each call
while ``race`` times them, and ``Timing.waits`` is the seconds slept per second
on a core: near 1 for two threads that take turns (0.55–1.6 measured at load
7–10 on 2 cores, where a waiting thread also queues for a core when it wakes),
near 0 for threads that run side by side (at most 0.14 at that load).  :func:`verdict` words
a 1-worker/2-worker race from its own numbers and the load.
"""

from __future__ import annotations

import functools
import os
import random
import time
from collections.abc import Callable
from typing import NamedTuple

import numpy as np

from ..kernel import generator_at


def python_count_inside(start: int, count: int, seed: int) -> int:
    """Count ``count`` darts from Python's ``random`` module inside the quarter circle, in plain Python."""
    rng = random.Random(seed * 2**64 + start)  # one stream per (seed, block)
    inside = 0
    for _ in range(count):
        x = rng.random()
        y = rng.random()
        if x * x + y * y <= 1.0:
            inside += 1
    return inside


def python_count_block(block: tuple[int, int], seed: int) -> int:
    """``python_count_inside`` for a ``(start, count)`` pair, the shape pools map over."""
    start, count = block
    return python_count_inside(start, count, seed)


def draw_loop(rng: np.random.Generator, count: int) -> int:
    """Draw the next ``count`` darts' two numbers each from ``rng``, and test nothing that costs."""
    impossible = 0
    for _ in range(count):
        x = rng.random()
        y = rng.random()
        if x + y >= 2.0:  # never true (both are below 1); it only keeps both draws in use
            impossible += 1
    return impossible


@functools.cache
def _compiled_draw_loop() -> Callable[[np.random.Generator, int], int]:
    from ..kernel_numba import nogil_loop

    return nogil_loop(draw_loop)


def draw_only(start: int, count: int, seed: int) -> int:
    """The numbered darts' random numbers drawn in compiled code, and nothing else done with them.

    It is the numba kernel with x² + y² ≤ 1 replaced by a test that costs
    almost nothing: no kernel that draws from PCG64 one number at a time can
    be much faster.  The first call compiles.
    """
    return _compiled_draw_loop()(generator_at(start, seed), count)


#: ``Timing.waits`` from which threads are said to take turns, and below which to run side by side.
TOOK_TURNS = 0.4
SIDE_BY_SIDE = 0.25
#: Wall-clock speed-up of 2 workers over 1 from which they are "close to twice as fast".
NEAR_TWICE = 1.7

_calls: list[tuple[float, float, float]] | None = None  # where clocked calls report while race times a contender


def thread_clocks() -> tuple[float, float] | None:
    """This thread's seconds on a core and seconds queued for one so far (Linux), or None where not available."""
    try:
        with open("/proc/thread-self/schedstat") as file:
            on_core, queued = file.read().split()[:2]
        return int(on_core) / 1e9, int(queued) / 1e9
    except (OSError, ValueError):
        return None


def clocked(count: Callable[[int, int, int], int]) -> Callable[[int, int, int], int]:
    """``count`` itself, which also reads its thread's clocks around each call while :func:`race` times it."""

    @functools.wraps(count)
    def run(start: int, samples: int, seed: int) -> int:
        calls = _calls
        if calls is None:
            return count(start, samples, seed)
        began, before = time.perf_counter(), thread_clocks()
        result = count(start, samples, seed)
        wall, after = time.perf_counter() - began, thread_clocks()
        if before is not None and after is not None:
            calls.append((wall, after[0] - before[0], after[1] - before[1]))  # list.append is thread-safe
        return result

    return run


def waits(calls: list[tuple[float, float, float]]) -> float | None:
    """Seconds asleep (neither on a core nor queued for one) per second on a core, over ``calls``.

    >>> waits([(1.0, 0.5, 0.0), (1.0, 0.5, 0.0)])  # two threads taking turns
    1.0
    >>> waits([(1.0, 0.2, 0.8)])                  # on a busy machine: queued, but never asleep
    0.0
    >>> waits([]) is None
    True
    """
    on_core = sum(call[1] for call in calls)
    if not calls or on_core <= 0:
        return None
    asleep = sum(max(0.0, wall - core - queued) for wall, core, queued in calls)
    return round(asleep / on_core, 6)


class Timing(NamedTuple):
    """One contender's result in a :func:`race`."""

    seconds: float  #: best wall-clock time
    cpu: float  #: least CPU time this process used for one run (all its threads together)
    cores: float  #: CPU seconds per wall second in the fastest run: the cores it kept busy
    waits: float | None = None  #: seconds its clocked threads slept per second on a core, all runs (None: not seen)

    @property
    def slept(self) -> str:
        """``waits`` for a table: two decimals, or "n/a" where it was not measured."""
        return "n/a" if self.waits is None else f"{self.waits:.2f}"


def race(runs: dict[str, Callable[[], object]], repeat: int = 3) -> dict[str, Timing]:
    """Time each run in turn, A B … A B … ``repeat`` times, and keep each one's best.

    Not :func:`montepi.timing.best_of_interleaved`, which keeps one number per run: a race keeps
    three readings of the same run (wall time, CPU time and the GIL waits of its fastest try).
    """
    global _calls
    walls: dict[str, list[float]] = {name: [] for name in runs}
    cpus: dict[str, list[float]] = {name: [] for name in runs}
    calls: dict[str, list[tuple[float, float, float]]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            _calls = calls[name]
            try:
                wall, cpu = time.perf_counter(), time.process_time()
                run()
                walls[name].append(time.perf_counter() - wall)
                cpus[name].append(time.process_time() - cpu)
            finally:
                _calls = None
    result = {}
    for name in runs:
        fastest = min(range(repeat), key=walls[name].__getitem__)
        result[name] = Timing(walls[name][fastest], min(cpus[name]), cpus[name][fastest] / walls[name][fastest],
                              waits(calls[name]))
    return result


def load_line(cores: int, load: float | None = None) -> str:
    """The machine's load over the last minute, and whether it spoils a timing on ``cores`` cores."""
    load = os.getloadavg()[0] if load is None else load
    spoilt = "busy: other programs share these cores, speed-ups read low" if load >= 0.5 * cores else "quiet enough"
    return f"load average {load:.1f} on {cores} cores ({spoilt})"


def verdict(one: Timing, two: Timing, cores: int, workers: str = "threads") -> str:
    """What a race of one worker against two shows, worded from its own numbers and the load.

    Up to three lines: the load, the wall-clock speed-up, and (for clocked
    threads) what their waits show whatever the load.
    """
    load = os.getloadavg()[0]
    speedup = one.seconds / two.seconds
    if speedup >= NEAR_TWICE:
        wall = "close to twice as fast"
    elif load >= 0.5 * cores:
        wall = "short of 2×, and the machine is busy: other programs share these cores"
    else:
        wall = "short of 2×, on a quiet machine"
    lines = [load_line(cores, load), f"speed-up with 2 {workers}: {speedup:.2f} (wall clock): {wall}"]
    if workers != "threads":
        pass
    elif two.waits is not None:
        if two.waits >= TOOK_TURNS:
            meaning = "they took turns, one at a time (the GIL)"
        elif two.waits < SIDE_BY_SIDE:
            meaning = "they did not wait for each other, so they can run at once"
        else:
            meaning = "they partly took turns"
        lines.append(f"waits with 2 {workers}: {two.waits:.2f} s asleep per second on a core: {meaning}")
    elif thread_clocks() is None:
        lines.append(f"waits with 2 {workers}: not measured (Linux only); they kept {two.cores:.2f} cores busy")
    return "\n".join(lines)
