"""Folded solutions: the exercises' answers, kept closed in Markdown ``<details>`` blocks.

A solution is a Markdown cell that starts with ``<details><summary>Solution</summary>``
and holds one fenced ``python`` block, then any prose; ``Expected output:`` followed by a
fenced ``text`` block states what the code prints.  Run All never runs it, and nothing of it shows until the learner
opens it.  :func:`run_with_solutions` runs every notebook once with each solution
executed at its place (after the cells above it), so a broken solution fails a test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

OPENING = "<details><summary>Solution</summary>"
FOLD = re.compile(
    r"\A<details><summary>Solution</summary>\n\n```python\n(?P<code>.*?)\n```\n(?P<rest>.*)</details>\s*\Z", re.S)
EXPECTED = re.compile(r"Expected output[^\n]*:\n\n```text\n(?P<expected>.*?)\n```", re.S)
TAG = "folded-solution"


@dataclass(frozen=True)
class Solution:
    """One folded solution: the index of its Markdown cell, its code and its stated output."""

    cell: int
    code: str
    expected: str | None


def is_fold(cell) -> bool:
    return cell["cell_type"] == "markdown" and "".join(cell["source"]).startswith(OPENING)


def folded_solutions(notebook) -> list[Solution]:
    """Every folded solution of a notebook; a fold that does not parse raises ValueError."""
    found = []
    for index, cell in enumerate(notebook["cells"]):
        if is_fold(cell):
            match = FOLD.match("".join(cell["source"]))
            if not match or "```python" in match["rest"]:
                raise ValueError(f"cell {index}: a Solution fold must hold one ```python block "
                                 f"(and optionally 'Expected output:' with one ```text block): see tests/folded.py")
            expected = EXPECTED.search(match["rest"])
            found.append(Solution(index, match["code"], expected["expected"] if expected else None))
    return found


def lines(text: str) -> list[str]:
    """Output compared line by line, without trailing spaces or blank lines."""
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def printed(cell) -> str:
    """What a code cell printed (stdout) and its result's plain text."""
    text = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream" and output["name"] == "stdout":
            text.append(output["text"])
        elif output["output_type"] == "execute_result":
            text.append(output["data"].get("text/plain", ""))
    return "".join(text)


def run_with_solutions(path: Path, timeout: int = 300) -> list[str]:
    """Run a notebook in one kernel with each folded solution executed at its place.

    Returns the problems found (empty when every solution ran and printed what it
    says it prints).
    """
    notebook = nbformat.read(path, as_version=4)
    solutions = {s.cell: s for s in folded_solutions(notebook)}
    cells = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cells.append(cell)
        if index in solutions:
            cells.append(nbformat.v4.new_code_cell(solutions[index].code, metadata={"tags": [TAG],
                                                                                      "fold": index}))
    notebook.cells = cells
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}},
                            skip_cells_with_tag="skip-execution")
    try:
        client.execute()
    except CellExecutionError as error:
        return [f"{path.name}: a cell raised (solution cells are tagged {TAG}): {str(error)[-1500:]}"]
    problems = []
    for cell in notebook.cells:
        if TAG in cell.metadata.get("tags", []):
            expected = solutions[cell.metadata["fold"]].expected
            if expected is not None and lines(printed(cell)) != lines(expected):
                problems.append(f"{path.name}, solution in cell {cell.metadata['fold']}: expected\n{expected}\n"
                                f"but it printed\n{printed(cell)}")
    return problems
