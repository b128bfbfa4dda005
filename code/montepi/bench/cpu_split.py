"""Where a distributed run's CPU goes, thread by thread (``python -m montepi.bench --cpu-split``).

On a machine whose every core throws darts, whatever else a cluster does takes
its CPU from the darts: the scheduler's event loop (in this process, beside the
client), each worker's event loop, its profiler, the nannies.  This reads each
thread's CPU time from ``/proc`` (Linux) before and after each of ``repeat``
runs on a running ``local_cluster``, and names the threads as Python does, so
that the gap to the ceiling reads as shares of a core, not as a guess.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from ..estimate import estimate_pi
from ..lesson.overheads import SEED, ready_cluster
from ..result import format_samples

TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_ticks(stat: str) -> int:
    """User + system clock ticks from one ``/proc/…/stat`` line (the name may hold spaces and parentheses).

    >>> cpu_ticks("12 (Dask (x) 1) R 1 2 3 4 5 6 7 8 9 10 250 40 0 0")
    290
    """
    fields = stat.rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def thread_seconds(pid: int) -> dict[int, float]:
    """CPU seconds so far of each thread of process ``pid``: ``{thread id: seconds}`` (gone threads left out)."""
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found[int(task.name)] = cpu_ticks((task / "stat").read_text()) / TICKS
        except (OSError, ValueError, IndexError):
            continue
    return found


def _thread_names() -> dict[int, str]:
    """This process's Python threads: ``{native id: name}``."""
    return {thread.native_id: thread.name for thread in threading.enumerate()}


def role(process: str, thread: str) -> str:
    """The row a thread's CPU is added to.

    >>> role("worker", "0-Dask-Default-Threads-5-0")
    'worker: the task (darts)'
    >>> role("scheduler + client", "IO loop")
    'scheduler + client: event loop'
    >>> role("worker", "MainThread")
    'worker: event loop'
    """
    if process == "worker" and "Dask-Default-Threads" in thread:
        return "worker: the task (darts)"
    if (process, thread) in {("worker", "MainThread"), ("scheduler + client", "IO loop")}:
        return f"{process}: event loop"
    if process == "scheduler + client" and thread == "MainThread":
        return "client: submitting and summing"
    return f"{process}: {'other threads' if thread else 'whole process'}"


def cpu_split(samples: int, workers: int, repeat: int) -> dict:
    """Shares of a core per role during ``repeat`` runs of ``samples`` darts on a running cluster."""
    import psutil

    load_before = list(os.getloadavg())
    with ready_cluster(workers) as (client, _):
        estimate_pi(10**6 * workers, backend="distributed", client=client, seed=SEED)  # each worker's first task
        worker_pids = set(client.run(os.getpid).values())
        processes = {os.getpid(): "scheduler + client"}
        processes.update({child.pid: "worker" if child.pid in worker_pids else "nanny"
                          for child in psutil.Process().children(recursive=True)})
        seconds = wall = 0.0
        used: dict[tuple[int, int], float] = {}
        for _ in range(repeat):
            before = {pid: thread_seconds(pid) for pid in processes}
            started = time.perf_counter()
            seconds = min(seconds or float("inf"), estimate_pi(samples, backend="distributed", client=client,
                                                               seed=SEED).seconds)
            wall += time.perf_counter() - started
            for pid in processes:
                for tid, cpu in thread_seconds(pid).items():
                    used[pid, tid] = used.get((pid, tid), 0.0) + cpu - before[pid].get(tid, 0.0)
        names = _thread_names()
        for found in client.run(_thread_names).values():
            names.update(found)
    shares: dict[str, float] = {}
    for (pid, tid), cpu in used.items():
        label = role(processes[pid], names.get(tid, "") if processes[pid] != "nanny" else "")
        shares[label] = shares.get(label, 0.0) + cpu / wall
    shares = dict(sorted(shares.items(), key=lambda item: -item[1]))
    return {"samples": samples, "workers": workers, "repeat": repeat, "darts_per_s": samples / seconds,
            "wall_s": wall, "core_shares": shares, "load_average": [load_before, list(os.getloadavg())]}


def cpu_split_markdown(found: dict) -> str:
    """The split as a Markdown table: share of one core per role, and in all."""
    before, after = found["load_average"]
    workers = found["workers"]
    lines = [
        f"Where the CPU goes while `distributed` throws {format_samples(found['samples'])} darts on a running "
        f"`local_cluster({workers})` ({found['repeat']} runs, {found['darts_per_s'] / 1e6:,.0f} M darts/s at "
        f"best; load average {before[0]:.2f} before, {after[0]:.2f} after), in shares of one core "
        f"({workers} cores = {workers:.2f}):",
        "",
        "| threads | share of a core |",
        "|---|---:|",
    ]
    lines += [f"| {label} | {share:.3f} |" for label, share in found["core_shares"].items() if share >= 0.0005]
    lines.append(f"| all | {sum(found['core_shares'].values()):.3f} |")
    return "\n".join(lines) + "\n"
