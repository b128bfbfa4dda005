"""The installed package is the library and the lesson's props: nothing from the tests' world."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import montepi

ROOT = Path(__file__).resolve().parent.parent

IMPORT_ALL = """
import importlib, json, pkgutil, sys
import montepi
names = [m.name for m in pkgutil.walk_packages(montepi.__path__, "montepi.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({"modules": names, "loaded": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def test_importing_every_module_pulls_in_no_test_tooling():
    done = subprocess.run([sys.executable, "-c", IMPORT_ALL], capture_output=True, text=True, timeout=120,
                          cwd=ROOT / "code")
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert "montepi.lesson.pitfalls" in found["modules"] and "montepi.bench.report" in found["modules"]
    assert not {"playwright", "PIL", "pytest", "support", "hypothesis", "nbval"} & set(found["loaded"])


def test_importing_changes_no_global_random_state():
    code = ("import numpy as np; before = np.random.get_state()[1].copy(); "
            "import montepi, montepi.lesson.pitfalls; "
            "print(bool((np.random.get_state()[1] == before).all()))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "True", done.stderr


def test_the_tooling_is_outside_the_package():
    package = Path(montepi.__file__).parent
    assert not (package / "browser.py").exists()
    assert (ROOT / "tests" / "support" / "browser.py").exists()
    assert "argparse" not in (package / "checks.py").read_text()
