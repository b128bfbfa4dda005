"""Fixed cost and throughput apart (T = a + N/r), weak scaling, and the benchmark without numba (issue 25)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from montepi import available_cores, count_inside
from montepi.bench import measure, report
from montepi.timing import GOOD_FIT, fit_fixed_cost

SIZES = [10**7, 10**8, 4 * 10**8]


@pytest.mark.parametrize(("a", "r"), [(0.0, 1e8), (0.05, 2e8), (1.3, 5e7), (0.002, 3e9)])
def test_exact_timings_give_a_and_r_back(a, r):
    fit = fit_fixed_cost(SIZES, [a + n / r for n in SIZES])
    assert fit.a == pytest.approx(a, abs=1e-9) and fit.r == pytest.approx(r, rel=1e-9)
    assert fit.relative_rms < 1e-9 and fit.points == 3
    assert fit.good is (fit.bound is None)  # a = 0 exactly may land a hair either side of the bound


def test_noisy_timings_give_a_and_r_back_within_the_stated_tolerance():
    """±2 % noise on each time (a busy machine's best-of spread): r within 5 %, a within 30 ms, 200 draws."""
    rng = np.random.default_rng(25)
    a, r = 0.08, 3e8
    for _ in range(200):
        seconds = [(a + n / r) * (1 + rng.uniform(-0.02, 0.02)) for n in SIZES]
        fit = fit_fixed_cost(SIZES, seconds)
        assert fit.r == pytest.approx(r, rel=0.05)
        assert fit.a == pytest.approx(a, abs=0.03)
        assert fit.relative_rms < GOOD_FIT


def test_a_negative_fit_is_held_at_zero_and_says_so():
    seconds = [0.04, 0.40, 4.1]  # steeper than through the origin: the free line crosses zero below N = 0
    fit = fit_fixed_cost([1e7, 1e8, 1e9], seconds)
    assert fit.bound == "a" and fit.a == 0 and not fit.good
    expected_b = sum(n * t for n, t in zip([1e7, 1e8, 1e9], seconds)) / sum(n * n for n in [1e7, 1e8, 1e9])
    assert fit.r == pytest.approx(1 / expected_b)


def test_times_that_do_not_grow_with_n_give_no_throughput():
    fit = fit_fixed_cost(SIZES, [1.0, 0.9, 0.8])
    assert fit.bound == "r" and math.isinf(fit.r) and fit.a == pytest.approx(0.9) and not fit.good
    assert fit.as_dict()["r"] is None  # JSON has no infinity


def test_a_poor_fit_is_not_called_good():
    fit = fit_fixed_cost([1e7, 2e7, 3e7, 4e7], [0.1, 0.5, 0.3, 0.6])  # rising, but far from a line
    assert fit.bound is None and fit.relative_rms > GOOD_FIT and not fit.good
    assert "residuals" in report._fit_trouble(fit.as_dict())


def test_two_sizes_fit_but_are_not_called_good():
    fit = fit_fixed_cost([1e7, 1e8], [0.1 + 1e7 / 1e8, 0.1 + 1e8 / 1e8])
    assert fit.a == pytest.approx(0.1) and not fit.good and "2 sizes" in report._fit_trouble(fit.as_dict())


@pytest.mark.parametrize(("sizes", "seconds"), [([1e7], [1.0]), ([1e7, 1e7], [1.0, 1.1]), ([1e7, 1e8], [1.0]),
                                                ([0, 1e8], [1.0, 2.0]), ([1e7, 1e8], [1.0, -2.0])])
def test_the_fit_rejects_what_it_cannot_fit(sizes, seconds):
    with pytest.raises(ValueError):
        fit_fixed_cost(sizes, seconds)


def test_throughput_compares_r_with_the_ceilings_r():
    sized = {"ceiling_numpy": {n: 0.001 + n / 2e8 for n in SIZES},
             "pool": {n: 0.05 + n / 1.8e8 for n in SIZES}}
    found = measure.throughput(2, sized)
    assert found["sizes"] == SIZES and found["workers"] == 2
    assert found["fits"]["ceiling_numpy"]["r_of_ceiling"] == pytest.approx(1.0)
    assert found["fits"]["pool"]["r_of_ceiling"] == pytest.approx(0.9)
    assert found["fits"]["pool"]["a_s"] == pytest.approx(0.05)
    flat = measure.throughput(2, {**sized, "threads": {n: 1.0 for n in SIZES}})["fits"]["threads"]
    assert flat["r"] is None and flat["r_of_ceiling"] is None and flat["bound"] == "r"


def test_fit_sizes_end_at_the_scaling_n():
    assert measure.fit_sizes(4 * 10**8) == [10**7, 10**8, 4 * 10**8]


def test_the_benchmark_runs_without_numba(tmp_path):
    """numba made unimportable (in this process's children too): the run completes and says "not installed"."""
    hide = tmp_path / "hide"
    (hide / "numba").mkdir(parents=True)
    (hide / "numba" / "__init__.py").write_text('raise ImportError("numba made unimportable by this test")\n')
    out = tmp_path / "out"
    code = textwrap.dedent(f"""
        import sys
        from montepi import bench
        bench.QUICK.update(naive_samples=10**5, rss_samples=10**6)
        sys.exit(bench.main(["--quick", "--samples", "2e5", "--workers", "2", "--repeat", "1", "--out", {str(out)!r}]))
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(hide), os.environ.get("PYTHONPATH")]))}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stdout + done.stderr
    stem = out / f"results-{available_cores()}cores-quick"
    data = json.loads(stem.with_suffix(".json").read_text())
    table = stem.with_suffix(".md").read_text()
    assert data["numba"] == {"samples": 10**5, "installed": False}
    assert data["scaling"]["kernels"] == ["numpy"]
    (numba_row,) = [t for t in data["targets"] if t["measure"].startswith("numba")]
    assert numba_row["pass"] is None and numba_row["shown"] == "not installed"
    assert "| not installed | ≥ 1.2× | not installed |" in table and "numba kernel: not installed" in table
    # fixed cost and throughput, by size, and the targets by r
    t = data["scaling"]["throughput"]
    assert t["sizes"] == [5000, 50000, 200000] and t["workers"] == data["scaling"]["rows"][-1]["workers"]
    for key in ("ceiling_numpy", "pool", "pool_prestarted", "dask", "distributed", "distributed_cold"):
        fit = t["fits"][key]
        assert fit["a_s"] >= 0 and fit["points"] == 3, (key, fit)
        # at these tiny sizes the times may not grow with N: then there is no r, and the fit says so
        assert (fit["r"] is None) == (fit["bound"] == "r") and (fit["r"] is None or fit["r"] > 0), (key, fit)
    for key in ("pool", "distributed", "dask"):
        assert data[f"{key}_of_ceiling"] == t["fits"][key]["r_of_ceiling"]  # the targets' measure: r ÷ ceiling's r
        assert data[f"{key}_of_ceiling_at_n"] > 0
    assert "Fixed cost and throughput apart" in table and "| contender | a | r | r ÷ ceiling | fit |" in table
    # weak scaling: n₀·p darts on p workers, the count checked
    w = data["weak"]
    assert w["ceiling_count_identical"] is True
    assert [row["samples"] for row in w["rows"]] == [w["per_worker"] * row["workers"] for row in w["rows"]]
    assert w["rows"][0]["ceiling_flat"] == 1.0 and all(row["pool_s"] > 0 for row in w["rows"])
    assert "Weak scaling (Gustafson)" in table
    assert count_inside(0, 10**6, 2017) == data["rss"]["inside"]


DEVICE_CHECK = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts", "device_check.sh")


def _device_check(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", DEVICE_CHECK, *args], capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def test_device_check_dry_run_says_what_runs_within_the_budget(tmp_path):
    done = _device_check("--dry-run", "--out", str(tmp_path / "o"), "--budget", "500")
    assert done.returncode == 0, done.stderr
    gpu = next(line for line in done.stdout.splitlines() if line.startswith("gpu_check"))
    bench = next(line for line in done.stdout.splitlines() if line.startswith("benchmark"))
    assert f"scripts/gpu_check.py --max-cpu-seconds 60 --out {tmp_path / 'o'}" in gpu
    assert f"-m montepi.bench --workers max --samples 4e8 --repeat 2 --out {tmp_path / 'o'}" in bench
    assert "--quick" not in bench  # the full benchmark
    limits = [int(line.split("at most ")[1].split(" s")[0]) for line in (gpu, bench)]
    assert all(limit > 0 for limit in limits) and sum(limits) <= 500
    assert not (tmp_path / "o").exists()  # a dry run writes nothing


def test_device_check_passes_other_benchmark_options_on(tmp_path):
    done = _device_check("--dry-run", "--out", str(tmp_path), "--bench-args", "--samples 8e8 --repeat 3")
    assert done.returncode == 0 and f"--workers max --samples 8e8 --repeat 3 --out {tmp_path}" in done.stdout


def test_device_check_writes_into_out_by_default(tmp_path):
    done = _device_check("--dry-run", env={"OUT": str(tmp_path)})
    assert done.returncode == 0 and f"would write into: {tmp_path}" in done.stdout


@pytest.mark.parametrize(("args", "says"), [(["--bogus"], "unknown argument '--bogus'"),
                                            (["--budget", "ten"], "whole seconds"),
                                            (["--budget", "60"], "too short"),
                                            (["--out"], "--out needs a folder")])
def test_device_check_rejects_bad_arguments_in_one_line(args, says):
    done = _device_check(*args)
    assert done.returncode == 2 and done.stdout == ""
    assert says in done.stderr and len(done.stderr.strip().splitlines()) == 1


def test_device_check_refuses_a_python_without_the_benchmark_s_libraries(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\nexit 1\n")
    fake.chmod(0o755)
    done = _device_check("--python", str(fake), "--out", str(tmp_path / "o"))
    assert done.returncode == 2 and "lacks NumPy, dask, distributed or psutil" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
