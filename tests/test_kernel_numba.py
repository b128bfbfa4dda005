"""kernel="numba": the compiled loop finds the very count of the NumPy kernel, and numba stays optional."""

from __future__ import annotations

import subprocess
import sys
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from montepi import count_inside, kernel_numba, plan_blocks
from montepi.kernel import BLOCK_DARTS


@pytest.mark.parametrize("samples", [1, 2, 7, BLOCK_DARTS - 1, BLOCK_DARTS + 1, 300_001])
def test_numba_matches_numpy_from_dart_zero(samples):
    assert kernel_numba.count_inside(0, samples, 2017) == count_inside(0, samples, 2017)


@settings(max_examples=80, deadline=None)
@given(samples=st.integers(1, 300_000), seed=st.integers(0, 2**64), chunk=st.integers(1, 300_000),
       offset=st.integers(0, 10**15))
def test_numba_gives_the_numpy_count_for_any_samples_seed_and_chunk(samples, seed, chunk, offset):
    plan = plan_blocks(samples, chunk=chunk)
    compiled = sum(kernel_numba.count_block((offset + b.start, b.count), seed) for b in plan)
    assert compiled == count_inside(offset, samples, seed)


def test_the_loop_numba_compiles_is_the_plain_python_loop():
    """The same function, interpreted and compiled, counts the same darts."""
    interpreted = kernel_numba.dart_loop(kernel_numba.generator_at(123, 9), 5_000)
    assert interpreted == kernel_numba.count_inside(123, 5_000, 9) == count_inside(123, 5_000, 9)


def test_the_kernel_is_compiled_once_per_process():
    kernel_numba.compile_kernel()
    first = kernel_numba.compiled_loop()
    kernel_numba.count_inside(0, 10, 1)
    assert kernel_numba.compiled_loop() is first
    assert len(first.signatures) == 1, "a second signature means a second compile"


def test_threads_share_the_compiled_kernel():
    results = []
    threads = [threading.Thread(target=lambda s=s: results.append(kernel_numba.count_inside(s, 50_000, 3)))
               for s in (0, 50_000)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(results) == count_inside(0, 100_000, 3)


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_importing_montepi_does_not_import_numba():
    run = _python("import sys, montepi, montepi.kernel_numba; print('numba' in sys.modules)")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False"


def test_without_numba_the_kernel_says_how_to_install_it():
    # sys.modules[name] = None makes `import name` fail exactly as if it were not installed.
    run = _python("import sys; sys.modules['numba'] = None\n"
                  "import montepi\n"
                  "from montepi import kernel_numba\n"
                  "print(kernel_numba.numba_available(), montepi.count_inside(0, 1000, 2017))\n"
                  "try:\n"
                  "    kernel_numba.count_inside(0, 1000, 1)\n"
                  "except kernel_numba.NumbaMissing as error:\n"
                  "    print(error)\n")
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    xy = np.random.Generator(np.random.PCG64(2017)).random((1000, 2))  # the definition of darts 0 … 999
    assert lines[0] == f"False {np.count_nonzero(xy[:, 0] ** 2 + xy[:, 1] ** 2 <= 1.0)}"
    assert lines[1] == kernel_numba.INSTALL_HINT and "pip install numba" in lines[1]
