"""Shared test fixtures and the rules every test lives by (tests/ and the nbval notebooks alike).

* Tests that need a system tool (Slurm, Chromium) are marked ``slurm`` or
  ``browser``.  Without the tool they skip with a reason that says how to get
  it, except under CI (``CI=true``), where a missing tool is a failure: CI
  installs and starts everything, so a skip there would hide a missing piece.
  One CI stage may name markers it does not provide in ``MONTEPI_CI_WITHOUT``
  (``slurm``, ``browser``, ``chroot``, ``hosts``; the Debian 13 stage of .ci/run does):
  those skip there, saying so; every other CI stage still fails on them.
  The exceptions everywhere are ``NOT_IN_CI``: a GPU (``gpu``), CUDA's compiler
  (``nvcc``) and a C++ compiler (``cxx``), which CI machines need not have;
  those tests skip with their reason under CI too.
* No test may leave child processes or a ``dask-scratch-space`` folder behind,
  and the session may leave no multiprocessing ``pymp-*`` folder or
  ``/dev/shm/sem.mp-*`` semaphore (see ``LeftoverWatch``).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import pytest

from support.browser import chromium_problem  # tests/ is on pytest's pythonpath

ROOT = Path(__file__).resolve().parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
#: Markers a CI stage may declare it does not provide (MONTEPI_CI_WITHOUT=slurm,browser): nothing else.
MAY_BE_WITHOUT = ("slurm", "browser", "chroot", "hosts")


def slurm_problem() -> str | None:
    """Why Slurm cannot be used here, or None when a node is up (the same check as notebook 06's %%needs_slurm)."""
    from montepi.lesson.slurm import HOW_TO_GET_ONE, problem

    reason = problem()
    return f"{reason}; {HOW_TO_GET_ONE}" if reason else None


def browser_problem() -> str | None:
    """Why the browser tests cannot run here (Debian's chromium, Playwright, pytest-playwright), or None.

    The pre-flight then starts Playwright's driver once: its bundled ``node``
    needs system libraries (``libatomic.so.1``) that a minimal Debian lacks,
    and without this check pytest shows only "Connection closed while reading
    from the driver".
    """
    if importlib.util.find_spec("pytest_playwright") is None:
        return "pytest-playwright is not installed; ./lesson setup installs it"
    problem = chromium_problem()
    if problem:
        return problem
    try:
        run = subprocess.run([sys.executable, "-m", "playwright", "--version"], capture_output=True, text=True,
                             timeout=120)
    except subprocess.TimeoutExpired:
        return "Playwright's driver did not answer `playwright --version` within 120 s"
    if run.returncode != 0:
        return playwright_driver_problem(run.stdout + run.stderr)
    return None


def gpu_problem() -> str | None:
    """Why the gpu backend cannot run here (no CuPy, no GPU, no compiler), or None."""
    from montepi import kernel_cuda

    try:
        kernel_cuda.compile_kernel()
    except kernel_cuda.GpuUnavailable as error:
        return str(error)
    return None


def nvcc_problem() -> str | None:
    """Why CUDA's compiler cannot be run here, or None."""
    return None if shutil.which("nvcc") else ("nvcc (CUDA's compiler) is not on the PATH; this test needs only the "
                                               "CUDA toolkit, not a GPU")


def cxx_problem() -> str | None:
    """Why no C++ compiler can be run here, or None."""
    return None if shutil.which("g++") else "no C++ compiler (g++) on the PATH; apt-get install g++"


#: Shared libraries Playwright's driver (node) needs that a minimal Debian may lack → their Debian package.
DEBIAN_PACKAGE_OF = {"libatomic.so.1": "libatomic1", "libstdc++.so.6": "libstdc++6", "libgcc_s.so.1": "libgcc-s1"}


def playwright_driver_problem(output: str) -> str:
    """One line that says why Playwright's driver failed, naming a missing library and its package."""
    missing = re.search(r"error while loading shared libraries: ([^\s:]+)", output)
    if missing:
        library = missing.group(1)
        package = DEBIAN_PACKAGE_OF.get(library)
        fix = f"apt-get install {package}" if package else "install the package that provides it"
        return f"Playwright's driver cannot start: the system library {library} is missing ({fix})"
    last = [line for line in output.strip().splitlines() if line.strip()][-1:] or ["no output"]
    return f"Playwright's driver cannot start: {last[0].strip()[:200]}"


def chroot_problem() -> str | None:
    """Why a throwaway minimal Debian root cannot be built here, or None."""
    if os.geteuid() != 0:
        return "building a minimal Debian root (debootstrap, chroot, mount) needs root"
    if not shutil.which("debootstrap"):
        return "debootstrap is not installed (apt-get install debootstrap); CI installs it"
    return None


def hosts_problem() -> str | None:
    """Why the several-hosts cluster (./lesson cluster-up: network namespaces, Slurm, munge) cannot be made here."""
    if os.geteuid() != 0:
        return "a cluster of network namespaces (./lesson cluster-up) needs root"
    path = os.environ["PATH"] + ":/usr/sbin:/sbin"
    missing = [t for t in ("ip", "unshare", "nsenter", "slurmctld", "slurmd", "sbatch", "munged")
               if not shutil.which(t, path=path)]
    if missing:
        return f"missing {', '.join(missing)} (apt-get install iproute2 slurmctld slurmd slurm-client munge)"
    return None


REQUIREMENTS = {"slurm": slurm_problem, "browser": browser_problem, "chroot": chroot_problem, "gpu": gpu_problem,
                "nvcc": nvcc_problem, "cxx": cxx_problem, "hosts": hosts_problem}
#: Requirements that CI is not expected to meet (no CI machine has a GPU or CUDA): these skip with their
#: reason under CI=true too, instead of failing.  The GPU session runs them (scripts/gpu_check.py, BENCHMARKS.md).
NOT_IN_CI = {"gpu", "nvcc", "cxx"}


def stage_without() -> set[str]:
    """Markers this CI stage says it does not provide (MONTEPI_CI_WITHOUT); anything else is an error."""
    named = {m.strip() for m in os.environ.get("MONTEPI_CI_WITHOUT", "").split(",") if m.strip()}
    unknown = named - set(MAY_BE_WITHOUT)
    if unknown:
        raise pytest.UsageError(
            f"MONTEPI_CI_WITHOUT may name only {', '.join(MAY_BE_WITHOUT)}; not {', '.join(sorted(unknown))}"
        )
    return named


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(config, items):
    """Notebook 06 drives a real Slurm: give its nbval cells the slurm marker.  And each file runs in one piece.

    pytest groups the tests that share a parametrized session fixture (pytest-playwright's
    ``browser_name``), which split tests/test_site.py's browser tests from the rest of its file.
    With one browser there is nothing to share, so files go back to their collected order
    (a stable sort: within a file pytest's order stays).
    """
    for item in items:
        if Path(str(item.fspath)).name.startswith("06-"):
            item.add_marker(pytest.mark.slurm)
    first_seen: dict[Path, int] = {}
    for index, item in enumerate(items):
        first_seen.setdefault(item.path, index)
    yield
    items.sort(key=lambda item: first_seen.get(item.path, len(first_seen)))


_checked: dict[str, str | None] = {}


def pytest_runtest_setup(item):
    for name, problem in REQUIREMENTS.items():
        if item.get_closest_marker(name) is None:
            continue
        if name not in _checked:
            _checked[name] = problem()
        reason = _checked[name]
        if reason:
            if IN_CI and name in stage_without():
                pytest.skip(f"this CI stage does not provide {name} tests (MONTEPI_CI_WITHOUT): {reason}")
            if IN_CI and name not in NOT_IN_CI:
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


class LeftoverWatch:
    """The ``pymp-*`` folders and ``/dev/shm/sem.mp-*`` semaphores that this session made and left.

    Other test runs on the same machine make their own at the same time, so a
    before/after listing of /tmp and /dev/shm would blame theirs on us.  So:

    * the session gets its own TMPDIR, which notebook kernels and command-line
      subprocesses inherit: every ``pymp-*`` folder in it is ours;
    * a semaphore file names no owner, so a thread notes the semaphores that
      a process of this session (pytest and its descendants) has mapped, by
      inode: /proc/PID/maps shows the creator's file under the temporary name
      glibc made it with, but the inode is the one ``sem.mp-*`` still has.
      Files in /dev/shm whose inode we noted were left by us (tmpfs does not
      reuse inode numbers while the machine runs).

    pytest's own pool helpers are left out: multiprocessing removes their
    folder and semaphores when pytest exits, after this check.
    """

    def __init__(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="montepi-test-"))
        self.inodes: set[int] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="leftover-watch", daemon=True)

    def start(self) -> None:
        os.environ["TMPDIR"] = str(self.tmp)
        tempfile.tempdir = None  # gettempdir() reads TMPDIR again
        self._thread.start()

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            self.scan()

    def scan(self) -> None:
        """Note the semaphores that this process and its descendants have mapped now."""
        me = psutil.Process()
        try:
            processes = [me, *me.children(recursive=True)]
        except psutil.Error:
            return
        for process in processes:
            self.inodes.update(_semaphore_inodes(process.pid))

    def leftovers(self) -> list[str]:
        """One line per leftover, after the session (its kernels included) has ended."""
        self._stop.set()
        self._thread.join(5)
        self.scan()
        import multiprocessing.process

        mine = multiprocessing.process.current_process()._config.get("tempdir")
        own = _semaphore_inodes(os.getpid())
        folders = [p for p in sorted(self.tmp.glob("pymp-*")) if str(p) != mine]
        semaphores = []
        for path in sorted(Path("/dev/shm").glob("sem.mp-*")):
            try:
                inode = path.stat().st_ino
            except OSError:
                continue
            if inode in self.inodes and inode not in own:
                semaphores.append(path)
        return [f"{p} (a multiprocessing folder) was left behind" for p in folders] + [
            f"{s} (a multiprocessing semaphore) was left behind" for s in semaphores
        ]

    def remove(self) -> None:
        """Delete the session's TMPDIR; pytest's own pool folder goes when multiprocessing removes it at exit."""
        import multiprocessing.util

        mine = multiprocessing.process.current_process()._config.get("tempdir")
        for path in self.tmp.iterdir():
            if str(path) != mine:
                shutil.rmtree(path, ignore_errors=True) if path.is_dir() else path.unlink(missing_ok=True)
        # After multiprocessing's own clean-up at exit (priority -100) has removed its folder.
        multiprocessing.util.Finalize(None, shutil.rmtree, args=(str(self.tmp),), kwargs={"ignore_errors": True},
                                      exitpriority=-200)


def _semaphore_inodes(pid: int) -> set[int]:
    """Inodes of the /dev/shm semaphores that process ``pid`` has mapped."""
    try:
        maps = Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return set()
    return {int(inode) for inode in re.findall(r"^\S+ \S+ \S+ \S+ (\d+) +/dev/shm/sem\.", maps, re.MULTILINE)}


_watch: LeftoverWatch | None = None
#: nbval's own ``RunningKernel.stop``, before _stop_nbval_kernels_gracefully replaced it.
_NBVAL_STOP = None


def pytest_configure(config):
    global _watch
    stage_without()  # a misspelt MONTEPI_CI_WITHOUT stops the run before it starts
    _stop_nbval_kernels_gracefully()
    if _watch is None and sys.platform.startswith("linux"):
        _watch = LeftoverWatch()
        _watch.start()


def _stop_nbval_kernels_gracefully() -> None:
    """Make nbval shut its kernels down the way JupyterLab does, not kill them.

    nbval ends each notebook's kernel with ``shutdown_kernel(now=True)``, a
    SIGKILL to the kernel's process group: the kernel's forkserver and
    resource tracker die with it, and its ``pymp-*`` folder and semaphores
    stay behind.  A graceful shutdown (a shutdown request, SIGTERM and SIGKILL
    only after ``shutdown_wait_time``) lets multiprocessing clean up.
    """
    global _NBVAL_STOP
    try:
        from nbval.kernel import RunningKernel
    except ImportError:
        return
    # nbval 0.11.0's own stop: a debug line, stop_channels(), shutdown_kernel(now=True), del km.
    # tests/test_leftovers.py fails if a new nbval changes it, so that this replacement is looked at again.
    _NBVAL_STOP = _NBVAL_STOP or RunningKernel.stop

    def stop(self):
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=False)
        del self.km

    RunningKernel.stop = stop


def pytest_sessionstart(session):
    _scratch_before.update(p for p in _SESSION_SCRATCH if p.exists())


def pytest_sessionfinish(session, exitstatus):
    """After everything (notebook kernels included) has shut down, nothing may be left running."""
    deadline = time.monotonic() + 15
    while (left := _children(session_browser=True)) and time.monotonic() < deadline:
        time.sleep(0.2)
    problems = _describe_leftovers(left, [p for p in _SESSION_SCRATCH if p.exists() and p not in _scratch_before])
    if _watch is not None:
        problems += _watch.leftovers()
    if problems:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        for problem in problems:
            reporter.write_line(f"LEFTOVER: {problem}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config):
    if _watch is not None:
        _watch.remove()
