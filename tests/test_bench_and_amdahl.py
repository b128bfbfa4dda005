"""The Amdahl fitting helpers and the benchmark command, on tiny sizes (no timing assertions)."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from montepi import available_cores, bench, count_inside
from montepi.kernel import BLOCK_DARTS
from montepi.lesson.amdahl import (
    amdahl_speedup,
    darts_for_digits,
    digits,
    fit_serial_fraction,
    fit_verdict,
    gustafson_speedup,
    stderr_for,
)
from montepi.lesson.overheads import worker_counts
from montepi.timing import best_of, best_of_interleaved, timed

# ----------------------------------------------------------------------------- Amdahl


def test_amdahl_speedup_limits():
    assert amdahl_speedup(0.0, 64) == pytest.approx(64)
    assert amdahl_speedup(1.0, 64) == pytest.approx(1)
    assert amdahl_speedup(0.05, 1) == pytest.approx(1)
    assert amdahl_speedup(0.1, 10**9) == pytest.approx(10, rel=1e-6)  # the 1/s ceiling
    curve = amdahl_speedup(0.05, np.array([1, 2, 4, 8]))
    assert isinstance(curve, np.ndarray) and np.all(np.diff(curve) > 0)


def test_gustafson_is_linear_in_workers():
    assert gustafson_speedup(0.05, 64) == pytest.approx(60.85)
    assert gustafson_speedup(0.0, 7) == pytest.approx(7)
    assert gustafson_speedup(1.0, 7) == pytest.approx(1)


@pytest.mark.parametrize("s", [0.0, 0.013, 0.2, 0.6])
def test_fit_serial_fraction_recovers_exact_curves(s):
    p = np.array([1, 2, 3, 4, 8, 16])
    assert fit_serial_fraction(p, amdahl_speedup(s, p)) == pytest.approx(s, abs=1e-12)


def test_fit_serial_fraction_is_least_squares_on_noisy_data():
    rng = np.random.default_rng(7)
    p = np.arange(1, 33)
    noisy = amdahl_speedup(0.03, p) * (1 + rng.normal(0, 0.01, p.size))
    s = fit_serial_fraction(p, noisy)
    assert s == pytest.approx(0.03, abs=0.005)
    # It is the minimiser: nudging s either way makes the squared residual of 1/S larger.
    x, y = 1 - 1 / p, 1 / noisy - 1 / p
    cost = lambda t: float(np.sum((y - t * x) ** 2))  # noqa: E731
    assert cost(s) < cost(s + 1e-4) and cost(s) < cost(s - 1e-4)


def test_fit_serial_fraction_with_two_points_passes_through_them():
    # What a 2-core machine gives: T(1) = 1.4 s, T(2) = 0.75 s.
    s = fit_serial_fraction([1, 2], [1.0, 1.4 / 0.75])
    assert amdahl_speedup(s, 2) == pytest.approx(1.4 / 0.75)
    assert s * 1.4 == pytest.approx(2 * 0.75 - 1.4)  # serial seconds = 2·T(2) − T(1)


@pytest.mark.parametrize(
    "workers, values",
    [([1, 2], [1.0]), ([0, 2], [1.0, 1.5]), ([1, 2], [1.0, -1.0])],
)
def test_fit_rejects_bad_input(workers, values):
    with pytest.raises(ValueError):
        fit_serial_fraction(workers, values)


def test_fit_serial_fraction_needs_more_than_one_worker():
    with pytest.raises(ValueError, match="more than one worker"):
        fit_serial_fraction([1, 1], [1.0, 1.0])


def test_precision_helpers_agree():
    q = math.pi / 4
    assert stderr_for(10**8) == pytest.approx(4 * math.sqrt(q * (1 - q) / 10**8))
    for d in range(1, 9):  # the one definition: "π to d decimals" ⇔ 1.96·σ < 0.5·10⁻ᵈ
        assert 1.96 * stderr_for(darts_for_digits(d)) == pytest.approx(0.5 * 10.0**-d, rel=1e-3)
        assert digits(stderr_for(darts_for_digits(d))) == pytest.approx(d)
    assert darts_for_digits(6) / darts_for_digits(5) == pytest.approx(100)  # a digit costs 100× the darts
    # notebook 01's Exercise 1 (four decimals): N > (1.96 · 4 · √(q(1−q)) / 5e-5)² ≈ 4.1e9
    assert darts_for_digits(4) == pytest.approx((1.96 * 4 * math.sqrt(q * (1 - q)) / 5e-5) ** 2, rel=1e-3)


def test_darts_for_digits_means_a_95_percent_interval():
    """With darts_for_digits(2) darts, about 95 % of estimates (fixed seeds) lie within 0.005 of π."""
    n = math.ceil(darts_for_digits(2))
    within = sum(abs(4 * count_inside(0, n, seed) / n - math.pi) < 0.005 for seed in range(200))
    assert 0.90 <= within / 200 <= 0.99, within


def test_the_fit_check_says_not_yet_for_the_skeleton():
    for times, s in ((..., ...), ({1: ..., 2: ...}, ...), ({1: 1.0, 2: 0.6}, ...), (None, None)):
        assert fit_verdict(times, s).startswith("… not yet"), (times, s)


def test_the_fit_check_accepts_any_consistent_fit_and_names_the_slips():
    rng = np.random.default_rng(7)
    for _ in range(200):
        workers = sorted({1, *rng.integers(2, 17, size=rng.integers(1, 4)).tolist()})
        times = {p: float(rng.uniform(0.1, 3.0)) for p in workers}  # any machine, busy or quiet
        s = (1 / (times[1] / times[workers[-1]]) - 1 / workers[-1]) / (1 - 1 / workers[-1])
        if len(workers) == 2:  # two counts: the formula of Exercise 1 is the fit
            assert fit_verdict(times, s).startswith("✓"), (times, s)
            assert fit_verdict(times, round(s, 2)).startswith("✓"), (times, s)
        assert fit_verdict(times, s + 0.05).startswith("✗"), (times, s)
    # hand-computed: T(1) = 1.0, T(2) = 0.8 → S = 1.25, s = 2/1.25 − 1 = 0.6; 1 − S/2 = 0.375; T(2)/T(1) → 1.5
    assert fit_verdict({1: 1.0, 2: 0.8}, 0.6).startswith("✓")
    assert "1 − efficiency" in fit_verdict({1: 1.0, 2: 0.8}, 0.375)
    assert "upside down" in fit_verdict({1: 1.0, 2: 0.8}, 1.5)
    # a busy machine: T(2) > T(1) gives s > 1 by arithmetic; both the raw and the clipped fit are right
    assert fit_verdict({1: 1.0, 2: 1.2}, 1.4).startswith("✓")
    assert fit_verdict({1: 1.0, 2: 1.2}, 1.0).startswith("✓")
    assert "time 1 worker too" in fit_verdict({2: 1.0, 4: 0.6}, 0.2)
    assert "one point" in fit_verdict({1: 1.0}, 0.2)
    assert "positive" in fit_verdict({1: 1.0, 2: -0.5}, 0.2)
    assert "dict" in fit_verdict([1.0, 0.6], 0.2)


# ----------------------------------------------------------------------------- the benchmark


def test_worker_counts():
    assert worker_counts(1) == [1]
    assert worker_counts(2) == [1, 2]
    assert worker_counts(8) == list(range(1, 9))
    assert worker_counts(12) == [1, 2, 4, 8, 12]
    assert worker_counts(16) == [1, 2, 4, 8, 16]


def test_best_of_keeps_the_shortest_time():
    """A fake clock whose runs take 5, 2, 9 and 4 ticks: the best of four is 2 (the mean would be 5)."""
    ticks = iter([0, 5, 10, 12, 20, 29, 30, 34])
    calls = []
    seconds = best_of(lambda: calls.append(1), repeat=4, clock=lambda: next(ticks))
    assert len(calls) == 4 and seconds == 2


def test_timed_reports_the_seconds_of_one_run_on_the_clock_it_is_given():
    """A contender made by timed() runs once per call and returns what its clock read around the run."""
    ticks = iter([0, 7, 100, 103])
    calls = []
    contender = timed(lambda: calls.append(1), clock=lambda: next(ticks))
    assert (contender(), contender(), len(calls)) == (7, 3, 2)


def test_bench_help():
    done = subprocess.run([sys.executable, "-m", "montepi.bench", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0
    for option in ("--quick", "--out", "--workers", "--samples", "--repeat"):
        assert option in done.stdout


@pytest.mark.parametrize("args", [["--workers", "zero"], ["--workers", "0"], ["--samples", "lots"]])
def test_bench_rejects_bad_options(args, capsys):
    with pytest.raises(SystemExit) as stop:
        bench.main(args)
    assert stop.value.code == 2
    assert "error" in capsys.readouterr().err


def test_interleaved_takes_rounds_and_keeps_each_best():
    calls, times = [], {"a": iter([3.0, 1.0, 2.0]), "b": iter([5.0, 6.0, 4.0])}

    def contender(name):
        return lambda: calls.append(name) or next(times[name])

    best = best_of_interleaved({"a": contender("a"), "b": contender("b")}, repeat=3)
    assert calls == ["a", "b"] * 3  # A B A B A B, not A A A B B B
    assert best == {"a": 1.0, "b": 4.0}


def test_ceiling_processes_count_the_same_darts():
    from montepi.lesson.ceiling import ceiling

    with ceiling(2, 300_001, 2017) as c:
        seconds, inside = c.run()
        again = c.run()
    assert inside == again[1] == count_inside(0, 300_001, 2017)
    assert 0 < seconds < 60


def test_busy_warning_above_half_a_load_per_core():
    assert bench.measure.busy_warning([0.9, 1, 1], 2) is None
    assert "load average 1.2 on 2 cores" in bench.measure.busy_warning([1.2, 1, 1], 2)
    assert bench.measure.busy_warning(None, 2) is None


def test_peak_rss_runs_in_a_child_and_counts_right():
    found = bench.peak_rss(10**6)
    assert found["inside"] == count_inside(0, 10**6, 2017)
    assert 0 < found["import_rss_mb"] <= found["peak_rss_mb"] < 1000


def test_quick_bench_on_tiny_sizes_writes_json_and_markdown(tmp_path, monkeypatch, capfd):
    monkeypatch.setitem(bench.QUICK, "naive_samples", 10**5)
    monkeypatch.setitem(bench.QUICK, "rss_samples", 10**6)
    code = bench.main(["--quick", "--samples", "2e5", "--workers", "1", "--repeat", "1", "--out", str(tmp_path)])
    assert code == 0
    cores = available_cores()
    data = json.loads((tmp_path / f"results-{cores}cores-quick.json").read_text())
    table = (tmp_path / f"results-{cores}cores-quick.md").read_text()
    assert data["mode"] == "quick"
    assert data["machine"]["cores"] == cores and data["machine"]["numpy"] == np.__version__
    assert data["rss"]["inside"] == count_inside(0, 10**6, 2017)
    assert data["kernel"]["samples"] == 10**5 and data["kernel"]["speedup"] > 0
    assert data["buffer"]["chosen"] == BLOCK_DARTS and str(BLOCK_DARTS) in data["buffer"]["rates"]
    assert all(rate > 0 for rate in data["buffer"]["rates"].values()) and data["buffer"]["same_count"] is True
    assert "Kernel buffer" in table
    (row,) = data["scaling"]["rows"]
    assert row["workers"] == 1
    for key in ("threads", "pool", "pool_prestarted", "dask", "distributed", "distributed_cold"):
        assert row[f"{key}_rate"] > 0
        assert row[f"{key}_of_ceiling"] == pytest.approx(row[f"{key}_rate"] / row["ceiling_numpy_rate"])
    # The machine's ceiling, and each backend against it, as plain numbers at the largest worker count.
    assert data["scaling"]["ceiling_count_identical"] is True
    assert row["ceiling_numpy_rate"] > 0 and isinstance(data["ceiling_efficiency"], float)
    for key in ("pool", "distributed", "dask", "threads"):  # at the one N, and by throughput r (None: no r at
        assert isinstance(data[f"{key}_of_ceiling_at_n"], float) and data[f"{key}_of_ceiling_at_n"] > 0  # tiny N)
        assert data[f"{key}_of_ceiling"] == data["scaling"]["throughput"]["fits"][key]["r_of_ceiling"]
    assert "Ceiling" in table and "Fraction of ceiling" in table
    assert len(data["machine"]["load_average_at_end"]) == 3
    assert data["numba"]["identical"] is True and data["numba"]["speedup"] > 0
    measures = [t["measure"] for t in data["targets"]]
    assert any("kernel" in m for m in measures) and any("peak RSS" in m for m in measures)
    assert any(m.startswith("numba ÷ NumPy kernel") for m in measures)
    assert all(isinstance(t["pass"], bool) for t in data["targets"])
    # The Markdown file is the table that was printed, with a verdict for every target.
    out, err = capfd.readouterr()  # capfd: the cluster's worker processes write to the same stderr
    assert table.strip() in out
    assert "Traceback" not in out + err
    assert table.count("PASS") + table.count("FAIL") == len(data["targets"])
    assert "| 1 |" in table


def test_cluster_shapes_are_compared_with_the_ceiling(tmp_path, capfd):
    assert bench.main(["--shapes", "--samples", "2e5", "--workers", "2", "--repeat", "1", "--out", str(tmp_path)]) == 0
    found = json.loads((tmp_path / "shapes-2workers.json").read_text())
    assert found["of_ceiling"]["ceiling"] == 1.0
    assert any("processes × 1 thread" in label for label in found["rates"]) and len(found["rates"]) >= 6
    assert all(rate > 0 for rate in found["rates"].values())
    out, err = capfd.readouterr()
    assert "÷ ceiling" in out and "Traceback" not in out + err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads each thread's CPU time from /proc (Linux)")
def test_the_cpu_split_names_where_a_distributed_run_spends_its_cpu(tmp_path, capfd):
    assert bench.main(["--cpu-split", "--samples", "4e7", "--workers", "2", "--repeat", "2",
                       "--out", str(tmp_path)]) == 0
    found = json.loads((tmp_path / "cpu-split-2workers.json").read_text())
    shares = found["core_shares"]
    # The darts are counted in the workers' task threads, and nowhere else: they use the most.
    assert max(shares, key=shares.get) == "worker: the task (darts)"
    assert {"worker: event loop", "scheduler + client: event loop"} <= set(shares)
    # Shares of one core, measured over the runs' own wall time: two cores give at most 2 (and a tick's rounding).
    assert 0 < sum(shares.values()) <= 2 * 1.05 + 2 * 0.01 * 10 / found["wall_s"]
    out, err = capfd.readouterr()
    assert "share of a core" in out and "Traceback" not in out + err


def test_a_distributed_run_sends_each_worker_four_blocks_and_gets_the_serial_count():
    from distributed import Client, get_task_stream

    from montepi import estimate_pi, local_cluster

    samples = 4 * 10**7  # big enough that the block size is not held at its smallest (2**20 darts)
    with local_cluster(2) as cluster, Client(cluster) as client, get_task_stream(client) as stream:
        result = estimate_pi(samples, seed=2017, backend="distributed", client=client)
    blocks = [task for task in stream.data if task["key"].startswith("count_block")]
    assert len(blocks) == 8  # 2 workers × 4: fewer, bigger tasks than the 16 per worker of the other backends
    assert result.inside == count_inside(0, samples, 2017)
