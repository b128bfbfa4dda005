"""Starting worker processes so that a terminal's Ctrl-C is the parent's alone.

Ctrl-C in a terminal sends SIGINT to the whole process group: the parent
*and* every pool worker, forkserver and dask worker it started.  Each of
those would print its own ``KeyboardInterrupt`` traceback, and a signal
that lands while a cluster is still starting leaves it half made.  The
parent handles Ctrl-C by stopping them all, so:

* children are started with SIGINT blocked, and keep it blocked: the signal
  mask is inherited by every thread and process started from this thread,
  which also covers a forkserver still importing NumPy (the standard
  library's ``resource_tracker`` starts its process the same way);
* in the main thread, SIGINT and SIGTERM that arrive while children start
  are held and raised as soon as they are up, so ``with``/``finally`` blocks
  see a whole cluster or pool, and close it.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

_HELD = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def quiet_children() -> Iterator[None]:
    """Start processes inside this block: they never see SIGINT; a signal to us waits until the block ends."""
    can_mask = hasattr(signal, "pthread_sigmask")  # not on Windows, which has no process groups either
    in_main = threading.current_thread() is threading.main_thread()
    arrived: list[tuple[int, object]] = []
    previous: dict[int, object] = {}
    if in_main:
        for signum in _HELD:
            handler = signal.getsignal(signum)
            if callable(handler):  # a Python handler (KeyboardInterrupt, the CLI's SIGTERM): hold its signal
                previous[signum] = handler
                signal.signal(signum, lambda number, frame: arrived.append((number, frame)))
    if can_mask:
        # multiprocessing starts its resource tracker with SIGINT blocked and then *unblocks* SIGINT in
        # the starting thread: start it first, so that it cannot undo the mask below.
        from multiprocessing import resource_tracker

        resource_tracker.ensure_running()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT}) if can_mask else None
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if mask is not None:  # a SIGINT still pending reaches the restored handler here
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if arrived:
            number, frame = arrived[0]
            previous[number](number, frame)
