"""A dask scheduler and workers started by hand, as separate processes.

This is what ``dask scheduler`` and ``dask worker`` do on a cluster, run from
Python so a notebook can start, watch and stop them::

    with HandCluster(workers=2) as hand:
        client = Client(hand.address, security=hand.security)   # or montepi.connect(scheduler_file=…)
        ...
        hand.add_worker()

* Every process listens on 127.0.0.1 only (or on the one address ``host``
  names: a login node's address that compute nodes can reach), on free ports;
  the dashboards always on 127.0.0.1, since they are for you, not for the
  nodes, and have no password (tunnel to them).
* Workers find the scheduler through the *scheduler file* that the scheduler
  writes, never through a hard-coded address: on a cluster this file lives on
  a shared disk and the scheduler's node and port are not known in advance.
* Every process speaks TLS (``--protocol tls`` and the ``--tls-*`` options):
  certificates made for this cluster alone live in ``tls/`` beside the
  scheduler file, so only a client holding them gets in.  Any user of this
  machine can open a port on 127.0.0.1; without TLS any of them could run
  code as you on these workers.
* Logs, the scheduler file, the certificates and the workers' scratch space
  live in one temporary folder that only you can read (mode 0700, files
  0600: every process runs with umask 077), and that :meth:`HandCluster.stop`
  removes.  ``stop`` ends every
  process it started (and their children, such as a worker's nanny process):
  SIGTERM first, SIGKILL for whatever is still running a few seconds later.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

import psutil

from ..polling import poll_until
from ..tls import make_certificates
from ..tls import options as tls_options
from ..tls import security as tls_security

#: Seconds to wait for the scheduler file or a worker's registration.
START_TIMEOUT = 60.0
#: Seconds between SIGTERM and SIGKILL when stopping.
GRACE = 5.0

_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d+ - ")


def dask_command(*args: str) -> list[str]:
    """``dask ARGS…`` with this Python, so the processes import the same packages as we do."""
    return [sys.executable, "-m", "dask", *args]


class ProcessFailed(RuntimeError):
    """A scheduler or worker process exited or did not come up in time."""


class HandCluster:
    """A ``dask scheduler`` and ``workers`` × ``dask worker`` processes on 127.0.0.1 (or ``host``).

    ``workers=0`` starts only the scheduler (workers may then come from Slurm
    jobs that read :attr:`scheduler_file`).  Use it as a context manager, or
    call :meth:`stop`; it is also stopped when Python exits.  ``tls=False``
    starts the old plain-TCP cluster that any local user can use (tests show
    the difference with it).
    """

    def __init__(self, workers: int = 2, *, nanny: bool = True, scheduler_args: tuple[str, ...] = (),
                 worker_args: tuple[str, ...] = (), timeout: float = START_TIMEOUT, tls: bool = True,
                 host: str = "127.0.0.1") -> None:
        if workers < 0:
            raise ValueError(f"workers must be 0 or more, got {workers}")
        self.folder = Path(tempfile.mkdtemp(prefix="montepi-hand-"))  # mode 0700
        self.scheduler_file = self.folder / "scheduler.json"
        (self.folder / "scratch").mkdir(mode=0o700)
        #: The certificate folder (``tls/`` beside the scheduler file), or None for a plain-TCP cluster.
        self.certificates = make_certificates(self.folder / "tls") if tls else None
        self.timeout = timeout
        #: The address the scheduler and workers listen on (tests/test_several_hosts.py: a login host's).
        self.host = host
        self.nanny = nanny
        self.worker_args = tuple(worker_args)
        self._procs: dict[str, subprocess.Popen] = {}
        self._logs: dict[str, Path] = {}
        self._commands: dict[str, str] = {}
        self._stopped = False
        atexit.register(self.stop)
        try:
            self._start_scheduler(tuple(scheduler_args))
            self.add_workers(workers)
        except BaseException:
            self.stop()
            raise

    # -- starting -----------------------------------------------------------
    def _spawn(self, name: str, command: list[str]) -> subprocess.Popen:
        log = self.folder / f"{name}.log"
        with open(log, "wb", opener=lambda path, flags: os.open(path, flags, 0o600)) as out:
            # cwd in our folder: nothing a process writes lands in the notebook's folder.  `dask
            # scheduler` has no --local-directory; dask's temporary-directory setting keeps its
            # scratch space in our folder too instead of a shared /tmp/dask-scratch-space.
            env = {**os.environ, "DASK_TEMPORARY_DIRECTORY": str(self.folder / "scratch")}
            # The scheduler and each worker preload montepi.ssl_error_queue (by dask's config, so the commands
            # shown stay the plain ones): a worker's ended connection must not break the scheduler's others.
            preload = '["montepi.ssl_error_queue"]'
            env |= {"DASK_DISTRIBUTED__SCHEDULER__PRELOAD": preload, "DASK_DISTRIBUTED__WORKER__PRELOAD": preload}
            # umask 077: the scheduler file and whatever else they write is the learner's alone (0600).
            proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    cwd=self.folder, env=env, umask=0o077)
        self._procs[name], self._logs[name] = proc, log
        self._commands[name] = shlex.join(["dask", *command[3:]])
        return proc

    def _wait(self, name: str, ready, what: str) -> None:
        proc = self._procs[name]

        def ready_or_ended() -> bool:
            if ready():
                return True
            if proc.poll() is not None:
                raise ProcessFailed(f"{name} exited with status {proc.returncode} before {what}:\n"
                                    + "\n".join(self.log(name)[-15:]))
            return False

        if not poll_until(ready_or_ended, self.timeout):
            raise ProcessFailed(f"{name} did not {what} within {self.timeout:g} s:\n"
                                + "\n".join(self.log(name)[-15:]))

    def _tls_args(self) -> list[str]:
        """``--tls-ca-file … --tls-cert … --tls-key …``, or nothing for a plain-TCP cluster."""
        return tls_options(self.certificates) if self.certificates is not None else []

    def _start_scheduler(self, extra: tuple[str, ...]) -> None:
        protocol = ["--protocol", "tls", *self._tls_args()] if self.certificates is not None else []
        self._spawn("scheduler", dask_command(
            "scheduler", "--host", self.host, "--port", "0", "--dashboard-address", "127.0.0.1:0",
            *protocol, "--scheduler-file", str(self.scheduler_file), *extra))

        def written() -> bool:
            try:
                return "address" in json.loads(self.scheduler_file.read_text())
            except (OSError, ValueError):
                return False

        self._wait("scheduler", written, "writing its scheduler file")

    def add_worker(self) -> str:
        """Start one more ``dask worker``; returns its name once the scheduler has registered it."""
        (name,) = self.add_workers(1)
        return name

    def add_workers(self, count: int) -> list[str]:
        """Start ``count`` more ``dask worker`` processes at once and wait until all are registered."""
        if self._stopped:
            raise RuntimeError("this HandCluster has been stopped")
        names = []
        for _ in range(count):
            name = f"worker-{sum(key.startswith('worker-') for key in self._procs) + 1}"
            scratch = self.folder / "scratch" / name
            scratch.mkdir(mode=0o700, parents=True)
            self._spawn(name, dask_command(
                "worker", "--scheduler-file", str(self.scheduler_file), "--name", name, "--nthreads", "1",
                "--host", self.host, "--dashboard-address", "127.0.0.1:0", "--local-directory", str(scratch),
                "--death-timeout", "60", "--nanny" if self.nanny else "--no-nanny", *self._tls_args(),
                *self.worker_args))
            names.append(name)
        for name in names:
            self._wait(name, lambda name=name: bool(self.log(name, contains="Registered to:")), "registering")
        return names

    # -- looking ------------------------------------------------------------
    @property
    def address(self) -> str:
        """The scheduler's address, as written in the scheduler file."""
        return json.loads(self.scheduler_file.read_text())["address"]

    @property
    def security(self):
        """A ``distributed.Security`` for a client of this cluster (its certificates), or None without TLS."""
        return tls_security(self.certificates) if self.certificates is not None else None

    @property
    def dashboard_link(self) -> str:
        """The scheduler's dashboard URL (on 127.0.0.1, whatever ``host`` is)."""
        port = json.loads(self.scheduler_file.read_text())["services"]["dashboard"]
        return f"http://127.0.0.1:{port}/status"

    @property
    def workers(self) -> list[str]:
        """Names of the worker processes started here that are still running."""
        return [n for n, p in self._procs.items() if n != "scheduler" and p.poll() is None]

    @property
    def commands(self) -> dict[str, str]:
        """The command line of each process, as you would type it in a shell (``dask …``)."""
        return dict(self._commands)

    @property
    def pids(self) -> dict[str, int]:
        """Process id of each process started here (the nanny, for a worker with one)."""
        return {name: proc.pid for name, proc in self._procs.items()}

    def log(self, name: str = "scheduler", contains: str | None = None) -> list[str]:
        """The log lines of one process, without timestamps; only those containing ``contains`` if given."""
        try:
            text = self._logs[name].read_text(errors="replace")
        except KeyError:
            raise KeyError(f"no process called {name!r}; there are {', '.join(self._procs)}") from None
        except OSError:
            return []
        lines = [_TIMESTAMP.sub("", line) for line in text.splitlines()]
        return [line for line in lines if contains is None or contains in line]

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else f"scheduler file {self.scheduler_file}, {len(self.workers)} workers"
        return f"<HandCluster: {state}>"

    # -- stopping -----------------------------------------------------------
    def stop(self) -> None:
        """End every process started here (workers first), then remove the temporary folder."""
        if self._stopped:
            return
        self._stopped = True
        atexit.unregister(self.stop)
        workers = [p for n, p in self._procs.items() if n != "scheduler"]
        _terminate(workers)
        if "scheduler" in self._procs:
            _terminate([self._procs["scheduler"]])
        shutil.rmtree(self.folder, ignore_errors=True)

    def __enter__(self) -> HandCluster:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _terminate(procs: list[subprocess.Popen], grace: float | None = None) -> None:
    """SIGTERM each process (dask closes cleanly on it), SIGKILL it and its children after ``grace`` s."""
    grace = GRACE if grace is None else grace
    family: list[psutil.Process] = []
    for proc in procs:
        try:
            top = psutil.Process(proc.pid)
            family += [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            pass
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    _, alive = psutil.wait_procs(family, timeout=grace)
    for straggler in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            straggler.kill()
    psutil.wait_procs(alive, timeout=grace)
    for proc in procs:
        proc.wait()
