"""Notebook 06 without Slurm (a laptop, a JupyterHub, Binder): one line per Slurm cell, no traceback.

Slurm is hidden by a PATH on which every command but Slurm's is found, so
these tests run the real no-Slurm path on a machine that has Slurm too.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from montepi.lesson import slurm

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "06-scaling-out.ipynb"
SLURM_COMMANDS = {"sbatch", "sinfo", "squeue", "scancel", "srun", "salloc", "scontrol", "sacct"}


@pytest.fixture
def no_slurm_on_path(tmp_path, monkeypatch):
    """PATH without Slurm's commands: folders that hold them are replaced by links to everything else."""
    folders = []
    for number, folder in enumerate(os.environ["PATH"].split(os.pathsep)):
        path = Path(folder)
        if not path.is_dir() or not any((path / name).exists() for name in SLURM_COMMANDS):
            folders.append(folder)
            continue
        copy = tmp_path / f"bin{number}"
        copy.mkdir()
        for entry in path.iterdir():
            if entry.name not in SLURM_COMMANDS:
                (copy / entry.name).symlink_to(entry)
        folders.append(str(copy))
    monkeypatch.setenv("PATH", os.pathsep.join([str(Path(sys.executable).parent), *folders]))


def ipython_with_needs_slurm():
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    slurm.load_ipython_extension(shell)
    return shell


def test_problem_says_why_without_slurm(no_slurm_on_path):
    assert slurm.problem() == "Slurm's commands (sbatch, sinfo) are not installed"


def test_needs_slurm_prints_one_line_and_skips_the_cell(no_slurm_on_path, capsys):
    shell = ipython_with_needs_slurm()
    result = shell.run_cell("%%needs_slurm\nraise RuntimeError('this cell ran')")
    assert result.success
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1 and out[0].startswith("No Slurm here (") and "./lesson slurm-up" in out[0], out


@pytest.mark.slurm
def test_needs_slurm_runs_the_cell_where_slurm_answers(capsys):
    shell = ipython_with_needs_slurm()
    result = shell.run_cell("%%needs_slurm\nanswer = 6 * 7\nprint('ran', answer)")
    assert result.success and shell.user_ns["answer"] == 42
    assert capsys.readouterr().out.strip() == "ran 42"


def test_notebook_06_slurm_cells_without_slurm(no_slurm_on_path):
    """The set-up cell, then every Slurm cell: each prints exactly its one line, nothing raises.

    (The cells that need no Slurm run everywhere; nbval runs them.)
    """
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert "%load_ext montepi.lesson.slurm" in code[0].source
    notebook.cells = [code[0]] + [c for c in code if c.source.startswith("%%needs_slurm")]
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    slurm_cells = [c for c in notebook.cells if c.cell_type == "code" and c.source.startswith("%%needs_slurm")]
    assert len(slurm_cells) >= 10
    for cell in slurm_cells:
        texts = [o.get("text", "") for o in cell.outputs]
        assert len(cell.outputs) == 1 and texts[0].count("\n") == 1 and texts[0].startswith("No Slurm here ("), \
            (cell.source[:60], cell.outputs)


def test_every_exercise_runs_without_slurm(no_slurm_on_path):
    """Run All without Slurm, each folded solution run at its place: nothing raises, no exercise needs names
    that only Slurm cells define, and each solution prints what it states or the one "No Slurm here" line."""
    from folded import TAG, folded_solutions, lines, printed

    notebook = nbformat.read(NOTEBOOK, as_version=4)
    solutions = {s.cell: s for s in folded_solutions(notebook)}
    assert len(solutions) >= 2
    cells = []
    for index, cell in enumerate(notebook.cells):
        cells.append(cell)
        if index in solutions:
            cells.append(nbformat.v4.new_code_cell(solutions[index].code, metadata={"tags": [TAG], "fold": index}))
    notebook.cells = cells
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    for cell in notebook.cells:
        if TAG in cell.metadata.get("tags", []):
            said, expected = printed(cell), solutions[cell.metadata["fold"]].expected
            if cell.source.startswith("%%needs_slurm"):
                assert lines(said) and len(lines(said)) == 1 and said.startswith("No Slurm here ("), said
            else:
                assert lines(said) == lines(expected), (said, expected)
