"""The lesson props notebooks 01 and 03 use (montepi.lesson): memory meter, worker log, the original code."""

from __future__ import annotations

import multiprocessing
import sys
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest

from montepi import count_inside
from montepi.lesson.memory import mib, peak_memory
from montepi.lesson.pitfalls import naive_inside
from montepi.lesson.workerlog import last_line, missing_attribute, stderr_to


def test_peak_memory_sees_numpy_buffers_and_returns_the_result():
    result, peak = peak_memory(lambda n: float(np.ones(n).sum()), 10**6)
    assert result == 10**6
    assert 8 * 10**6 <= peak < 9 * 10**6  # one float64 array of 10**6 elements


def test_peak_memory_ignores_what_was_allocated_before():
    kept = np.ones(10**6)  # 8 MB allocated before the call must not count
    tracemalloc.start()
    try:
        _, peak = peak_memory(np.zeros, 1000)
        assert tracemalloc.is_tracing(), "tracing that was on must stay on"
    finally:
        tracemalloc.stop()
    assert peak < 100_000
    assert kept.size == 10**6


def test_peak_memory_switches_tracing_off_again():
    assert not tracemalloc.is_tracing()
    peak_memory(np.zeros, 10)
    assert not tracemalloc.is_tracing()


def test_kernel_memory_is_flat_and_naive_memory_grows():
    kernel = [peak_memory(count_inside, 0, n, 2017)[1] for n in (10**5, 10**6)]
    naive = [peak_memory(naive_inside, n, 2017)[1] for n in (10**5, 10**6)]
    assert kernel[1] <= kernel[0] * 1.05
    assert mib(kernel[1]) < 4
    assert naive[1] >= 9 * naive[0]
    assert naive[1] >= 16 * 10**6  # at least the two coordinate arrays


def test_mib():
    assert mib(3 * 2**20) == 3


def test_last_line(tmp_path):
    log = tmp_path / "log.txt"
    assert last_line(log) == ""  # no file yet
    log.write_text("Traceback (most recent call last):\n  ...\nValueError: boom\n\n")
    assert last_line(log) == "ValueError: boom"


def nb12_square(x):
    return x * x


def test_a_worker_that_cannot_find_its_function_leaves_its_error_in_the_log(tmp_path, monkeypatch):
    # Pretend the function was defined in __main__ (as in a notebook): the parent
    # pickles it by that name, and a spawned worker cannot find it there.
    monkeypatch.setattr(nb12_square, "__module__", "__main__")
    monkeypatch.setattr(sys.modules["__main__"], "nb12_square", nb12_square, raising=False)
    log = str(tmp_path / "worker.txt")
    spawn = multiprocessing.get_context("spawn")
    with (
        pytest.raises(BrokenProcessPool),
        ProcessPoolExecutor(1, mp_context=spawn, initializer=stderr_to, initargs=(log,)) as executor,
    ):
        executor.submit(nb12_square, 3).result(timeout=60)
    assert last_line(log).startswith("AttributeError: Can't get attribute 'nb12_square' on <module '__main__'")


@pytest.mark.parametrize("line", [
    "AttributeError: Can't get attribute 'square' on <module '__main__' (built-in)>",  # 3.11
    "AttributeError: Can't get attribute 'square' on <module '__main__' (<class '_frozen_importlib.BuiltinImporter'>)>",
    "AttributeError: module '__main__' has no attribute 'square'",
])
def test_missing_attribute_reads_every_versions_wording_the_same(line):
    """Notebook 03 prints this line; Python 3.12+ shows the module differently, so nbval must not see that part."""
    assert missing_attribute(line) == "AttributeError: module '__main__' has no attribute 'square'"


def test_missing_attribute_leaves_other_lines_alone():
    assert missing_attribute("ValueError: something else") == "ValueError: something else"
