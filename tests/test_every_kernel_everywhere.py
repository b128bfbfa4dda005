"""kernel="numpy" | "numba" on every backend: one count for (samples, seed), whatever runs it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from montepi import count_inside, estimate_pi


@pytest.mark.parametrize("samples", [100_001, 2**20 + 3])
def test_every_backend_and_kernel_give_one_count(samples):
    expected = count_inside(0, samples, 7)
    seen = {}
    for kernel in ("numpy", "numba"):
        seen[kernel, "serial"] = estimate_pi(samples, seed=7, kernel=kernel).inside
        for backend in ("threads", "pool", "dask", "distributed"):
            result = estimate_pi(samples, seed=7, backend=backend, workers=2, chunk=samples // 5, kernel=kernel)
            assert (result.backend, result.workers, result.kernel) == (backend, 2, kernel)
            seen[kernel, backend] = result.inside
    assert set(seen.values()) == {expected}, seen


@settings(max_examples=40, deadline=None)
@given(samples=st.integers(1, 300_000), seed=st.integers(0, 2**64), chunk=st.integers(1, 300_000),
       backend=st.sampled_from(["serial", "threads", "dask"]), workers=st.integers(1, 3))
def test_numba_gives_the_numpy_count_on_any_in_process_backend(samples, seed, chunk, backend, workers):
    chunk = max(chunk, samples // 200)  # at most ~200 blocks per example
    workers = 1 if backend == "serial" else workers
    numba = estimate_pi(samples, seed=seed, backend=backend, workers=workers, chunk=chunk, kernel="numba")
    assert numba.inside == count_inside(0, samples, seed)


def test_the_kernel_is_named_in_the_result():
    result = estimate_pi(10_000, backend="threads", workers=2, kernel="numba")
    assert str(result).endswith(" s)") and "threads ×2, numba" in str(result)
    assert result.to_dict()["kernel"] == "numba"
    assert "numba" not in str(estimate_pi(10_000))


def test_an_unknown_kernel_is_refused():
    with pytest.raises(ValueError, match="unknown kernel 'fortran'; choose one of numpy, numba"):
        estimate_pi(10, kernel="fortran")


HIDE_NUMBA = "import sys; sys.modules['numba'] = None  # as if numba were not installed\n"


def test_without_numba_the_api_says_how_to_install_it():
    code = HIDE_NUMBA + (
        "from montepi import estimate_pi\n"
        "from montepi.kernel_numba import NumbaMissing\n"
        "print(estimate_pi(1000, backend='threads', workers=2).inside)\n"
        "try:\n"
        "    estimate_pi(1000, kernel='numba')\n"
        "except NumbaMissing as error:\n"
        "    print(error)\n")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    hint = 'kernel="numba" needs numba: pip install numba (or pip install "montepi[numba]")'
    assert run.stdout.splitlines() == [str(count_inside(0, 1000, 2017)), hint]


@pytest.mark.parametrize("extra", [[], ["--dry-run"], ["--quiet"], ["--json"]])
def test_without_numba_the_cli_exits_2_with_one_line(extra):
    code = HIDE_NUMBA + "from montepi.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    run = subprocess.run([sys.executable, "-c", code, "threads", "-n", "1e6", "--kernel", "numba", *extra],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.strip().splitlines() == [
        'montepi: error: kernel="numba" needs numba: pip install numba (or pip install "montepi[numba]")']


def test_the_cli_runs_threads_with_either_kernel():
    counts = set()
    for kernel in ("numpy", "numba"):
        run = subprocess.run([sys.executable, "-m", "montepi", "threads", "-n", "300_001", "-w", "2",
                              "--kernel", kernel, "--json"], capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        result = json.loads(run.stdout)
        assert (result["backend"], result["workers"], result["kernel"]) == ("threads", 2, kernel)
        counts.add(result["inside"])
    assert counts == {count_inside(0, 300_001, 2017)}
