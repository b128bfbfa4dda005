"""montepi: estimating π with numbered Monte Carlo darts, from one core to a cluster.

The lesson notebooks import everything they run in parallel from here, because
a function defined in a notebook cannot be sent to a process started with
``spawn`` or ``forkserver``.
"""

from . import jupyter_exit as _jupyter_exit
from .checks import BACKENDS
from .cluster import SchedulerUnreachable, close_cluster, connect, local_cluster
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
    "close_cluster",
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
