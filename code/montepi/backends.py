"""Five ways to run the same plan of numbered darts; all return the same count.

Each backend takes a :class:`~montepi.plan.Plan`, a seed and a worker count,
and returns the number of darts inside the quarter circle.  ``kernel`` picks
the code that throws them: ``"numpy"`` (:mod:`montepi.kernel`) or ``"numba"``
(:mod:`montepi.kernel_numba`); both give the same count.  ``progress``, if
given, is called with the number of darts in each block as it finishes.
"""

from __future__ import annotations

import contextlib
import itertools
import multiprocessing
import multiprocessing.util
import os
import signal
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from . import kernel as numpy_kernel
from . import kernel_numba
from .guard import check_main_guard
from .plan import Block, Plan
from .signals import exit_with_parent, quiet_children, start_resource_tracker

Progress = Callable[[int], None] | None


class WorkerLost(RuntimeError):
    """A pool worker process died, so a block of darts has no result."""


class SchedulerLost(RuntimeError):
    """The connection to a dask scheduler broke during a run, so the remaining blocks have no result."""


def kernel_functions(kernel: str = "numpy") -> tuple[Callable[[int, int, int], int], Callable[[Block, int], int]]:
    """``(count_inside, count_block)`` of the named kernel; numba's is compiled here, once per process."""
    if kernel == "numba":
        kernel_numba.compile_kernel()  # raises NumbaMissing (with how to install it) without numba
        return kernel_numba.count_inside, kernel_numba.count_block
    return numpy_kernel.count_inside, numpy_kernel.count_block


def _start_worker(parent: int, leftovers: str | None) -> None:
    # Ctrl-C and a hang-up are the parent's to handle: it terminates the pool.  Without this, every
    # worker would also print its own KeyboardInterrupt traceback (or die before the parent can stop it).
    for name in ("SIGINT", "SIGHUP"):
        if hasattr(signal, name):
            signal.signal(getattr(signal, name), signal.SIG_IGN)
    exit_with_parent(parent, leftovers)  # and if the parent is killed outright, the workers go too


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


def new_pool(workers: int, start_method: str | None = None) -> ProcessPoolExecutor:
    """The pool backend's ``ProcessPoolExecutor``: its workers end when this process dies, however it dies.

    Its processes start at the first ``submit``: do that inside :func:`~montepi.signals.quiet_children`,
    so that a terminal's Ctrl-C reaches this process alone.
    """
    context = pool_context(start_method)
    if context.get_start_method() != "fork":  # its workers re-run the main script
        check_main_guard("a pool of processes")
    start_resource_tracker()  # before the executor's semaphores start it without SIGHUP blocked
    leftovers = multiprocessing.util.get_temp_dir() if context.get_start_method() == "forkserver" else None
    return ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                               initargs=(os.getpid(), leftovers))


def run_serial(plan: Plan, seed: int, progress: Progress = None, kernel: str = "numpy") -> int:
    """One block after another in this process."""
    _, count_block = kernel_functions(kernel)
    inside = 0
    for block in plan:
        inside += count_block(block, seed)
        if progress:
            progress(block.count)
    return inside


def run_pool(plan: Plan, seed: int, workers: int, progress: Progress = None,
             start_method: str | None = None, kernel: str = "numpy") -> int:
    """Blocks spread over a ``concurrent.futures.ProcessPoolExecutor`` of ``workers`` processes.

    At most ``4 × workers`` blocks are queued at a time, so a huge plan costs
    no memory.  A worker that dies breaks the executor, which fails every
    pending block at once: that becomes one :class:`WorkerLost`.  On any
    exception (Ctrl-C included) the workers are terminated, not waited for.
    """
    _, count_block = kernel_functions(kernel)  # numba: the workers load what this compiled from numba's cache
    executor = new_pool(workers, start_method)
    before = set(multiprocessing.active_children())
    finished = False
    try:
        blocks = iter(plan)
        pending: dict[Future, int] = {}  # future -> darts in its block
        inside, room = 0, 4 * workers
        with quiet_children():  # the first submit starts the workers (and the forkserver)
            for block in itertools.islice(blocks, room):
                pending[executor.submit(count_block, block, seed)] = block.count
        room = 0
        while True:
            for block in itertools.islice(blocks, room):  # refill what finished
                pending[executor.submit(count_block, block, seed)] = block.count
            if not pending:
                break
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                inside += future.result()
                darts = pending.pop(future)
                if progress:
                    progress(darts)
            room = len(done)
        finished = True
        return inside
    except BrokenProcessPool:
        raise WorkerLost("a pool worker died (killed, or out of memory) and its block of darts was lost; "
                         "run the estimate again") from None
    finally:
        if not finished:  # a running block may take a while: end the workers now
            for process in set(multiprocessing.active_children()) - before:
                process.terminate()
        executor.shutdown(wait=True, cancel_futures=True)


def run_dask(plan: Plan, seed: int, workers: int, progress: Progress = None, batch: int | None = None,
             kernel: str = "numpy") -> int:
    """Blocks as dask tasks on dask's local threaded scheduler.

    Threads are enough: NumPy releases the GIL while it draws and counts.
    A huge plan is computed ``batch`` blocks at a time, so that the task graph
    stays small and Ctrl-C waits for at most one block per thread.
    """
    import dask
    from dask.callbacks import Callback

    _, count_block = kernel_functions(kernel)
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


def run_distributed(plan: Plan, seed: int, client, progress: Progress = None, window: int | None = None,
                    kernel: str = "numpy", first_worker_timeout: float | None = None) -> int:
    """Blocks as futures on a dask.distributed cluster.

    With ``first_worker_timeout``, a cluster that has no worker that many
    seconds after the first blocks were submitted raises
    :class:`~montepi.cluster.NoWorkers` (its blocks are cancelled).

    At most ``window`` blocks are in flight (default 512, and never fewer
    than 4 per worker thread); each finished block makes room for the next.
    An ordinary plan is thus submitted at once, while a huge one keeps the
    scheduler's state small and lets Ctrl-C cancel quickly.  If a worker dies,
    the scheduler reruns its blocks elsewhere: same count.
    """
    from distributed import as_completed
    from distributed.client import FutureCancelledError
    from distributed.comm.core import CommClosedError

    _, count_block = kernel_functions(kernel)  # each worker compiles (or loads) numba's kernel on its first block
    window = window or max(512, 4 * sum(client.nthreads().values()))
    blocks = iter(plan)
    pending: dict = {}  # future -> darts in its block

    def submit(block: Block) -> object:
        future = client.submit(count_block, block, seed, pure=True)
        pending[future] = block.count
        return future

    in_flight = as_completed([submit(b) for b in itertools.islice(blocks, window)])
    inside = done = 0
    try:
        if first_worker_timeout is not None:
            from .cluster import wait_for_workers

            wait_for_workers(client, first_worker_timeout)
        for future in in_flight:
            try:
                inside += future.result()
            except (FutureCancelledError, CommClosedError) as error:
                # The scheduler's death shows as cancelled futures, or (when it dies while this client
                # is fetching a result) as the closed connection itself.
                if getattr(error, "reason", "scheduler-connection-lost") != "scheduler-connection-lost":
                    raise  # someone cancelled it: not ours to explain
                raise SchedulerLost(
                    f"lost the connection to the scheduler after {done:_} of {plan.samples:_} darts; "
                    "nothing is wrong with the darts: start the scheduler again and repeat the run "
                    "(same seed, same count)") from None
            count = pending.pop(future)
            done += count
            if progress:
                progress(count)
            following = next(blocks, None)
            if following is not None:
                in_flight.add(submit(following))
    except BaseException:
        with contextlib.suppress(CommClosedError):  # with the scheduler gone, there is nothing to cancel
            client.cancel(list(pending))
        raise
    return inside


#: Darts a thread counts between two looks at the stop flag: about 20–50 ms of
#: work, so Ctrl-C never waits long for a running thread, whatever ``chunk`` is.
THREAD_PIECE = 2**22


def run_threads(plan: Plan, seed: int, workers: int, progress: Progress = None,
                kernel: str = "numpy", piece: int = THREAD_PIECE) -> int:
    """Blocks on a ``ThreadPoolExecutor`` of ``workers`` threads in this process.

    Threads are enough because the kernels release the GIL while they draw
    and count (NumPy's C loops, numba's ``nogil=True``).  A thread cannot be
    killed, so stopping (Ctrl-C, SIGTERM, an error) works by handing out no
    more blocks and raising a flag that every running block checks after each
    ``piece`` of darts; the threads have all returned when this function
    raises.  At most ``2 * workers`` blocks are queued, so a huge plan needs no
    memory.
    """
    count, _ = kernel_functions(kernel)
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
                done, _ = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
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
