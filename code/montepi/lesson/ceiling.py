"""The machine's own ceiling: how fast W processes throw darts when nothing organises them.

W independent processes are started and warmed up before any clock runs.
Each gets one exact W-th of the darts.  On every run they wait at a barrier
and start counting at the same moment: no pool, no scheduler, no tasks, no
results passed while they work.  The ceiling rate is N ÷ the *slowest*
process's time.  Whatever keeps it below W × the one-core rate belongs to
the machine (shared caches, memory bandwidth, the all-core clock, other
programs), not to montepi; whatever keeps a backend below it is the backend's.

The benchmark reports each backend as a fraction of this ceiling; notebook 07
draws it beside the measured speed-ups.
"""

from __future__ import annotations

import contextlib
import importlib
import signal
import time
from collections.abc import Iterator

from ..backends import pool_context
from ..plan import plan_blocks
from ..signals import quiet_children

#: Darts each process throws before the clock, so imports, page faults and
#: (for numba) compiling are done before the first timed run.
WARM_UP_DARTS = 2**20


def kernel_module(kernel: str = "numpy"):
    """The module of the named kernel (``montepi.kernel`` or ``montepi.kernel_numba``), ready to run."""
    module = importlib.import_module("montepi.kernel" if kernel == "numpy" else f"montepi.kernel_{kernel}")
    compile_kernel = getattr(module, "compile_kernel", None)
    if compile_kernel is not None:  # numba: compile (or load from its cache) now, not inside a timing
        compile_kernel()
    return module


def thrower(conn, barrier, kernel: str, start: int, count: int, seed: int) -> None:
    """One ceiling process: warm up, then on each request wait at the barrier and count its darts."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's: it closes us (no traceback here)
    count_inside = kernel_module(kernel).count_inside
    count_inside(start, min(count, WARM_UP_DARTS), seed)
    conn.send("ready")
    try:
        while conn.recv():
            barrier.wait()
            began = time.perf_counter()
            inside = count_inside(start, count, seed)
            conn.send((inside, time.perf_counter() - began))
    except (EOFError, OSError):  # the parent went away: nothing left to do
        pass
    finally:
        conn.close()


class Ceiling:
    """W warmed-up processes holding one W-th of ``samples`` darts each; :meth:`run` times one release."""

    def __init__(self, workers: int, samples: int, seed: int = 2017, kernel: str = "numpy") -> None:
        context = pool_context()
        self.workers, self.samples, self.kernel = workers, samples, kernel
        self._barrier = context.Barrier(workers)
        self._conns, self._processes = [], []
        try:
            with quiet_children():  # a terminal's Ctrl-C is the parent's alone, which closes them
                for block in plan_blocks(samples, parts=workers):
                    ours, theirs = context.Pipe()
                    process = context.Process(target=thrower, args=(theirs, self._barrier, kernel, *block, seed),
                                              daemon=True, name=f"montepi-ceiling-{len(self._processes)}")
                    process.start()
                    theirs.close()
                    self._conns.append(ours)
                    self._processes.append(process)
            for conn in self._conns:
                if conn.recv() != "ready":
                    raise RuntimeError("a ceiling process did not start")
        except BaseException:
            self.close()
            raise

    def run(self) -> tuple[float, int]:
        """Release every process at once: ``(seconds of the slowest, darts inside in total)``."""
        for conn in self._conns:
            conn.send(True)
        answers = [conn.recv() for conn in self._conns]
        return max(seconds for _, seconds in answers), sum(inside for inside, _ in answers)

    def close(self) -> None:
        """Stop the processes (they are idle between runs, so this is quick)."""
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.send(False)
        for process in self._processes:
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
                process.join()
        for conn in self._conns:
            conn.close()
        # The barrier's named semaphores are unlinked when it is collected: now, not at exit.
        self._conns, self._processes, self._barrier = [], [], None

    def __enter__(self) -> Ceiling:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextlib.contextmanager
def ceiling(workers: int, samples: int, seed: int = 2017, kernel: str = "numpy") -> Iterator[Ceiling]:
    """:class:`Ceiling` as a context manager: ``with ceiling(2, N, SEED) as c: seconds, inside = c.run()``."""
    with Ceiling(workers, samples, seed, kernel) as started:
        yield started
