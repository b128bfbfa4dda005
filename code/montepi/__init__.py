"""montepi: estimating π with numbered Monte Carlo darts, from one core to a cluster.

The package has two rooms and a command beside them; the test and figure
tooling lives outside it, under ``tests/support/``.

The library: what a learner calls and what workers run.  Data flows
estimate → plan → backends → kernel, nothing points back up; each of them
checks its input with ``checks``, which imports nothing of the package.

    kernel     numbered darts: ``count_inside(start, count, seed)``, the NumPy kernel every backend runs
    kernel_numba  the same darts in a loop compiled by numba (``kernel="numba"``; numba is optional)
    kernel_cuda   the same darts on an NVIDIA GPU (``backend="gpu"``, CuPy optional), and its Python mirror
    plan       exact splits of N darts into blocks, none lost
    darts      the darts themselves, as a NumPy or a dask array
    result     ``Estimate``: π with its standard error
    checks     input checks (one integer validator, one seed rule) shared by every layer and the command line
    estimate   ``estimate_pi``: one entry point for every backend
    backends   serial, threads, pool, dask and distributed runs of a plan
    cluster    ``local_cluster`` (the one way to start a cluster) and ``connect``
    tls        throwaway TLS certificates: a cluster answers only the learner who started it
    signals    ``quiet_children``: workers never see a terminal's Ctrl-C or hang-up; the parent stops them,
               and pool workers end by themselves when the parent is killed
    guard      a script that starts workers without ``if __name__ == "__main__":`` is told so
    closing    a worker plugin: a cluster closes without a traceback on a busy machine
    timing     ``best_of`` and ``best_of_interleaved``: how the notebooks and the benchmark time things
    polling    ``poll_until``: wait for what has no event to wait on (a queue, a log), with a deadline
    cli        ``python -m montepi`` (with ``progress``, its rate line)
    jupyter_exit  inside a Jupyter kernel: stops the pool's helpers at shutdown (no /tmp/pymp-* left);
               the notebooks ask for it with ``%load_ext montepi`` (importing montepi changes nothing)

The lesson's props (:mod:`montepi.lesson`): code that exists only so a
notebook can show something (the original lesson's pitfalls, a hand-started
cluster, Slurm helpers, a memory meter, Amdahl fits, overhead measures).

The benchmark (:mod:`montepi.bench`, ``python -m montepi.bench``): measure,
report (targets, PASS/FAIL, Markdown) and its command line.  It uses the
library and the props; nothing in them uses it.

The notebooks import everything they run in parallel from here.  For a pool
that is a must: ``multiprocessing`` pickles a function by reference (module
and name), so one defined in a notebook cannot reach a process started with
``spawn`` or ``forkserver``.  dask.distributed pickles functions by value and
could take a notebook's own; the lesson imports its kernels anyway, for speed
and so that the page shows one kernel.
"""

import importlib

#: Where each public name lives.  They are imported on first use (PEP 562), so
#: that ``import montepi`` is instant: ``python -m montepi`` can then take
#: charge of Ctrl-C before NumPy and dask are loaded, and workers that only
#: need the kernel do not import dask.
_HOMES = {
    "BACKENDS": "checks",
    "Block": "plan",
    "Estimate": "result",
    "Plan": "plan",
    "SchedulerUnreachable": "cluster",
    "available_cores": "estimate",
    "connect": "cluster",
    "count_block": "kernel",
    "count_inside": "kernel",
    "darts": "darts",
    "estimate_pi": "estimate",
    "generator_at": "kernel",
    "local_cluster": "cluster",
    "plan_blocks": "plan",
}
__all__ = sorted(_HOMES)


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module 'montepi' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value  # the next look-up is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_HOMES))


__version__ = "0.1.0"


def load_ipython_extension(ipython) -> None:
    """``%load_ext montepi``: in a Jupyter kernel, stop the pool's helpers at shutdown (no /tmp/pymp-* left).

    An explicit step, not a side effect of ``import montepi``: a library must
    not change another library (here ipykernel's shutdown) on import.
    """
    from .jupyter_exit import install

    install(ipython)
