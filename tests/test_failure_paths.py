"""Every way a run can fail ends in one clear line and a documented exit status, and leaves nothing behind.

Signals go to the whole process group, as a terminal's Ctrl-C or Slurm's
``scancel`` send them: the command is started in a session of its own and
signalled with ``os.killpg``.  Each run gets a private ``TMPDIR``, so that a
``pymp-*`` folder or ``montepi-scratch-*`` directory in it can only be its.
Instead of fixed sleeps the tests wait for what they need to see: the rate
line (the run is throwing darts), NumPy being mapped (imports are running), a
forkserver or a worker being started.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import psutil
import pytest

import montepi
from montepi import SchedulerUnreachable, connect, count_inside, darts, estimate_pi, plan_blocks
from montepi.polling import poll_until
from support.signals import assert_takes_signals, default_dispositions

CLI = [sys.executable, "-m", "montepi"]
STOPPED = "montepi: interrupted; stopped all workers"
STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}



class Run:
    """``python -m montepi …`` in a session of its own, with a private TMPDIR; stderr read as it comes.

    Its TMPDIR is removed after the test (the ``remove_tmpdirs`` fixture), checked or not.
    """

    made: list[Path] = []

    def __init__(self, *args: str, tmp: Path, env: dict | None = None, command: list[str] = CLI) -> None:
        # Short: the forkserver's socket lives in it, and a socket path may have at most 107 bytes.
        self.tmp = Path(tempfile.mkdtemp(prefix="mp-", dir="/tmp"))
        Run.made.append(self.tmp)
        environment = {**os.environ, "TMPDIR": str(self.tmp), **(env or {})}
        # The default SIGINT, SIGTERM and SIGHUP, however the suite was started (a parent that ignores SIGINT
        # passes it on).
        self.proc = subprocess.Popen([*command, *args], cwd=tmp, env=environment, start_new_session=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, preexec_fn=default_dispositions)
        assert_takes_signals(self.proc.pid)
        self.err = bytearray()
        self.seen: set[int] = set()  # every process of the session seen while it ran
        self.semaphores: set[Path] = set()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while chunk := os.read(self.proc.stderr.fileno(), 65536):
            self.err.extend(chunk)

    @property
    def stderr(self) -> str:
        return self.err.decode(errors="replace")

    def session(self) -> list[psutil.Process]:
        """The processes of this run's session (the command and everything it started)."""
        found = []
        for p in psutil.process_iter():
            try:
                if os.getsid(p.pid) == self.proc.pid and p.status() != psutil.STATUS_ZOMBIE:
                    found.append(p)
            except (ProcessLookupError, PermissionError, psutil.Error):
                continue
        self.seen.update(p.pid for p in found)
        for p in found:  # multiprocessing's named semaphores are mapped by the processes that use them
            try:
                self.semaphores.update(Path(m.path) for m in p.memory_maps() if "/sem.mp-" in m.path)
            except psutil.Error:
                continue
        return found

    def wait_for(self, condition, what: str, timeout: float = 120):
        def condition_or_ended():
            if value := condition():
                return value
            if self.proc.poll() is not None:
                raise AssertionError(f"the command ended (status {self.proc.returncode}) before {what}: "
                                     f"{self.stderr[-2000:]}")
            return None

        if value := poll_until(condition_or_ended, timeout, interval=0.02):
            return value
        raise AssertionError(f"timed out waiting for {what}: {self.stderr[-2000:]}")

    def signal(self, signum: int) -> float:
        self.session()
        os.killpg(self.proc.pid, signum)
        return time.monotonic()

    def finish(self, timeout: float = 120) -> int:
        try:
            status = self.proc.wait(timeout)
        finally:
            with_group_killed(self.proc.pid)
        self._reader.join(10)
        return status

    def messages(self) -> list[str]:
        """stderr's lines less the rate line and the "will take about" announcement."""
        lines = (part.strip() for line in self.stderr.split("\n") for part in line.split("\r"))
        return [line for line in lines if line and "% of" not in line and "will take about" not in line]

    def assert_left_nothing(self) -> None:
        gone = psutil.wait_procs([psutil.Process(pid) for pid in self.seen if psutil.pid_exists(pid)], timeout=10)[1]
        assert not gone, f"still running: {[' '.join(p.cmdline())[:100] for p in gone]}"
        assert not self.session()
        assert list(self.tmp.iterdir()) == []  # no montepi-scratch-*, pymp-*, dask-scratch-space
        assert not [s for s in self.semaphores if s.exists()]


def with_group_killed(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


@pytest.fixture
def tmp(tmp_path):
    return tmp_path


@pytest.fixture(autouse=True)
def remove_tmpdirs():
    yield
    for path in Run.made:
        shutil.rmtree(path, ignore_errors=True)
    Run.made.clear()


def rate_line_shown(run: Run) -> bool:
    return "% of" in run.stderr


def worker_args(backend: str) -> list[str]:
    return [] if backend in ("serial", "gpu") else ["-w", "2"]


# -- signals to the whole group ---------------------------------------------------------------------

@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"])
@pytest.mark.parametrize("backend", [
    *(pytest.param(b, marks=pytest.mark.gpu) if b == "gpu" else b for b in montepi.BACKENDS),
    "threads --kernel numba",
])
def test_a_signal_to_the_group_stops_every_backend_in_one_line(backend, signum, tmp):
    backend, *kernel = backend.split()
    run = Run(backend, "-n", "1e13", *kernel, *worker_args(backend), tmp=tmp)
    run.wait_for(lambda: rate_line_shown(run), "the rate line")
    run.session()
    if backend == "pool":  # the leftover check below has something to check
        assert run.semaphores and list(run.tmp.glob("pymp-*"))
    sent = run.signal(signum)
    status = run.finish()
    took = time.monotonic() - sent
    assert status == STATUS[signum], run.stderr
    assert "Traceback" not in run.stderr and "Error" not in run.stderr, run.stderr
    assert run.messages() == [STOPPED], run.stderr
    assert took < 30, f"took {took:.1f} s to stop"  # a second or two on a quiet machine
    run.assert_left_nothing()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_signal_to_the_group_stops_the_benchmark_in_one_line(signum, tmp):
    """``python -m montepi.bench`` stops like ``python -m montepi``: one line, 130/143/129, nothing left.

    The signal is sent once the benchmark has started worker processes of its own (a pool or a cluster).
    """
    run = Run("--quick", "--repeat", "1", "--out", str(tmp), tmp=tmp, command=[sys.executable, "-m", "montepi.bench"])
    run.wait_for(lambda: len(run.session()) > 2, "the benchmark's worker processes")
    sent = run.signal(signum)
    status = run.finish()
    took = time.monotonic() - sent
    assert status == STATUS[signum], run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    assert run.messages()[-1:] == ["montepi.bench: interrupted; stopped all workers"], run.stderr
    assert took < 30, f"took {took:.1f} s to stop"  # a second or two on a quiet machine
    run.assert_left_nothing()


@pytest.mark.parametrize("backend", ["pool", "distributed"])
def test_sigkill_to_the_command_leaves_nothing_after_10_s(backend, tmp):
    """SIGKILL cannot be handled: the pool's workers notice their parent is gone and end, taking the forkserver,
    the resource tracker, ``pymp-*`` and the semaphores with them; dask's workers end too, and the scratch
    folder they leave is removed by the next cluster the same user starts."""
    run = Run(backend, "-n", "1e13", "-w", "2", tmp=tmp)
    run.wait_for(lambda: rate_line_shown(run), "the rate line")
    run.session()
    if backend == "pool":  # the leftover check below has something to check
        assert run.semaphores and list(run.tmp.glob("pymp-*"))
    else:
        assert list(run.tmp.glob("montepi-scratch-*"))
    os.kill(run.proc.pid, signal.SIGKILL)  # the command alone, as the kernel's OOM killer would
    assert run.proc.wait(60) == -signal.SIGKILL
    alive = psutil.wait_procs([psutil.Process(pid) for pid in run.seen if psutil.pid_exists(pid)], timeout=10)[1]
    left = []
    for process in alive:
        with contextlib.suppress(psutil.Error):
            if process.status() != psutil.STATUS_ZOMBIE:
                left.append(" ".join(process.cmdline())[:100])
    assert not left, f"still running 10 s after SIGKILL: {left}"
    if backend == "distributed":  # the next cluster sweeps the killed one's scratch folder
        env = {**os.environ, "TMPDIR": str(run.tmp)}
        out = subprocess.run([*CLI, "distributed", "-n", "1e5", "-w", "1", "-q"], env=env, cwd=tmp,
                             capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr
    run.assert_left_nothing()


def test_a_signal_while_python_imports_gives_no_traceback(tmp):
    """Before main() runs: the signal lands while NumPy is being loaded."""
    run = Run("serial", "-n", "1e9", "-q", tmp=tmp)

    def numpy_loading() -> bool:
        try:
            return any("numpy" in m.path for m in psutil.Process(run.proc.pid).memory_maps())
        except psutil.Error:
            return False

    run.wait_for(numpy_loading, "NumPy to be loaded")
    run.signal(signal.SIGINT)
    assert run.finish() == 130, run.stderr
    assert run.messages() == [STOPPED], run.stderr
    run.assert_left_nothing()


def test_a_group_ctrl_c_while_the_forkserver_preloads_gives_no_traceback(tmp):
    run = Run("pool", "-n", "1e13", "-w", "2", "-q", tmp=tmp)

    def forkserver() -> bool:
        return any("forkserver" in " ".join(p.cmdline()) for p in run.session() if p.pid != run.proc.pid)

    run.wait_for(forkserver, "the forkserver to start", timeout=120)
    run.signal(signal.SIGINT)
    assert run.finish() == 130, run.stderr
    assert "Traceback" not in run.stderr
    assert run.messages() == [STOPPED], run.stderr
    run.assert_left_nothing()


def test_a_group_ctrl_c_while_the_local_cluster_starts_leaves_nothing(tmp):
    """The signal is held until the cluster is whole, then it is closed: no lock files, no Status.init error."""
    run = Run("distributed", "-n", "1e13", "-w", "2", "-q", tmp=tmp)

    def worker_starting() -> bool:
        return any("multiprocessing.spawn" in " ".join(p.cmdline()) for p in run.session())

    run.wait_for(worker_starting, "a dask worker process to be spawned")
    run.signal(signal.SIGINT)
    assert run.finish() == 130, run.stderr
    assert "Traceback" not in run.stderr
    assert run.messages() == [STOPPED], run.stderr
    run.assert_left_nothing()


# -- a closed stdout, absurd timeouts, misplaced underscores ---------------------------------------

def test_a_closed_stdout_is_one_line_and_exit_1(tmp):
    """``python -m montepi serial -n 1e6 --json | head -c0``."""
    proc = subprocess.Popen([*CLI, "serial", "-n", "1e6", "--json"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp)
    proc.stdout.close()  # the reader has gone
    err = proc.stderr.read().decode()
    assert proc.wait(60) == 1
    assert err == "montepi: error: stdout was closed before the result could be written\n"


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e300", "86401", "0", "-1", "soon"])
def test_absurd_timeouts_are_refused(value):
    out = subprocess.run([*CLI, "distributed", "-n", "1000", f"--timeout={value}"], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2
    assert out.stderr.count("\n") == 1 and "timeout must be a positive number of seconds up to" in out.stderr


@pytest.mark.parametrize("text", ["1_0_", "1__0", "_1", "1e1_0", "1_000e3", "1_0.5"])
def test_misplaced_underscores_are_refused(text):
    out = subprocess.run([*CLI, "serial", "-n", text, "--dry-run"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out.stderr
    assert "underscores only between digits" in out.stderr and out.stderr.count("\n") == 1


def test_python_underscores_are_accepted():
    from montepi.checks import check_samples

    assert [check_samples(t) for t in ("1_000", "1_0", "10", "1e1", "1.0e1", "+10")] == [1000, 10, 10, 10, 10, 10]


# -- the Python API names the argument --------------------------------------------------------------

def test_api_errors_name_the_argument():
    cases = [
        (lambda: estimate_pi(10, timeout="soon"), ValueError, "timeout must be a positive number"),
        (lambda: estimate_pi(10, timeout=[3]), TypeError, "timeout must be a positive number"),
        (lambda: estimate_pi(10, timeout=float("inf")), ValueError, "timeout must be"),
        (lambda: estimate_pi(10, backend="distributed", client="tcp://127.0.0.1:8786"), TypeError,
         "client must be a distributed.Client"),
        (lambda: plan_blocks(10, chunk=0), ValueError, "chunk must be positive"),
        (lambda: plan_blocks(10, parts=0), ValueError, "parts must be positive"),
        (lambda: plan_blocks(10, parts=2.5), TypeError, "parts must be an integer"),
        (lambda: count_inside(-5, 10, 1), ValueError, "start must be at least 0"),
        (lambda: count_inside(0, -1, 1), ValueError, "count must be at least 0"),
        (lambda: darts(10, chunks=0), ValueError, "chunks must be positive"),
        (lambda: darts(10, chunks=2.5), ValueError, "chunks must be a whole number"),
        (lambda: darts(10, chunks=[5]), TypeError, "chunks must be a whole number"),
        (lambda: connect("tcp://127.0.0.1:1", timeout="soon"), ValueError, "timeout must be"),
        (lambda: connect(None), TypeError, "address must be text"),
    ]
    for call, kind, message in cases:
        with pytest.raises(kind, match=message):
            call()


def test_numpy_integers_are_accepted_wherever_ints_are():
    n, seed = np.int64(100_003), np.uint32(7)
    expected = count_inside(0, 100_003, 7)
    assert count_inside(np.int64(0), n, seed) == expected
    assert estimate_pi(n, seed=seed, backend="dask", workers=np.int8(2), chunk=np.int32(10_000)).inside == expected
    assert len(plan_blocks(n, parts=np.int16(3))) == 3
    assert sum(b.count for b in plan_blocks(n, chunk=np.int64(10_000))) == 100_003
    assert darts(n, seed=seed, chunks=np.int64(50_000)).chunks[0] == (50_000, 50_000, 3)


# -- scheduler files --------------------------------------------------------------------------------

@pytest.mark.parametrize(("content", "message"), [
    ('{"address": null}', "has no scheduler address (its \"address\" is None"),
    ('{"address": 8786}', "has no scheduler address (its \"address\" is 8786"),
    ('["tcp://127.0.0.1:8786"]', "has no scheduler address"),
    ("this is not json", "is not JSON"),
])
def test_a_bad_scheduler_file_is_named_with_what_is_wrong(tmp, content, message):
    path = tmp / "scheduler.json"
    path.write_text(content)
    with pytest.raises(SchedulerUnreachable, match="scheduler file") as caught:
        connect(scheduler_file=path, timeout=1)
    assert str(path) in str(caught.value) and message in str(caught.value)


def test_a_directory_or_an_empty_path_is_not_a_scheduler_file(tmp):
    with pytest.raises(SchedulerUnreachable, match="is a directory"):
        connect(scheduler_file=tmp, timeout=1)
    with pytest.raises(SchedulerUnreachable, match="path is empty"):
        connect(scheduler_file="", timeout=1)
    out = subprocess.run([*CLI, "distributed", "-n", "1000", "--scheduler-file", str(tmp)], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and "is a directory" in out.stderr and out.stderr.count("\n") == 1


# -- something other than a dask scheduler answers ----------------------------------------------------

@pytest.fixture
def foreign_servers():
    """An HTTP server and a raw TCP server that greets like SSH, on 127.0.0.1."""
    web = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    web.RequestHandlerClass.log_message = lambda *a: None
    threading.Thread(target=web.serve_forever, daemon=True).start()
    ssh = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def greet(conn: socket.socket) -> None:
        with conn:
            conn.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n")
            stop.wait(30)

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = ssh.accept()
            except OSError:
                return
            threading.Thread(target=greet, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield {"http": web.server_address[1], "ssh": ssh.getsockname()[1]}
    stop.set()
    ssh.close()
    web.shutdown()
    web.server_close()


@pytest.mark.parametrize("kind", ["http", "ssh"])
def test_something_that_is_not_a_dask_scheduler_is_one_line(foreign_servers, kind, tmp):
    address = f"tcp://127.0.0.1:{foreign_servers[kind]}"
    began = time.monotonic()
    out = subprocess.run([*CLI, "distributed", "-n", "1000", "--scheduler", address, "--timeout", "2"],
                         capture_output=True, text=True, timeout=120, cwd=tmp)
    assert time.monotonic() - began < 60
    assert out.returncode == 2, out.stderr
    assert "does not answer as a dask scheduler" in out.stderr and address in out.stderr
    assert out.stderr.count("\n") == 1, out.stderr


# -- a hand-started scheduler: no workers, then killed mid-run ----------------------------------------

@pytest.fixture
def scheduler(tmp):
    """``dask scheduler`` on 127.0.0.1 in a session of its own; yields (address, process)."""
    from distributed.utils import open_port

    port = open_port("127.0.0.1")
    dask = str(Path(sys.executable).with_name("dask"))
    proc = subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
                            cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    address = f"tcp://127.0.0.1:{port}"
    started = []

    def start_worker() -> subprocess.Popen:
        worker = subprocess.Popen([dask, "worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1"],
                                  cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                  start_new_session=True)
        started.append(worker)
        return worker

    deadline = time.monotonic() + 60
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "dask scheduler did not start"
            time.sleep(0.2)
    yield address, proc, start_worker
    for p in [*started, proc]:  # SIGTERM first: a worker killed outright leaves its semaphores behind
        with contextlib.suppress(ProcessLookupError):
            os.killpg(p.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(30)
        with_group_killed(p.pid)
        p.wait(30)


def test_a_scheduler_without_workers_says_so_and_waits_for_one(scheduler, tmp):
    address, _, start_worker = scheduler
    run = Run("distributed", "-n", "1e6", "--scheduler", address, "--json", tmp=tmp)
    run.wait_for(lambda: "has no workers yet" in run.stderr, "the no-workers notice", timeout=60)
    assert f"dask worker {address}" in run.stderr and "Ctrl-C" in run.stderr
    start_worker()
    assert run.finish() == 0, run.stderr
    assert json.loads(run.proc.stdout.read())["inside"] == count_inside(0, 10**6, 2017)
    assert run.messages() == [line for line in run.messages() if "has no workers yet" in line]


def test_a_scheduler_without_workers_honours_the_timeout(scheduler, tmp):
    address, _, _ = scheduler
    began = time.monotonic()
    out = subprocess.run([*CLI, "distributed", "-n", "1e6", "--scheduler", address, "--timeout", "4"],
                         capture_output=True, text=True, timeout=120, cwd=tmp)
    assert time.monotonic() - began < 60
    assert out.returncode == 2, out.stderr
    lines = out.stderr.splitlines()
    assert "has no workers yet; waiting (up to 4 s)" in lines[0]
    assert lines[-1].startswith("montepi: error: the scheduler at") and "has no workers (waited 4 s)" in lines[-1]
    assert "Traceback" not in out.stderr and len(lines) == 2
    with pytest.raises(montepi.cluster.NoWorkers, match="has no workers"):  # the API gives up after its timeout
        estimate_pi(1000, backend="distributed", scheduler=address, timeout=1)


def test_losing_the_scheduler_mid_run_is_one_line_and_exit_1(scheduler, tmp):
    address, scheduler_proc, start_worker = scheduler
    start_worker()
    run = Run("distributed", "-n", "1e12", "--scheduler", address, tmp=tmp)
    run.wait_for(lambda: rate_line_shown(run), "the rate line")
    scheduler_proc.kill()
    assert run.finish() == 1, run.stderr
    assert len(run.messages()) == 1, run.stderr
    (line,) = run.messages()
    assert line.startswith("montepi: error: lost the connection to the scheduler after ")
    assert "darts" in line and "repeat the run" in line
    assert "Traceback" not in run.stderr


# -- a script without the main guard ----------------------------------------------------------------

def test_a_pool_in_a_script_without_the_main_guard_is_named_before_any_worker_starts(tmp):
    script = tmp / "unguarded.py"
    script.write_text("from montepi import estimate_pi\n\nprint(estimate_pi(10**6, backend='pool', workers=2))\n")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120, cwd=tmp)
    assert out.returncode == 1
    assert out.stderr.count("Traceback") == 1  # the script's own; no worker printed one
    assert "WorkerLost" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith("montepi.guard.MissingMainGuard: unguarded.py line 3 starts a pool of processes")
    assert 'if __name__ == "__main__":' in last
    guarded = tmp / "guarded.py"
    guarded.write_text("from montepi import estimate_pi\n\nif __name__ == '__main__':\n"
                       "    print(estimate_pi(10**6, backend='pool', workers=2).inside)\n")
    ok = subprocess.run([sys.executable, str(guarded)], capture_output=True, text=True, timeout=120, cwd=tmp)
    assert ok.returncode == 0 and int(ok.stdout) == count_inside(0, 10**6, 2017), ok.stderr


# -- the documented exit statuses -------------------------------------------------------------------

def test_exit_statuses_agree_in_the_docstring_help_and_readme():
    import re

    from montepi import cli

    documented = re.findall(r"^    (\d+)\s", cli.__doc__.split("Exit status:", 1)[1], re.MULTILINE)
    assert documented == ["0", "1", "2", "129", "130", "143"]
    helped = subprocess.run([*CLI, "--help"], capture_output=True, text=True, timeout=60).stdout
    assert cli.EXIT_STATUS in helped
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = re.findall(r"^\| (\d+) \| (.+) \|$", readme, re.MULTILINE)
    assert [status for status, _ in table] == documented
    for status, meaning in table:  # the README says what the docstring says, in the same words
        first_words = " ".join(meaning.split()[:4]).replace("`", "")
        assert first_words in " ".join(cli.__doc__.split()), (status, first_words)
