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
    from ..kernel_numba import require_numba

    require_numba()
    import numba

    try:
        return numba.njit(nogil=True, cache=True)(draw_loop)
    except RuntimeError:  # numba cannot cache here: compile in memory
        return numba.njit(nogil=True)(draw_loop)


def draw_only(start: int, count: int, seed: int) -> int:
    """The numbered darts' random numbers drawn in compiled code, and nothing else done with them.

    It is the numba kernel with x² + y² ≤ 1 replaced by a test that costs
    almost nothing: no kernel that draws from PCG64 one number at a time can
    be much faster.  The first call compiles.
    """
    return _compiled_draw_loop()(generator_at(start, seed), count)


class Timing(NamedTuple):
    """One contender's result in a :func:`race`."""

    seconds: float  #: best wall-clock time
    cpu: float  #: least CPU time this process used for one run (all its threads together)
    cores: float  #: CPU seconds per wall second in the fastest run: the cores it kept busy


def race(runs: dict[str, Callable[[], object]], repeat: int = 3) -> dict[str, Timing]:
    """Time each run in turn, A B … A B … ``repeat`` times, and keep each one's best."""
    walls: dict[str, list[float]] = {name: [] for name in runs}
    cpus: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):
        for name, run in runs.items():
            wall, cpu = time.perf_counter(), time.process_time()
            run()
            walls[name].append(time.perf_counter() - wall)
            cpus[name].append(time.process_time() - cpu)
    result = {}
    for name in runs:
        fastest = min(range(repeat), key=walls[name].__getitem__)
        result[name] = Timing(walls[name][fastest], min(cpus[name]), cpus[name][fastest] / walls[name][fastest])
    return result


def load_line(cores: int) -> str:
    """The machine's load over the last minute, and whether it spoils a timing on ``cores`` cores."""
    load = os.getloadavg()[0]
    verdict = "quiet enough" if load < 0.5 * cores else "busy: other programs share these cores, speed-ups read low"
    return f"load average {load:.1f} on {cores} cores ({verdict})"
