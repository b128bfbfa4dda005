"""A stand-in job whose serial part you choose and whose parallel part *waits*, for notebook 07.

The job is a serial step of ``serial_seconds``, then ``parallel_seconds`` of
waiting cut into one equal share for each of ``workers`` threads, as a program
waits for downloads or disks.  Waiting needs no core, so threads overlap their
waits beyond the number of cores, and other programs on a busy machine cannot
stretch a wait: fitting the serial fraction back checks the fit (and shows the
law's shape), not what cores can do.  Real darts on real cores come after it in
the notebook.

Two things keep the machine's own delays out of the clock, so that the fit
reads the chosen serial fraction on a laptop, a shared hub or a busy 2-core VM:

- The worker threads are started, and all of them are running, *before* the
  clock starts (:func:`started_threads`), as a dask cluster is in the benchmark.
  Starting a thread inside the clock costs one scheduler wake-up per thread,
  paid one after the other: with 16 threads on a busy machine that grows with
  the number of workers, exactly like serial work.
- Each wait ends at a deadline on the clock (:func:`wait_until`), not after a
  duration counted from whenever the thread woke up.  On a busy machine every
  wake-up comes some milliseconds late; with durations, the serial step's late
  wake-up and then each share's add up (a constant delay per run, which a fit
  reads as serial time: 20 ms per wake-up turns s = 0.100 into 0.12).  With
  deadlines only the very last wake-up can be late.
"""

from __future__ import annotations

import contextlib
import itertools
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor

from ..kernel import count_block, count_inside
from ..plan import plan_blocks
from ..timing import best_of_interleaved, timed


def wait_until(deadline: float) -> None:
    """Sleep until ``time.perf_counter()`` reaches ``deadline`` (at once if it already has)."""
    while (left := deadline - time.perf_counter()) > 0:
        time.sleep(left)


@contextlib.contextmanager
def started_threads(workers: int) -> Iterator[ThreadPoolExecutor]:
    """A ``ThreadPoolExecutor`` whose ``workers`` threads are all started and idle, ready before any clock runs."""
    pool = ThreadPoolExecutor(workers)
    try:
        everyone = threading.Barrier(workers)  # passes only once all threads exist and run at the same time
        list(pool.map(lambda _: everyone.wait(), range(workers)))
        yield pool
    finally:
        pool.shutdown()


def stand_in_job(pool: ThreadPoolExecutor, workers: int, serial_seconds: float, parallel_seconds: float) -> None:
    """One run on ``pool``'s started threads: the serial step, then ``workers`` shares of ``parallel_seconds``."""
    began = time.perf_counter()
    wait_until(began + serial_seconds)  # the serial step: nothing else can run meanwhile
    share_ends = began + serial_seconds + parallel_seconds / workers
    list(pool.map(wait_until, [share_ends] * workers))  # every thread waits for its share, side by side


def interleaved_best_of(runs: dict, repeat: int = 3) -> dict:
    """Best wall-clock seconds of each ``runs[key]()``, measured in turns (a, b, a, b, …) so that a
    burst of load spoils one try of each rather than every try of one (:func:`montepi.timing.best_of_interleaved`
    with each run timed by the clock around it)."""
    return best_of_interleaved({key: timed(run) for key, run in runs.items()}, repeat)


def stand_in_seconds(workers: Iterable[int], serial_seconds: float, parallel_seconds: float,
                     repeat: int = 2) -> dict[int, float]:
    """``{workers: best seconds}`` of :func:`stand_in_job` for each number of workers, in turns."""
    with contextlib.ExitStack() as stack:
        pools = {p: stack.enter_context(started_threads(p)) for p in workers}
        return interleaved_best_of(
            {p: (lambda p=p: stand_in_job(pools[p], p, serial_seconds, parallel_seconds)) for p in pools}, repeat)


def darts_job(pool: Executor, workers: int, serial_darts: int, parallel_darts: int, seed: int = 2017) -> int:
    """One run of real darts, returning how many land inside.

    Darts ``0 … serial_darts − 1`` are thrown here, in this process, on one core: the serial part.  The next
    ``parallel_darts`` are cut into ``workers`` equal blocks for ``pool``'s processes (started before any
    clock, e.g. :func:`montepi.lesson.overheads.started_pool`).  Same darts, same count as one serial run.
    """
    inside = count_inside(0, serial_darts, seed)  # the serial part: nobody can help with it
    plan = [(serial_darts + start, count) for start, count in plan_blocks(parallel_darts, parts=workers)]
    return inside + sum(pool.map(count_block, plan, itertools.repeat(seed)))
