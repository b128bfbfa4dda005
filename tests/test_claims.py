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


# --- 06 · Scaling out ---------------------------------------------------------------------------------------------
NO_SLURM_06 = "No Slurm here ("


@claim("06")
def tls_scheduler_itself_refuses_both_strangers(printed: Printed) -> None:
    """"Refused" means the scheduler refused: both clients fail, and its log names both handshakes it turned away.

    (The page used to print a TypeError raised by the client library before any connection was made.)
    """
    text = printed.of('kept_log("distributed.comm") as scheduler_log')
    assert "TypeError" not in text and "should not happen" not in text, text
    assert re.findall(r"^(plain TCP|another authority's certificate): no client; it raised \w+Error$", text,
                      re.M) == ["plain TCP", "another authority's certificate"], text
    log = text.split("the scheduler's log:", 1)[1]
    refusals = re.findall(r"TLS handshake failed with remote .*?\[SSL: (\w+)\]", log)
    assert refusals == ["WRONG_VERSION_NUMBER", "CERTIFICATE_VERIFY_FAILED"], log


@claim("06")
def both_jobs_run_where_slurm_ran_the_cell(printed: Printed) -> None:
    """The prose after the sbatch cell says our two jobs are listed as running *where Slurm ran the cell*."""
    text = printed.of('workers = [slurm.sbatch("slurm/worker.sh"')
    if text.startswith(NO_SLURM_06):
        assert text.count("\n") == 1, text
        return
    rows = [line.split() for line in text.splitlines()[1:] if line.strip()]
    assert len(rows) == 2 and all(row[4] == "R" for row in rows), text


@claim("06")
def none_of_our_jobs_left_where_the_queue_is_read(printed: Printed) -> None:
    """Each "our jobs in the queue" after scancel/close/clean-up prints 0 (or the one no-Slurm line)."""
    for marker in ("slurm.scancel(workers)", "# the jobs adapt submitted", "shutil.rmtree(jobs)"):
        text = printed.of(marker)
        assert text.startswith(NO_SLURM_06) or text.strip().endswith("our jobs in the queue: 0"), (marker, text)


@claim("06")
def the_sbatch_exercise_runs_without_slurm(printed: Printed) -> None:
    """The exercise's skeleton runs everywhere as shipped: the check says "not yet", never NameError or No Slurm."""
    text = printed.of("# Your turn: one sbatch line")
    assert text.startswith("… not yet"), text


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
