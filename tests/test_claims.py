"""Every sentence true: each corrected claim of the notebooks, checked on what the notebook printed.

A claim is a function of one executed notebook's outputs (:class:`Printed`) that
fails when a sentence of the lesson would be false beside them: a printed
interpretation that does not match the printed numbers, a pid that says the
scheduler is not where the page says, an extrapolation beyond what was measured.
Register one with ``@claim("NN")`` in its notebook's section below.

Every claim runs twice: on the notebook's *stored* outputs (every test run), and
on a fresh execution beside two busy processes, whose outputs are checked and
thrown away (a learner on a shared JupyterHub sees a busy machine; the page must
stay true there too).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]-*.ipynb"))


class Printed:
    """What each code cell of one executed notebook printed (stdout, stderr and results as plain text)."""

    def __init__(self, notebook) -> None:
        self.cells = [cell for cell in notebook.cells if cell.cell_type == "code"]

    @staticmethod
    def text(cell) -> str:
        parts = []
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                parts.append(output["text"])
            elif output["output_type"] in ("execute_result", "display_data"):
                parts.append(output["data"].get("text/plain", ""))
        return "".join(parts)

    def of(self, marker: str) -> str:
        """What the one code cell whose source contains ``marker`` printed (the marker must be unique)."""
        found = [cell for cell in self.cells if marker in "".join(cell.source)]
        assert len(found) == 1, f"{len(found)} code cells contain {marker!r}; a claim needs exactly one"
        return self.text(found[0])

    def number(self, marker: str, pattern: str) -> float:
        """The first number captured by ``pattern`` (one group) in what the cell holding ``marker`` printed."""
        text = self.of(marker)
        match = re.search(pattern, text)
        assert match, f"{pattern!r} not found in the output of the cell with {marker!r}:\n{text}"
        return float(match.group(1))


Claim = Callable[[Printed], None]
CLAIMS: dict[str, list[Claim]] = {path.name[:2]: [] for path in NOTEBOOKS}


def claim(notebook: str) -> Callable[[Claim], Claim]:
    """Register a claim about notebook ``notebook`` ("01" … "07")."""
    def register(check: Claim) -> Claim:
        CLAIMS[notebook].append(check)
        return check
    return register


# --- 01 · Serial π ------------------------------------------------------------------------------------------------
# (claims about notebook 01 go here)


# --- 02 · Threads and the GIL -------------------------------------------------------------------------------------
# (claims about notebook 02 go here)


# --- 03 · A pool of processes -------------------------------------------------------------------------------------
# (claims about notebook 03 go here)


# --- 04 · dask.array ----------------------------------------------------------------------------------------------
# (claims about notebook 04 go here)


# --- 05 · dask.distributed ----------------------------------------------------------------------------------------
# (claims about notebook 05 go here)

def _processes(text: str, label: str) -> list[int]:
    """The pids printed as "process N" on the line that starts with ``label`` (before any "|")."""
    line = next((line for line in text.splitlines() if line.startswith(label)), None)
    assert line, f"no line starting {label!r} in:\n{text}"
    return [int(pid) for pid in re.findall(r"process (\d+)", line.split("|")[0])]


@claim("05")
def the_scheduler_and_the_nannies_run_in_the_kernel_only_the_workers_are_processes(printed):
    """"The scheduler and the nannies run inside this kernel's process; only the two workers are processes of
    their own, and the kernel started them" (not: "a LocalCluster starts a scheduler and workers as processes")."""
    text = printed.of("client.run_on_scheduler(os.getpid)")
    [kernel] = _processes(text, "this kernel:")
    assert _processes(text, "scheduler:") == [kernel], text
    assert _processes(text, "nannies:") == [kernel, kernel], text
    workers = _processes(text, "workers:")
    assert len(set(workers)) == 2 and kernel not in workers, text
    started_by = [int(pid) for pid in re.findall(r"process (\d+)", text.split("started by")[1])]
    assert started_by == [kernel, kernel], text


@claim("05")
def a_plain_tcp_client_is_refused_and_ours_still_works(printed):
    """"127.0.0.1 is not private … a client without this cluster's certificates is refused"."""
    text = printed.of('cluster.scheduler_address.replace("tls://", "tcp://")')
    assert re.search(r"plain TCP to tcp://127\.0\.0\.1:\d+: refused \(\w+\)", text), text
    assert re.search(r"TLS with certificates of its own: refused \(\w+", text), text
    assert "with the cluster's certificates: True" in text, text


@claim("05")
def progress_with_notebook_false_returns_only_when_every_future_is_done(printed):
    """"`progress(futures, notebook=False)` … blocks until every future is done"."""
    text = printed.of("progress(futures, notebook=False)")
    match = re.search(r"(\d+) of (\d+) futures done when progress returned", text)
    assert match and match[1] == match[2] and int(match[2]) > 0, text


def _seconds(text: str, backend: str) -> float:
    match = re.search(rf"\(\S+ darts, {backend} ×2, (\d+\.\d+) s\)", text)
    assert match, f"no {backend} time in:\n{text}"
    return float(match[1])


def _load_words_match(text: str) -> None:
    match = re.search(r"a (busy|quiet) machine \(load (\d+\.\d+) on (\d+) cores\)", text)
    assert match, f"no load average in:\n{text}"
    assert (match[1] == "busy") == (float(match[2]) > int(match[3])), match[0]


@claim("05")
def the_pool_and_the_cluster_are_compared_in_words_that_fit_the_numbers(printed):
    """Not "they are close: 0.34 s … 0.39 s" beside 0.45 s against 0.68 s: the cell's words follow its times."""
    text = printed.of("cluster ÷ Pool")
    pool, dist = _seconds(text, "pool"), _seconds(text, "distributed")
    ratio = float(re.search(r"cluster ÷ Pool: (\d+\.\d+)", text)[1])
    low, high = (dist - 0.005) / (pool + 0.005), (dist + 0.005) / max(pool - 0.005, 1e-9)
    assert low - 0.005 <= ratio <= high + 0.005, f"ratio {ratio} does not follow from {dist} s ÷ {pool} s"
    expected = ("was faster" if ratio < 0.87 else "close" if ratio <= 1.15 else
                "a little slower" if ratio < 1.5 else "well behind")
    assert re.search(rf"cluster ÷ Pool: {ratio:.2f}, [^;]*{expected}", text), \
        f"{ratio} should read {expected!r}:\n{text}"
    _load_words_match(text)


@claim("05")
def tasks_of_a_hundred_darts_take_many_times_longer_on_the_cluster(printed):
    """The predict-then-run answer ("C: many times longer, ten times or more") and the words of its cell."""
    text = printed.of("SMALL, CHUNK =")
    one = float(re.search(r"one core: (\d+\.\d+) ms", text)[1])
    cluster = float(re.search(r"tasks of \d+ darts: (\d+) ms", text)[1])
    longer = float(re.search(r"the cluster took (\d+)× as long", text)[1])
    assert "identical: True" in text, text
    assert (cluster - 0.5) / (one + 0.05) - 1 <= longer <= (cluster + 0.5) / max(one - 0.05, 1e-9) + 1, text
    assert longer >= 10 and "the tasks cost far more than their darts" in text, text


# --- 06 · Scaling out ---------------------------------------------------------------------------------------------
# (claims about notebook 06 go here)


# --- 07 · Amdahl's law --------------------------------------------------------------------------------------------
# (claims about notebook 07 go here)


# --- The tests ------------------------------------------------------------------------------------------------------

def params(with_busy: bool = False):
    for path in NOTEBOOKS:
        marks = [pytest.mark.slurm] if path.name.startswith("06-") and with_busy else []
        yield pytest.param(path, id=path.name, marks=marks)


def check_all(path: Path, notebook) -> list[str]:
    printed, problems = Printed(notebook), []
    for check in CLAIMS[path.name[:2]]:
        try:
            check(printed)
        except AssertionError as error:
            problems.append(f"{path.name}: {check.__name__}: {error}")
    return problems


@pytest.mark.parametrize("path", params())
def test_the_stored_outputs_keep_every_claim(path):
    problems = check_all(path, nbformat.read(path, as_version=4))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", params(with_busy=True))
def test_every_claim_holds_beside_two_busy_processes(path):
    """A fresh run beside two processes that keep both cores busy; its outputs are checked, never stored."""
    if not CLAIMS[path.name[:2]]:
        pytest.skip(f"no claims about {path.name} yet")
    notebook = nbformat.read(path, as_version=4)
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}},
                       skip_cells_with_tag="skip-execution").execute()
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    problems = check_all(path, notebook)
    assert not problems, "\n".join(problems)
