"""The examples in the package's docstrings run and print what they show (``./lesson test`` runs them)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import montepi

MODULES = sorted(m.name for m in pkgutil.walk_packages(montepi.__path__, "montepi.")
                 if not m.name.endswith("__main__"))
#: Modules whose pure helpers must carry examples: a doctest here that disappears fails the run.
WITH_EXAMPLES = {"montepi.result", "montepi.lesson.amdahl"}


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed (see above)"
    if name in WITH_EXAMPLES:
        assert result.attempted > 0, f"{name} lost its examples"
