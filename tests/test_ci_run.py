"""``.ci/run`` after a failure: its last line names the stage, its time and the command that failed.

The stage runs for real, with stand-ins for the commands it calls (``./lesson``, apt-get,
sinfo) in a copy of the script, so that the failure is the one chosen here and nothing is
installed or started.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def stand_in(path: Path, body: str) -> None:
    path.write_text("#!/bin/bash\n" + body + "\n")
    path.chmod(0o755)


@pytest.mark.parametrize(("slurm_answers", "failing", "status"), [
    ("idle", "setup", 3),  # a Slurm already answers: nothing to stop afterwards
    ("", "test", 1),  # the stage started its own Slurm: slurm-down runs, and still the verdict comes last
])
def test_a_failing_stage_ends_the_run_with_one_line_naming_it(tmp_path, slurm_answers, failing, status):
    copy = tmp_path / "repo"
    (copy / ".ci").mkdir(parents=True)
    shutil.copy(ROOT / ".ci" / "run", copy / ".ci" / "run")
    stand_in(copy / "lesson", f'echo "lesson $*" >&2\n[ "$1" = {failing} ] && exit {status}\n'
                              '[ "$1" = slurm-down ] && echo "slurm-down: Slurm stopped" >&2\nexit 0')
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    stand_in(bin_ / "apt-get", "exit 0")
    # Many lines, and the answer on the first: `sinfo | grep -q` would die of SIGPIPE under pipefail.
    stand_in(bin_ / "sinfo", f'echo "{slurm_answers}"; yes unk | head -n 100000')
    run = subprocess.run([copy / ".ci" / "run", "debian12"], capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PATH": f"{bin_}:{os.environ['PATH']}"})
    assert run.returncode == 1, run
    lines = run.stderr.strip().splitlines()
    assert re.fullmatch(rf"ci: stage debian12 failed after \d+ s: \./lesson {failing} \(exit {status}\)", lines[-1]), \
        run.stderr
    started_slurm = "lesson slurm-up" in run.stderr
    assert started_slurm == (slurm_answers == ""), run.stderr
    if started_slurm:
        assert "slurm-down: Slurm stopped" in lines[:-1], run.stderr
    assert "passed" not in run.stderr


def test_an_unknown_stage_is_refused():
    run = subprocess.run([ROOT / ".ci" / "run", "debian11"], capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert run.stderr == "ci: unknown stage 'debian11' (debian12, debian13)\n"


def test_each_file_runs_in_one_piece():
    """The progress output names each file once (pytest-playwright's browser grouping split test_site.py in two)."""
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
                          "tests", "notebooks", "--nbval", "--nbval-sanitize-with", "tests/nbval-sanitize.cfg"],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    files = [line.split("::")[0] for line in run.stdout.splitlines() if "::" in line]
    runs = [name for index, name in enumerate(files) if index == 0 or files[index - 1] != name]
    assert "tests/test_site.py" in runs and any(name.endswith(".ipynb") for name in runs)
    assert len(runs) == len(set(runs)), sorted({name for name in runs if runs.count(name) > 1})
