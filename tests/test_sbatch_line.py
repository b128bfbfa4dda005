"""Notebook 06's self-check for "one sbatch line, two workers": right lines pass, each kind of wrong is named."""

from __future__ import annotations

import pytest

from montepi.lesson.sbatch_line import sbatch_verdict
from montepi.lesson.selfcheck import NOT_YET

EXPORT = "--export=ALL,VENV=$PWD/.venv,SCHEDULER_FILE=/shared/scheduler.json"


@pytest.mark.parametrize("line", [
    f"sbatch --array=1-2 {EXPORT} slurm/worker.sh",
    f"!sbatch -a 0-1 {EXPORT} worker.sh",
    f"sbatch --array 1,2 {EXPORT} --chdir=/tmp/x slurm/worker.sh",
    f"sbatch {EXPORT} --array=1-3:2 slurm/worker.sh",
    f"sbatch --array=1-2%2 {EXPORT} slurm/worker.sh",
])
def test_lines_that_start_two_workers_pass(line):
    assert sbatch_verdict(line, workers=2).startswith("✓ 2 workers")


@pytest.mark.parametrize("line", [..., None, "sbatch ... worker.sh", f"sbatch ... {EXPORT} slurm/worker.sh"])
def test_the_skeleton_as_shipped_is_not_yet(line):
    assert sbatch_verdict(line) == NOT_YET


@pytest.mark.parametrize(("line", "says"), [
    (f"srun --array=1-2 {EXPORT} slurm/worker.sh", "starts with srun"),
    ("bash slurm/worker.sh", "starts with bash"),
    (f"sbatch --array=1-2 {EXPORT} slurm/estimate.sh", "submits slurm/estimate.sh"),
    (f"sbatch {EXPORT} slurm/worker.sh --array=1-2", "go to the script"),
    ("sbatch --array=1-2 slurm/worker.sh", "reads $VENV and $SCHEDULER_FILE"),
    ("sbatch --array=1-2 --export=VENV=/v,SCHEDULER_FILE=/s slurm/worker.sh", "without ALL"),
    (f"sbatch {EXPORT} slurm/worker.sh", "one dask worker per job"),
    (f"sbatch --ntasks=2 {EXPORT} slurm/worker.sh", "(--ntasks=2)"),
    (f"sbatch -N 2 {EXPORT} slurm/worker.sh", "(--nodes=2)"),
    (f"sbatch --cpus-per-task 2 {EXPORT} slurm/worker.sh", "(--cpus-per-task=2)"),
    (f"sbatch --array=1-3 {EXPORT} slurm/worker.sh", "3 task(s)"),
    (f"sbatch --array=1-2%1 {EXPORT} slurm/worker.sh", "only 1 of its tasks"),
    (f"sbatch --array=one-two {EXPORT} slurm/worker.sh", "not an index list"),
    (f"sbatch {EXPORT} slurm/worker.sh; sbatch {EXPORT} slurm/worker.sh", "more than one command"),
    (f"sbatch {EXPORT} --wrap 'dask worker'", "--wrap"),
    (f"sbatch --array=1-2 {EXPORT}", "which script"),
    ("sbatch 'unbalanced", "does not parse"),
    (["sbatch"], "as a string"),
])
def test_each_kind_of_wrong_line_is_named(line, says):
    verdict = sbatch_verdict(line, workers=2)
    assert verdict.startswith("✗") and says in verdict, verdict


def test_a_wrong_line_never_names_the_missing_option():
    for line in [f"sbatch {EXPORT} slurm/worker.sh", f"sbatch --ntasks=2 {EXPORT} slurm/worker.sh"]:
        assert "array" not in sbatch_verdict(line).lower()
