"""A stand-in job whose serial part you choose, so Amdahl's law can be checked against a known answer (notebook 07).

The job is a serial step of ``serial_seconds``, then ``parallel_seconds`` of
work cut into one equal share for each of ``workers`` threads.  Both parts
*sleep* instead of computing: a sleeping thread needs no core, so other
programs on a busy machine cannot stretch it, and the fitted serial fraction
comes out as chosen on a laptop, a shared hub or a 2-core VM alike.  (Sleeping
releases the GIL, so threads sleep side by side.)  Each thread sleeps once:
on a busy machine every wake-up can come some milliseconds late, so more,
shorter sleeps would add delays that grow with the work per thread.  Real darts
on real cores are measured elsewhere in the notebook.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from ..timing import best_of


def stand_in_job(workers: int, serial_seconds: float, parallel_seconds: float) -> None:
    """One run: the serial step, then ``workers`` threads that each take ``parallel_seconds / workers``."""
    time.sleep(serial_seconds)  # the serial step: nothing else can run meanwhile
    with ThreadPoolExecutor(workers) as pool:
        list(pool.map(time.sleep, [parallel_seconds / workers] * workers))


def interleaved_best_of(runs: dict, repeat: int = 3) -> dict:
    """Best wall-clock seconds of each ``runs[key]()``, measured in turns (a, b, a, b, …) so that a
    burst of load spoils one try of each rather than every try of one."""
    best = {key: float("inf") for key in runs}
    for _ in range(max(1, repeat)):
        for key, run in runs.items():
            best[key] = min(best[key], best_of(run, repeat=1))
    return best


def stand_in_seconds(workers: Iterable[int], serial_seconds: float, parallel_seconds: float,
                     repeat: int = 2) -> dict[int, float]:
    """``{workers: best seconds}`` of :func:`stand_in_job` for each number of workers."""
    return interleaved_best_of(
        {p: (lambda p=p: stand_in_job(p, serial_seconds, parallel_seconds)) for p in workers}, repeat)
