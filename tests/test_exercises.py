"""Learners do, then check: every notebook asks for code of its own and for a prediction.

* A *skeleton*: a "# Your turn" cell with blanks written ``...``, which runs as
  shipped (Run All, strict nbval) and whose self-check then says "… not yet".
  Its folded solution follows it and states the ✓ line it prints
  (tests/test_solutions.py runs it there and compares).
* A *predict, then run* question: a Markdown cell starting "**Predict, then
  run.**" with its answer folded as ``<details><summary>Answer</summary>``.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from folded import folded_solutions

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]-*.ipynb"))
PREDICT = "**Predict, then run.**"
ANSWER = "<details><summary>Answer</summary>"


def stored_text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o["output_type"] == "stream")


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def notebook(request):
    return nbformat.read(request.param, as_version=4)


def skeletons(notebook) -> list[int]:
    return [i for i, cell in enumerate(notebook.cells) if cell.cell_type == "code"
            and cell.source.lstrip().startswith("# Your turn") and "..." in cell.source]


def test_a_skeleton_to_fill_in_that_says_not_yet_as_shipped(notebook):
    found = skeletons(notebook)
    assert found, "no '# Your turn' cell with ... blanks: every notebook asks the learner to write code"
    for index in found:
        assert "… not yet" in stored_text(notebook.cells[index]), \
            f"cell {index}: a skeleton run as shipped should print the self-check's '… not yet' line"


def test_each_skeleton_has_a_folded_solution_that_the_check_accepts(notebook):
    folds = {fold.cell: fold for fold in folded_solutions(notebook)}
    for index in skeletons(notebook):
        fold = folds.get(index + 1)
        assert fold is not None, f"cell {index}: a skeleton is followed by its folded solution"
        assert fold.expected and fold.expected.lstrip().startswith("✓"), \
            f"cell {index + 1}: the solution states the ✓ line its check prints (Expected output:)"


def test_a_prediction_before_running_with_its_answer_folded(notebook):
    cells = [cell.source for cell in notebook.cells if cell.cell_type == "markdown"]
    asked = [i for i, text in enumerate(cells) if text.lstrip().startswith(PREDICT)]
    assert asked, f"no Markdown cell starting {PREDICT!r}"
    for i in asked:
        answered = ANSWER in cells[i] or (i + 1 < len(cells) and cells[i + 1].lstrip().startswith(ANSWER))
        assert answered, f"the prediction {cells[i][:60]!r} has no folded answer ({ANSWER}) in or right after it"
