"""The suite cannot hang: every test has a time limit, and the signal tests do not depend on how it was started.

A parent that ignores SIGINT (``nohup … &``, ``cmd &`` in a script, many CI runners)
passes that on, and Python keeps it ignored: a test that sends Ctrl-C and trusts the
inherited disposition then waits forever.  Here the suite's signal tests are started
exactly that way, under ``trap '' INT``, and must pass.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Every test that sends a signal to a process it started (or to pytest itself).
SIGNAL_TESTS = [
    "tests/test_faults.py::test_ctrl_c_in_python_terminates_the_pool",
    "tests/test_faults.py::test_a_huge_run_says_how_long_before_it_starts",
    "tests/test_failure_paths.py::test_a_signal_to_the_group_stops_every_backend_in_one_line",
    "tests/test_failure_paths.py::test_a_signal_while_python_imports_gives_no_traceback",
    "tests/test_failure_paths.py::test_a_group_ctrl_c_while_the_forkserver_preloads_gives_no_traceback",
    "tests/test_failure_paths.py::test_a_group_ctrl_c_while_the_local_cluster_starts_leaves_nothing",
    "tests/test_threads_backend.py::test_ctrl_c_stops_every_thread_within_a_piece",
]
#: Of the group-signal test, SIGINT to one backend of each kind (processes, threads, a dask cluster) is enough here.
ONE_OF_EACH = "not test_a_signal_to_the_group or (SIGINT and (pool or threads or distributed))"


def pytest_in(shell_setup: str, *args: str, cwd: Path = ROOT, timeout: float) -> subprocess.CompletedProcess:
    """``python -m pytest ARGS`` started by bash after SHELL_SETUP (e.g. ``trap '' INT``)."""
    script = f'{shell_setup}; exec "$0" -m pytest -p no:cacheprovider "$@"'
    return subprocess.run(["bash", "-c", script, sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.timeout(1800)
def test_the_signal_tests_pass_when_the_suite_starts_with_sigint_ignored():
    # The premise: under `trap '' INT` a Python started by bash really has SIGINT ignored.
    probe = subprocess.run(["bash", "-c", "trap '' INT; exec \"$0\" -c 'import signal; "
                            "print(signal.getsignal(signal.SIGINT) is signal.SIG_IGN)'", sys.executable],
                           capture_output=True, text=True, timeout=60)
    assert probe.stdout.strip() == "True", probe
    run = pytest_in("trap '' INT", *SIGNAL_TESTS, "-k", ONE_OF_EACH, timeout=1500)
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else ""
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in summary and "failed" not in summary and "error" not in summary, summary
    assert "deselected" in summary  # the -k above chose some of the group-signal cases, not none


def test_every_test_has_a_time_limit(pytestconfig):
    assert pytestconfig.getini("timeout") and float(pytestconfig.getini("timeout")) > 0
    assert pytestconfig.getini("timeout_method") == "signal"  # fails the one test; the run goes on


def test_a_test_past_the_limit_fails_by_name_and_the_run_goes_on(tmp_path):
    tests = tmp_path / "test_hangs.py"
    tests.write_text(textwrap.dedent("""
        import time

        def test_that_hangs():
            time.sleep(3600)

        def test_after_it():
            pass
    """))
    # The project's settings (-c pyproject.toml), with the limit shortened so that the test runs quickly.
    run = pytest_in("true", "-c", str(ROOT / "pyproject.toml"), "--rootdir", str(tmp_path), "-o", "timeout=3",
                    str(tests), cwd=tmp_path, timeout=600)
    assert run.returncode == 1, run
    # (pytest shortens the line to the terminal width after this.)
    assert "FAILED test_hangs.py::test_that_hangs - Failed: Timeout (>3.0s)" in run.stdout, \
        run.stdout
    assert "1 failed, 1 passed" in run.stdout.splitlines()[-1], run.stdout
