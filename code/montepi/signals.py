"""Starting worker processes so that a terminal's Ctrl-C is the parent's alone.

Ctrl-C in a terminal sends SIGINT to the whole process group: the parent
*and* every pool worker, forkserver and dask worker it started.  Each of
those would print its own ``KeyboardInterrupt`` traceback, and a signal
that lands while a cluster is still starting leaves it half made.  The
parent handles Ctrl-C by stopping them all, so:

* children are started with SIGINT and SIGHUP blocked, and keep them blocked: the signal
  mask is inherited by every thread and process started from this thread,
  which also covers a forkserver still importing NumPy (the standard
  library's ``resource_tracker`` starts its process the same way);
* in the main thread, SIGINT, SIGTERM and SIGHUP that arrive while children
  start are held and raised as soon as they are up, so ``with``/``finally``
  blocks see a whole cluster or pool, and close it;
* a parent killed outright (SIGKILL) stops nobody: :func:`exit_with_parent`
  makes a worker end by itself when its parent is gone.

The command lines (``python -m montepi`` and ``python -m montepi.bench``) run under
:func:`stop_on_signals`: SIGINT, SIGTERM and SIGHUP unwind the run like Ctrl-C, so every
``with``/``finally`` closes its pool or cluster, and the command ends in one line and the
status a shell gives that signal (130, 143, 129).
"""

from __future__ import annotations

import contextlib
import os
import select
import shutil
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

#: Held while children start: Ctrl-C, SIGTERM and a hang-up (not on Windows).
_HELD = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
#: Blocked in children for good: a terminal's Ctrl-C and hang-up reach the whole group; the parent
#: handles both by stopping its children.
_BLOCKED = {s for s in _HELD if s != signal.SIGTERM}


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
        start_resource_tracker()
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCKED) if can_mask else None
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


def start_resource_tracker() -> None:
    """Start multiprocessing's resource tracker, if not yet running, so that a hang-up cannot kill it.

    The tracker ignores SIGINT and SIGTERM itself, but not SIGHUP: a terminal's hang-up to the group
    would kill it, the next semaphore would relaunch it with a traceback per semaphore, and the pool's
    semaphores would be left behind.  So it starts with SIGHUP blocked, a mask kept across exec.  Call
    this before anything makes a semaphore (a pool, tqdm's lock), which starts the tracker otherwise.
    """
    if not hasattr(signal, "pthread_sigmask"):
        return
    from multiprocessing import resource_tracker

    before = signal.pthread_sigmask(signal.SIG_BLOCK, _BLOCKED - {signal.SIGINT})
    try:
        resource_tracker.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def exit_with_parent(parent: int, leftovers: str | None = None, poll: float = 0.25) -> None:
    """End this process as soon as process ``parent`` has ended, however it ended (SIGKILL included).

    Called in each pool worker: a worker of a parent that was killed would otherwise wait for work
    for ever, and keep the forkserver and the resource tracker (and with them ``/tmp/pymp-*`` and
    the pool's semaphores) alive.  A daemon thread waits on a pidfd (Linux; it becomes readable
    when the process ends) or polls.  ``leftovers``, the parent's ``pymp-*`` folder, is removed
    first, because its owner can no longer do it; once every worker has gone, the forkserver and
    the resource tracker see their pipes close, end, and unlink the semaphores.
    """
    import psutil

    try:
        watched = psutil.Process(parent)
    except psutil.NoSuchProcess:
        watched = None

    def wait() -> None:
        if watched is not None:
            try:
                pidfd = os.pidfd_open(parent)
            except (AttributeError, OSError):  # not Linux, or a kernel older than 5.3
                while watched.is_running():  # is_running() also notices a recycled pid
                    threading.Event().wait(poll)
            else:
                select.select([pidfd], [], [])
        if leftovers and Path(leftovers).name.startswith("pymp-"):
            shutil.rmtree(leftovers, ignore_errors=True)
        os._exit(1)

    threading.Thread(target=wait, name="montepi-exit-with-parent", daemon=True).start()


class _Terminated(BaseException):
    """SIGTERM arrived: stop like Ctrl-C, so pools and clusters are shut down."""


class _HungUp(_Terminated):
    """SIGHUP arrived (the terminal or SSH session closed): stop like SIGTERM."""


#: The exit status of each way to be stopped: 128 + the signal's number, as a shell reports it.
STOP_STATUS = {KeyboardInterrupt: 130, _HungUp: 129, _Terminated: 143}


class _Insist:
    """Signal handlers that stop the run, and keep raising until the stop has been caught.

    A ``KeyboardInterrupt`` raised while Python runs a weakref callback or a
    ``__del__`` is printed as "Exception ignored" and lost (seen on Python 3.13:
    Ctrl-C then did nothing).  So the first signal also starts a thread that
    raises it again in the main thread every half second until ``caught()``.
    """

    def __init__(self) -> None:
        self._caught = threading.Event()
        self._insisting = False

    def handler(self, stop: type[BaseException]) -> Callable[[int, object], None]:
        def handle(signum: int, frame: object) -> None:
            if self._caught.is_set():  # a repeat that arrived after the stop was caught
                return
            if not self._insisting:
                self._insisting = True
                threading.Thread(target=self._repeat, args=(signum,), daemon=True).start()
            raise stop

        return handle

    def _repeat(self, signum: int) -> None:
        import _thread

        while not self._caught.wait(0.5):
            _thread.interrupt_main(signum)

    def caught(self) -> None:
        self._caught.set()


def stop_on_signals(run: Callable[[], int], stopped: str) -> int:
    """``run()``'s exit status; SIGINT, SIGTERM or SIGHUP instead print ``stopped`` and give 130, 143 or 129.

    The signal is raised in the main thread as an exception, so the run unwinds through its
    ``with`` and ``finally`` blocks (closing pools and clusters) before the one line is printed.
    Called from Python (a test, a notebook), the caller's handlers are put back afterwards.
    """
    previous = {}
    insist = _Insist()
    if threading.current_thread() is threading.main_thread():
        stops = {signal.SIGINT: KeyboardInterrupt, signal.SIGTERM: _Terminated}
        if hasattr(signal, "SIGHUP"):  # not on Windows
            stops[signal.SIGHUP] = _HungUp
        previous = {signum: signal.signal(signum, insist.handler(stop)) for signum, stop in stops.items()}
    try:
        return run()
    except (KeyboardInterrupt, _Terminated) as stop:
        insist.caught()
        with contextlib.suppress(OSError):  # after a hang-up, stderr may be a terminal that is gone
            print(stopped, file=sys.stderr, flush=True)
        return STOP_STATUS[type(stop)]
    finally:
        insist.caught()
        for signum, handler in previous.items():
            if handler is not None:  # None: a handler set outside Python, which cannot be put back
                signal.signal(signum, handler)
