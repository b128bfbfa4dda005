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

from folded import folded_solutions

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


def test_the_series_is_numbered_01_to_07_without_gaps():
    assert [p.name[:2] for p in NOTEBOOKS] == [f"{n:02d}" for n in range(1, 8)]


def test_title_questions_objectives_key_points(notebook):
    cells = notebook["cells"]
    assert cells[0]["cell_type"] == "markdown" and source(cells[0]).startswith("# ")
    opening = " ".join(source(c) for c in cells[:3] if c["cell_type"] == "markdown")
    assert "**Questions**" in opening and "**Objectives**" in opening
    closing = [c for c in cells if c["cell_type"] == "markdown"][-1]
    assert "Key points" in source(closing)


def test_at_least_two_exercises_with_folded_solutions(notebook):
    """Each exercise: an empty "# Your turn" cell, then its solution folded in Markdown (tests/folded.py).

    A folded solution shows nothing until opened and Run All never runs it;
    tests/test_solutions.py runs each one at its place.
    """
    cells = notebook["cells"]
    folds = folded_solutions(notebook)
    assert len(folds) >= 2
    for fold in folds:
        turn = cells[fold.cell - 1]
        assert turn["cell_type"] == "code" and your_turn(source(turn)), \
            f"cell {fold.cell}: a folded solution follows its '# Your turn' cell"


def your_turn(text: str) -> bool:
    """A '# Your turn' cell; a module to write (``%%writefile NAME``) has it on its second line.

    >>> your_turn("# Your turn"), your_turn("%%writefile mydarts.py\\n# Your turn: a module"), your_turn("x = 1")
    (True, True, False)
    """
    text = text.lstrip()
    if text.startswith("%%writefile "):
        text = text.partition("\n")[2]
    return text.startswith("# Your turn")


def test_no_solution_is_a_code_cell(notebook):
    """Solution code cells would run with Run All and show their outputs beside the question."""
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            assert "solution" not in cell["metadata"].get("tags", []), source(cell)[:80]
            assert not source(cell).lstrip().lower().startswith("# solution"), source(cell)[:80]
            hidden = cell["metadata"].get("jupyter", {}).get("source_hidden")
            assert not hidden, "hiding the code of a cell hides nothing of its output"


def pool_offenders(sources: list[str]) -> list[str]:
    """Calls that send a notebook-defined function (or a lambda) to a process *pool*.

    A pool (``multiprocessing`` or ``concurrent.futures``) pickles a function by
    reference, module and name, so under spawn/forkserver its workers cannot
    find a function defined in a notebook.  A pool is a name bound by
    ``with ….Pool(…) as NAME`` or ``with …PoolExecutor(…) as NAME``, not a
    thread pool (threads share the notebook's namespace and pickle nothing).  dask's
    ``client.map``/``submit`` pickle functions by value (cloudpickle) and may
    carry notebook functions: notebook 05 shows that.  The one exception for
    pools is a cell that shows the failure on purpose, inside a ``try`` that
    catches ``BrokenProcessPool``.
    """
    defined, offenders = set(), []
    trees = [ast.parse(text) for text in sources]
    for tree in trees:
        defined |= {n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))}

    def from_notebook(node) -> bool:
        if isinstance(node, ast.Lambda):
            return True
        if isinstance(node, ast.Name):
            return node.id in defined
        if isinstance(node, ast.Call) and ast.unparse(node.func).endswith("partial") and node.args:
            return from_notebook(node.args[0])
        return False

    for tree in trees:
        pools, expected_failures = set(), set()
        for node in ast.walk(tree):
            if isinstance(node, ast.With):
                for item in node.items:
                    made = ast.unparse(item.context_expr.func) if isinstance(item.context_expr, ast.Call) else ""
                    if made.endswith(("Pool", "PoolExecutor")) and "Thread" not in made \
                            and isinstance(item.optional_vars, ast.Name):  # threads pickle nothing
                        pools.add(item.optional_vars.id)
            if isinstance(node, ast.Try) and any("BrokenProcessPool" in ast.unparse(h.type or ast.Constant(None))
                                                 for h in node.handlers):
                expected_failures |= {id(n) for n in ast.walk(node)}
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Name) and node.func.value.id in pools
                    and node.func.attr in REMOTE_CALLS and node.args and id(node) not in expected_failures
                    and from_notebook(node.args[0])):
                offenders.append(ast.unparse(node)[:100])
    return offenders


def test_no_notebook_function_is_sent_to_a_pool(notebook):
    """Pools get importable functions (from montepi); dask may get notebook functions, see pool_offenders."""
    offenders = pool_offenders([python_of(c) for c in notebook["cells"] if c["cell_type"] == "code"])
    assert not offenders, f"a pool cannot unpickle a notebook function under spawn/forkserver: {offenders}"


def test_the_pool_rule_catches_what_it_should():
    cells = ["def square(x):\n    return x * x",
             "with ctx.Pool(2) as pool:\n    pool.map(square, [1])",
             "with ProcessPoolExecutor(1) as ex:\n    ex.submit(partial(square), 3)",
             "with ctx.Pool(2) as pool:\n    pool.imap_unordered(lambda x: x, [1])",
             "client.submit(square, 3)\nclient.map(lambda x: x, [1])",
             "with ctx.Pool(2) as pool:\n    pool.map(count_block, plan)",
             "try:\n    with ProcessPoolExecutor(1) as ex:\n        ex.submit(square, 3)\n"
             "except BrokenProcessPool:\n    pass",
             "with ThreadPoolExecutor(4) as threads:\n    threads.map(square, [1])"]
    assert pool_offenders(cells) == ["pool.map(square, [1])", "ex.submit(partial(square), 3)",
                                     "pool.imap_unordered(lambda x: x, [1])"]


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


def test_time_and_prerequisites_in_metadata_and_header(notebook):
    """Carpentries-style minutes: in the metadata (for tools) and in the header (for people), the same."""
    minutes = notebook["metadata"].get("lesson", {})
    teaching, exercises = minutes.get("teaching"), minutes.get("exercises")
    assert isinstance(teaching, int) and isinstance(exercises, int) and teaching > 0 and exercises > 0, minutes
    opening = " ".join(source(c) for c in notebook["cells"][:3] if c["cell_type"] == "markdown")
    assert "**What you need**" in opening
    assert f"Time: {teaching} min teaching, {exercises} min exercises." in opening


def test_the_instructors_table_and_the_readme_add_up_the_notebooks_minutes():
    """INSTRUCTORS.md's minutes per notebook and their totals, and README's full-day line, follow the notebooks."""
    root = NOTEBOOKS[0].parent.parent
    table = (root / "notebooks" / "INSTRUCTORS.md").read_text()
    totals = [0, 0]
    for path in NOTEBOOKS:
        minutes = json.loads(path.read_text())["metadata"]["lesson"]
        row = re.search(rf"^\| {path.name[:2]} · [^|]+\| (\d+) min[^|]*\| (\d+) min[^|]*\|", table, re.MULTILINE)
        assert row, f"INSTRUCTORS.md has no row for {path.name}"
        assert (int(row[1]), int(row[2])) == (minutes["teaching"], minutes["exercises"]), path.name
        totals = [totals[0] + minutes["teaching"], totals[1] + minutes["exercises"]]
    assert f"| **total** | **{totals[0]} min** | **{totals[1]} min** |" in table
    assert f"{totals[0]} min teaching + {totals[1]} min exercises" in (root / "README.md").read_text()
