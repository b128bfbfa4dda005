"""Which ``LocalCluster`` shape gets closest to the ceiling? (``python -m montepi.bench --shapes``)

The knobs a notebook user has: worker processes × threads per worker, how
many tasks the scheduler lets each worker hold (``worker-saturation``), how
big the blocks are, whether the workers' statistical profiler runs, and
whether the workers (and their nannies) are separate processes at all.
Each shape is timed on ``W`` cores in interleaved rounds
with the ceiling and the pool; each cluster is started (and warmed by one
small run) before its clock and closed after it, so that no idle cluster
takes a share of the cores while another contender is timed.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Callable

from ..cluster import local_cluster
from ..estimate import estimate_pi
from ..lesson.ceiling import ceiling
from ..lesson.overheads import SEED
from ..result import format_samples
from ..timing import best_of_interleaved


def shapes(workers: int) -> dict[str, dict]:
    """The cluster shapes to compare on ``workers`` cores: ``{label: {"cluster": kwargs, ...}}``."""
    found = {
        f"{workers} processes × 1 thread (montepi's default)": {"cluster": {"workers": workers}},
        f"1 process × {workers} threads": {"cluster": {"workers": 1, "threads_per_worker": workers}},
    }
    if workers >= 4 and workers % 2 == 0:
        found[f"{workers // 2} processes × 2 threads"] = {"cluster": {"workers": workers // 2, "threads_per_worker": 2}}
    found["default, every task sent to the workers at once (worker-saturation inf)"] = {
        "cluster": {"workers": workers}, "config": {"distributed.scheduler.worker-saturation": math.inf}}
    # Each worker samples the running task's stack for the dashboard's Profile tab (montepi.cluster.PROFILE_INTERVAL)
    found["default, workers' profiler every 10 ms (dask's default; montepi's: 100 ms)"] = {
        "cluster": {"workers": workers, "config": {"distributed": {"worker": {"profile": {"interval": "10ms"}}}}}}
    found["default, workers' profiler off (distributed.worker.profile.enabled: false)"] = {
        "cluster": {"workers": workers}, "config": {"distributed.worker.profile.enabled": False}}
    found["default, 16 tasks per worker instead of 4 (pool's, threads' and dask's default)"] = {
        "cluster": {"workers": workers}, "tasks_per_worker": 16}
    found[f"no worker processes: {workers} threads in this process"] = {  # tls: local_cluster refuses plain tcp
        "cluster": {"workers": 1, "threads_per_worker": workers, "processes": False, "protocol": "tls"}}
    return found


def _on_cluster(samples: int, workers: int, shape: dict) -> Callable[[], float]:
    import dask
    from distributed import Client

    tasks = shape.get("tasks_per_worker")
    chunk = -(-samples // (tasks * workers)) if tasks else None

    def once() -> float:
        with dask.config.set(shape.get("config", {})), local_cluster(**shape["cluster"]) as cluster, \
                Client(cluster) as client:
            client.wait_for_workers(len(cluster.workers), timeout=60)
            estimate_pi(10**6, backend="distributed", client=client)  # the first task's one-off costs
            return estimate_pi(samples, backend="distributed", client=client, chunk=chunk).seconds

    return once


def compare_shapes(samples: int, workers: int, repeat: int) -> dict:
    """Darts/s of the ceiling, the pool and each cluster shape on ``workers`` cores, interleaved."""
    load_before = list(os.getloadavg())
    with contextlib.ExitStack() as stack:
        c = stack.enter_context(ceiling(workers, samples, SEED))
        contenders: dict[str, Callable[[], float]] = {
            "ceiling": lambda: c.run()[0],
            "pool (start-up included)": lambda: estimate_pi(samples, backend="pool", workers=workers).seconds,
        }
        contenders.update({label: _on_cluster(samples, workers, shape) for label, shape in shapes(workers).items()})
        best = best_of_interleaved(contenders, repeat)
    rates = {label: samples / seconds for label, seconds in best.items()}
    return {"samples": samples, "workers": workers, "repeat": repeat, "rates": rates,
            "of_ceiling": {label: rate / rates["ceiling"] for label, rate in rates.items()},
            "load_average": [load_before, list(os.getloadavg())]}


def shapes_markdown(found: dict) -> str:
    """The comparison as a Markdown table."""
    before, after = found["load_average"]
    lines = [
        f"LocalCluster shapes on {found['workers']} cores, N = {format_samples(found['samples'])} darts, best of "
        f"{found['repeat']} interleaved rounds (load average {before[0]:.2f} before, {after[0]:.2f} after):",
        "",
        "| contender | darts/s | ÷ ceiling |",
        "|---|---:|---:|",
    ]
    lines += [f"| {label} | {rate / 1e6:,.0f} M | {found['of_ceiling'][label]:.2f} |"
              for label, rate in found["rates"].items()]
    return "\n".join(lines) + "\n"
