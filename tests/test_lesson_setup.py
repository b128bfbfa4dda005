"""``./lesson`` as a learner without root meets it: on a minimal Debian 12 with only python3.

A throwaway root (``debootstrap --variant=minbase bookworm`` plus python3, no
``python3-venv``, no Graphviz) and a normal user ``learner`` with a clone of
this repository.  Their first ``./lesson test`` must check everything before
changing anything: one message naming every missing piece with one command
that installs them all, exit status 1, and no ``.venv`` that a later run
would trust.  Marker ``chroot``: needs root and debootstrap.

And anywhere: an install that fails half-way removes the ``.venv`` it began.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MINIMAL_ROOT = ROOT / "scripts" / "minimal-root.sh"

pytestmark = pytest.mark.timeout(900)

EXPECTED = (
    "lesson: missing: Python's venv module with ensurepip, Graphviz's dot. "
    "Install them once with:  sudo apt-get install python3-venv graphviz  then run this again."
)


@pytest.fixture(scope="module")
def learner_root():
    """A minimal Debian 12 with python3 and a user ``learner`` who has a clone in ~/montepi."""
    work = Path(tempfile.mkdtemp(prefix="montepi-learner-", dir="/var/tmp"))
    root = work / "root"
    try:
        subprocess.run([MINIMAL_ROOT, "create", root, "bookworm", "python3"], check=True, timeout=900)
        subprocess.run(["chroot", root, "useradd", "--create-home", "learner"], check=True, timeout=60)
        home = root / "home" / "learner"
        subprocess.run(["git", "clone", "-q", ROOT, home / "montepi"], check=True, timeout=120)
        subprocess.run(["chroot", root, "chown", "-R", "learner:learner", "/home/learner/montepi"], check=True)
        yield root
    finally:
        subprocess.run([MINIMAL_ROOT, "remove", root], timeout=300)
        shutil.rmtree(work, ignore_errors=True)


def as_learner(root: Path, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [MINIMAL_ROOT, "run", root, "--user", "learner", "/bin/bash", "-c", f"cd ~/montepi && {command}"],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.chroot
def test_the_throwaway_root_lacks_what_lesson_needs(learner_root):
    # Otherwise the next test would prove nothing.
    probe = as_learner(learner_root, "python3 -V; python3 -c 'import ensurepip' || echo no-ensurepip; "
                                     "command -v dot || echo no-dot; id -u")
    assert "Python 3.11" in probe.stdout, probe
    assert "no-ensurepip" in probe.stdout and "no-dot" in probe.stdout, probe
    assert probe.stdout.split()[-1] != "0", "the learner must not be root"


@pytest.mark.chroot
@pytest.mark.parametrize("command", ["./lesson test", "./lesson lab"])
def test_a_learner_without_root_gets_one_message(learner_root, command):
    run = as_learner(learner_root, command)
    assert run.returncode == 1, run
    assert run.stdout == "", run
    assert run.stderr.strip().splitlines() == [EXPECTED], run.stderr
    assert "Traceback" not in run.stderr
    assert not (learner_root / "home" / "learner" / "montepi" / ".venv").exists(), "a half-made .venv was left"


def test_an_install_that_fails_half_way_leaves_no_venv(tmp_path):
    venv = tmp_path / "venv"
    offline = tmp_path / "no-packages"
    offline.mkdir()
    env = {**os.environ, "MONTEPI_VENV": str(venv), "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1",
           "PIP_FIND_LINKS": str(offline)}
    run = subprocess.run([ROOT / "lesson", "setup"], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, run
    assert f"lesson: creating {venv}" in run.stderr, run.stderr  # it got as far as the venv
    assert run.stderr.rstrip().endswith(f"lesson: removed the unfinished {venv}"), run.stderr
    assert not venv.exists()
