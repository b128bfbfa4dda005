"""montepi: estimating π with numbered Monte Carlo darts, from one core to a cluster.

The package has two rooms and a command beside them; the test and figure
tooling lives outside it, under ``tests/support/``.

The library: what a learner calls and what workers run.  Data flows
estimate → checks → plan → backends → kernel, nothing points back up.

    kernel     numbered darts: ``count_inside(start, count, seed)``, the NumPy kernel every backend runs
    kernel_numba  the same darts in a loop compiled by numba (``kernel="numba"``; numba is optional)
    kernel_cuda   the same darts on an NVIDIA GPU (``backend="gpu"``, CuPy optional), and its Python mirror
    plan       exact splits of N darts into blocks, none lost
    darts      the darts themselves, as a NumPy or a dask array
    result     ``Estimate``: π with its standard error
    checks     input checks shared by ``estimate_pi`` and the command line
    estimate   ``estimate_pi``: one entry point for every backend
    backends   serial, threads, pool, dask and distributed runs of a plan
    cluster    ``local_cluster`` (the one way to start a cluster) and ``connect``
    closing    a worker plugin: a cluster closes without a traceback on a busy machine
    timing     ``best_of`` and ``best_of_interleaved``: how the notebooks and the benchmark time things
    cli        ``python -m montepi`` (with ``progress``, its rate line)
    jupyter_exit  inside a Jupyter kernel: stops the pool's helpers at shutdown (no /tmp/pymp-* left)

The lesson's props (:mod:`montepi.lesson`): code that exists only so a
notebook can show something (the original lesson's pitfalls, a hand-started
cluster, Slurm helpers, a memory meter, Amdahl fits, overhead measures).

The benchmark (:mod:`montepi.bench`, ``python -m montepi.bench``): measure,
report (targets, PASS/FAIL, Markdown) and its command line.  It uses the
library and the props; nothing in them uses it.

The notebooks import everything they run in parallel from here, because a
function defined in a notebook cannot be sent to a process started with
``spawn`` or ``forkserver``.
"""

from . import jupyter_exit as _jupyter_exit
from .checks import BACKENDS
from .cluster import SchedulerUnreachable, connect, local_cluster
from .darts import darts
from .estimate import available_cores, estimate_pi
from .kernel import count_block, count_inside, generator_at
from .plan import Block, Plan, plan_blocks
from .result import Estimate

__all__ = [
    "BACKENDS",
    "Block",
    "Estimate",
    "Plan",
    "SchedulerUnreachable",
    "available_cores",
    "connect",
    "count_block",
    "count_inside",
    "darts",
    "estimate_pi",
    "generator_at",
    "local_cluster",
    "plan_blocks",
]
__version__ = "0.1.0"

# Inside a Jupyter kernel: stop the pool helpers at shutdown, so no /tmp/pymp-* is left behind.
_jupyter_exit.install()
