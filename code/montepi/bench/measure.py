"""The benchmark's measurements: kernel against the original lesson's code, scaling, peak memory, the machine."""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

from ..estimate import available_cores, estimate_pi
from ..kernel import count_inside
from ..lesson.overheads import (
    SEED,
    pool_run_seconds,
    pool_startup_seconds,
    ready_cluster,
    started_pool,
    worker_counts,
)
from ..plan import default_chunk, plan_blocks
from ..result import format_samples
from ..timing import best_of
from .report import verdicts

FULL = {"naive_samples": 5 * 10**7, "parallel_samples": 4 * 10**8, "rss_samples": 10**10}
QUICK = {"naive_samples": 10**7, "parallel_samples": 10**8, "rss_samples": 10**9}


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


#: Buffer sizes (darts) the kernel is timed with, around its ``BLOCK_DARTS``.
BUFFER_SIZES = tuple(2**k for k in (12, 14, 16, 18, 20))


def buffer_sweep(samples: int, repeat: int, sizes: tuple[int, ...] = BUFFER_SIZES) -> dict:
    """Darts/s of the kernel, one core, with each buffer size in place of ``kernel.BLOCK_DARTS``.

    The count is the same for every size (the darts are drawn in order); only
    the speed changes.  This is where ``BLOCK_DARTS`` is checked.
    """
    from .. import kernel

    chosen, rates = kernel.BLOCK_DARTS, {}
    try:
        for size in sizes:
            kernel.BLOCK_DARTS = size
            rates[str(size)] = samples / best_of(lambda: count_inside(0, samples, SEED), repeat)
    finally:
        kernel.BLOCK_DARTS = chosen
    return {"samples": samples, "chosen": chosen, "rates": rates}


def kernel_vs_naive(samples: int, repeat: int) -> dict:
    """Darts/s of the streaming kernel and of the original lesson's pattern, same N, one core."""
    from ..lesson.pitfalls import naive_inside

    kernel = best_of(lambda: count_inside(0, samples, SEED), repeat)
    naive = best_of(lambda: naive_inside(samples, SEED), repeat)
    return {
        "samples": samples,
        "kernel_rate": samples / kernel,
        "naive_rate": samples / naive,
        "speedup": naive / kernel,
    }


def numba_vs_numpy(samples: int, repeat: int) -> dict:
    """Darts/s of the numba kernel and of the NumPy kernel, one core, same darts, in one run.

    numba compiles (or loads its cache) before any clock starts, and the two
    are timed in turn, NumPy then numba, ``repeat`` times, keeping each one's
    best.  The clock is this thread's CPU time: both kernels run in this
    thread, and unlike wall time it does not grow when other programs share
    the core, so the ratio holds on a busy machine.
    """
    import time

    from .. import kernel_numba

    kernel_numba.compile_kernel()
    numpy_s = numba_s = float("inf")
    for _ in range(repeat):
        numpy_s = min(numpy_s, best_of(lambda: count_inside(0, samples, SEED), 1, clock=time.thread_time))
        numba_s = min(numba_s, best_of(lambda: kernel_numba.count_inside(0, samples, SEED), 1, clock=time.thread_time))
    return {
        "samples": samples,
        "clock": "thread CPU time",
        "numpy_rate": samples / numpy_s,
        "numba_rate": samples / numba_s,
        "speedup": numpy_s / numba_s,
        "identical": kernel_numba.count_inside(0, samples, SEED) == count_inside(0, samples, SEED),
    }


def scaling(samples: int, counts: list[int], repeat: int) -> dict:
    """Serial baseline, then threads, pool and distributed on each worker count."""
    _say(f"serial baseline, {format_samples(samples)} darts")
    serial = best_of(lambda: estimate_pi(samples), repeat)
    rows = []
    for p in counts:
        row = {"workers": p, "tasks": len(plan_blocks(samples, chunk=default_chunk(samples, p)))}
        _say(f"{p} worker(s): threads")
        row["threads_s"] = best_of(lambda p=p: estimate_pi(samples, backend="threads", workers=p), repeat)
        _say(f"{p} worker(s): pool")
        row["pool_startup_s"] = pool_startup_seconds(p, repeat)
        row["pool_s"] = best_of(lambda p=p: estimate_pi(samples, backend="pool", workers=p), repeat)
        with started_pool(p) as pool:
            row["pool_prestarted_s"] = pool_run_seconds(pool, samples, p, repeat)
        _say(f"{p} worker(s): distributed")
        with ready_cluster(p) as (client, row["cluster_startup_s"]):
            row["distributed_s"] = best_of(
                lambda client=client: estimate_pi(samples, backend="distributed", client=client), repeat
            )
        row["distributed_cold_s"] = best_of(lambda p=p: estimate_pi(samples, backend="distributed", workers=p), repeat)
        for key in ("threads", "pool", "pool_prestarted", "distributed", "distributed_cold"):
            rate = samples / row[f"{key}_s"]
            row[f"{key}_rate"] = rate
            row[f"{key}_efficiency"] = rate / (p * samples / serial)
        rows.append(row)
    return {"samples": samples, "serial_s": serial, "serial_rate": samples / serial, "rows": rows}


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
    _say(f"numba vs NumPy kernel, {format_samples(sizes['naive_samples'])} darts")
    results["numba"] = numba_vs_numpy(sizes["naive_samples"], repeat)
    _say("kernel buffer sizes")
    results["buffer"] = buffer_sweep(sizes["naive_samples"], repeat)
    results["scaling"] = scaling(sizes["parallel_samples"], worker_counts(most), repeat)
    _say(f"peak memory of {format_samples(sizes['rss_samples'])} serial darts in a child process")
    results["rss"] = peak_rss(sizes["rss_samples"])
    results["targets"] = verdicts(results)
    return results
