"""Starting and reaching dask.distributed clusters with safe defaults.

* Everything listens on 127.0.0.1 unless you ask otherwise: a scheduler or
  dashboard on every interface of a shared login node is open to every user
  of that network.
* The dashboard takes a free port (port 8787 may belong to someone else).
* The cluster speaks TLS with throwaway certificates that only this process
  holds (``security=True``): 127.0.0.1 keeps out other machines but not the
  other users of this one, and a scheduler without TLS runs whatever any
  local user sends it, as you.  ``Client(cluster)`` picks the certificates up.
* Worker scratch space goes to a temporary directory (mode 0700) that is
  removed on close, never to a ``dask-scratch-space`` folder in your working
  directory; the next cluster removes those of killed processes
  (:func:`sweep_stale_scratch`).

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
import math
import os
import re
import shutil
import socket
import tempfile
import time
import weakref
from collections.abc import Callable, Iterator
from pathlib import Path

from .checks import MAX_WORKERS, check_timeout, whole_number
from .guard import check_main_guard
from .polling import poll_until
from .signals import quiet_children
from .tls import CertificatesMissing

#: Seconds to wait for a scheduler before giving up with a clear message.
CONNECT_TIMEOUT = 5.0

#: Seconds a new LocalCluster waits for its workers to register before it is handed over anyway.
REGISTER_SECONDS = 60.0

#: How often each worker of ``local_cluster`` samples the stack of the task it runs, for the dashboard's
#: Profile tab.  dask's default, every 10 ms, runs on the worker's event loop and takes the GIL 100 times
#: a second: on 2 quiet cores, switching it off gained the darts 3 %, 3 % and 1 % of the ceiling in three
#: interleaved ``python -m montepi.bench --shapes`` runs (BENCHMARKS.md).  Every 100 ms still fills the Profile tab.
PROFILE_INTERVAL = "100ms"


class SchedulerUnreachable(ConnectionError):
    """No scheduler answered at the given address or scheduler file."""


#: A scratch folder's name: ``montepi-scratch-<pid of the process that owns it>-<random>``.
SCRATCH_NAME = re.compile(r"montepi-scratch-(\d+)-[^/]+")


def sweep_stale_scratch(folder: str | Path | None = None) -> list[Path]:
    """Remove the scratch folders of this user whose owning process is gone; return them.

    A cluster removes its scratch folder when it closes, but not when its process is killed
    (SIGKILL, or a SIGHUP in the middle of a start).  Each folder's name holds its owner's pid, so
    the next cluster started by the same user (in ``folder``, the temporary directory by default)
    removes the leftovers.  Folders of other users, and of processes still running, stay.
    """
    import stat

    import psutil

    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob("montepi-scratch-*"):
        match = SCRATCH_NAME.fullmatch(path.name)
        try:
            info = path.lstat()
        except OSError:
            continue
        mine = not hasattr(os, "getuid") or info.st_uid == os.getuid()
        if match and mine and stat.S_ISDIR(info.st_mode) and not psutil.pid_exists(int(match[1])):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


@functools.cache
def _scratch_cluster_class() -> type:
    """``distributed.LocalCluster`` owning a private scratch directory (made on first use: dask imports slowly)."""
    import distributed

    class LocalCluster(distributed.LocalCluster):
        """A ``LocalCluster`` whose scratch space is a private temporary folder, removed when it closes."""

        def __init__(self, **options) -> None:
            sweep_stale_scratch()
            scratch = tempfile.mkdtemp(prefix=f"montepi-scratch-{os.getpid()}-")
            # Removed on close, or at the latest when the object is collected or Python exits.
            self._remove_scratch = weakref.finalize(self, shutil.rmtree, scratch, ignore_errors=True)
            # The scheduler has a scratch directory of its own; without its local_directory it makes
            # a dask-scratch-space folder shared by every user in the system temp dir.
            options.setdefault("scheduler_kwargs", {}).setdefault("local_directory", scratch)
            made = False
            try:
                with quiet_children():  # workers never see a terminal's Ctrl-C; one during start-up waits
                    super().__init__(local_directory=scratch, **options)
                    made = True
            except BaseException:  # an error while starting, or a Ctrl-C held until it had started
                if made:
                    self.close()
                self._remove_scratch()
                raise

        async def _correct_state_internal(self) -> None:
            """Start or stop workers as asked, then wait (up to ``REGISTER_SECONDS``) until each has registered.

            When the nannies are up a worker may not have registered yet (TLS handshakes on a busy machine):
            whoever counts the workers next must see them all.  This reads the scheduler object, which a
            LocalCluster runs in this process, and awaits on its event loop, so the same wait serves a plain
            ``local_cluster()``, ``cluster.scale(n)`` and ``await local_cluster(asynchronous=True)``
            (JupyterLab's Dask sidebar), whose scheduler shares the loop a blocking wait would freeze.
            """
            await super()._correct_state_internal()
            deadline = time.monotonic() + REGISTER_SECONDS
            while len(self.scheduler.workers) < len(self.worker_spec) and time.monotonic() < deadline:
                await asyncio.sleep(0.05)

        def stop_workers_now(self, grace: float = 0.5) -> None:
            """End every worker within about ``grace`` s, busy or not: after a Ctrl-C their blocks are not wanted.

            A plain close lets each worker finish its block first (seconds on a busy machine).
            """
            async def close_all() -> None:
                await asyncio.gather(*(w.close(timeout=grace) for w in self.workers.values()),
                                     return_exceptions=True)

            self.sync(close_all)

        async def _close(self) -> None:
            try:
                await super()._close()
            finally:
                self._remove_scratch()

    return LocalCluster


def local_cluster(workers: int = 2, *, host: str = "127.0.0.1", dashboard_port: int = 0, security=None,
                  **kwargs):
    """A ``LocalCluster`` of ``workers`` single-threaded worker processes, with the lesson's safe defaults.

    It listens on ``host`` (127.0.0.1), its dashboard takes a free port, its
    scratch space is a private folder that goes when the cluster is closed
    (``with local_cluster() as cluster:`` or ``cluster.close()``), and it
    speaks TLS with throwaway certificates held by this process only
    (dask's ``Security.temporary()``), so that other users of this machine
    cannot use it; ``Client(cluster)`` needs no extra step.  ``security``:
    None (the default) means TLS unless ``protocol=`` asks for another one
    (``"tcp"``, or ``"inproc"`` with ``processes=False``), which is then what
    you get; True or a ``distributed.Security`` means TLS; False gives the old
    plain-TCP cluster, which any local user can connect to (the benchmark's
    TLS ÷ plain TCP row compares the two).
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
    them all.  All tasks sent at once (``worker-saturation: inf``) saves
    messages but balances worse.  ``python -m montepi.bench --shapes`` times
    each of these against the machine's ceiling in interleaved rounds; on 2
    quiet cores none beat the default by more than the noise (BENCHMARKS.md).
    What did pay is in the defaults: ``estimate_pi`` sends each worker 4
    blocks, not 16 (``montepi.plan.DISTRIBUTED_TASKS_PER_WORKER``), and the
    workers' profiler samples every 100 ms, not 10 (``PROFILE_INTERVAL``: the
    dashboard's Profile tab is coarser, and still fills).
    """
    import dask

    from . import ssl_error_queue
    from .closing import QuietClose

    workers = whole_number(workers, "workers", minimum=0, maximum=MAX_WORKERS)  # 0: a scheduler alone
    options = dict(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        host=host,
        dashboard_address=f"{host}:{dashboard_port}",
        silence_logs=logging.ERROR,
        security=None if security is False else security,  # LocalCluster takes True, a Security or None
    )
    options.update(kwargs)
    if security is None:  # TLS, unless another protocol was asked for by name
        asked = options.get("protocol")
        options["security"] = asked is None or str(asked).removesuffix("://") == "tls" or None
    options["plugins"] = (*options.get("plugins", ()), QuietClose())  # passed on to each Worker
    if options["processes"] and dask.config.get("distributed.worker.profile.interval") == "10ms":
        # Each nanny hands its worker this config, which replaces whole top-level sections of the worker's
        # own: so dask's whole config goes, with the interval changed.  A `config=` given here, or an interval
        # set in dask's own config, wins.
        lesson = {"distributed": {"worker": {"profile": {"interval": PROFILE_INTERVAL}}}}
        options["config"] = dask.config.merge(dask.config.config, lesson, options.get("config") or {})
    # TLS connections that one ending connection cannot break (montepi.ssl_error_queue): here (the
    # scheduler, nannies and clients of this process) and, as a preload, in each worker process.
    ssl_error_queue.install()
    preload = options.get("preload") or []
    options["preload"] = [*([preload] if isinstance(preload, str) else preload), ssl_error_queue.__name__]
    if options.get("preload_argv"):
        options["preload_argv"] = [*options["preload_argv"], []]
    if options["processes"]:  # distributed spawns its workers: they re-run the main script
        check_main_guard("a cluster")
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


#: The largest scheduler file read: `dask scheduler` writes a few hundred bytes.  Anything bigger (or
#: ``/dev/zero``) is not one, and is refused before it can fill the memory.
MAX_SCHEDULER_FILE = 1 << 20


def _address_in(path: Path) -> str:
    """The scheduler address written in a scheduler file, or :class:`SchedulerUnreachable` saying what is wrong.

    Only a regular file is read, opened without blocking (a FIFO would block ``open()`` for ever,
    whatever the timeout), and at most ``MAX_SCHEDULER_FILE`` bytes of it.
    """
    import errno
    import stat

    where = f"scheduler file {_shown(str(path))}"
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as error:
        if error.errno == errno.ENOENT:
            raise SchedulerUnreachable(f"{where} does not exist; is the scheduler running, "
                                       "and is the path right?") from None
        if error.errno == errno.EISDIR:
            raise SchedulerUnreachable(f"{where} is a directory, not the JSON file that "
                                       "`dask scheduler --scheduler-file PATH` writes") from None
        raise SchedulerUnreachable(f"{where} cannot be read ({error.strerror or error})") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        what = "a directory," if stat.S_ISDIR(mode) else "not a regular file (a pipe, socket or device), so"
        raise SchedulerUnreachable(f"{where} is {what} not the JSON file that "
                                   "`dask scheduler --scheduler-file PATH` writes")
    with os.fdopen(descriptor, "rb") as file:
        try:
            data = file.read(MAX_SCHEDULER_FILE + 1)
        except OSError as error:
            raise SchedulerUnreachable(f"{where} cannot be read ({error.strerror or error})") from None
    if len(data) > MAX_SCHEDULER_FILE:
        raise SchedulerUnreachable(f"{where} is over {MAX_SCHEDULER_FILE // 1024} KiB, too big for a scheduler "
                                   "file (`dask scheduler` writes a few hundred bytes)")
    try:
        content = json.loads(data)
    except (ValueError, RecursionError):  # RecursionError: brackets nested deeper than Python's stack
        raise SchedulerUnreachable(f"{where} is not JSON, so not a scheduler file") from None
    address = content.get("address") if isinstance(content, dict) else None
    if not isinstance(address, str) or "://" not in address:
        raise SchedulerUnreachable(f"{where} has no scheduler address (its \"address\" is {_shown(address)}; "
                                   "expected text such as \"tcp://127.0.0.1:8786\")")
    return address


def _shown(value: object) -> str:
    """``repr(value)`` cut to a readable length: a 300-character path or address is not a message."""
    text = repr(value)
    return text if len(text) <= 100 else f"{text[:60]}…{text[-30:]}"


#: What ``connect`` can reach: plain TCP and TLS (``security=``).  ``inproc://`` lives inside one
#: process, ``ucx://`` needs UCX, which the lesson does not install.
SCHEMES = ("tcp", "tls")


def _check_address(address: str) -> tuple[str, str, int]:
    """``(scheme, host, port)`` of a scheduler address, or :class:`SchedulerUnreachable` saying what is wrong."""
    from distributed.comm.addressing import parse_address

    shown = _shown(address)
    if not address.strip():
        raise SchedulerUnreachable("the scheduler address is empty; give one such as tcp://127.0.0.1:8786")
    try:
        scheme, location = parse_address(address)
    except ValueError:
        raise SchedulerUnreachable(f"{shown} is not a scheduler address; expected one such as "
                                   "tcp://127.0.0.1:8786") from None
    if scheme == "inproc":
        raise SchedulerUnreachable(f"{shown} is an in-process address: it exists only inside the Python process "
                                   "that made it; give the scheduler's tcp:// address")
    if scheme not in SCHEMES:
        raise SchedulerUnreachable(f"{shown}: montepi reaches schedulers over tcp:// (or tls:// with security=), "
                                   f"not {scheme}://")
    host, colon, port_text = location.rpartition(":")
    if not colon or host.startswith("[") != host.endswith("]"):  # no port: "tcp://host", "tcp://[::1]"
        host, port_text = location, ""
    host = host.strip("[]")
    if not host:
        raise SchedulerUnreachable(f"{shown} names no host; expected one such as tcp://127.0.0.1:8786")
    if not port_text.isdecimal() or not 1 <= int(port_text) <= 65535:
        given = repr(port_text) if port_text else "none given"
        raise SchedulerUnreachable(f"{shown} has no valid port ({given}): a TCP port is a number "
                                   "from 1 to 65535 (dask scheduler's is 8786 unless it was given another)")
    return scheme, host, int(port_text)


def _tcp_reach(host: str, port: int, timeout: float) -> str | None:
    """``None`` if something accepts a TCP connection at ``host:port`` within ``timeout`` s, else what failed."""
    try:
        socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as error:
        return f"the host {host!r} could not be resolved ({getattr(error, 'strerror', None) or error})"
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except ConnectionRefusedError:
        return f"nothing listens on port {port} of {host}"
    except TimeoutError:
        return f"nothing answered within {timeout:g} s"
    except OSError as error:
        return error.strerror or type(error).__name__
    return None


def connect(address: str | None = None, *, scheduler_file: str | Path | None = None,
            timeout: float = CONNECT_TIMEOUT, security=None):
    """A ``Client`` for a running scheduler, or :class:`SchedulerUnreachable` within about ``timeout`` s.

    A ``tls://`` scheduler needs its certificates: ``security`` (a
    ``distributed.Security``, see :func:`montepi.tls.security`), or, given a
    scheduler file, those in ``tls/`` beside it (:func:`montepi.tls.beside`).
    Without them, :class:`~montepi.tls.CertificatesMissing` says so in one line.
    """
    from distributed import Client

    timeout = check_timeout(timeout)
    if scheduler_file is not None:
        if not isinstance(scheduler_file, (str, os.PathLike)):
            raise TypeError(f"scheduler_file must be a path, got {type(scheduler_file).__name__} {scheduler_file!r}")
        if not os.fspath(scheduler_file):  # Path("") would be the current directory
            raise SchedulerUnreachable("the scheduler file path is empty; give the path of the JSON file "
                                       "that `dask scheduler --scheduler-file PATH` writes")
        address = _address_in(Path(scheduler_file))
        where = f"scheduler file {_shown(str(scheduler_file))} ({_shown(address)})"
        source = f" (from scheduler file {_shown(str(scheduler_file))})"
    elif not isinstance(address, str):
        raise TypeError(f"address must be text such as 'tcp://127.0.0.1:8786', got {type(address).__name__} "
                        f"{address!r}")
    else:
        where, source = f"scheduler at {_shown(address)}", ""
    _, host, port = _check_address(address)
    if address.startswith("tls://"):
        from . import ssl_error_queue

        ssl_error_queue.install()
        if security is None:
            security = _certificates_for(address, scheduler_file)
    failure = _tcp_reach(host, port, timeout)
    if failure is not None:
        raise SchedulerUnreachable(
            f"could not reach the {where}: {failure}; "
            "check that `dask scheduler` is running and the address is right"
        )
    try:
        _scheduler_answers(address, timeout, security)
        return Client(address, timeout=timeout, security=security)
    except Exception as error:  # a web or SSH server answers with bytes that are not dask's (or not at all)
        refused = _tls_failure(error) if address.startswith("tls://") else None
        if refused is not None:
            raise SchedulerUnreachable(
                f"{address}{source} refused our TLS certificates ({refused}); "
                "give the certificates made for this cluster"
            ) from None
        hint = " (a scheduler that speaks TLS has a tls:// address)" if address.startswith("tcp://") else ""
        raise SchedulerUnreachable(
            f"{address}{source} accepts connections but does not answer as a dask scheduler "
            f"within {timeout:g} s ({type(error).__name__}); is the port that of `dask scheduler` "
            f"(8786 unless it was given another)?{hint}"
        ) from None


def _certificates_for(address: str, scheduler_file) -> object:
    """The client ``Security`` for a ``tls://`` scheduler: the certificates beside its scheduler file."""
    from .tls import beside, security

    if scheduler_file is None:
        raise CertificatesMissing(f"the scheduler at {address} speaks TLS: give its certificates "
                                  "(--tls-ca-file, --tls-cert and --tls-key, or security=), or its scheduler "
                                  "file, beside which they live in tls/")
    folder = beside(scheduler_file)
    if not folder.is_dir():
        raise CertificatesMissing(f"the scheduler at {address} speaks TLS, and there is no certificate folder "
                                  f"{str(folder)!r} beside its scheduler file; give its certificates with "
                                  "--tls-ca-file, --tls-cert and --tls-key")
    return security(folder)


def _tls_failure(error: BaseException) -> str | None:
    """What the TLS layer said when ``error`` (or what caused it) is a failed handshake, else None."""
    import ssl

    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, ssl.SSLError):
            return getattr(error, "reason", None) or str(error).splitlines()[0][:120]
        error = error.__cause__ or error.__context__
    return None


class NoWorkers(RuntimeError):
    """The scheduler answers but has no workers to throw darts."""


def wait_for_workers(client, timeout: float | None = None, *, say: Callable[[str], None] | None = None,
                     say_after: float = 3.0) -> None:
    """Wait until the scheduler has at least one worker.

    After ``say_after`` s, ``say`` (if given) is called once with a line
    saying what is awaited and how to start a worker.  With a ``timeout``,
    :class:`NoWorkers` is raised when it passes; without one, the wait goes
    on until a worker comes (or Ctrl-C).
    """
    address = client.scheduler.address
    began = time.monotonic()
    if say is not None and (timeout is None or timeout > say_after):
        if poll_until(client.nthreads, say_after, interval=0.1):
            return
        limit = f"up to {timeout:g} s" if timeout is not None else "until one comes, Ctrl-C to stop"
        say(f"montepi: the scheduler at {address} has no workers yet; waiting ({limit}); "
            f"start one with `dask worker {address}`")
    left = math.inf if timeout is None else max(0.0, timeout - (time.monotonic() - began))
    if not poll_until(client.nthreads, left, interval=0.1):
        raise NoWorkers(f"the scheduler at {address} has no workers (waited {timeout:g} s); "
                        f"start one with `dask worker {address}`")


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

    with contextlib.ExitStack() as stack:
        with quiet_children():  # a Ctrl-C while they start is raised once both are on the stack, to be closed
            # Errors reach the caller as exceptions; what workers log while an interrupted run is torn down
            # (a heartbeat to a closing scheduler) is noise, so only critical lines are let through.
            cluster = stack.enter_context(local_cluster(workers, silence_logs=logging.CRITICAL))
            started = stack.enter_context(Client(cluster))
            # The nannies are up, but a worker may not have registered with the scheduler yet (slower with TLS
            # handshakes on a busy machine): the plan is sized by the workers the scheduler knows.
            with contextlib.suppress(TimeoutError):  # a worker that never registers: run on those that did
                started.wait_for_workers(workers, timeout=60)
        try:
            yield started
        except BaseException:  # interrupted, or failed: the run is over, so are its blocks
            cluster.stop_workers_now()
            raise
