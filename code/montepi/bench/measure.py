"""The benchmark's measurements: kernel against the original lesson's code, scaling, peak memory, the machine."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import math
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ..cluster import local_cluster
from ..estimate import available_cores, estimate_pi
from ..kernel import count_inside
from ..lesson.ceiling import Ceiling, ceiling
from ..lesson.overheads import (
    SEED,
    pool_run_seconds,
    pool_startup_seconds,
    ready_cluster,
    started_pool,
    worker_counts,
)
from ..plan import DISTRIBUTED_TASKS_PER_WORKER, default_chunk, plan_blocks
from ..result import format_samples
from ..signals import quiet_children
from ..timing import best_of_interleaved, fit_fixed_cost, timed
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
    with quiet_children():  # a terminal's Ctrl-C is ours alone: we stop the child (below) and say so once
        child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 text=True)
    try:
        out, err = child.communicate()
    except BaseException:
        child.kill()
        child.wait()
        raise
    if child.returncode:
        raise subprocess.CalledProcessError(child.returncode, child.args, out, err)
    return json.loads(out.strip().splitlines()[-1])


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
        "load_average_at_start": load_average(),
        "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }


# --------------------------------------------------------------------------- the benchmark


def _say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def load_average() -> list[float] | None:
    """The 1-, 5- and 15-minute load averages (None where the platform has none)."""
    return [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None


#: Buffer sizes (darts) the kernel is timed with, around its ``BLOCK_DARTS``.
BUFFER_SIZES = tuple(2**k for k in (12, 14, 16, 18, 20))


def buffer_sweep(samples: int, repeat: int, sizes: tuple[int, ...] = BUFFER_SIZES) -> dict:
    """Darts/s of the kernel, one core, with each buffer size in place of ``kernel.BLOCK_DARTS``, interleaved.

    The count is the same for every size (the darts are drawn in order; it is
    checked here); only the speed changes.  This is where ``BLOCK_DARTS`` is checked.
    """
    from .. import kernel

    chosen, counts = kernel.BLOCK_DARTS, set()

    def with_buffer(size: int) -> Callable[[], float]:
        def once() -> float:
            kernel.BLOCK_DARTS = size
            try:
                began = time.perf_counter()
                counts.add(count_inside(0, samples, SEED))
                return time.perf_counter() - began
            finally:
                kernel.BLOCK_DARTS = chosen

        return once

    best = best_of_interleaved({str(size): with_buffer(size) for size in sizes}, repeat)
    return {"samples": samples, "chosen": chosen, "rates": {size: samples / t for size, t in best.items()},
            "same_count": len(counts) == 1}


def kernel_vs_naive(samples: int, repeat: int) -> dict:
    """Darts/s of the streaming kernel and of the original lesson's pattern, same N, one core, interleaved."""
    from ..lesson.pitfalls import naive_inside

    best = best_of_interleaved({"kernel": timed(lambda: count_inside(0, samples, SEED)),
                        "naive": timed(lambda: naive_inside(samples, SEED))}, repeat)
    return {
        "samples": samples,
        "kernel_rate": samples / best["kernel"],
        "naive_rate": samples / best["naive"],
        "speedup": best["naive"] / best["kernel"],
    }


def numba_vs_numpy(samples: int, repeat: int) -> dict:
    """Darts/s of the numba kernel and of the NumPy kernel, one core, same darts, in one run.

    numba compiles (or loads its cache) before any clock starts, and the two
    are timed in turn, NumPy then numba, ``repeat`` times, keeping each one's
    best.  The clock is this thread's CPU time: both kernels run in this
    thread, and unlike wall time it does not grow when other programs share
    the core, so the ratio holds on a busy machine.  Without numba it
    returns ``{"samples": …, "installed": False}`` and the report says "not installed".
    """
    import time

    from .. import kernel_numba

    if "numba" not in kernels():
        return {"samples": samples, "installed": False}
    kernel_numba.compile_kernel()
    best = best_of_interleaved({"numpy": timed(lambda: count_inside(0, samples, SEED), clock=time.thread_time),
                                "numba": timed(lambda: kernel_numba.count_inside(0, samples, SEED),
                                               clock=time.thread_time)}, repeat)
    numpy_s, numba_s = best["numpy"], best["numba"]
    return {
        "samples": samples,
        "installed": True,
        "clock": "thread CPU time",
        "numpy_rate": samples / numpy_s,
        "numba_rate": samples / numba_s,
        "speedup": numpy_s / numba_s,
        "identical": kernel_numba.count_inside(0, samples, SEED) == count_inside(0, samples, SEED),
    }


def kernels() -> list[str]:
    """The kernels whose ceiling is measured: numpy, and numba where montepi has it and numba is installed."""
    from ..kernel_numba import numba_available

    return ["numpy", "numba"] if numba_available() else ["numpy"]


#: Backends timed at every worker count, as a user calls them.
#: ``pool_prestarted`` and ``distributed_cold`` are the other side of each start-up choice.
BACKEND_KEYS = ("pool", "pool_prestarted", "threads", "dask", "distributed", "distributed_cold")


def _ceiling_contender(c: Ceiling, expected: int, wrong: list) -> Callable[[], float]:
    def once() -> float:
        seconds, inside = c.run()
        if inside != expected:
            wrong.append(c.kernel)
        return seconds

    return once


def _distributed_contender(samples: int, workers: int, startups: list[float]) -> Callable[[], float]:
    """One timed run on a cluster started (and warmed by one small run) before the clock, closed after."""

    def once() -> float:
        with ready_cluster(workers) as (client, startup):
            startups.append(startup)
            estimate_pi(10**6, backend="distributed", client=client)  # the first task's one-off costs
            return estimate_pi(samples, backend="distributed", client=client).seconds

    return once


def _contenders(stack: contextlib.ExitStack, samples: int, p: int, kernel_names: list[str], with_serial: bool,
                expected: int, wrong: list, startups: list[float]) -> dict[str, Callable[[], float]]:
    """Everything timed at ``p`` workers, started (ceiling processes, a pool) on ``stack``.

    ``expected`` is the right count; a ceiling run that finds another one is added to ``wrong``.
    """
    contenders: dict[str, Callable[[], float]] = {}
    for k in kernel_names:
        c = stack.enter_context(ceiling(p, samples, SEED, k))
        contenders[f"ceiling_{k}"] = _ceiling_contender(c, expected, wrong)
    if with_serial:
        for k in kernel_names:
            options = {} if k == "numpy" else {"kernel": k}
            contenders[f"serial_{k}"] = timed(lambda o=options: estimate_pi(samples, **o))
    contenders["pool"] = timed(lambda: estimate_pi(samples, backend="pool", workers=p))
    pool = stack.enter_context(started_pool(p))
    contenders["pool_prestarted"] = lambda: pool_run_seconds(pool, samples, p, 1)
    contenders["threads"] = timed(lambda: estimate_pi(samples, backend="threads", workers=p))
    contenders["dask"] = timed(lambda: estimate_pi(samples, backend="dask", workers=p))
    contenders["distributed"] = _distributed_contender(samples, p, startups)
    contenders["distributed_cold"] = timed(lambda: estimate_pi(samples, backend="distributed", workers=p))
    return contenders


def fit_sizes(samples: int) -> list[int]:
    """The sizes each backend is timed at, for ``T(N) = a + N/r``: ``samples``/40, ``samples``/4 and ``samples``."""
    return [max(1, samples // 40), max(1, samples // 4), samples]


def _at_size(contenders: dict[str, Callable[[], float]], n: int) -> dict[str, Callable[[], float]]:
    return {f"{key}@{n}": timed for key, timed in contenders.items()}


def scaling(samples: int, counts: list[int], repeat: int, kernel_names: list[str] | None = None) -> dict:
    """Ceiling, serial and every backend on each worker count, interleaved round by round.

    At each worker count W the contenders are timed in turns (ceiling, pool,
    …, distributed, …) ``repeat`` times and the best of each kept, so that
    every ratio between them (fraction of ceiling, distributed ÷ pool) comes
    from the same stretch of time.  The serial baseline joins the rounds at 1
    and at the largest W.  At the largest W every contender is also timed at
    the smaller :func:`fit_sizes`, in the same rounds, for :func:`throughput`.
    """
    kernel_names = kernel_names or kernels()
    expected = count_inside(0, samples, SEED)
    serial: dict[str, float] = {k: math.inf for k in kernel_names}
    rows, wrong, sized = [], [], {}
    for p in counts:
        smaller = [n for n in fit_sizes(samples) if n != samples] if p == counts[-1] else []
        _say(f"{p} worker(s): ceiling ({', '.join(kernel_names)}), serial, "
             + ", ".join(BACKEND_KEYS)
             + f", best of {repeat}, interleaved"
             + (f"; also at N = {', '.join(map(format_samples, smaller))}" if smaller else ""))
        row: dict = {"workers": p, "tasks": len(plan_blocks(samples, chunk=default_chunk(samples, p))),
                     "distributed_tasks": len(plan_blocks(samples, chunk=default_chunk(
                         samples, p, DISTRIBUTED_TASKS_PER_WORKER))),
                     "load_average": load_average()}
        row["pool_startup_s"] = pool_startup_seconds(p, repeat)
        startups: list[float] = []
        with contextlib.ExitStack() as stack:
            contenders = _contenders(stack, samples, p, kernel_names, p in (counts[0], counts[-1]),
                                     expected, wrong, startups)
            for n in smaller:
                contenders.update(_at_size(_contenders(stack, n, p, kernel_names, False, count_inside(0, n, SEED),
                                                       wrong, startups), n))
            best = best_of_interleaved(contenders, repeat)
        row["cluster_startup_s"] = min(startups)
        for k in kernel_names:
            serial[k] = min(serial[k], best.pop(f"serial_{k}", math.inf))
        for key, seconds in best.items():
            if "@" in key:
                name, n = key.split("@")
                sized.setdefault(name, {})[int(n)] = seconds
            else:
                row[f"{key}_s"] = seconds
        rows.append(row)
    serial_rate = {k: samples / serial[k] for k in kernel_names}
    for row in rows:
        p = row["workers"]
        for k in kernel_names:
            rate = samples / row[f"ceiling_{k}_s"]
            row[f"ceiling_{k}_rate"] = rate
            row[f"ceiling_{k}_efficiency"] = rate / (p * serial_rate[k])
        for key in BACKEND_KEYS:
            if f"{key}_s" in row:
                rate = samples / row[f"{key}_s"]
                row[f"{key}_rate"] = rate
                row[f"{key}_efficiency"] = rate / (p * serial_rate["numpy"])
                row[f"{key}_of_ceiling"] = rate / row["ceiling_numpy_rate"]
    for name in sized:
        sized[name][samples] = rows[-1][f"{name}_s"]
    return {"samples": samples, "kernels": kernel_names, "serial_s": serial["numpy"],
            "serial_rate": serial_rate["numpy"], "serial_rates": serial_rate,
            "ceiling_count_identical": not wrong, "rows": rows,
            "throughput": throughput(rows[-1]["workers"], sized)}


def throughput(workers: int, sized: dict[str, dict[int, float]]) -> dict:
    """Fixed cost *a* and throughput *r* of each contender from its best seconds at each size.

    ``sized`` is ``{contender: {N: seconds}}`` (``ceiling_numpy``, ``pool``, …).
    Each backend's ``r_of_ceiling`` is its *r* over the ceiling's *r*: the
    targets apply to it, since it leaves out what a call costs once.
    """
    fits = {name: fit_fixed_cost(list(times), list(times.values())) for name, times in sized.items()}
    ceiling_r = fits["ceiling_numpy"].r if "ceiling_numpy" in fits else math.nan
    out: dict = {"workers": workers, "sizes": sorted({n for times in sized.values() for n in times}),
                 "seconds": {name: {str(n): t for n, t in sorted(times.items())} for name, times in sized.items()},
                 "fits": {}}
    for name, fit in fits.items():
        ratio = fit.r / ceiling_r if math.isfinite(fit.r) and math.isfinite(ceiling_r) else None
        out["fits"][name] = {**fit.as_dict(), "r_of_ceiling": ratio}  # None: no r to compare
    return out


def weak_scaling(per_worker: int, counts: list[int], repeat: int) -> dict:
    """Gustafson's side: ``per_worker``·p darts on p workers, ceiling and pool, all counts in interleaved rounds.

    The work per worker stays the same, so ideally the time stays flat:
    ``flat`` is T(1)/T(p) for each (1.0 = no time added by the extra workers).
    """
    load_before = load_average()
    wrong: list = []
    with contextlib.ExitStack() as stack:
        contenders: dict[str, Callable[[], float]] = {}
        for p in counts:
            n = per_worker * p
            c = stack.enter_context(ceiling(p, n, SEED, "numpy"))
            contenders[f"ceiling@{p}"] = _ceiling_contender(c, count_inside(0, n, SEED), wrong)
            contenders[f"pool@{p}"] = timed(lambda n=n, p=p: estimate_pi(n, backend="pool", workers=p))
        best = best_of_interleaved(contenders, repeat)
    rows = []
    for p in counts:
        row = {"workers": p, "samples": per_worker * p}
        for key in ("ceiling", "pool"):
            row[f"{key}_s"] = best[f"{key}@{p}"]
            row[f"{key}_flat"] = best[f"{key}@{counts[0]}"] / best[f"{key}@{p}"]
        rows.append(row)
    return {"per_worker": per_worker, "rows": rows, "ceiling_count_identical": not wrong,
            "load_average": [load_before, load_average()]}


def tls_vs_tcp(samples: int, workers: int, repeat: int) -> dict:
    """Distributed darts/s on a TLS cluster (the default) ÷ on a plain-TCP one: what refusing other users costs.

    Both clusters are started (and warmed by a small run) before the clock and
    timed in turns, TLS, TCP, TLS, TCP, …, best of ``repeat`` each, so the
    ratio holds on a busy machine.  Both must give the right count.  Beside
    the wall-clock ratio, ``cpu_ratio`` compares the CPU seconds that the
    cluster spent (this process, which holds the scheduler and the client,
    plus the worker processes): encryption costs CPU, and CPU seconds do not
    grow when other programs share the cores, so it is the steadier figure
    on a loaded machine.
    """
    import psutil
    from distributed import Client

    expected = count_inside(0, samples, SEED)
    load_before = load_average()
    cpu_best = {"tls": math.inf, "tcp": math.inf}
    with contextlib.ExitStack() as stack:
        contenders: dict[str, Callable[[], float]] = {}
        for name, security in (("tls", True), ("tcp", False)):
            cluster = stack.enter_context(local_cluster(workers, security=security))
            client = stack.enter_context(Client(cluster))
            client.wait_for_workers(workers, timeout=60)
            estimate_pi(10**6, backend="distributed", client=client)  # the first task's one-off costs
            processes = [psutil.Process(), *map(psutil.Process, client.run(os.getpid).values())]

            def once(client=client, name=name, processes=processes) -> float:
                used = sum(sum(p.cpu_times()[:2]) for p in processes)
                result = estimate_pi(samples, seed=SEED, backend="distributed", client=client)
                used = sum(sum(p.cpu_times()[:2]) for p in processes) - used
                if result.inside != expected:
                    raise AssertionError(f"the {name} cluster counted {result.inside}, not {expected}")
                cpu_best[name] = min(cpu_best[name], used)
                return result.seconds

            contenders[name] = once
        best = best_of_interleaved(contenders, repeat)
    found = {"samples": samples, "workers": workers, "repeat": repeat, "tls_s": best["tls"], "tcp_s": best["tcp"],
             "ratio": best["tcp"] / best["tls"], "tls_cpu_s": cpu_best["tls"], "tcp_cpu_s": cpu_best["tcp"],
             "load_average": [load_before, load_average()]}
    if cpu_best["tls"] > 0:  # CPU times tick in 10 ms: a tiny run may read 0, and then there is no ratio
        found["cpu_ratio"] = cpu_best["tcp"] / cpu_best["tls"]
    return found


#: Above this 1-minute load average per core, other programs spoil the timings (reported as a warning).
BUSY_LOAD_PER_CORE = 0.5


def busy_warning(load: list[float] | None, cores: int) -> str | None:
    """A one-line warning when the 1-minute load average is above ``BUSY_LOAD_PER_CORE`` per core."""
    if not load or load[0] <= BUSY_LOAD_PER_CORE * cores:
        return None
    return (f"load average {load[0]:g} on {cores} cores (> {BUSY_LOAD_PER_CORE:g} per core): other programs are "
            "running, so absolute rates are low and noisy; the interleaved ratios hold better")


def run(*, quick: bool = False, workers: int | None = None, samples: int | None = None, repeat: int = 5) -> dict:
    """Measure everything once and return plain data (what the JSON file holds)."""
    sizes = dict(QUICK if quick else FULL)
    most = workers or available_cores()
    if samples is not None:
        sizes["parallel_samples"] = samples
    elif most > 2:  # keep the top run's darts per worker as on 2 cores, so start-up stays small beside the work
        sizes["parallel_samples"] = max(sizes["parallel_samples"], (sizes["parallel_samples"] // 2) * most)
    results: dict = {"mode": "quick" if quick else "full", "repeat": repeat, "machine": machine_info(), "sizes": sizes}
    warning = busy_warning(results["machine"]["load_average_at_start"], results["machine"]["cores"])
    if warning:
        _say(f"warning: {warning}")
    _say(f"kernel vs naive, {format_samples(sizes['naive_samples'])} darts")
    results["kernel"] = kernel_vs_naive(sizes["naive_samples"], repeat)
    _say(f"numba vs NumPy kernel, {format_samples(sizes['naive_samples'])} darts")
    results["numba"] = numba_vs_numpy(sizes["naive_samples"], repeat)
    _say("kernel buffer sizes")
    results["buffer"] = buffer_sweep(sizes["naive_samples"], repeat)
    results["scaling"] = scaling(sizes["parallel_samples"], worker_counts(most), repeat)
    top, fits = results["scaling"]["rows"][-1], results["scaling"]["throughput"]["fits"]
    for key in ("pool", "distributed", "threads", "dask"):  # at the largest worker count, as plain numbers
        if f"{key}_of_ceiling" in top:  # by throughput r (the targets' measure), and at N alone
            results[f"{key}_of_ceiling"] = fits[key]["r_of_ceiling"]
            results[f"{key}_of_ceiling_at_n"] = top[f"{key}_of_ceiling"]
    per_worker = max(1, sizes["parallel_samples"] // (2 * most))
    _say(f"weak scaling: {format_samples(per_worker)} darts per worker, ceiling and pool, best of {repeat}")
    results["weak"] = weak_scaling(per_worker, worker_counts(most), repeat)
    results["ceiling_efficiency"] = top["ceiling_numpy_efficiency"]
    _say(f"distributed on TLS and on plain TCP, {format_samples(sizes['parallel_samples'])} darts, ×{most}, "
         f"best of {repeat}, interleaved")
    results["tls"] = tls_vs_tcp(sizes["parallel_samples"], most, repeat)
    _say(f"peak memory of {format_samples(sizes['rss_samples'])} serial darts in a child process")
    results["rss"] = peak_rss(sizes["rss_samples"])
    results["machine"]["load_average_at_end"] = load_average()
    results["load_warning"] = busy_warning(max(results["machine"]["load_average_at_start"] or [0],
                                               results["machine"]["load_average_at_end"] or [0]),
                                           results["machine"]["cores"])
    results["targets"] = verdicts(results)
    return results
