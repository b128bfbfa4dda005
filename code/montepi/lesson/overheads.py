"""What a parallel run pays besides throwing darts: start-up, each task, the final sum (the benchmark).

``montepi.bench`` reports pool and cluster start-up with these, and runs a
pool or cluster that is already started; notebook 04 times one task per
scheduler with :func:`per_task_seconds`.  Each figure is a best-of time
(:func:`montepi.timing.best_of`).
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor

from ..backends import new_pool
from ..cluster import local_cluster
from ..estimate import estimate_pi
from ..kernel import count_block
from ..plan import default_chunk, plan_blocks
from ..signals import quiet_children
from ..timing import best_of

SEED = 2017


@contextlib.contextmanager
def started_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A process pool as the pool backend makes it, with every worker started (one tiny task each)."""
    with new_pool(workers) as pool:
        with quiet_children():  # the first tasks start the workers: a terminal's Ctrl-C stays ours
            started = [pool.submit(count_block, (i, 1), SEED) for i in range(workers)]
        for future in started:
            future.result()
        yield pool


def pool_startup_seconds(workers: int, repeat: int = 3) -> float:
    """Starting a pool of ``workers``, one tiny task on each, and stopping it again."""

    def once() -> None:
        with started_pool(workers):
            pass

    once()  # the first pool also starts the forkserver: a once-per-session cost
    return best_of(once, repeat)


def pool_run_seconds(pool: ProcessPoolExecutor, samples: int, workers: int, repeat: int = 3) -> float:
    """Best time for ``samples`` darts on an already started pool, blocks as estimate_pi plans them."""
    plan = plan_blocks(samples, chunk=default_chunk(samples, workers))
    return best_of(lambda: sum(pool.map(count_block, plan, itertools.repeat(SEED))), repeat)


@contextlib.contextmanager
def ready_cluster(workers: int) -> Iterator[tuple[object, float]]:
    """A :func:`~montepi.local_cluster` of ``workers`` with a client, ready to compute: yields ``(client, seconds)``.

    The seconds cover starting the cluster, connecting, and importing the
    kernel on every worker.  Client and cluster are closed afterwards.
    """
    from distributed import Client

    began = time.perf_counter()
    with local_cluster(workers) as cluster, Client(cluster) as client:
        client.wait_for_workers(workers, timeout=60)
        client.run(__import__, "montepi.kernel")
        yield client, time.perf_counter() - began


def per_task_seconds(backend: str, tasks: int = 1000, repeat: int = 3, **options) -> float:
    """Overhead of one extra task: ``tasks`` one-dart tasks against a handful, per task.

    ``options`` go to :func:`estimate_pi` (``workers=`` for pool, ``client=`` for distributed).
    """
    few = max(1, options.get("workers") or 1)
    many = best_of(lambda: estimate_pi(tasks, backend=backend, chunk=1, **options), repeat)
    base = best_of(lambda: estimate_pi(few, backend=backend, chunk=1, **options), repeat)
    return max(0.0, (many - base) / (tasks - few))


def worker_counts(most: int) -> list[int]:
    """1 … ``most``: every count up to 8, then powers of two and ``most`` itself."""
    if most <= 8:
        return list(range(1, most + 1))
    counts = [1 << k for k in range(most.bit_length()) if 1 << k < most]
    return [*counts, most]
