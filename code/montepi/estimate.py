"""``estimate_pi``: one entry point for every backend."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

from . import backends, checks, kernel_cuda
from .cluster import CONNECT_TIMEOUT, client_for, wait_for_workers
from .plan import DISTRIBUTED_TASKS_PER_WORKER, default_chunk, plan_blocks
from .result import Estimate


@contextlib.contextmanager
def _scheduler_lost_on(*errors: type[BaseException]) -> Iterator[None]:
    """A connection closed outside the dart loop (waiting for workers, closing) is the same lost scheduler."""
    try:
        yield
    except errors:
        raise backends.SchedulerLost("lost the connection to the scheduler; start the scheduler again and "
                                     "repeat the run (same seed, same count)") from None


def available_cores() -> int:
    """Cores this process may use (respects taskset, cgroups and Slurm's cpuset)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows
        return os.cpu_count() or 1


def estimate_pi(
    samples: int | float | str,
    *,
    seed: int = 2017,
    backend: str = "serial",
    workers: int | None = None,
    chunk: int | None = None,
    client=None,
    scheduler: str | None = None,
    scheduler_file: str | Path | None = None,
    start_method: str | None = None,
    timeout: float | None = None,
    progress: backends.Progress = None,
    kernel: str = "numpy",
) -> Estimate:
    """Estimate π from ``samples`` numbered darts.

    The count of darts inside depends only on ``samples`` and ``seed``: every
    backend, worker count and ``chunk`` (the largest block of darts one task
    throws) gives the same ``inside``.  By default each worker gets 16 blocks
    (``distributed``: 4, as each task there costs the cluster's event loops
    milliseconds of CPU; see :func:`~montepi.plan.default_chunk`).

    backend
        ``"serial"`` (this process), ``"threads"`` (a pool of threads in this
        process: the kernels release the GIL), ``"pool"`` (a pool of processes; ``start_method``
        picks how they start),
        ``"dask"`` (dask's local threaded scheduler) or ``"distributed"``
        (``client``, or a scheduler at ``scheduler``/``scheduler_file``, or a
        fresh ``LocalCluster`` on 127.0.0.1 that is closed afterwards), or
        ``"gpu"`` (an NVIDIA GPU through CuPy, its own CUDA kernel: the same
        darts and count; ``chunk`` is then the darts per kernel launch).
        Without CuPy or a GPU, ``"gpu"`` raises ``GpuUnavailable`` (a
        ``ValueError``) saying which is missing.
    workers
        Processes or threads to use; defaults to the available cores.  With
        ``client``, ``scheduler`` or ``scheduler_file`` the cluster brings its
        own workers, and ``workers`` is refused rather than ignored.
    timeout
        Seconds to wait for the scheduler at ``scheduler``/``scheduler_file``
        to answer, and then for the cluster, however it was reached
        (``client`` too), to have a worker.  Without it: 5 s for each wait
        with ``scheduler``/``scheduler_file``; with ``client``, as long as it
        takes, because an adaptive cluster (``cluster.adapt(minimum=0)``)
        starts its workers only once the work has been submitted, and a
        batch job may wait long in the queue.
    progress
        ``None``, or a function called with each finished block's number of darts.
    kernel
        ``"numpy"`` (default) or ``"numba"``: the same darts and the same
        count, numba's compiled loop being faster per core.  numba is
        optional; without it ``"numba"`` raises ``NumbaMissing`` (an
        ``ImportError``) saying how to install it.  It is compiled before the
        clock starts, once per process.
    """
    samples = checks.check_samples(samples)
    seed = checks.check_seed(seed)
    backend = checks.check_backend(backend)
    if workers is not None:
        workers = checks.check_workers(workers)
    if chunk is not None:
        chunk = checks.check_chunk(chunk)
    if scheduler is not None and scheduler_file is not None:
        raise ValueError("give scheduler or scheduler_file, not both: they name the same scheduler two ways")
    if client is not None and (scheduler is not None or scheduler_file is not None):
        raise ValueError("give client, or scheduler/scheduler_file, not both")
    checks.check_backend_options(backend, workers=workers, start_method=start_method,
                                 cluster_given=any(x is not None for x in (client, scheduler, scheduler_file)),
                                 kernel=kernel)
    reach = CONNECT_TIMEOUT if timeout is None else checks.check_timeout(timeout)
    kernel = checks.check_kernel(kernel)
    checks.check_progress(progress)
    if backend == "gpu":
        kernel = "cuda"
        kernel_cuda.compile_kernel()  # CuPy and a GPU here? compiled before timing
    else:
        backends.kernel_functions(kernel)  # numba: installed? compiled (or loaded from its cache) before timing

    if client is not None:
        from distributed import Client

        if not isinstance(client, Client):
            raise TypeError(f"client must be a distributed.Client, got {type(client).__name__} {client!r}; "
                            "for an address, use scheduler=")
        if client.status in ("closing", "closed"):
            raise ValueError("client is closed; make a new Client (or leave client out to start a cluster)")

    began = time.perf_counter()
    if backend == "gpu":
        workers = 1  # one device; its threads are the kernel's business (kernel_cuda.gpu_threads)
        plan = plan_blocks(samples, chunk=chunk or kernel_cuda.LAUNCH_DARTS)
        inside = kernel_cuda.run_gpu(plan, seed, progress)
    elif backend == "distributed":
        from distributed.comm.core import CommClosedError

        with _scheduler_lost_on(CommClosedError), client_for(
                client=client, address=scheduler, scheduler_file=scheduler_file,
                workers=workers or available_cores(), timeout=reach) as active:
            if scheduler is not None or scheduler_file is not None:
                wait_for_workers(active, reach)  # a scheduler with no workers would wait silently for ever
            workers = len(active.nthreads()) or workers or 1
            plan = plan_blocks(samples, chunk=chunk or default_chunk(samples, workers, DISTRIBUTED_TASKS_PER_WORKER))
            # A client's cluster is waited for once the work is submitted: an adaptive one scales up for it.
            inside = backends.run_distributed(plan, seed, active, progress, kernel=kernel,
                                              first_worker_timeout=timeout if client is not None else None)
    else:
        workers = 1 if backend == "serial" else workers or available_cores()
        plan = plan_blocks(samples, chunk=chunk or default_chunk(samples, workers))
        if backend == "serial":
            inside = backends.run_serial(plan, seed, progress, kernel=kernel)
        elif backend == "threads":
            inside = backends.run_threads(plan, seed, workers, progress, kernel=kernel)
        elif backend == "pool":
            inside = backends.run_pool(plan, seed, workers, progress, start_method=start_method, kernel=kernel)
        else:
            inside = backends.run_dask(plan, seed, workers, progress, kernel=kernel)
    seconds = time.perf_counter() - began
    return Estimate(samples=samples, inside=inside, seed=seed, backend=backend, workers=workers, seconds=seconds,
                    kernel=kernel)
