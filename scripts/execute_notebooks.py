"""Re-execute the lesson notebooks in place, so stored outputs are what the code prints.

    ./lesson notebooks                       # all of them
    ./lesson notebooks notebooks/03-*.ipynb  # some

Cells run with notebooks/ as working directory, as in JupyterLab.  Cells
tagged ``skip-execution`` are left as they are.  Timing metadata and widget
state are not stored, so a re-run changes only what the code really printed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

CELL_TIMEOUT = 300
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def execute(path: Path) -> float:
    """Run one notebook top to bottom and write it back; returns seconds taken."""
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata["kernelspec"] = KERNELSPEC
    notebook.metadata.pop("widgets", None)
    began = time.perf_counter()
    NotebookClient(
        notebook,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
        record_timing=False,
        skip_cells_with_tag="skip-execution",
    ).execute()
    seconds = time.perf_counter() - began
    for cell in notebook.cells:
        cell.metadata.pop("execution", None)
    notebook.metadata.pop("widgets", None)
    nbformat.validate(notebook)
    nbformat.write(notebook, path)
    return seconds


def main(paths: list[str]) -> int:
    """Execute the given notebooks, or all numbered ones under notebooks/."""
    root = Path(__file__).resolve().parent.parent
    targets = [Path(p) for p in paths] or sorted((root / "notebooks").glob("[0-9][0-9]-*.ipynb"))
    for path in targets:
        print(f"{path.name}: {execute(path.resolve()):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
