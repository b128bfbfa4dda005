"""Submitting, watching and cancelling Slurm jobs from Python (notebook 05 and its tests).

Thin wrappers around ``sbatch``, ``squeue`` and ``scancel`` that wait for the
states a lesson needs, with a timeout and a clear error instead of a hang.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

#: Seconds to wait for a job to start or to leave the queue.
JOB_TIMEOUT = 90.0


class SlurmError(RuntimeError):
    """A Slurm command failed, or a job did not reach a state in time."""


def _run(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    except FileNotFoundError:
        raise SlurmError(f"{command[0]} not found: is Slurm installed? (`./lesson slurm-up`)") from None
    if done.returncode != 0:
        raise SlurmError(f"{' '.join(command)} failed: {done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def sbatch(script: str | Path | None = None, *args: str, export: Mapping[str, str] | None = None,
           chdir: str | Path | None = None, options: Iterable[str] = (), wrap: str | None = None) -> str:
    """Submit a batch script (or a ``wrap`` command line); returns the job id.

    ``export`` adds variables to the job's environment (on top of ours), and
    ``chdir`` is the folder the job runs in, where its ``%x-%j.out`` lands.
    """
    command = ["sbatch", "--parsable", *options]
    if chdir is not None:
        command.append(f"--chdir={chdir}")
    if export:
        command.append("--export=" + ",".join(["ALL", *(f"{k}={v}" for k, v in export.items())]))
    if wrap is not None:
        if script is not None:
            raise ValueError("give a script or wrap, not both")
        command.append(f"--wrap={wrap}")
    elif script is not None:
        command += [str(script), *args]
    else:
        raise ValueError("give a script or wrap")
    return _run(command).strip().split(";")[0]


def job_states(job_ids: Iterable[str] | None = None) -> dict[str, str]:
    """``{job id: state}`` of queued and running jobs (array tasks appear as ``ID_N``); all jobs if None."""
    command = ["squeue", "--noheader", "--format=%i %T"]
    ids = list(job_ids) if job_ids is not None else None
    if ids is not None:
        if not ids:
            return {}
        command.append("--jobs=" + ",".join(ids))
    try:
        out = _run(command)
    except SlurmError as error:
        if "Invalid job id" in str(error):  # every job already left the queue
            return {}
        raise
    return dict(line.split() for line in out.splitlines() if line.strip())


def wait_for_state(job_ids: Iterable[str], state: str = "RUNNING", timeout: float = JOB_TIMEOUT) -> None:
    """Wait until every job (and every task of an array job) is in ``state``."""
    ids = list(job_ids)
    deadline = time.monotonic() + timeout
    while True:
        states = job_states(ids)
        if states and all(s == state for s in states.values()):
            return
        if time.monotonic() > deadline:
            raise SlurmError(f"jobs {', '.join(ids)} not {state} within {timeout:g} s: {states or 'not in the queue'}")
        time.sleep(0.25)


def scancel(job_ids: Iterable[str]) -> None:
    """Cancel jobs (a dask worker gets SIGTERM and closes cleanly)."""
    ids = list(job_ids)
    if ids:
        _run(["scancel", *ids])


def wait_until_gone(job_ids: Iterable[str] | None = None, timeout: float = JOB_TIMEOUT) -> None:
    """Wait until the jobs (all jobs if None) have left the queue, so their cores are free again."""
    ids = list(job_ids) if job_ids is not None else None
    deadline = time.monotonic() + timeout
    while states := job_states(ids):
        if time.monotonic() > deadline:
            raise SlurmError(f"jobs still in the queue after {timeout:g} s: {states}")
        time.sleep(0.25)
