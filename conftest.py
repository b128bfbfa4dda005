"""Shared test fixtures and the rules every test lives by (tests/ and the nbval notebooks alike).

* Tests that need a system tool (Slurm, Chromium) are marked ``slurm`` or
  ``browser``.  Without the tool they skip with a reason that says how to get
  it, except under CI (``CI=true``), where a missing tool is a failure: CI
  installs and starts everything, so a skip there would hide a missing piece.
* No test may leave child processes or a ``dask-scratch-space`` folder behind.
"""

from __future__ import annotations

import importlib.util
import os
import time
from pathlib import Path

import psutil
import pytest

from support.browser import chromium_problem  # tests/ is on pytest's pythonpath

ROOT = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def slurm_problem() -> str | None:
    """Why Slurm cannot be used here, or None when a node is up (the same check as notebook 06's %%needs_slurm)."""
    from montepi.lesson.slurm import HOW_TO_GET_ONE, problem

    reason = problem()
    return f"{reason}; {HOW_TO_GET_ONE}" if reason else None


def browser_problem() -> str | None:
    """Why the browser tests cannot run here (Debian's chromium, Playwright, pytest-playwright), or None."""
    if importlib.util.find_spec("pytest_playwright") is None:
        return "pytest-playwright is not installed; ./lesson setup installs it"
    return chromium_problem()


REQUIREMENTS = {"slurm": slurm_problem, "browser": browser_problem}


def pytest_collection_modifyitems(config, items):
    """Notebook 06 drives a real Slurm: give its nbval cells the slurm marker."""
    for item in items:
        if Path(str(item.fspath)).name.startswith("06-"):
            item.add_marker(pytest.mark.slurm)


_checked: dict[str, str | None] = {}


def pytest_runtest_setup(item):
    for name, problem in REQUIREMENTS.items():
        if item.get_closest_marker(name) is None:
            continue
        if name not in _checked:
            _checked[name] = problem()
        reason = _checked[name]
        if reason:
            if IN_CI:
                pytest.fail(f"CI must provide this: {reason}", pytrace=False)
            pytest.skip(reason)


#: Helpers that multiprocessing keeps for the life of the parent by design:
#: they are reused by the next pool and end when Python exits.
SINGLETONS = ("multiprocessing.forkserver", "multiprocessing.resource_tracker")


#: pytest-playwright keeps one browser for the whole session (its ``browser`` fixture) and Chromium starts helper
#: processes under it while a test runs.  They belong to the session: pytest_sessionfinish checks them.
SESSION_BROWSER = "playwright/driver/"


def _children(*, session_browser: bool = False) -> set[int]:
    """Our live descendants, less multiprocessing's singletons (and, unless asked, the session's browser)."""
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if child.status() == psutil.STATUS_ZOMBIE:
                continue
            if any(s in " ".join(child.cmdline()) for s in SINGLETONS):
                continue
            if not session_browser and any(SESSION_BROWSER in " ".join(p.cmdline()) for p in [child, *child.parents()]):
                continue
        except psutil.Error:
            continue
        found.add(child.pid)
    return found


@pytest.fixture(autouse=True)
def no_leftovers(request):
    """Fail a test that leaves child processes or dask-scratch-space behind."""
    before = _children()
    scratch = [Path.cwd() / "dask-scratch-space", ROOT / "dask-scratch-space",
               ROOT / "notebooks" / "dask-scratch-space"]
    existed = {p for p in scratch if p.exists()}
    yield
    deadline = time.monotonic() + 10  # processes get a moment to exit after close()
    while (new := _children() - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    problems = _describe_leftovers(new, [p for p in scratch if p.exists() and p not in existed])
    if problems:
        pytest.fail(" and ".join(problems), pytrace=False)


def _describe_leftovers(pids: set[int], folders: list[Path]) -> list[str]:
    """One line per process still running and per folder left behind."""
    problems = []
    for pid in sorted(pids):
        try:
            problems.append(f"process {pid} still running: {' '.join(psutil.Process(pid).cmdline())[:120]}")
        except psutil.Error:  # it ended after all
            continue
    return problems + [f"{p} was left behind" for p in folders]


_SESSION_SCRATCH = (ROOT / "dask-scratch-space", ROOT / "notebooks" / "dask-scratch-space")
_scratch_before: set[Path] = set()


def pytest_sessionstart(session):
    _scratch_before.update(p for p in _SESSION_SCRATCH if p.exists())


def pytest_sessionfinish(session, exitstatus):
    """After everything (notebook kernels included) has shut down, nothing may be left running."""
    deadline = time.monotonic() + 15
    while (left := _children(session_browser=True)) and time.monotonic() < deadline:
        time.sleep(0.2)
    problems = _describe_leftovers(left, [p for p in _SESSION_SCRATCH if p.exists() and p not in _scratch_before])
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        for problem in problems:
            reporter.write_line(f"LEFTOVER: {problem}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
