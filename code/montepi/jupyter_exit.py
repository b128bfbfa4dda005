"""Stop multiprocessing's helper processes before a Jupyter kernel shuts down.

A pool started with ``forkserver`` or ``spawn`` leaves two helpers running
for the life of the kernel: the forkserver and the resource tracker.  When
the kernel is asked to shut down, ipykernel first sends SIGTERM to every
child in its process group and waits for them; the resource tracker ignores
SIGTERM by design, so the kernel is still waiting when Jupyter kills it
(after 2.5 s).  Killed, it cannot run its exit clean-up, and every shutdown
leaves a ``/tmp/pymp-*`` folder and ``/dev/shm/sem.mp-*`` semaphores behind.

So, inside a kernel that asked for it with ``%load_ext montepi``, montepi
stops both helpers itself when the shutdown begins (``do_shutdown``, the kernel's documented hook): the kernel then has
no children left, exits at once and cleans up as any Python program does.
``_stop()`` is how CPython's own tests stop these helpers (3.8 to 3.14); no
public call does it.
"""

from __future__ import annotations

import contextlib
import gc
import sys

_MARK = "_montepi_stops_pool_helpers"


def stop_pool_helpers() -> None:
    """Stop this process's forkserver and resource tracker, if they run (they restart when needed)."""
    gc.collect()  # pools no longer referenced release their semaphores now, while the tracker still runs
    from multiprocessing import forkserver, resource_tracker

    with contextlib.suppress(Exception):  # best effort: a shutdown must go on whatever happens here
        forkserver._forkserver._stop()
    with contextlib.suppress(Exception):
        resource_tracker._resource_tracker._stop()


def install(shell=None) -> None:
    """In a Jupyter (ipykernel) kernel, stop the pool helpers when the kernel shuts down; elsewhere nothing.

    ``shell`` is the IPython shell (``%load_ext montepi`` passes it); by default the current one.
    """
    if "ipykernel" not in sys.modules:
        return
    if shell is None:
        try:
            from IPython import get_ipython
        except ImportError:
            return
        shell = get_ipython()
    kernel = getattr(shell, "kernel", None)
    if kernel is None or getattr(kernel, _MARK, False):
        return
    original = kernel.do_shutdown

    async def do_shutdown(restart):
        stop_pool_helpers()
        result = original(restart)
        return await result if hasattr(result, "__await__") else result

    kernel.do_shutdown = do_shutdown
    setattr(kernel, _MARK, True)
