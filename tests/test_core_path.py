"""The 45-minute core path (notebooks/INSTRUCTORS.md) runs on its own: its cells need no skipped cell.

The core path's code cells carry the tag ``core``.  Each notebook that has
some is run with only those cells, in one kernel; any error fails.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]-*.ipynb"))
CORE = [p for p in NOTEBOOKS if any("core" in c.metadata.get("tags", []) for c in nbformat.read(p, as_version=4).cells)]


def test_the_core_path_covers_five_notebooks():
    assert [p.name[:2] for p in CORE] == ["01", "03", "04", "05", "07"]


@pytest.mark.parametrize("path", CORE, ids=[p.name for p in CORE])
def test_core_cells_run_alone(path):
    notebook = nbformat.read(path, as_version=4)
    notebook.cells = [c for c in notebook.cells if "core" in c.metadata.get("tags", [])]
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()  # raises on any error
