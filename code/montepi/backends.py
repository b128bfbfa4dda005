"""Five ways to run the same plan of numbered darts; all return the same count.

Each backend takes a :class:`~montepi.plan.Plan`, a seed and a worker count,
and returns the number of darts inside the quarter circle.  ``progress``, if
given, is called with the number of darts in each block as it finishes.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import signal
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from functools import partial

from .kernel import count_block, count_inside
from .plan import Block, Plan

Progress = Callable[[int], None] | None


class WorkerLost(RuntimeError):
    """A pool worker process died, so a block of darts has no result."""


def _sized_count(block: Block, seed: int) -> tuple[int, int]:
    return block.count, count_block(block, seed)


def _ignore_sigint() -> None:
    # Ctrl-C is the parent's to handle: it terminates the pool.  Without this,
    # every worker would also print its own KeyboardInterrupt traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def default_start_method() -> str:
    """``forkserver`` where the platform has it (Python 3.14's Linux default), else ``spawn``.

    Both start workers that import the kernel from this package instead of
    copying the parent, so they behave the same on Linux, macOS and Windows.
    """
    return "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"


def pool_context(start_method: str | None = None) -> multiprocessing.context.BaseContext:
    """The multiprocessing context the pool backend uses (forkserver workers start with the kernel imported)."""
    context = multiprocessing.get_context(start_method or default_start_method())
    if context.get_start_method() == "forkserver":
        context.set_forkserver_preload(["montepi.kernel"])
    return context


def run_serial(plan: Plan, seed: int, workers: int = 1, progress: Progress = None) -> int:
    """One block after another in this process."""
    inside = 0
    for block in plan:
        inside += count_block(block, seed)
        if progress:
            progress(block.count)
    return inside


def run_pool(plan: Plan, seed: int, workers: int, progress: Progress = None,
             start_method: str | None = None, poll: float = 0.25) -> int:
    """Blocks spread over a ``multiprocessing.Pool`` of ``workers`` processes.

    ``multiprocessing.Pool`` quietly replaces a worker that dies and then
    waits forever for the block it was computing.  This backend watches its
    workers and raises :class:`WorkerLost` instead, within ``poll`` seconds.
    """
    context = pool_context(start_method)
    before = set(multiprocessing.active_children())
    with context.Pool(workers, initializer=_ignore_sigint) as pool:
        ours = [p for p in multiprocessing.active_children() if p not in before]
        results = pool.imap_unordered(partial(_sized_count, seed=seed), plan)
        inside = 0
        for _ in range(len(plan)):
            while True:
                try:
                    count, block_inside = results.next(timeout=poll)
                    break
                except multiprocessing.TimeoutError:
                    dead = [p for p in ours if p.exitcode is not None]
                    if dead:
                        raise WorkerLost(
                            f"pool worker {dead[0].pid} died (exit code {dead[0].exitcode}) "
                            "and its block of darts was lost; run the estimate again"
                        ) from None
            inside += block_inside
            if progress:
                progress(count)
    return inside


def run_dask(plan: Plan, seed: int, workers: int, progress: Progress = None, batch: int | None = None) -> int:
    """Blocks as dask tasks on dask's local threaded scheduler.

    Threads are enough: NumPy releases the GIL while it draws and counts.
    A huge plan is computed ``batch`` blocks at a time, so that the task graph
    stays small and Ctrl-C waits for at most one block per thread.
    """
    import dask
    from dask.callbacks import Callback

    batch = batch or 64 * workers
    sizes: dict = {}

    class _Report(Callback):
        def _posttask(self, key, result, dsk, state, worker_id):
            if key in sizes:
                progress(sizes.pop(key))

    inside = 0
    for first in range(0, len(plan), batch):
        blocks = plan[first : first + batch]
        tasks = [dask.delayed(count_block, pure=True)(block, seed) for block in blocks]
        sizes.update((task.key, block.count) for task, block in zip(tasks, blocks))
        total = dask.delayed(sum, pure=True)(tasks)
        with _Report() if progress else contextlib.nullcontext():
            (part,) = dask.compute(total, scheduler="threads", num_workers=workers)
        inside += part
    return inside


def run_distributed(plan: Plan, seed: int, client, progress: Progress = None, window: int | None = None) -> int:
    """Blocks as futures on a dask.distributed cluster.

    At most ``window`` blocks are in flight (default 512, and never fewer
    than 4 per worker thread); each finished block makes room for the next.
    An ordinary plan is thus submitted at once, while a huge one keeps the
    scheduler's state small and lets Ctrl-C cancel quickly.  If a worker dies,
    the scheduler reruns its blocks elsewhere: same count.
    """
    from distributed import as_completed

    window = window or max(512, 4 * sum(client.nthreads().values()))
    blocks = iter(plan)
    pending: dict = {}  # future -> darts in its block

    def submit(block: Block) -> object:
        future = client.submit(count_block, block, seed, pure=True)
        pending[future] = block.count
        return future

    in_flight = as_completed([submit(b) for b in itertools.islice(blocks, window)])
    inside = 0
    try:
        for future in in_flight:
            inside += future.result()
            count = pending.pop(future)
            if progress:
                progress(count)
            following = next(blocks, None)
            if following is not None:
                in_flight.add(submit(following))
    except BaseException:
        client.cancel(list(pending))
        raise
    return inside


#: Darts a thread counts between two looks at the stop flag: about 20–50 ms of
#: work, so Ctrl-C never waits long for a running thread, whatever ``chunk`` is.
THREAD_PIECE = 2**22


def run_threads(plan: Plan, seed: int, workers: int, progress: Progress = None,
                count: Callable[[int, int, int], int] = count_inside, piece: int = THREAD_PIECE) -> int:
    """Blocks on a ``ThreadPoolExecutor`` of ``workers`` threads in this process.

    Threads are enough because the kernels release the GIL while they draw
    and count (NumPy's C loops, numba's ``nogil=True``).  A thread cannot be
    killed, so stopping (Ctrl-C, SIGTERM, an error) works by handing out no
    more blocks and raising a flag that every running block checks after each
    ``piece`` of darts; the threads have all returned when this function
    raises.  At most ``2 * workers`` blocks are queued, so a huge plan needs no
    memory.  ``count`` is a kernel's ``count_inside``.
    """
    stop = threading.Event()

    def throw(block: Block) -> int:
        inside, end = 0, block.start + block.count
        for start in range(block.start, end, piece):
            if stop.is_set():
                return 0  # abandoned: the run is being stopped and this count is never read
            inside += count(start, min(piece, end - start), seed)
        return inside

    blocks = iter(plan)
    inside = 0
    with ThreadPoolExecutor(workers, thread_name_prefix="montepi-darts") as pool:
        pending = {pool.submit(throw, b): b.count for b in itertools.islice(blocks, 2 * workers)}
        try:
            while pending:
                done, _ = futures_wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                for future in done:
                    inside += future.result()
                    darts = pending.pop(future)
                    following = next(blocks, None)
                    if following is not None:
                        pending[pool.submit(throw, following)] = following.count
                    if progress:
                        progress(darts)
        except BaseException:
            stop.set()
            for future in pending:
                future.cancel()
            raise  # leaving the with-block waits for the running blocks, which stop within one piece
    return inside
