"""Every lesson notebook has the shape a learner and an instructor rely on.

(Whether the stored outputs are current is nbval's job: ./lesson test runs
every notebook in strict mode.)
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]-*.ipynb"))
# Calls that send a function to another process or worker.
REMOTE_CALLS = {"map", "imap", "imap_unordered", "starmap", "map_async", "starmap_async", "apply",
                "apply_async", "submit", "run", "map_blocks"}
MACHINE_PATHS = re.compile(r"(/root/|/home/\w+|/work/|/Users/\w+|C:\\\\Users)")


def source(cell) -> str:
    return "".join(cell["source"])


def python_of(cell) -> str:
    """Cell source with IPython magics and shell escapes blanked out, for ast."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source(cell).splitlines())


@pytest.fixture(params=NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def notebook(request):
    return json.loads(request.param.read_text())


def test_there_are_seven_notebooks():
    # 02-threads-and-the-gil joins the series before the pool; the series is renumbered 01-07 later.
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "02", "03", "04", "05", "06"]


def test_title_questions_objectives_key_points(notebook):
    cells = notebook["cells"]
    assert cells[0]["cell_type"] == "markdown" and source(cells[0]).startswith("# ")
    opening = " ".join(source(c) for c in cells[:3] if c["cell_type"] == "markdown")
    assert "**Questions**" in opening and "**Objectives**" in opening
    closing = [c for c in cells if c["cell_type"] == "markdown"][-1]
    assert "Key points" in source(closing)


def test_at_least_two_exercises_with_hidden_executed_solutions(notebook):
    cells = notebook["cells"]
    pairs = 0
    for turn, solution in zip(cells, cells[1:]):
        if turn["cell_type"] == "code" and source(turn).lstrip().startswith("# Your turn"):
            if solution["cell_type"] == "markdown":  # a folded solution: closed until clicked, never run by Run All
                assert source(solution).lstrip().startswith("<details><summary>Solution</summary>")
                assert source(solution).rstrip().endswith("</details>")
                pairs += 1
                continue
            assert solution["metadata"].get("jupyter", {}).get("source_hidden") is True, source(solution)[:80]
            assert source(solution).startswith("# Solution")
            assert solution["execution_count"] is not None, "solutions are executed so later cells can use them"
            pairs += 1
    assert pairs >= 2


def test_no_notebook_function_is_sent_to_a_pool_or_worker(notebook):
    """Functions defined in a notebook cannot be pickled under spawn/forkserver: they live in montepi.

    The one exception is a cell that shows the failure on purpose, inside a
    ``try`` that catches ``BrokenProcessPool``.
    """
    defined, offenders = set(), []
    trees = [ast.parse(python_of(c)) for c in notebook["cells"] if c["cell_type"] == "code"]
    for tree in trees:
        defined |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}
    for tree in trees:
        expected_failures = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Try) and any("BrokenProcessPool" in ast.unparse(h.type or ast.Constant(None))
                                                 for h in node.handlers):
                expected_failures |= {id(n) for n in ast.walk(node)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in REMOTE_CALLS and node.args and id(node) not in expected_failures):
                first = node.args[0]
                if isinstance(first, ast.Lambda) or (isinstance(first, ast.Name) and first.id in defined):
                    offenders.append(ast.unparse(node)[:100])
    assert not offenders, f"move these functions into montepi: {offenders}"


def test_metadata_is_clean(notebook):
    assert notebook["metadata"]["kernelspec"]["name"] == "python3"
    assert notebook["metadata"]["kernelspec"]["language"] == "python"
    assert notebook["metadata"]["language_info"]["name"] == "python"
    assert "widgets" not in notebook["metadata"], "stray widget state"
    for cell in notebook["cells"]:
        assert "execution" not in cell["metadata"], "timing metadata belongs to nobody's lesson"
        assert not cell["metadata"].get("collapsed"), "learners should see every output"
    text = json.dumps(notebook["cells"])
    assert not MACHINE_PATHS.search(text), MACHINE_PATHS.search(text).group(0)


def test_every_code_cell_was_executed_in_order(notebook):
    counts = [c["execution_count"] for c in notebook["cells"] if c["cell_type"] == "code"
              and "skip-execution" not in c["metadata"].get("tags", [])]
    assert None not in counts, "run ./lesson notebooks to store real outputs"
    assert counts == sorted(counts)


def test_no_error_outputs_are_stored(notebook):
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            assert output["output_type"] != "error", source(cell)[:80]


def test_ignored_outputs_say_why(notebook):
    for cell in notebook["cells"]:
        if "nbval-ignore-output" in cell["metadata"].get("tags", []):
            assert re.search(r"#\s*nbval-ignore-output:\s*\S", source(cell)), source(cell)[:80]


def test_every_stored_identity_check_holds(notebook):
    """The notebooks print checks like "identical: True"; a stored False means a broken lesson."""
    broken = re.compile(r"\b(identical|equal|same count as serial)\s*:\s*False\b", re.IGNORECASE)
    for cell in notebook["cells"]:
        for output in cell.get("outputs", []):
            text = "".join(output.get("text", "")) + "".join(output.get("data", {}).get("text/plain", ""))
            assert not broken.search(text), f"{broken.search(text).group(0)!r} in the output of {source(cell)[:60]!r}"
