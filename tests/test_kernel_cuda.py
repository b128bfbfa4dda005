"""backend="gpu": the CUDA kernel's arithmetic is NumPy's PCG64, checked on the CPU, and the GPU's count is the CPU's.

Three layers, so that most of it runs on every machine:

* the Python mirror in ``montepi.kernel_cuda`` (same functions as ``pcg64_darts.cu``)
  against NumPy's own ``PCG64``: everywhere;
* the ``.cu`` file's own C, compiled for the CPU by g++ (``cxx``) and for the GPU by
  nvcc (``nvcc``, no fused multiply-add left): where the compilers are;
* the real kernel on a real GPU (``gpu``): on a GPU machine only (``scripts/gpu_check.py``).
"""

from __future__ import annotations

import ctypes
import functools
import json
import math
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from montepi import count_inside, estimate_pi, kernel_cuda, plan_blocks
from montepi.checks import MAX_SAMPLES

ROOT = Path(__file__).resolve().parents[1]
CU_FILE = ROOT / "code" / "montepi" / kernel_cuda.CUDA_FILE
HOST_HARNESS = ROOT / "tests" / "support" / "pcg64_darts_host.cpp"
seeds = st.integers(0, 2**128 - 1)


def numpy_after(seed: int, delta: int) -> np.random.PCG64:
    bit_generator = np.random.PCG64(seed)
    bit_generator.advance(delta)
    return bit_generator


# --- the Python mirror against NumPy ------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(seed=seeds)
def test_the_state_is_numpys_and_each_step_is_numpys_lcg_step(seed):
    seeded, inc = kernel_cuda.seeded_state(seed)
    bit_generator = np.random.PCG64(seed)
    state = seeded
    for _ in range(3):
        bit_generator.random_raw()
        state = kernel_cuda.lcg_step(state, inc)
        assert state == bit_generator.state["state"]["state"]


@settings(max_examples=60, deadline=None)
@given(seed=seeds, delta=st.integers(0, 2**64 - 1))
def test_raw_outputs_and_doubles_are_numpys_from_any_jump(seed, delta):
    seeded, inc = kernel_cuda.seeded_state(seed)
    state = kernel_cuda.advance(seeded, inc, delta)
    assert state == numpy_after(seed, delta).state["state"]["state"]
    raw, unit = [], []
    for _ in range(6):
        state = kernel_cuda.lcg_step(state, inc)
        raw.append(kernel_cuda.xsl_rr(state))
        unit.append(kernel_cuda.to_unit_double(raw[-1]))
    assert raw == [int(x) for x in numpy_after(seed, delta).random_raw(6)]
    assert unit == np.random.Generator(numpy_after(seed, delta)).random(6).tolist()


@pytest.mark.parametrize("delta", [0, 1, 2, 3, 2**32, 2**63, 2 * (MAX_SAMPLES - 1), 2**64 - 1])
def test_advance_matches_numpy_at_the_edges(delta):
    seeded, inc = kernel_cuda.seeded_state(2017)
    assert kernel_cuda.advance(seeded, inc, delta) == numpy_after(2017, delta).state["state"]["state"]


@settings(max_examples=200, deadline=None)
@given(darts=st.integers(0, 10**6), threads=st.integers(1, 5000), first=st.integers(0, 2**62))
def test_thread_shares_cover_a_launch_exactly(darts, threads, first):
    shares = [kernel_cuda.thread_share(t, threads, first, darts) for t in range(threads)]
    assert shares[0][0] == first
    assert all(a_start + a_count == b_start for (a_start, a_count), (b_start, _) in zip(shares, shares[1:]))
    assert sum(count for _, count in shares) == darts
    assert max(c for _, c in shares) - min(c for _, c in shares) <= 1


@pytest.mark.parametrize(("samples", "seed", "threads", "chunk"), [
    (1, 0, 1, None), (7, 2017, 3, None), (1000, 42, 64, 300), (4097, 2**100, 33, 1024), (2500, 7, 1, 999),
])
def test_the_emulated_gpu_counts_what_count_inside_counts(samples, seed, threads, chunk):
    plan = plan_blocks(samples, chunk=chunk or samples)
    assert kernel_cuda.emulate_count(plan, seed, threads) == count_inside(0, samples, seed)


@settings(max_examples=40, deadline=None)
@given(samples=st.integers(1, 1500), seed=seeds, threads=st.integers(1, 70), chunk=st.integers(1, 1500))
def test_the_emulated_gpu_gives_the_same_count_however_it_is_split(samples, seed, threads, chunk):
    plan = plan_blocks(samples, chunk=chunk)
    assert kernel_cuda.emulate_count(plan, seed, threads) == count_inside(0, samples, seed)


@settings(max_examples=30, deadline=None)
@given(first=st.integers(0, MAX_SAMPLES - 2000), darts=st.integers(1, 1000), seed=seeds, threads=st.integers(1, 40))
def test_a_launch_far_into_the_stream_counts_those_darts(first, darts, seed, threads):
    seeded, inc = kernel_cuda.seeded_state(seed)
    assert kernel_cuda.count_darts(seeded, inc, first, darts, threads) == count_inside(first, darts, seed)


def test_progress_reports_every_dart_once():
    seen = []
    launch = functools.partial(kernel_cuda.count_darts, threads=5)
    inside = kernel_cuda.count_plan(plan_blocks(1000, chunk=128), 9, launch, seen.append)
    assert inside == count_inside(0, 1000, 9)
    assert sum(seen) == 1000 and len(seen) == 8


# --- the mirror and the .cu file say the same ---------------------------------------------------


def test_the_shipped_source_is_the_cu_file_with_the_kernel_in_it():
    source = kernel_cuda.cuda_source()
    assert source == CU_FILE.read_text(encoding="utf-8")
    assert 'extern "C" __global__ void count_darts(' in source
    assert not re.search(r"^\s*#\s*include", source, re.MULTILINE)  # NVRTC has no system headers


def test_every_c_function_has_its_python_mirror_and_the_multiplier_is_the_same():
    source = kernel_cuda.cuda_source()
    c_functions = set(re.findall(r"^MONTEPI_FN \w+ \*?(\w+)\(", source, re.MULTILINE))
    assert c_functions == {"make_u128", "mulhi64", "mul_u128", "add_u128", "lcg_step", "xsl_rr",
                           "to_unit_double", "advance", "dart_inside", "thread_share", "count_thread"}
    c_only = {"make_u128", "mulhi64"}  # Python ints need neither halves nor a high-product helper
    assert all(callable(getattr(kernel_cuda, name)) for name in c_functions - c_only)
    hi = int(re.search(r"#define PCG64_MULTIPLIER_HI (0x[0-9a-f]+)ULL", source).group(1), 16)
    lo = int(re.search(r"#define PCG64_MULTIPLIER_LO (0x[0-9a-f]+)ULL", source).group(1), 16)
    assert hi << 64 | lo == kernel_cuda.PCG64_MULTIPLIER


# --- the .cu file's own C, on the CPU (g++) and for the GPU (nvcc) ------------------------------


def build_host_kernel(folder: Path, *flags: str) -> ctypes.CDLL:
    """The .cu file's per-thread functions compiled for this CPU by g++ with ``flags``, loaded with ctypes."""
    library = folder / "libpcg64_darts_host.so"
    subprocess.run(["g++", "-O2", *flags, "-Wall", "-Werror", "-shared", "-fPIC",
                    "-I", str(CU_FILE.parent), str(HOST_HARNESS), "-o", str(library)], check=True)
    lib = ctypes.CDLL(str(library))
    u64 = ctypes.c_uint64
    lib.host_advance.argtypes = [u64] * 5 + [ctypes.POINTER(u64)]
    lib.host_numbers.argtypes = [u64] * 6 + [ctypes.POINTER(u64), ctypes.POINTER(ctypes.c_double)]
    lib.host_count_darts.argtypes = [u64] * 7
    lib.host_count_darts.restype = u64
    lib.host_dart_inside.argtypes = [ctypes.c_double, ctypes.c_double]
    return lib


@pytest.fixture(scope="module")
def host_kernel(tmp_path_factory):
    """The kernel's C as the GPU is told to round: no contraction into fused multiply-adds."""
    return build_host_kernel(tmp_path_factory.mktemp("host"), "-ffp-contract=off")


def boundary_darts(count: int = 4000) -> list[tuple[float, float]]:
    """Darts a few ulps from the circle, where one rounding (a fused multiply-add) and NumPy's two can disagree."""
    darts = []
    for x in np.random.default_rng(16).random(count).tolist():
        y = math.sqrt(1 - x * x)
        darts += [(x, y), (x, math.nextafter(y, 0)), (x, math.nextafter(y, 2))]
    return darts


def numpy_inside(darts: list[tuple[float, float]]) -> list[bool]:
    """The decision of ``montepi.kernel.count_inside``: square in place, add the columns, compare with 1."""
    xy = np.array(darts)
    np.multiply(xy, xy, out=xy)
    return np.less_equal(np.add(xy[:, 0], xy[:, 1]), 1.0).tolist()


def fused_inside(x: float, y: float) -> bool:
    """What an FMA, ``fma(x, x, y*y) <= 1``, decides: x*x + round(y*y) rounded once (exact rationals)."""
    return float(Fraction(x) ** 2 + Fraction(y * y)) <= 1.0


def test_on_the_boundary_the_mirror_rounds_like_numpy_and_unlike_a_fused_multiply_add():
    darts = boundary_darts()
    expected = numpy_inside(darts)
    assert [kernel_cuda.dart_inside(x, y) for x, y in darts] == expected
    assert sum(fused_inside(x, y) != want for (x, y), want in zip(darts, expected)) > 100  # the trap is real


def halves(value: int) -> tuple[int, int]:
    return value >> 64, value & kernel_cuda.MASK64


@pytest.mark.cxx
@settings(max_examples=60, deadline=None)
@given(seed=seeds, delta=st.integers(0, 2**64 - 1))
def test_the_c_jump_and_numbers_are_numpys(host_kernel, seed, delta):
    seeded, inc = kernel_cuda.seeded_state(seed)
    state = (ctypes.c_uint64 * 2)()
    host_kernel.host_advance(*halves(seeded), *halves(inc), delta, state)
    assert state[0] << 64 | state[1] == numpy_after(seed, delta).state["state"]["state"]
    raw, unit = np.zeros(8, np.uint64), np.zeros(8)
    host_kernel.host_numbers(*halves(seeded), *halves(inc), delta, 8,
                             raw.ctypes.data_as(ctypes.POINTER(ctypes.c_uint64)),
                             unit.ctypes.data_as(ctypes.POINTER(ctypes.c_double)))
    assert raw.tolist() == numpy_after(seed, delta).random_raw(8).tolist()
    assert unit.tolist() == np.random.Generator(numpy_after(seed, delta)).random(8).tolist()


@pytest.mark.cxx
@settings(max_examples=25, deadline=None)
@given(first=st.integers(0, MAX_SAMPLES - 300_000), darts=st.integers(1, 300_000), seed=seeds,
       threads=st.integers(1, 3000))
def test_the_c_launch_counts_what_count_inside_counts(host_kernel, first, darts, seed, threads):
    seeded, inc = kernel_cuda.seeded_state(seed)
    counted = host_kernel.host_count_darts(*halves(seeded), *halves(inc), first, darts, threads)
    assert counted == count_inside(first, darts, seed)


@pytest.mark.cxx
def test_on_the_boundary_the_c_rounds_like_numpy(host_kernel):
    darts = boundary_darts()
    assert [bool(host_kernel.host_dart_inside(x, y)) for x, y in darts] == numpy_inside(darts)


@pytest.mark.cxx
def test_contracted_into_fused_multiply_adds_the_same_c_would_count_differently(tmp_path):
    """Why the kernel insists on its roundings: with FMA contraction allowed, the C decides boundary darts otherwise."""
    if "fma" not in Path("/proc/cpuinfo").read_text().split():
        pytest.skip("this CPU has no FMA instruction to contract into")
    contracted = build_host_kernel(tmp_path, "-mfma", "-ffp-contract=fast")
    darts = boundary_darts()
    assert [bool(contracted.host_dart_inside(x, y)) for x, y in darts] != numpy_inside(darts)


@pytest.mark.cxx
def test_the_c_launch_counts_a_million_darts_like_numpy(host_kernel):
    seeded, inc = kernel_cuda.seeded_state(2017)
    h100_threads = 132 * kernel_cuda.BLOCKS_PER_SM * kernel_cuda.THREADS_PER_BLOCK  # the split of a real launch
    counted = host_kernel.host_count_darts(*halves(seeded), *halves(inc), 0, 10**6, h100_threads)
    assert counted == count_inside(0, 10**6, 2017)


@pytest.mark.nvcc
@pytest.mark.parametrize("options", [["--fmad=false"], []])
def test_nvcc_compiles_the_kernel_with_no_fused_multiply_add(tmp_path, options):
    """The kernel's explicit __dmul_rn/__dadd_rn keep NumPy's roundings even where --fmad=false is forgotten."""
    ptx = tmp_path / "pcg64_darts.ptx"
    subprocess.run(["nvcc", "-ptx", "-arch=compute_90", *options, str(CU_FILE), "-o", str(ptx)],
                   check=True, capture_output=True, text=True)
    text = ptx.read_text()
    assert ".entry count_darts(" in text
    assert "mul.rn.f64" in text and "add.rn.f64" in text
    assert not re.search(r"\bfma\.\w+\.f64", text)


# --- without CuPy or a GPU: one clear line ------------------------------------------------------


def test_importing_montepi_does_not_import_cupy():
    code = "import sys, montepi, montepi.kernel_cuda, montepi.cli; print('cupy' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def test_without_cupy_the_gpu_backend_is_a_value_error_that_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # what `import cupy` meets where CuPy is not installed
    kernel_cuda.compiled_kernel.cache_clear()
    with pytest.raises(ValueError, match=r'^backend="gpu" needs CuPy and an NVIDIA GPU: pip install cupy-cuda13x .*'
                                         r"\(CuPy is not installed\)$") as raised:
        estimate_pi(1000, backend="gpu")
    assert isinstance(raised.value, kernel_cuda.GpuUnavailable)
    kernel_cuda.compiled_kernel.cache_clear()


@pytest.mark.parametrize("extra", [[], ["--dry-run"], ["--json"]])
def test_without_cupy_the_command_line_says_so_in_one_line_with_exit_2(extra):
    code = ("import sys; sys.modules['cupy'] = None; from montepi.cli import main; "
            f"raise SystemExit(main(['gpu', '--samples', '1e6', *{extra!r}]))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stdout == ""
    assert run.stderr.startswith('montepi: error: backend="gpu" needs CuPy') and run.stderr.count("\n") == 1


@pytest.mark.parametrize(("options", "words"), [
    ({"workers": 2}, "workers=2 belongs to threads, pool, dask or distributed"),
    ({"kernel": "numba"}, "kernel='numba' belongs to the CPU backends"),
])
def test_options_the_gpu_backend_would_ignore_are_refused(options, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        estimate_pi(1000, backend="gpu", **options)


# --- on a GPU: the real kernel ------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.parametrize(("samples", "seed", "chunk"), [
    (1, 0, None), (12_345, 7, None), (10**6 + 1, 2017, 10**5 + 3), (2**24 + 5, 2**100, None), (10**8, 42, None),
])
def test_the_gpu_counts_what_count_inside_counts(samples, seed, chunk):
    seen = []
    result = estimate_pi(samples, seed=seed, backend="gpu", chunk=chunk, progress=seen.append)
    assert result.inside == count_inside(0, samples, seed)
    assert (result.backend, result.kernel, result.workers, sum(seen)) == ("gpu", "cuda", 1, samples)


@pytest.mark.gpu
@pytest.mark.parametrize("first", [0, 10**12 + 1, MAX_SAMPLES - 10**6])
def test_a_gpu_launch_far_into_the_stream_counts_those_darts(first):
    seeded, inc = kernel_cuda.seeded_state(2017)
    assert kernel_cuda.gpu_launch()(seeded, inc, first, 10**6) == count_inside(first, 10**6, 2017)


@pytest.mark.gpu
def test_the_command_line_runs_on_the_gpu():
    run = subprocess.run([sys.executable, "-m", "montepi", "gpu", "--samples", "1e7", "--json"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert f'"inside": {count_inside(0, 10**7, 2017)},' in run.stdout



# --- the GPU session's prepared script ----------------------------------------------------------


def test_the_gpu_check_script_compares_on_a_gpu_and_says_what_is_missing_elsewhere(tmp_path):
    """``scripts/gpu_check.py --quick``: on a GPU machine every pair identical; elsewhere one line, exit 2."""
    from conftest import gpu_problem

    problem = gpu_problem()
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "gpu_check.py"), "--quick", "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=600)
    report = json.loads((tmp_path / "gpu_check.json").read_text())
    if problem:
        assert run.returncode == 2, run.stderr
        assert run.stderr == f"gpu_check: {problem}\n"
        assert report["problem"] == problem and report["pairs"] == []
    else:
        assert run.returncode == 0, run.stdout + run.stderr
        assert report["identical"] is True and report["compared_pairs"] == 3
        assert "identical: True" in run.stdout
