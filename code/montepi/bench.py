"""The montepi benchmark: darts per second from one core to all of them, in one run.

    python -m montepi.bench                # full run (a few minutes on 2 cores)
    python -m montepi.bench --quick        # CI-sized: smaller N, 1e9 darts for the memory check
    ./lesson bench --out /tmp/b --workers 4

It measures, on this machine and in this one run:

* the kernel (``count_inside``) against the original lesson's naive pattern
  (``classic.naive_inside``: whole arrays, sqrt, where, len), same N;
* ``pool`` and ``distributed`` on 1 … ``--workers`` workers, best of ``--repeat``:
  ``pool`` as ``estimate_pi`` runs it (a fresh pool per call, start-up
  included) and on a pool started beforehand; ``distributed`` on a
  ``LocalCluster`` started beforehand (as a notebook user has one) and as
  ``estimate_pi`` runs it without a client (a cluster started and closed per call);
* the peak resident memory of a serial run of 1e10 darts (1e9 with ``--quick``)
  in a fresh child process.

It writes ``results-<cores>cores.json`` and ``.md`` under ``--out`` (default
``benchmarks/``), prints the table, and reports each target as PASS or FAIL.
It exits 0 either way: targets are reported, not asserted, because timings on
a shared machine are noise-prone.  The timing helpers are also what notebook 06
uses.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from .backends import pool_context
from .checks import argument_type, check_samples, check_workers
from .cluster import close_cluster, local_cluster
from .estimate import available_cores, estimate_pi
from .kernel import count_block, count_inside
from .plan import default_chunk, plan_blocks
from .result import format_samples

SEED = 2017

#: Targets the lesson's package is meant to meet (reported, not asserted).
TARGETS = {
    "kernel_speedup": 4.0,  # kernel ÷ naive darts/s, one core
    "efficiency": 0.9,  # parallel efficiency on 2 cores at N ≥ 4e8
    "dist_over_pool": 0.95,  # distributed ÷ pool darts/s
    "peak_rss_mb": 150.0,  # peak RSS of a 1e10-dart serial run, MB (10**6 bytes)
}

FULL = {"naive_samples": 5 * 10**7, "parallel_samples": 4 * 10**8, "rss_samples": 10**10}
QUICK = {"naive_samples": 10**7, "parallel_samples": 10**8, "rss_samples": 10**9}


# --------------------------------------------------------------------------- timing helpers


def best_of(run: Callable[[], object], repeat: int = 3) -> float:
    """The shortest of ``repeat`` wall-clock times of ``run()``, in seconds.

    The minimum is the least disturbed by other programs on the machine: noise
    only ever adds time.
    """
    times = []
    for _ in range(max(1, repeat)):
        began = time.perf_counter()
        run()
        times.append(time.perf_counter() - began)
    return min(times)


def pool_startup_seconds(workers: int, repeat: int = 3) -> float:
    """Starting a pool of ``workers``, one tiny task on each, and stopping it again."""
    context = pool_context()
    tiny = [(i, 1) for i in range(workers)]

    def once() -> None:
        with context.Pool(workers) as pool:
            pool.map(partial(count_block, seed=SEED), tiny, chunksize=1)

    once()  # the first pool also starts the forkserver: a once-per-session cost
    return best_of(once, repeat)


def pool_run_seconds(pool, samples: int, workers: int, repeat: int = 3) -> float:
    """Best time for ``samples`` darts on an already started pool, blocks as estimate_pi plans them."""
    plan = plan_blocks(samples, chunk=default_chunk(samples, workers))
    return best_of(lambda: sum(pool.imap_unordered(partial(count_block, seed=SEED), plan)), repeat)


def start_cluster(workers: int) -> tuple[object, object, float]:
    """A ``LocalCluster`` of ``workers`` with a connected client, ready to compute.

    Returns ``(cluster, client, seconds)``; the seconds cover starting the
    cluster, connecting, and one tiny estimate so every worker has imported
    montepi.  Stop both with :func:`stop_cluster`.
    """
    from distributed import Client

    began = time.perf_counter()
    cluster = local_cluster(workers)
    client = Client(cluster)
    try:
        client.wait_for_workers(workers, timeout=60)
        client.run(__import__, "montepi.kernel")
    except BaseException:
        stop_cluster(cluster, client)
        raise
    return cluster, client, time.perf_counter() - began


def stop_cluster(cluster, client) -> None:
    """Close a client and cluster from :func:`start_cluster`."""
    try:
        client.close()
    finally:
        close_cluster(cluster)


def per_task_seconds(backend: str, tasks: int = 1000, repeat: int = 3, **options) -> float:
    """Overhead of one extra task: ``tasks`` one-dart tasks against a handful, per task.

    ``options`` go to :func:`estimate_pi` (``workers=`` for pool, ``client=`` for distributed).
    """
    few = max(1, options.get("workers") or 1)
    many = best_of(lambda: estimate_pi(tasks, backend=backend, chunk=1, **options), repeat)
    base = best_of(lambda: estimate_pi(few, backend=backend, chunk=1, **options), repeat)
    return max(0.0, (many - base) / (tasks - few))


def reduce_seconds(client=None, tasks: int = 32, repeat: int = 3) -> float:
    """The final sum of ``tasks`` block counts: on a worker (``client``) or in this process."""
    if client is None:
        counts = list(range(tasks))
        return best_of(lambda: sum(counts), repeat)
    futures = client.map(count_block, [(i, 1) for i in range(tasks)], seed=SEED, pure=False)
    client.gather(futures)
    try:
        return best_of(lambda: client.submit(sum, futures, pure=False).result(), repeat)
    finally:
        client.cancel(futures)


def peak_rss(samples: int) -> dict:
    """Peak resident memory of a serial ``samples``-dart run in a fresh Python process."""
    code = f"""
import json, resource, sys, time
import montepi

def peak_bytes():
    # VmHWM is this process's own high-water mark; ru_maxrss on Linux also keeps
    # the peak of the forked copy of the parent from before exec, so prefer VmHWM.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    scale = 1 if sys.platform == "darwin" else 1024   # ru_maxrss: bytes on macOS, KiB elsewhere
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale

before = peak_bytes()
began = time.perf_counter()
estimate = montepi.estimate_pi({samples})
seconds = time.perf_counter() - began
peak = peak_bytes()
print(json.dumps({{"samples": {samples}, "inside": estimate.inside, "seconds": seconds,
                   "import_rss_mb": before / 1e6, "peak_rss_mb": peak / 1e6}}))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def worker_counts(most: int) -> list[int]:
    """1 … ``most``: every count up to 8, then powers of two and ``most`` itself."""
    if most <= 8:
        return list(range(1, most + 1))
    counts = [1 << k for k in range(most.bit_length()) if 1 << k < most]
    return [*counts, most]


# --------------------------------------------------------------------------- the machine


def machine_info() -> dict:
    """CPU model, cores, memory and versions, so a table can say where it was measured."""
    import dask
    import distributed
    import numpy as np
    import psutil

    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": model,
        "cores": available_cores(),
        "logical_cpus": os.cpu_count(),
        "ram_gb": round(psutil.virtual_memory().total / 1e9, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "dask": dask.__version__,
        "distributed": distributed.__version__,
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# --------------------------------------------------------------------------- the benchmark


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def kernel_vs_naive(samples: int, repeat: int) -> dict:
    """Darts/s of the streaming kernel and of the original lesson's pattern, same N, one core."""
    from .classic import naive_inside

    kernel = best_of(lambda: count_inside(0, samples, SEED), repeat)
    naive = best_of(lambda: naive_inside(samples, SEED), repeat)
    return {
        "samples": samples,
        "kernel_rate": samples / kernel,
        "naive_rate": samples / naive,
        "speedup": naive / kernel,
    }


def scaling(samples: int, counts: list[int], repeat: int) -> dict:
    """Serial baseline, then pool and distributed on each worker count."""
    _say(f"serial baseline, {format_samples(samples)} darts")
    serial = best_of(lambda: estimate_pi(samples), repeat)
    rows = []
    context = pool_context()
    for p in counts:
        _say(f"{p} worker(s): pool")
        row = {"workers": p, "tasks": len(plan_blocks(samples, chunk=default_chunk(samples, p)))}
        row["pool_startup_s"] = pool_startup_seconds(p, repeat)
        row["pool_s"] = best_of(lambda p=p: estimate_pi(samples, backend="pool", workers=p), repeat)
        with context.Pool(p) as pool:
            pool.map(partial(count_block, seed=SEED), [(i, 1) for i in range(p)], chunksize=1)
            row["pool_prestarted_s"] = pool_run_seconds(pool, samples, p, repeat)
        _say(f"{p} worker(s): distributed")
        cluster, client, row["cluster_startup_s"] = start_cluster(p)
        try:
            row["distributed_s"] = best_of(
                lambda client=client: estimate_pi(samples, backend="distributed", client=client), repeat
            )
        finally:
            stop_cluster(cluster, client)
        row["distributed_cold_s"] = best_of(lambda p=p: estimate_pi(samples, backend="distributed", workers=p), repeat)
        for key in ("pool", "pool_prestarted", "distributed", "distributed_cold"):
            rate = samples / row[f"{key}_s"]
            row[f"{key}_rate"] = rate
            row[f"{key}_efficiency"] = rate / (p * samples / serial)
        rows.append(row)
    return {"samples": samples, "serial_s": serial, "serial_rate": samples / serial, "rows": rows}


def verdicts(results: dict) -> list[dict]:
    """Each target beside its measured value, with PASS or FAIL."""
    out = []

    def add(name: str, value: float, target: float, higher: bool, shown: str, note: str = "", unit: str = "") -> None:
        ok = value >= target if higher else value <= target
        out.append(
            {
                "measure": name,
                "value": value,
                "shown": shown,
                "target": target,
                "target_shown": ("≥ " if higher else "≤ ") + f"{target:g}{unit}",
                "pass": ok,
                "note": note,
            }
        )

    k = results["kernel"]
    add(
        f"kernel ÷ naive darts/s, one core, N = {format_samples(k['samples'])}",
        k["speedup"],
        TARGETS["kernel_speedup"],
        True,
        f"{k['speedup']:.1f}×",
        unit="×",
    )
    s = results["scaling"]
    top = s["rows"][-1]
    p, n = top["workers"], format_samples(s["samples"])
    if p > 1:
        add(
            f"parallel efficiency, pool ×{p} (start-up included), N = {n}",
            top["pool_efficiency"],
            TARGETS["efficiency"],
            True,
            f"{top['pool_efficiency']:.2f}",
        )
        add(
            f"parallel efficiency, distributed ×{p} (cluster started before), N = {n}",
            top["distributed_efficiency"],
            TARGETS["efficiency"],
            True,
            f"{top['distributed_efficiency']:.2f}",
        )
    ratio = top["distributed_rate"] / top["pool_rate"]
    add(
        f"distributed ÷ pool darts/s, ×{p}, as used (cluster before, pool per call)",
        ratio,
        TARGETS["dist_over_pool"],
        True,
        f"{ratio:.2f}",
    )
    r = results["rss"]
    add(
        f"peak RSS, serial {format_samples(r['samples'])} darts (fresh process)",
        r["peak_rss_mb"],
        TARGETS["peak_rss_mb"],
        False,
        f"{r['peak_rss_mb']:.0f} MB",
        "" if r["samples"] >= 10**10 else "target is for 1e10 darts; --quick runs 1e9",
        unit=" MB",
    )
    return out


def run(*, quick: bool = False, workers: int | None = None, samples: int | None = None, repeat: int = 3) -> dict:
    """Measure everything once and return plain data (what the JSON file holds)."""
    sizes = dict(QUICK if quick else FULL)
    most = workers or available_cores()
    if samples is not None:
        sizes["parallel_samples"] = samples
    elif most > 2:  # keep the top run's darts per worker as on 2 cores, so start-up stays small beside the work
        sizes["parallel_samples"] = max(sizes["parallel_samples"], (sizes["parallel_samples"] // 2) * most)
    results: dict = {"mode": "quick" if quick else "full", "repeat": repeat, "machine": machine_info(), "sizes": sizes}
    _say(f"kernel vs naive, {format_samples(sizes['naive_samples'])} darts")
    results["kernel"] = kernel_vs_naive(sizes["naive_samples"], repeat)
    results["scaling"] = scaling(sizes["parallel_samples"], worker_counts(most), repeat)
    _say(f"peak memory of {format_samples(sizes['rss_samples'])} serial darts in a child process")
    results["rss"] = peak_rss(sizes["rss_samples"])
    results["targets"] = verdicts(results)
    return results


def _rate(x: float) -> str:
    return f"{x / 1e6:,.0f} M"


def markdown(results: dict) -> str:
    """The results as a Markdown report: machine, targets, scaling table, definitions."""
    m, k, s, r = results["machine"], results["kernel"], results["scaling"], results["rss"]
    load = m.get("load_average_at_start")
    lines = [
        f"### {m['cores']} cores — {m['cpu']} ({results['mode']} mode, {m['date']})",
        "",
        f"{m['cores']} usable cores ({m['logical_cpus']} logical CPUs), {m['ram_gb']} GB RAM, {m['os']}; "
        f"Python {m['python']}, NumPy {m['numpy']}, dask {m['dask']}, distributed {m['distributed']}."
        + (f" Load average at start: {', '.join(map(str, load))}." if load else ""),
        "",
        "| Measure | Measured | Target | Result |",
        "|---|---:|---:|:---:|",
    ]
    for t in results["targets"]:
        note = f" ({t['note']})" if t["note"] else ""
        lines.append(
            f"| {t['measure']}{note} | {t['shown']} | {t['target_shown']} | {'PASS' if t['pass'] else 'FAIL'} |"
        )
    lines += [
        "",
        f"One core, N = {format_samples(k['samples'])}: kernel {_rate(k['kernel_rate'])} darts/s, "
        f"naive {_rate(k['naive_rate'])} darts/s. Serial `estimate_pi`, N = {format_samples(s['samples'])}: "
        f"{_rate(s['serial_rate'])} darts/s ({s['serial_s']:.2f} s). Peak RSS {r['peak_rss_mb']:.0f} MB "
        f"(of which {r['import_rss_mb']:.0f} MB is Python + NumPy + montepi after import) for "
        f"{format_samples(r['samples'])} serial darts in {r['seconds']:.0f} s.",
        "",
        f"Strong scaling, N = {format_samples(s['samples'])} darts, best of {results['repeat']}, "
        "darts/s (parallel efficiency = darts/s ÷ (workers × serial darts/s)):",
        "",
        "| workers | tasks | pool, start-up included | pool, started before | distributed, cluster started before "
        "| distributed, cluster started per call | pool start-up | LocalCluster start-up |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in s["rows"]:
        cells = [
            f"{_rate(row[f'{key}_rate'])} ({row[f'{key}_efficiency']:.2f})"
            for key in ("pool", "pool_prestarted", "distributed", "distributed_cold")
        ]
        lines.append(
            f"| {row['workers']} | {row['tasks']} | "
            + " | ".join(cells)
            + f" | {row['pool_startup_s']:.3f} s | {row['cluster_startup_s']:.2f} s |"
        )
    lines += [
        "",
        'How each column is timed: *pool, start-up included* is `estimate_pi(backend="pool")`, which '
        "starts and stops a pool on every call (the forkserver itself is already running); *pool, started "
        "before* maps the same blocks over a pool created before the clock starts; *distributed, cluster "
        "started before* passes the client of a running `LocalCluster` (as a notebook user has one); "
        '*distributed, cluster started per call* is `estimate_pi(backend="distributed")` without a client. '
        "The distributed ÷ pool target compares the two as a user meets them: cluster started before, "
        "pool per call.",
        "",
    ]
    return "\n".join(lines)


def write(results: dict, out: Path) -> tuple[Path, Path]:
    """Write ``results-<cores>cores[-quick].json`` and ``.md`` under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    stem = f"results-{results['machine']['cores']}cores" + ("-quick" if results["mode"] == "quick" else "")
    json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    md_path.write_text(markdown(results))
    return json_path, md_path


def _workers(text: str) -> int:
    """``max`` (the available cores) or a worker count that estimate_pi accepts."""
    return available_cores() if text == "max" else argument_type(check_workers)(text)


def main(argv: list[str] | None = None) -> int:
    """Command line: run, write, print; exit 0 whether targets pass or not."""
    parser = argparse.ArgumentParser(
        prog="python -m montepi.bench",
        description="Measure montepi's darts/s (kernel, pool, distributed) and peak memory; "
        "write JSON and a Markdown table; report targets as PASS/FAIL.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="CI-sized run: 1e8 darts for scaling, 1e9 for the memory check"
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks"), help="output folder (default: benchmarks/)")
    parser.add_argument(
        "--workers",
        type=_workers,
        default=None,
        metavar="N|max",
        help="largest worker count to try (default: max = the cores available)",
    )
    parser.add_argument(
        "--samples",
        type=argument_type(check_samples),
        default=None,
        metavar="N",
        help="darts for the scaling runs (default 4e8, 1e8 with --quick; more above 2 cores)",
    )
    parser.add_argument("--repeat", type=int, default=3, metavar="R", help="timings per figure, best kept (default 3)")
    args = parser.parse_args(argv)
    results = run(quick=args.quick, workers=args.workers, samples=args.samples, repeat=args.repeat)
    json_path, md_path = write(results, args.out)
    print(markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
