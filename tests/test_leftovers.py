"""Nothing of multiprocessing is left behind: no ``pymp-*`` folder, no ``sem.mp-*`` semaphore.

1. The session's own check (conftest.py, ``LeftoverWatch``) sees them: a
   pytest run whose test kills a pool's process group reports both and fails.
2. A Jupyter kernel that ran a pool shuts down by itself, quickly, and
   leaves neither (montepi stops its forkserver and resource tracker first).
3. The browser pre-flight names a missing system library, and
   ``./lesson test PATH`` runs only that path.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: A child that starts a forkserver pool and holds a named semaphore, then waits to be killed.
POOL_CHILD = """
import multiprocessing, time
from montepi.backends import pool_context
context = pool_context("forkserver")
with context.Pool(1) as pool:
    pool.map(abs, [1])
lock = context.Lock()   # a /dev/shm/sem.mp-* semaphore, registered with the resource tracker
print("ready", flush=True)
time.sleep(60)
"""


def test_session_reports_the_pool_leftovers_it_made(tmp_path):
    # A session whose test SIGKILLs a pool user's whole process group, as nbval does to a kernel:
    # the forkserver and the resource tracker die too, so nothing cleans up.
    (tmp_path / "test_leak.py").write_text(
        textwrap.dedent(
            f"""
            import os, signal, subprocess, sys, time
            import conftest

            def test_leak():
                child = subprocess.Popen([sys.executable, "-c", {POOL_CHILD!r}], stdout=subprocess.PIPE,
                                         start_new_session=True, text=True)
                assert child.stdout.readline().strip() == "ready"
                held = conftest._semaphore_inodes(child.pid)
                assert held, "the child holds no semaphore: this test would prove nothing"
                deadline = time.monotonic() + 120
                while not held <= conftest._watch.inodes:  # until the session's watch has noted them
                    assert time.monotonic() < deadline, "the session's watch never noted the semaphores"
                    time.sleep(0.1)
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
            """
        )
    )
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "conftest", "-p", "no:cacheprovider", "-q", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "tests")])},
        capture_output=True,
        text=True,
        timeout=180,
    )
    folders = re.findall(r"LEFTOVER: (\S+/pymp-\w+) \(a multiprocessing folder\)", run.stdout)
    semaphores = re.findall(r"LEFTOVER: (/dev/shm/sem\.mp-[\w-]+) \(a multiprocessing semaphore\)", run.stdout)
    for name in semaphores:  # this test's own leak: clean it up
        Path(name).unlink(missing_ok=True)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "1 passed" in run.stdout, run.stdout
    assert len(folders) == 1, run.stdout
    assert semaphores, run.stdout
    assert not Path(folders[0]).exists(), "the session's TMPDIR (with the folder) is removed afterwards"


def test_a_kernel_that_ran_a_pool_shuts_down_cleanly():
    """With ``%load_ext montepi`` (the notebooks' first cell) a kernel that ran a pool exits by itself, leaving nothing.

    Without it the kernel waits for the resource tracker, which ignores SIGTERM, until
    Jupyter kills the kernel, and its /tmp/pymp-* folder stays (montepi.jupyter_exit).
    """
    from jupyter_client.manager import start_new_kernel

    # Short: the forkserver's socket path inside must stay under 108 characters.
    tmp_path = Path(tempfile.mkdtemp(prefix="k-"))
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    km, kc = start_new_kernel(kernel_name="python3", env=env, cwd=str(tmp_path))
    process = km.provisioner.process
    try:
        reply = kc.execute_interactive(
            "%load_ext montepi\nfrom montepi import estimate_pi\nestimate_pi(10**6, backend='pool', workers=2).inside",
            timeout=120)
        assert reply["content"]["status"] == "ok", reply["content"]
        assert list(tmp_path.glob("pymp-*")), "the pool did not start a forkserver: this test proves nothing"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=False)  # as JupyterLab does: a request, SIGTERM after 2.5 s, SIGKILL after 5 s
    code = process.wait(10)
    assert code == 0, f"the kernel ended with {code}, not by itself"
    assert not list(tmp_path.glob("pymp-*")), "the kernel left its multiprocessing folder"
    # Its semaphores: the session's own check (the kernel is one of its processes) fails the run if any is left.
    shutil.rmtree(tmp_path)


def test_nbval_still_stops_kernels_the_way_conftest_works_around():
    """conftest replaces nbval's RunningKernel.stop, whose SIGKILL leaves pymp-* folders; this is what it replaces.

    If a new nbval stops its kernels differently, this fails: look at the replacement again (and drop it if
    nbval now shuts kernels down gracefully).
    """
    import ast
    import inspect

    import conftest

    assert conftest._NBVAL_STOP is not None, "conftest did not find nbval's RunningKernel.stop"
    body = ast.parse(textwrap.dedent(inspect.getsource(conftest._NBVAL_STOP))).body[0].body
    steps = [ast.unparse(node) for node in body if not isinstance(node, ast.Expr)
             or not isinstance(node.value, ast.Constant)]
    assert steps == ["logger.debug('Stopping kernel')", "self.kc.stop_channels()",
                     "self.km.shutdown_kernel(now=True)", "del self.km"], steps


def test_importing_montepi_in_a_kernel_changes_nothing_until_load_ext():
    """``import montepi`` must not patch ipykernel; ``%load_ext montepi`` is the explicit step that does."""
    from jupyter_client.manager import start_new_kernel

    from montepi.jupyter_exit import _MARK

    km, kc = start_new_kernel(kernel_name="python3")
    try:
        def marked(before: str) -> str:
            reply = kc.execute_interactive(f"{before}\nprint(hasattr(get_ipython().kernel, {_MARK!r}))",
                                           timeout=60, output_hook=outputs.append)
            assert reply["content"]["status"] == "ok", reply["content"]
            return "".join(o["content"].get("text", "") for o in outputs if o["msg_type"] == "stream").strip()

        outputs: list = []
        assert marked("import montepi, montepi.lesson") == "False"
        outputs.clear()
        assert marked("%load_ext montepi") == "True"
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        (
            "/x/playwright/driver/node: error while loading shared libraries: libatomic.so.1: "
            "cannot open shared object file: No such file or directory\n",
            "the system library libatomic.so.1 is missing (apt-get install libatomic1)",
        ),
        (
            "node: error while loading shared libraries: libfoo.so.3: cannot open shared object file\n",
            "the system library libfoo.so.3 is missing (install the package that provides it)",
        ),
        ("Error: something else broke\n\n", "Playwright's driver cannot start: Error: something else broke"),
    ],
)
def test_browser_preflight_names_what_is_missing(output, expected):
    from conftest import playwright_driver_problem

    assert expected in playwright_driver_problem(output)


def test_lesson_test_runs_only_the_paths_named():
    if not (Path(sys.prefix) / ".montepi-installed").exists():
        pytest.skip("these tests do not run in an environment ./lesson set up; it would install into it")
    run = subprocess.run(
        ["./lesson", "test", "tests/test_pins.py", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env={**os.environ, "MONTEPI_VENV": sys.prefix},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    collected = [line for line in run.stdout.splitlines() if "::" in line]
    assert collected, run.stdout
    assert all(line.startswith("tests/test_pins.py::") for line in collected), run.stdout
