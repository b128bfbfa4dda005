"""Finding a script that starts workers without the ``if __name__ == "__main__":`` guard.

Processes started with ``spawn`` or ``forkserver`` (pools here, dask's
workers) re-run the main script to find its functions.  Without the guard,
each worker would start a pool of its own: Python refuses, every worker dies
with a traceback, and the run ends in :class:`~montepi.backends.WorkerLost`.
This module sees the mistake in the parent, before any worker starts, and
says so in one line.
"""

from __future__ import annotations

import ast
import sys
from functools import cache
from pathlib import Path


class MissingMainGuard(RuntimeError):
    """The main script starts worker processes at its top level, outside ``if __name__ == "__main__":``."""


def _is_main_test(node: ast.expr) -> bool:
    """``__name__ == "__main__"`` (either way round)."""
    if not (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], ast.Eq)):
        return False
    sides = [node.left, node.comparators[0]]
    return (any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides))


@cache
def _guarded_lines(path: str) -> tuple[tuple[int, int], ...]:
    """The line ranges of the script that sit under an ``if __name__ == "__main__":``."""
    try:
        tree = ast.parse(Path(path).read_text(), path)
    except (OSError, SyntaxError, ValueError):
        return ((0, sys.maxsize),)  # cannot tell: assume it is guarded
    return tuple((n.lineno, n.end_lineno or n.lineno) for n in ast.walk(tree)
                 if isinstance(n, ast.If) and _is_main_test(n.test))


def check_main_guard(what: str = "a pool of processes") -> None:
    """Raise :class:`MissingMainGuard` when called from the main script's top level, outside the guard."""
    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None)
    if script is None:  # an interactive session or a notebook: nothing is re-run
        return
    frame = sys._getframe(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "<module>" and frame.f_globals.get("__name__") == "__main__" \
                and code.co_filename == script:
            line = frame.f_lineno
            if not any(first <= line <= last for first, last in _guarded_lines(script)):
                raise MissingMainGuard(
                    f"{Path(script).name} line {line} starts {what} at the top level of the script; each worker "
                    'process re-runs the script, so put that code under `if __name__ == "__main__":`')
            return
        frame = frame.f_back
