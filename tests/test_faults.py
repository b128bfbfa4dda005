"""Faults: a killed worker changes nothing, an interrupted run leaves nothing behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest

from montepi import SchedulerUnreachable, connect, count_inside, estimate_pi, local_cluster
from montepi.backends import WorkerLost
from montepi.polling import poll_until
from support.signals import assert_takes_signals, default_dispositions, pythons_ctrl_c

CLI = [sys.executable, "-m", "montepi"]


def wait_for(condition, timeout: float, what: str):
    if value := poll_until(condition, timeout):
        return value
    raise AssertionError(f"timed out waiting for {what}")


def descendants(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def pool_workers(pid: int) -> list[psutil.Process]:
    """Processes a pool started: forked by the forkserver, or spawned."""
    found = []
    for p in descendants(pid):
        try:
            if "spawn_main" in " ".join(p.cmdline()) or "forkserver" in " ".join(p.parent().cmdline()):
                found.append(p)
        except psutil.Error:
            continue
    return found


def start_cli(*args: str, cwd: Path) -> subprocess.Popen:
    """The command line with the default SIGINT and SIGTERM, however the suite was started (tests send them)."""
    proc = subprocess.Popen([*CLI, *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=default_dispositions)
    assert_takes_signals(proc.pid)
    return proc


# -- a worker dies ---------------------------------------------------------------------------------

def test_killing_a_distributed_worker_mid_run_changes_nothing():
    from distributed import Client

    samples = 3 * 10**8
    expected = estimate_pi(samples, backend="dask", workers=2).inside
    cluster = local_cluster(2)  # workers run under nannies, which restart them
    try:
        with Client(cluster) as client:
            pids = client.run(os.getpid)  # worker address → its pid
            outcome = {}
            run = threading.Thread(target=lambda: outcome.update(
                result=estimate_pi(samples, backend="distributed", client=client, chunk=2 * 10**6)))
            run.start()
            wait_for(lambda: client.processing().get(next(iter(pids))), 30, "the first worker to hold tasks")
            victim = next(iter(pids))
            # The guard: the run is still going and the worker still holds tasks, or this test proves nothing.
            assert run.is_alive() and client.processing()[victim], "the run ended before the worker was killed"
            os.kill(pids[victim], signal.SIGKILL)
            worker_pids = list(pids.values())
            run.join(120)
            assert not run.is_alive()
            assert outcome["result"].inside == expected
            # the nanny brought a fresh worker back
            wait_for(lambda: len(client.nthreads()) == 2, 30, "the nanny to restart the worker")
            assert worker_pids[0] not in client.run(os.getpid).values()
    finally:
        cluster.close()


def test_a_dead_pool_worker_fails_fast_with_a_clear_message(tmp_path):
    proc = start_cli("pool", "-n", "1e11", "-w", "2", "-q", cwd=tmp_path)
    try:
        workers = wait_for(lambda: pool_workers(proc.pid), 30, "pool workers")
        time.sleep(1)
        killed_at = time.monotonic()
        workers[0].kill()
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert time.monotonic() - killed_at < 10
    assert proc.returncode == 1
    assert "pool worker" in err and "died" in err and "Traceback" not in err
    assert err.strip().count("\n") == 0, err


def test_the_pool_backend_raises_worker_lost_in_python():
    def kill_a_worker():
        workers = wait_for(lambda: pool_workers(os.getpid()), 30, "workers")
        time.sleep(0.5)
        workers[0].kill()

    killer = threading.Thread(target=kill_a_worker)
    killer.start()
    with pytest.raises(WorkerLost, match="died"):
        estimate_pi(5 * 10**9, backend="pool", workers=2)
    killer.join()


# -- Ctrl-C ----------------------------------------------------------------------------------------

# Signals to the command's whole process group, for every backend: tests/test_failure_paths.py.

def test_ctrl_c_in_python_terminates_the_pool():
    timer = threading.Timer(2.0, lambda: os.kill(os.getpid(), signal.SIGINT))
    # Python's own Ctrl-C, even when the suite was started with SIGINT ignored (nohup, CI runners).
    with pythons_ctrl_c(), pytest.raises(KeyboardInterrupt):
        timer.start()
        began = time.monotonic()
        estimate_pi(10**12, backend="pool", workers=2)
    # 10**12 darts would take hours: finishing within a minute of Ctrl-C means the pool stopped (it takes about
    # a second), and the minute leaves room for a loaded machine
    assert time.monotonic() - began < 60
    # no_leftovers (conftest) then checks that the pool's processes are gone


# -- schedulers that are not there -----------------------------------------------------------------

def free_port() -> int:
    from distributed.utils import open_port

    return open_port("127.0.0.1")


def test_refused_port_fails_at_once():
    """Nothing listens: the refusal is immediate (a hang would be stopped by the suite's per-test time limit)."""
    with pytest.raises(SchedulerUnreachable, match="could not reach the scheduler at"):
        connect(f"tcp://127.0.0.1:{free_port()}", timeout=30)


def test_a_silent_listener_fails_after_the_timeout_it_was_given():
    """Something listens on the port but never speaks dask's protocol: the wait is the one asked for.

    Timed against itself, not against a clock bound: a longer timeout waits longer, by about the difference
    (a busy machine adds the same overhead to both).
    """
    waited = {}
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        for timeout in (1, 4):
            began = time.monotonic()
            with pytest.raises(SchedulerUnreachable):
                connect(f"tcp://127.0.0.1:{silent.getsockname()[1]}", timeout=timeout)
            waited[timeout] = time.monotonic() - began
    assert waited[4] >= 4 and waited[4] - waited[1] >= 2, waited


def test_wrong_scheduler_file(tmp_path):
    with pytest.raises(SchedulerUnreachable, match="does not exist"):
        connect(scheduler_file=tmp_path / "nope.json")
    stale = tmp_path / "scheduler.json"
    stale.write_text(f'{{"address": "tcp://127.0.0.1:{free_port()}", "type": "Scheduler"}}')
    with pytest.raises(SchedulerUnreachable, match="scheduler file"):
        connect(scheduler_file=stale, timeout=30)  # refused at once: nothing listens at its address
    garbage = tmp_path / "garbage.json"
    garbage.write_text("this is not json")
    with pytest.raises(SchedulerUnreachable):
        connect(scheduler_file=garbage, timeout=2)


def test_unreachable_scheduler_on_the_command_line(tmp_path):
    began = time.monotonic()
    out = subprocess.run([*CLI, "distributed", "-n", "1000", "--scheduler", f"tcp://127.0.0.1:{free_port()}",
                          "--timeout", "2"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert time.monotonic() - began < 20  # includes Python's start-up
    assert out.returncode == 2
    assert "could not reach the scheduler" in out.stderr and "Traceback" not in out.stderr
    missing = subprocess.run([*CLI, "distributed", "-n", "1000", "--scheduler-file", str(tmp_path / "x.json")],
                             capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr


# -- a busy dashboard port -------------------------------------------------------------------------

def test_a_busy_dashboard_port_still_gives_a_working_link():
    import urllib.request

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        busy = squatter.getsockname()[1]
        with pytest.warns(UserWarning, match="already in use"):
            cluster = local_cluster(1, dashboard_port=busy)
        try:
            link = cluster.dashboard_link
            assert f":{busy}/" not in link
            with urllib.request.urlopen(link, timeout=10) as page:
                assert page.status == 200
        finally:
            cluster.close()


# -- absurd sizes ----------------------------------------------------------------------------------

def test_a_huge_run_says_how_long_before_it_starts(tmp_path):
    proc = start_cli("serial", "-n", "1e15", cwd=tmp_path)
    try:
        first = proc.stderr.readline()
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert "1e15 darts" in first and "will take about" in first


def test_memory_stays_flat_whatever_n():
    import tracemalloc

    peaks = []
    for n in (10**5, 10**6, 10**7):
        tracemalloc.start()
        count_inside(0, n, 1)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    assert peaks[2] < 4 * 2**20  # the 1 MiB buffer plus change, for 10**7 darts (160 MB as one array)
    # Flat: ten times the darts, not ten times the memory (arrays would add 144 MB). tracemalloc also counts what
    # other threads of this process allocate meanwhile (the session's leftover watch), so allow 1 MiB of that.
    assert peaks[2] - peaks[1] < 2**20, peaks
