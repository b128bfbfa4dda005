"""ruff, as pinned in the lock, finds nothing in the package, the tests, the scripts or the notebooks.

Part of ``./lesson test`` (so of CI), so that a lint error fails the run that introduced it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ruff_finds_nothing():
    ruff = Path(sys.executable).parent / "ruff"
    done = subprocess.run([str(ruff), "check", "--no-cache", "code", "tests", "scripts", "site", "notebooks",
                           "conftest.py"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
