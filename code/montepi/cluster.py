"""Starting and reaching dask.distributed clusters with safe defaults.

* Everything listens on 127.0.0.1 unless you ask otherwise: a scheduler or
  dashboard on every interface of a shared login node is open to every user
  of that network.
* The dashboard takes a free port (port 8787 may belong to someone else).
* Worker scratch space goes to a temporary directory that is removed on
  close, never to a ``dask-scratch-space`` folder in your working directory.

distributed starts its workers with ``spawn``: a *script* that starts a
cluster needs the ``if __name__ == "__main__":`` guard.  Notebooks do not.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import functools
import json
import logging
import shutil
import tempfile
import weakref
from collections.abc import Iterator
from pathlib import Path

#: Seconds to wait for a scheduler before giving up with a clear message.
CONNECT_TIMEOUT = 5.0


class SchedulerUnreachable(ConnectionError):
    """No scheduler answered at the given address or scheduler file."""


@functools.cache
def _scratch_cluster_class() -> type:
    """``distributed.LocalCluster`` owning a private scratch directory (made on first use: dask imports slowly)."""
    import distributed

    class LocalCluster(distributed.LocalCluster):
        """A ``LocalCluster`` whose scratch space is a private temporary folder, removed when it closes."""

        def __init__(self, **options) -> None:
            scratch = tempfile.mkdtemp(prefix="montepi-scratch-")
            # Removed on close, or at the latest when the object is collected or Python exits.
            self._remove_scratch = weakref.finalize(self, shutil.rmtree, scratch, ignore_errors=True)
            # The scheduler has a scratch directory of its own; without its local_directory it makes
            # a dask-scratch-space folder shared by every user in the system temp dir.
            options.setdefault("scheduler_kwargs", {}).setdefault("local_directory", scratch)
            try:
                super().__init__(local_directory=scratch, **options)
            except BaseException:
                self._remove_scratch()
                raise

        async def _close(self) -> None:
            try:
                await super()._close()
            finally:
                self._remove_scratch()

    return LocalCluster


def local_cluster(workers: int = 2, *, host: str = "127.0.0.1", dashboard_port: int = 0, **kwargs):
    """A ``LocalCluster`` of ``workers`` single-threaded worker processes, with the lesson's safe defaults.

    It listens on ``host`` (127.0.0.1), its dashboard takes a free port, and
    its scratch space is a private folder that goes when the cluster is
    closed (``with local_cluster() as cluster:`` or ``cluster.close()``).
    Other keyword arguments go to ``distributed.LocalCluster``.  Closing it
    prints no traceback (:mod:`montepi.closing`).

    Why one single-threaded process per core (the default, also for
    ``estimate_pi(backend="distributed")``'s own cluster and the lesson's
    ``ready_cluster``): each worker is a process of its own, so code that holds
    the GIL still runs in parallel, and a worker that dies (notebook 05 kills
    one) takes nothing else with it.  The alternatives trade that away:
    NumPy and numba release the GIL, so one process with several threads
    (``workers=1, threads_per_worker=W``) or threads in this very process
    (``processes=False``) also run the darts in parallel and start faster,
    but they share one GIL with the worker's event loop, and a crash takes
    them all.  Fewer, bigger tasks or all tasks sent at once
    (``worker-saturation: inf``) save messages but balance worse.
    ``python -m montepi.bench --shapes`` times each of these against the
    machine's ceiling in interleaved rounds; on the shared 2-core VM (five
    runs, load 3–19) no shape beat the default consistently: each won one
    run and lost another (BENCHMARKS.md), so the default stays the robust one.
    """
    from .closing import QuietClose

    options = dict(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host=host,
        dashboard_address=f"{host}:{dashboard_port}",
        silence_logs=logging.ERROR,
    )
    options.update(kwargs)
    options["plugins"] = (*options.get("plugins", ()), QuietClose())  # passed on to each Worker
    return _scratch_cluster_class()(**options)


def _scheduler_answers(address: str, timeout: float, security=None) -> None:
    """Ask the scheduler who it is; raise if nothing answers within ``timeout`` s.

    ``Client(timeout=...)`` bounds the TCP connect but not the handshake, so a
    port that accepts and then stays silent would hang it.  This probe runs on
    its own event loop in a helper thread, which also works inside Jupyter.
    """
    from distributed.core import rpc

    async def probe() -> None:
        args = security.get_connection_args("client") if security is not None else {}
        async with rpc(address, timeout=timeout, connection_args=args) as scheduler:
            await asyncio.wait_for(scheduler.identity(), timeout)

    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, probe()).result(timeout + 1)


def connect(address: str | None = None, *, scheduler_file: str | Path | None = None,
            timeout: float = CONNECT_TIMEOUT, security=None):
    """A ``Client`` for a running scheduler, or :class:`SchedulerUnreachable` within ``timeout`` s.

    ``security`` (a ``distributed.Security``) is needed for a ``tls://`` scheduler.
    """
    from distributed import Client

    where = f"scheduler at {address!r}"
    if scheduler_file is not None:
        path = Path(scheduler_file)
        where = f"scheduler file {str(path)!r}"
        if not path.is_file():
            raise SchedulerUnreachable(f"{where} does not exist; is the scheduler running?")
        try:
            address = json.loads(path.read_text())["address"]
        except (ValueError, KeyError, TypeError, OSError):
            raise SchedulerUnreachable(f"{where} is not a scheduler file (no address in it)") from None
        where += f" ({address})"
    try:
        _scheduler_answers(address, timeout, security)
        return Client(address, timeout=timeout, security=security)
    except (OSError, TimeoutError, ValueError, concurrent.futures.TimeoutError) as error:
        raise SchedulerUnreachable(
            f"could not reach the {where} within {timeout:g} s ({type(error).__name__}); "
            "check that `dask scheduler` is running and the address is right"
        ) from None


@contextlib.contextmanager
def client_for(*, client=None, address: str | None = None, scheduler_file=None,
               workers: int = 2, timeout: float = CONNECT_TIMEOUT) -> Iterator:
    """The client to compute with: the one given, one connected, or a new local cluster's.

    Whatever this function starts, it also stops.
    """
    if client is not None:
        yield client
        return
    if address is not None or scheduler_file is not None:
        with connect(address, scheduler_file=scheduler_file, timeout=timeout) as connected:
            yield connected
        return
    from distributed import Client

    with local_cluster(workers) as cluster, Client(cluster) as started:
        yield started
