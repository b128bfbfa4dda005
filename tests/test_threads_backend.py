"""The threads backend: the same count as serial, and a stop that leaves no thread running the kernel."""

from __future__ import annotations

import _thread
import signal
import threading
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from montepi import backends, count_inside, plan_blocks


def kernel_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("montepi-darts")]


@settings(max_examples=40, deadline=None)
@given(samples=st.integers(1, 400_000), seed=st.integers(0, 2**64), chunk=st.integers(1, 400_000),
       workers=st.integers(1, 4), piece=st.integers(1, 300_000), numba=st.booleans())
def test_threads_give_the_serial_count_for_any_plan_and_piece(samples, seed, chunk, workers, piece, numba):
    plan = plan_blocks(samples, chunk=max(chunk, samples // 500))  # at most ~500 blocks per example
    reported = []
    inside = backends.run_threads(plan, seed, workers, reported.append, kernel="numba" if numba else "numpy",
                                  piece=piece)
    assert inside == count_inside(0, samples, seed)
    assert sum(reported) == samples and len(reported) == len(plan)


def test_a_huge_plan_is_handed_out_lazily():
    # 10**18 darts in 2**26-dart blocks: submitting them all would need gigabytes; stop after three.
    seen = []

    def stop_after_three(darts):
        seen.append(darts)
        if len(seen) == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backends.run_threads(plan_blocks(10**18, chunk=2**20), 1, 2, stop_after_three)
    assert len(seen) == 3
    assert kernel_threads() == []


@pytest.fixture
def pythons_ctrl_c():
    """Python's own Ctrl-C handler for one test: importing dask_jobqueue replaces it with ``sys.exit``."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_stops_every_thread_within_a_piece(pythons_ctrl_c):
    # Blocks of 10**9 darts take seconds each; Ctrl-C (KeyboardInterrupt in the main thread) must not wait for them.
    timer = threading.Timer(0.5, _thread.interrupt_main)
    timer.start()
    began = time.perf_counter()
    try:
        backends.run_threads(plan_blocks(10**10, chunk=10**9), 1, 2)
    except KeyboardInterrupt:
        stopped = time.perf_counter() - began
    else:
        raise AssertionError("the run finished before Ctrl-C")
    finally:
        timer.cancel()
    assert kernel_threads() == [], "a thread is still running the kernel"
    assert stopped < 5, f"stopping took {stopped:.1f} s"
