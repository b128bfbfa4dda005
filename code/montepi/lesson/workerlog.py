"""Keep a failing worker's last words, so a notebook can show them in one line.

When a pool worker dies while unpickling its task (for example because the
task's function was defined in a notebook and the worker, started with
``spawn`` or ``forkserver``, cannot find it), the worker prints a traceback to
its own stderr and the parent only learns that a process "terminated
abruptly".  In Jupyter that traceback lands, interleaved and out of order, in
whatever cell runs next.  :func:`stderr_to` sends it to a file instead,
:func:`last_line` reads back the one line that names the cause, and
:func:`missing_attribute` keeps the part of it that every Python version
prints alike (3.12 changed how the module itself is shown).

These functions run inside worker processes, so they live in the package: a
function defined in a notebook could not be sent to such a worker.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path


def stderr_to(path: str) -> None:
    """Pool initializer: write this worker's stderr (tracebacks included) to ``path``."""
    sys.stderr = open(path, "a", buffering=1, encoding="utf-8")  # noqa: SIM115 (lives as long as the worker)


def last_line(path: str | Path) -> str:
    """The last non-empty line of ``path`` (a traceback's last line is its error), or ``""``."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return ""
    return next((line for line in reversed(lines) if line.strip()), "")


#: An unpickling failure's last line: Python 3.11–3.13 print the first form (the
#: module's repr differs between them), newer versions may print the second.
_MISSING = re.compile(
    r"(?P<error>\w+Error): (?:Can't get attribute '(?P<name>[^']+)' on <module '(?P<module>[^']+)'"
    r"|module '(?P<module2>[^']+)' has no attribute '(?P<name2>[^']+)')"
)


def missing_attribute(line: str) -> str:
    """``AttributeError: module '__main__' has no attribute 'f'`` for any version's wording of that error.

    Other lines come back unchanged.
    """
    match = _MISSING.search(line)
    if not match:
        return line
    module = match["module"] or match["module2"]
    name = match["name"] or match["name2"]
    return f"{match['error']}: module {module!r} has no attribute {name!r}"
