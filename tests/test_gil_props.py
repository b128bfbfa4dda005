"""Notebook 02's props: the per-thread clocks behind "waits", and the verdict worded from a race's numbers."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from montepi.lesson import gil
from montepi.lesson.gil import Timing, clocked, race, thread_clocks, verdict

linux_clocks = pytest.mark.skipif(thread_clocks() is None, reason="per-thread schedstat is Linux only")


def spin(start: int, count: int, seed: int) -> int:
    """Pure-Python work for about ``count`` milliseconds of CPU time."""
    end = time.thread_time() + count / 1000
    n = 0
    while time.thread_time() < end:
        n += 1
    return n


def nap(start: int, count: int, seed: int) -> int:
    time.sleep(count / 1000)
    return count


def test_clocked_is_the_function_itself_outside_a_race():
    assert clocked(nap)(0, 1, 0) == 1
    assert gil._calls is None


@linux_clocks
def test_a_thread_that_sleeps_waits_and_one_that_only_computes_does_not_even_beside_busy_processes():
    """Load puts a thread in the queue for a core, not to sleep: only real waiting counts as waits."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        timings = race({"computes": lambda: clocked(spin)(0, 200, 0), "sleeps": lambda: clocked(nap)(0, 200, 0)},
                       repeat=2)
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    assert timings["computes"].waits is not None and timings["computes"].waits < gil.SIDE_BY_SIDE
    assert timings["sleeps"].waits is None or timings["sleeps"].waits > 10  # about 0 s on a core


def test_the_verdict_is_worded_from_its_numbers(monkeypatch):
    def load(level):
        monkeypatch.setattr(gil.os, "getloadavg", lambda: (level, level, level))

    one = Timing(1.0, 1.0, 1.0, 0.01)
    load(0.3)
    lines = verdict(one, Timing(0.55, 1.0, 1.8, 1.0), cores=2).splitlines()
    assert lines[0] == "load average 0.3 on 2 cores (quiet enough)"
    assert lines[1] == "speed-up with 2 threads: 1.82 (wall clock): close to twice as fast"
    assert lines[2].endswith("they took turns, one at a time (the GIL)")
    load(3.0)
    lines = verdict(one, Timing(1.1, 1.0, 0.9, 0.02), cores=2).splitlines()
    assert lines[0].startswith("load average 3.0 on 2 cores (busy")
    assert lines[1].endswith("short of 2×, and the machine is busy: other programs share these cores")
    assert lines[2].endswith("they did not wait for each other, so they can run at once")
    load(0.3)
    assert verdict(one, Timing(0.8, 1.0, 1.2, 0.3), cores=2).splitlines()[2].endswith("they partly took turns")
    assert len(verdict(one, Timing(0.8, 1.0, 1.2, None), cores=2, workers="processes").splitlines()) == 2
