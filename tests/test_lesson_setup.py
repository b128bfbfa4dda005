"""``./lesson`` as a learner without root meets it: on a minimal Debian 12 with only python3.

A throwaway root (``debootstrap --variant=minbase bookworm`` plus python3, no
``python3-venv``, no Graphviz) and a normal user ``learner`` with a clone of
this repository.  Their first ``./lesson test`` must check everything before
changing anything: one message naming every missing piece with one command
that installs them all, exit status 1, and no ``.venv`` that a later run
would trust.  Marker ``chroot``: needs root and debootstrap.

And anywhere: an install that fails half-way removes the ``.venv`` it began.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MINIMAL_ROOT = ROOT / "scripts" / "minimal-root.sh"

pytestmark = pytest.mark.timeout(900)

#: A minimal Debian has no sudo: the learner is told to run the line as root, as it is printed.
INSTALL = "apt-get update && apt-get install -y --no-install-recommends python3-venv graphviz"
EXPECTED = (
    "lesson: missing: Python's venv module with ensurepip, Graphviz's dot. "
    f"Install them once, as root, with:  {INSTALL}  then run this again."
)


@pytest.fixture(scope="module")
def learner_root():
    """A minimal Debian 12 with python3 and a user ``learner`` who has a clone in ~/montepi."""
    work = Path(tempfile.mkdtemp(prefix="montepi-learner-", dir="/var/tmp"))
    root = work / "root"
    try:
        subprocess.run([MINIMAL_ROOT, "create", root, "bookworm", "python3"], check=True, timeout=900)
        subprocess.run(["chroot", root, "useradd", "--create-home", "learner"], check=True, timeout=60)
        home = root / "home" / "learner"
        subprocess.run(["git", "clone", "-q", ROOT, home / "montepi"], check=True, timeout=120)
        subprocess.run(["chroot", root, "chown", "-R", "learner:learner", "/home/learner/montepi"], check=True)
        yield root
    finally:
        subprocess.run([MINIMAL_ROOT, "remove", root], timeout=300)
        shutil.rmtree(work, ignore_errors=True)


def as_learner(root: Path, command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [MINIMAL_ROOT, "run", root, "--user", "learner", "/bin/bash", "-c", f"cd ~/montepi && {command}"],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.chroot
def test_the_throwaway_root_lacks_what_lesson_needs(learner_root):
    # Otherwise the next test would prove nothing.
    probe = as_learner(learner_root, "python3 -V; python3 -c 'import ensurepip' || echo no-ensurepip; "
                                     "command -v dot || echo no-dot; id -u")
    assert "Python 3.11" in probe.stdout, probe
    assert "no-ensurepip" in probe.stdout and "no-dot" in probe.stdout, probe
    assert probe.stdout.split()[-1] != "0", "the learner must not be root"


@pytest.mark.chroot
@pytest.mark.parametrize("command", ["./lesson test", "./lesson lab"])
def test_a_learner_without_root_gets_one_message(learner_root, command):
    run = as_learner(learner_root, command)
    assert run.returncode == 1, run
    assert run.stdout == "", run
    assert run.stderr.strip().splitlines() == [EXPECTED], run.stderr
    assert "Traceback" not in run.stderr
    assert not (learner_root / "home" / "learner" / "montepi" / ".venv").exists(), "a half-made .venv was left"


@pytest.mark.chroot
def test_where_there_is_sudo_the_line_uses_it(learner_root):
    fake = learner_root / "home" / "learner" / "bin"
    fake.mkdir(exist_ok=True)
    (fake / "sudo").write_text("#!/bin/sh\nexit 1\n")
    (fake / "sudo").chmod(0o755)
    run = as_learner(learner_root, "PATH=$HOME/bin:$PATH ./lesson test")
    shutil.rmtree(fake)
    assert run.returncode == 1, run
    assert "Install them once with:  sudo apt-get update && sudo apt-get install -y --no-install-recommends " \
           "python3-venv graphviz  then run this again." in run.stderr, run.stderr


@pytest.mark.chroot
def test_the_printed_line_works_pasted_as_root_without_a_terminal(learner_root):
    """Last in this file: it installs what the tests above need to be missing."""
    message = as_learner(learner_root, "./lesson test").stderr
    line = re.search(r"with:  (.*)  then run this again", message).group(1)
    assert line == INSTALL
    # As root in the minimal root's shell, stdin not a terminal (nothing to answer a prompt).
    installed = subprocess.run([MINIMAL_ROOT, "run", learner_root, "/bin/sh", "-c", line], capture_output=True,
                               text=True, stdin=subprocess.DEVNULL, timeout=600)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    probe = as_learner(learner_root, "python3 -c 'import ensurepip, venv' && command -v dot")
    assert probe.returncode == 0 and probe.stdout.strip().endswith("/dot"), probe


def test_an_install_that_fails_half_way_leaves_no_venv(tmp_path):
    venv = tmp_path / "venv"
    offline = tmp_path / "no-packages"
    offline.mkdir()
    env = {**os.environ, "MONTEPI_VENV": str(venv), "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1",
           "PIP_FIND_LINKS": str(offline)}
    run = subprocess.run([ROOT / "lesson", "setup"], env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, run
    assert f"lesson: creating {venv}" in run.stderr, run.stderr  # it got as far as the venv
    assert run.stderr.rstrip().endswith(f"lesson: removed the unfinished {venv}"), run.stderr
    assert not venv.exists()


# -- ./lesson itself: help, paths, portability --------------------------------------------------------

def lesson(*args: str, cwd: Path = ROOT, env: dict | None = None, script: Path | None = None,
           timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([script or ROOT / "lesson", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL)


def test_help_is_the_whole_comment_block_and_names_every_command():
    text = (ROOT / "lesson").read_text().splitlines()
    block = []
    for line in text[1:]:
        if not line.startswith("#"):
            break
        block.append(line[2:] if line.startswith("# ") else line[1:])
    run = lesson("help")
    assert run.returncode == 0, run
    assert run.stdout.splitlines() == block
    # Every command the script accepts is in its help.
    commands = re.findall(r"^    ([a-z][a-z|-]*)\)", "\n".join(text), re.MULTILINE)
    names = {name for group in commands for name in group.split("|") if not name.startswith("-")} - {"help"}
    assert names >= {"lab", "test", "setup", "slurm-up"}, names  # the pattern found the case
    missing = [name for name in sorted(names) if f"./lesson {name}" not in run.stdout]
    assert not missing, f"commands missing from ./lesson help: {missing}"
    unknown = lesson("no-such-command")
    assert unknown.returncode == 2 and unknown.stdout == ""
    assert unknown.stderr.splitlines() == ["lesson: unknown command 'no-such-command'", *block]


def test_lesson_works_through_symlinks_where_readlink_has_no_f(tmp_path):
    """macOS's readlink before 12.3 has no -f: a stand-in like it comes first on the PATH."""
    bin_ = tmp_path / "bin"
    bin_.mkdir()
    fake = bin_ / "readlink"
    fake.write_text('#!/bin/sh\nfor a in "$@"; do case $a in -*) echo "readlink: illegal option -- ${a#-}" >&2;'
                    ' echo "usage: readlink [-n] [file ...]" >&2; exit 1;; esac; done\nexec /bin/readlink "$@"\n')
    fake.chmod(0o755)
    assert subprocess.run(["readlink", "-f", "/"], env={"PATH": str(bin_)}, capture_output=True).returncode == 1
    # A relative symlink to an absolute one to the script, called from elsewhere.
    (tmp_path / "absolute").symlink_to(ROOT / "lesson")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "lesson").symlink_to("../absolute")
    run = lesson("test", "--collect-only", "-q", "-p", "no:cacheprovider", "tests/test_pins.py",
                 cwd=tmp_path / "elsewhere", script=tmp_path / "elsewhere" / "lesson",
                 env={"PATH": f"{bin_}:{os.environ['PATH']}", "MONTEPI_VENV": sys.prefix})
    assert run.returncode == 0, run
    assert "tests/test_pins.py::" in run.stdout, run.stdout  # it ran in the repository, where that path is


def test_an_option_value_is_not_a_path_to_run():
    """`./lesson test -k notebooks` selects by keyword among everything: the notebooks are still collected."""
    run = lesson("test", "-k", "notebooks", "--collect-only", "-q", "-p", "no:cacheprovider",
                 env={"MONTEPI_VENV": sys.prefix}, timeout=300)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr
    assert "notebooks/01-serial-pi.ipynb::" in run.stdout, run.stdout[-3000:]


# -- ./lesson lab: the learner's own copy ------------------------------------------------------------

def lesson_copy(tmp_path: Path) -> Path:
    """What ./lesson lab reads, copied: the script, its lock and metadata, notebooks/, .dask/, benchmarks/."""
    copy = tmp_path / "montepi"
    copy.mkdir()
    for name in ("lesson", "requirements.lock", "pyproject.toml"):
        shutil.copy2(ROOT / name, copy / name)
    for name in ("notebooks", ".dask", "benchmarks"):
        shutil.copytree(ROOT / name, copy / name, ignore=shutil.ignore_patterns(".ipynb_checkpoints",
                                                                                  "dask-scratch-space"))
    return copy


def stand_in_venv(tmp_path: Path) -> Path:
    """A .venv whose ``jupyter`` only reports how it was started (arguments, folder, DASK_CONFIG)."""
    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(sys.executable)
    jupyter = venv / "bin" / "jupyter"
    jupyter.write_text('#!/bin/sh\nprintf "arg %s\\n" "$@"\necho "cwd $PWD"\necho "DASK_CONFIG $DASK_CONFIG"\n')
    jupyter.chmod(0o755)
    (venv / ".montepi-installed").touch()  # newer than the copied lock: nothing to install
    return venv


def test_lab_opens_the_learners_own_copy_with_the_same_settings(tmp_path):
    copy, venv = lesson_copy(tmp_path), stand_in_venv(tmp_path)
    run = lesson("lab", "--fresh", "--debug", script=copy / "lesson", env={"MONTEPI_VENV": str(venv),
                                                                          "PORT": "8123"})
    assert run.returncode == 0, run
    args = [line[4:] for line in run.stdout.splitlines() if line.startswith("arg ")]
    mine = copy / "my-notebooks"
    assert args[:4] == ["lab", f"--notebook-dir={mine}", "--ip=127.0.0.1", "--port=8123"], args
    assert args[-1] == "--debug" and "--fresh" not in args, args  # other arguments go to JupyterLab
    assert f"DASK_CONFIG {copy / '.dask'}" in run.stdout
    assert "making your own copy of notebooks/ in my-notebooks/" in run.stderr
    # The whole lesson folder is there, at the same depth: fig/, slurm/ (still executable), ../benchmarks.
    tracked = sorted(p.relative_to(copy / "notebooks") for p in (copy / "notebooks").rglob("*") if p.is_file())
    assert sorted(p.relative_to(mine) for p in mine.rglob("*") if p.is_file()) == tracked
    assert os.access(mine / "slurm" / "estimate.sh", os.X_OK)
    assert (mine / ".." / "benchmarks").resolve() == copy / "benchmarks"
    # And git leaves it alone (the repository's own .gitignore).
    ignored = subprocess.run(["git", "check-ignore", "my-notebooks/01-serial-pi.ipynb",
                              "my-notebooks.before-20260101-120000/01-serial-pi.ipynb"], cwd=ROOT,
                             capture_output=True, text=True)
    assert ignored.returncode == 0 and len(ignored.stdout.split()) == 2, ignored


def test_lab_keeps_the_learners_edits_adds_new_notebooks_and_fresh_starts_afresh(tmp_path):
    copy, venv = lesson_copy(tmp_path), stand_in_venv(tmp_path)
    env = {"MONTEPI_VENV": str(venv)}
    mine = copy / "my-notebooks"
    assert lesson("lab", script=copy / "lesson", env=env).returncode == 0
    edited = mine / "01-serial-pi.ipynb"
    edited.write_text(edited.read_text() + "\n")  # the learner's work
    # A git pull: one notebook changed, one new one.
    changed = copy / "notebooks" / "02-threads-and-the-gil.ipynb"
    changed.write_text(changed.read_text() + "\n")
    os.utime(changed, (changed.stat().st_atime, changed.stat().st_mtime + 60))
    shutil.copy(copy / "notebooks" / "07-amdahl.ipynb", copy / "notebooks" / "08-new.ipynb")
    again = lesson("lab", script=copy / "lesson", env=env)
    assert again.returncode == 0, again
    assert edited.read_text().endswith("\n\n"), "the learner's edit was overwritten"
    assert (mine / "08-new.ipynb").read_bytes() == (copy / "notebooks" / "08-new.ipynb").read_bytes()
    assert (mine / "02-threads-and-the-gil.ipynb").read_bytes() != changed.read_bytes()  # theirs is kept...
    assert "1 file(s) in notebooks/ are newer than your copy's" in again.stderr, again.stderr  # ...and they are told
    assert "./lesson lab --fresh" in again.stderr
    fresh = lesson("lab", "--fresh", script=copy / "lesson", env=env)
    assert fresh.returncode == 0, fresh
    aside = list(copy.glob("my-notebooks.before-*"))
    assert len(aside) == 1 and (aside[0] / "01-serial-pi.ipynb").read_text().endswith("\n\n")
    assert edited.read_bytes() == (copy / "notebooks" / "01-serial-pi.ipynb").read_bytes()
    assert (mine / "02-threads-and-the-gil.ipynb").read_bytes() == changed.read_bytes()
    assert "newer" not in fresh.stderr


def test_lab_saves_into_the_copy_never_into_the_tracked_notebooks(tmp_path):
    """The real JupyterLab through ./lesson lab: a save (autosave does the same) lands in my-notebooks/."""
    import json
    import urllib.error
    import urllib.request

    import psutil
    from distributed.utils import open_port

    copy = lesson_copy(tmp_path)
    port, token = open_port("127.0.0.1"), os.urandom(8).hex()
    env = {**os.environ, "PORT": str(port), "MONTEPI_VENV": sys.prefix, "HOME": str(tmp_path / "home"),
           "JUPYTER_CONFIG_DIR": str(tmp_path / "config"), "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces")}
    (tmp_path / "home").mkdir()
    lab = subprocess.Popen([copy / "lesson", "lab", f"--IdentityProvider.token={token}", "--ServerApp.port_retries=0",
                            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
                           env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=open(tmp_path / "lab.log", "wb"), start_new_session=True)  # noqa: SIM115
    url = f"http://127.0.0.1:{port}/api/contents"

    def api(path: str = "", method: str = "GET", body: dict | None = None, auth: bool = True):
        data = json.dumps(body).encode() if body else None
        request = urllib.request.Request(f"{url}/{path}", method=method, data=data,
                                         headers={"Authorization": f"token {token}"} if auth else {})
        with urllib.request.urlopen(request, timeout=30) as answer:
            return json.load(answer)

    try:
        deadline = time.monotonic() + 300  # a minute at most on a busy machine; JupyterLab says when it has died
        while True:
            try:
                listing = api()
                break
            except OSError:
                log = (tmp_path / "lab.log").read_text()[-3000:]
                assert lab.poll() is None, f"./lesson lab ended: {log}"
                assert time.monotonic() < deadline, f"JupyterLab did not answer: {log}"
                time.sleep(0.1)
        names = {item["name"] for item in listing["content"]}
        assert {"01-serial-pi.ipynb", "fig", "slurm"} <= names, names
        with pytest.raises(urllib.error.HTTPError) as refused:
            api(auth=False)
        assert refused.value.code == 403  # the token is needed
        listening = {c.laddr.ip for c in psutil.Process(lab.pid).net_connections() if c.status == "LISTEN"}
        assert listening == {"127.0.0.1"}, listening
        notebook = api("01-serial-pi.ipynb")
        notebook["content"]["cells"][0]["source"] += "\nA learner's note."
        api("01-serial-pi.ipynb", "PUT", {"type": "notebook", "format": "json", "content": notebook["content"]})
        assert "A learner's note." in (copy / "my-notebooks" / "01-serial-pi.ipynb").read_text()
        assert (copy / "notebooks" / "01-serial-pi.ipynb").read_bytes() == (
            ROOT / "notebooks" / "01-serial-pi.ipynb").read_bytes()
    finally:
        os.killpg(lab.pid, signal.SIGTERM)
        try:
            lab.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            lab.wait(10)
