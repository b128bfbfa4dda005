"""Every folded solution runs in its notebook's namespace, at its place, and prints what it states.

One kernel per notebook: the notebook runs top to bottom with each solution
executed right after its fold (see tests/folded.py).
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from folded import folded_solutions, run_with_solutions

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]-*.ipynb"))


@pytest.mark.parametrize("path", [pytest.param(p, id=p.name, marks=[pytest.mark.slurm] if p.name.startswith("06-")
                                               else []) for p in NOTEBOOKS])
def test_folded_solutions_run_and_print_what_they_state(path):
    assert folded_solutions(nbformat.read(path, as_version=4)), "no folded solutions found"
    problems = run_with_solutions(path)
    assert not problems, "\n\n".join(problems)


def fold(code: str, expected: str | None = None) -> str:
    text = f"<details><summary>Solution</summary>\n\n```python\n{code}\n```\n"
    if expected is not None:
        text += f"\nExpected output:\n\n```text\n{expected}\n```\n"
    return text + "\n</details>"


def test_a_wrong_or_broken_solution_is_caught(tmp_path):
    """The checker itself can fail: a wrong stated output and a raising solution are both reported."""
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell(fold("print(x + 1)", "2")),
        nbformat.v4.new_markdown_cell(fold("print(x + 1)", "3")),
    ])
    path = tmp_path / "wrong.ipynb"
    nbformat.write(notebook, path)
    problems = run_with_solutions(path)
    assert len(problems) == 1 and "expected\n3" in problems[0]

    notebook.cells.append(nbformat.v4.new_markdown_cell(fold("print(y)")))
    nbformat.write(notebook, path)
    problems = run_with_solutions(path)
    assert len(problems) == 1 and "NameError" in problems[0]


def test_a_fold_that_does_not_parse_is_an_error():
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("<details><summary>Solution</summary>\n\nprint(1)\n\n</details>")])
    with pytest.raises(ValueError, match="one ```python block"):
        folded_solutions(notebook)
