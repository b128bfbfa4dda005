"""Submitting, watching and cancelling Slurm jobs from Python (notebook 06 and its tests).

Thin wrappers around ``sbatch``, ``squeue`` and ``scancel`` that wait for the
states a lesson needs, with a timeout and a clear error instead of a hang.

It is also an IPython extension: ``%load_ext montepi.lesson.slurm`` adds the cell magic
``%%needs_slurm``.  A cell that starts with it runs as usual where a Slurm node
takes jobs; anywhere else (a laptop, a JupyterHub, Binder) it prints one line
saying why not and how to get a Slurm, instead of a traceback.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

from ..polling import poll_until

#: Seconds to wait for a job to start or to leave the queue.
JOB_TIMEOUT = 90.0


#: How a learner without Slurm gets one.
HOW_TO_GET_ONE = "start a throwaway one with `./lesson slurm-up` (root, Debian) or use your workshop's cluster"


class SlurmError(RuntimeError):
    """A Slurm command failed, or a job did not reach a state in time."""


def _run(command: list[str]) -> str:
    try:
        # umask 077: sbatch passes it on to the job (SLURM_UMASK), so the job's output file and all it
        # writes are readable by the learner only; squeue and scancel write nothing.
        done = subprocess.run(command, capture_output=True, text=True, timeout=30, umask=0o077)
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
    states: dict = {}

    def all_there() -> bool:
        nonlocal states
        states = job_states(ids)
        return bool(states) and all(s == state for s in states.values())

    if not poll_until(all_there, timeout, interval=0.25):
        raise SlurmError(f"jobs {', '.join(ids)} not {state} within {timeout:g} s: {states or 'not in the queue'}")


def scancel(job_ids: Iterable[str]) -> None:
    """Cancel jobs (a dask worker gets SIGTERM and closes cleanly)."""
    ids = list(job_ids)
    if ids:
        _run(["scancel", *ids])


def wait_until_gone(job_ids: Iterable[str] | None = None, timeout: float = JOB_TIMEOUT) -> None:
    """Wait until the jobs (all jobs if None) have left the queue, so their cores are free again."""
    ids = list(job_ids) if job_ids is not None else None
    states: dict = {}

    def all_gone() -> bool:
        nonlocal states
        states = job_states(ids)
        return not states

    if not poll_until(all_gone, timeout, interval=0.25):
        raise SlurmError(f"jobs still in the queue after {timeout:g} s: {states}")


def login_address() -> str:
    """The address by which Slurm's compute nodes reach this machine: where a scheduler for their workers listens.

    127.0.0.1 where the nodes are this machine (``./lesson slurm-up``); on a real cluster (or
    ``./lesson cluster-up``'s three hosts), this login node's address on the network it shares with
    them.  Slurm names the first node's address (``scontrol show node``), and the kernel the address
    this machine would send from to reach it (dask's ``get_ip``: no packet is sent).  Never 0.0.0.0:
    that would listen on every network this machine has.
    """
    from distributed.utils import get_ip

    nodes = _run(["sinfo", "--noheader", "--Node", "--format=%N"]).split()
    if not nodes:
        raise SlurmError("sinfo lists no nodes: is the cluster's Slurm running? (sinfo)")
    found = re.search(r"\bNodeAddr=(\S+)", _run(["scontrol", "show", "node", "--oneliner", nodes[0]]))
    if not found:
        raise SlurmError(f"scontrol show node {nodes[0]} gave no NodeAddr")
    try:
        node = socket.getaddrinfo(found.group(1), None, socket.AF_INET)[0][4][0]
    except OSError as error:
        raise SlurmError(f"node {nodes[0]}'s address {found.group(1)} does not resolve ({error})") from None
    return get_ip(node)


def problem() -> str | None:
    """Why this machine cannot run Slurm jobs, in a few words, or None when a node takes jobs."""
    if not shutil.which("sbatch") or not shutil.which("sinfo"):
        return "Slurm's commands (sbatch, sinfo) are not installed"
    try:
        state = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return "sinfo did not answer"
    if state.returncode != 0 or not state.stdout.strip():
        return "no Slurm controller answers"
    if not any(s.startswith(("idle", "mix", "alloc")) for s in state.stdout.split()):
        return f"the Slurm node is not usable (state {state.stdout.strip()})"
    return None


def needs_slurm(line: str, cell: str) -> None:
    """Cell magic: run the cell where Slurm takes jobs, else print one line saying why not."""
    from IPython import get_ipython

    reason = problem()
    if reason:
        print(f"No Slurm here ({reason}): this cell did not run; {HOW_TO_GET_ONE}.")
        return
    shell = get_ipython()
    exec(compile(shell.transform_cell(cell), "<needs_slurm cell>", "exec"), shell.user_ns)  # noqa: S102


def load_ipython_extension(ipython) -> None:
    """``%load_ext montepi.lesson.slurm``: register ``%%needs_slurm``."""
    ipython.register_magic_function(needs_slurm, magic_kind="cell")
