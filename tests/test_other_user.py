"""Another Unix user of the same machine cannot get into a learner's cluster, nor read its files.

127.0.0.1 is not private: every local user can open a loopback port.  Run
as root, these tests create a second user and, while the learner's cluster
runs (local, hand-started, Slurm-started), try as that user: a plain-TCP
client, a TLS client with certificates of its own, reading the scheduler
file, the certificate folder and the scratch folder.  Every try must fail,
and the cluster must still answer its owner with the same count.  The same
tries against the old default (plain TCP) must *succeed* in running code as
the learner, which shows these tests can fail.

The second user runs a venv made from /usr/bin/python3 (a venv made from a
Python under a mode-700 home, such as /root/.pyenv, cannot be run by another
user), with the same dask as ours.  Without root they skip with a reason;
under CI=true they fail instead.
"""

from __future__ import annotations

import json
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

import montepi
from montepi.lesson import slurm
from montepi.lesson.hand_cluster import HandCluster

ROOT = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
N, SEED = 200_003, 2017
#: What the second user needs, at the versions our own venv has (so that its client speaks our dask).
STRANGER_PACKAGES = ("dask", "distributed", "cryptography")

#: Run as the second user: each try prints "ran" with what it got, or "refused" with why.
STRANGER = r"""
import json, os, sys
address, scheduler_file, certificates, scratch = sys.argv[1:5]
from distributed import Client, Security
out = {}
def attempt(name, what):
    try:
        out[name] = ["ran", what()]
    except BaseException as error:
        out[name] = ["refused", f"{type(error).__name__}: {str(error)[:160]}"]
where = address.split("://", 1)[1]
def uids(client):
    return sorted(set(client.run(os.getuid).values()))
def plain():
    with Client("tcp://" + where, timeout=5) as client:
        return uids(client)
def own_certificates():
    with Client("tls://" + where, timeout=5, security=Security.temporary()) as client:
        return uids(client)
attempt("plain-TCP client", plain)
if address.startswith("tls://"):
    attempt("TLS client with certificates of its own", own_certificates)
if scheduler_file != "-":
    attempt("read the scheduler file", lambda: open(scheduler_file).read()[:40])
if certificates != "-":
    attempt("list the certificate folder", lambda: os.listdir(certificates))
    attempt("read the key", lambda: open(os.path.join(certificates, "key.pem")).read()[:40])
attempt("list the scratch folder", lambda: os.listdir(scratch))
if len(sys.argv) > 6:  # the dashboard: what another user sees there (plain HTTP), and whether it can change anything
    import urllib.error, urllib.request
    dashboard, task = sys.argv[5:7]
    def fetch(path, data=None):
        try:
            with urllib.request.urlopen(dashboard + path, data=data, timeout=20) as page:
                return [page.status, page.read().decode(errors="replace")]
        except urllib.error.HTTPError as error:
            return [error.code, ""]
    seen = {}
    seen["status page"] = fetch("/status")[0]
    code, text = fetch("/info/main/workers.html")
    seen["workers page"] = code
    seen["workers page names a worker"] = "127.0.0.1:" in text
    code, text = fetch(f"/info/task/{task}.html")
    seen["task page shows the task"] = code == 200 and task in text
    seen["logs page"] = fetch("/info/main/logs.html")[0]
    seen["retire workers (POST)"] = fetch("/api/v1/retire_workers", data=b"{}")[0]
    out["dashboard"] = seen
print(json.dumps(out))
"""


def _problem() -> str | None:
    if os.geteuid() != 0:
        return "creating a second Unix user needs root"
    for tool in ("useradd", "userdel", "runuser"):
        if not shutil.which(tool):
            return f"{tool} is not installed"
    if not Path("/usr/bin/python3").exists():
        return "/usr/bin/python3 (Debian's python3 and python3-venv) is needed for the second user's venv"
    return None


@pytest.fixture(scope="module")
def stranger():
    """``run(address, scheduler_file, certificates, scratch) -> {try: [outcome, detail]}`` as a second user."""
    reason = _problem()
    if reason:
        if IN_CI:
            pytest.fail(f"CI must run this: {reason}", pytrace=False)
        pytest.skip(reason)
    venv = _stranger_venv()
    name = f"montepi-other-{os.getpid()}"
    subprocess.run(["useradd", "--no-create-home", "--shell", "/usr/sbin/nologin", "--user-group", name],
                   check=True, capture_output=True)
    try:
        assert pwd.getpwnam(name).pw_uid != 0

        def run(address, scheduler_file="-", certificates="-", scratch="-", *dashboard) -> dict:
            done = subprocess.run(
                [shutil.which("runuser"), "-u", name, "--", str(venv / "bin" / "python"), "-c", STRANGER,
                 address, str(scheduler_file), str(certificates), str(scratch), *dashboard],
                capture_output=True, text=True, timeout=180, cwd="/",
                env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent", "DASK_CONFIG": "/nonexistent"})
            assert done.returncode == 0, done.stderr[-2000:]
            return json.loads(done.stdout.strip().splitlines()[-1])

        yield run
    finally:
        subprocess.run(["userdel", name], capture_output=True)


def _stranger_venv() -> Path:
    """A venv made from /usr/bin/python3 with our dask, distributed and cryptography, readable by anyone.

    Built once per set of versions, in /var/tmp (pip's cache makes it quick), made in a side folder and
    renamed into place so that two runs at once never see half a venv.
    """
    from importlib.metadata import version

    pins = [f"{package}=={version(package)}" for package in STRANGER_PACKAGES]
    place = Path("/var/tmp") / ("montepi-stranger-venv-" + "-".join(p.replace("==", "") for p in pins))
    if (place / "ok").exists():
        return place
    building = Path(tempfile.mkdtemp(prefix=place.name + ".", dir="/var/tmp"))
    try:
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(building)], check=True, capture_output=True)
        done = subprocess.run([str(building / "bin" / "python"), "-m", "pip", "install", "-q", *pins],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"the second user's venv: pip failed: {done.stderr[-1500:]}"
        (building / "ok").touch()
        for path in [building, *building.rglob("*")]:  # mkdtemp made it 0700: the second user must read it
            if not path.is_symlink():
                path.chmod(path.stat().st_mode | 0o055 if path.is_dir() else path.stat().st_mode | 0o044)
        try:
            building.rename(place)
        except OSError:  # another run got there first
            shutil.rmtree(building, ignore_errors=True)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    return place


@pytest.fixture
def in_system_tmp(monkeypatch):
    """The learner's folders go to /tmp, shared by everybody, as they would outside the tests.

    (The test runner's own temporary folder is private: a refusal there would prove nothing.)
    """
    monkeypatch.setattr(tempfile, "tempdir", "/tmp")


def _all_refused(tries: dict) -> None:
    ran = {name: outcome for name, outcome in tries.items() if name != "dashboard" and outcome[0] != "refused"}
    assert not ran, f"the second user got in: {ran}"
    assert "plain-TCP client" in tries and "list the scratch folder" in tries


def _same_count(client) -> None:
    assert montepi.estimate_pi(N, seed=SEED, backend="distributed", client=client).inside == \
        montepi.count_inside(0, N, SEED)


def test_local_cluster_refuses_another_user(stranger, in_system_tmp):
    from distributed import Client

    with montepi.local_cluster(2) as cluster, Client(cluster) as client:
        scratch = cluster.worker_spec[0]["options"]["local_directory"]
        assert scratch.startswith("/tmp/montepi-scratch-")
        tries = stranger(cluster.scheduler_address, scratch=scratch)
        _all_refused(tries)
        assert "TLS client with certificates of its own" in tries
        _same_count(client)


def test_hand_cluster_refuses_another_user(stranger, in_system_tmp):
    with HandCluster(workers=2, nanny=False) as hand, \
            montepi.connect(scheduler_file=hand.scheduler_file, timeout=10) as client:
        tries = stranger(hand.address, hand.scheduler_file, hand.certificates, hand.folder / "scratch")
        _all_refused(tries)
        assert len(tries) == 6, tries
        _same_count(client)


@pytest.mark.slurm
def test_slurm_workers_refuse_another_user(stranger, in_system_tmp):
    with HandCluster(workers=0) as hand:
        env = {"VENV": sys.prefix, "SCHEDULER_FILE": hand.scheduler_file, "TMPDIR": "/tmp"}
        jobs = [slurm.sbatch(ROOT / "notebooks" / "slurm" / "worker.sh", export=env, chdir=hand.folder)
                for _ in range(2)]
        try:
            slurm.wait_for_state(jobs, "RUNNING")
            with montepi.connect(scheduler_file=hand.scheduler_file, timeout=10) as client:
                client.wait_for_workers(2, timeout=90)
                worker = next(iter(client.nthreads()))
                assert worker.startswith("tls://")
                scratch = next(Path("/tmp").glob(f"dask-worker-{jobs[0]}.*"))
                assert scratch.stat().st_mode & 0o777 == 0o700
                output = hand.folder / f"dask-worker-{jobs[0]}.out"
                assert output.stat().st_mode & 0o777 == 0o600
                for address in (hand.address, worker):  # the scheduler, and a worker directly
                    tries = stranger(address, hand.scheduler_file, hand.certificates, scratch)
                    _all_refused(tries)
                _same_count(client)
        finally:
            slurm.scancel(jobs)
            slurm.wait_until_gone(jobs)


@pytest.mark.parametrize("kind", ["local", "hand"])
def test_the_old_default_let_another_user_run_code(stranger, in_system_tmp, kind):
    """Without TLS, the second user's plain client runs code as the learner: what the tests above rule out."""
    from distributed import Client

    if kind == "local":
        with montepi.local_cluster(2, security=False) as cluster, Client(cluster):
            tries = stranger(cluster.scheduler_address)
    else:
        with HandCluster(workers=1, nanny=False, tls=False) as hand:
            assert hand.certificates is None and hand.address.startswith("tcp://")
            tries = stranger(hand.address)
    outcome, uids = tries["plain-TCP client"]
    assert outcome == "ran", tries
    assert uids == [os.getuid()], f"the second user's code ran as uid {uids}, the learner's"
    assert re.fullmatch(r"\d+", str(uids[0]))


def test_what_another_user_sees_on_the_dashboard(stranger, in_system_tmp):
    """Measured, for INSTRUCTORS.md: the dashboard is plain HTTP on 127.0.0.1, so another local user can read it.

    It shows the status plots, the workers, a task's name and state, and the
    logs; it offers no way to run code or change the cluster (dask's HTTP
    API, which could retire workers, is not among the default routes).
    """
    import time

    from distributed import Client

    with montepi.local_cluster(2) as cluster, Client(cluster) as client:
        task = "learner-task-named-in-the-notebook"
        running = client.submit(time.sleep, 600, key=task)
        while task not in str(client.processing()):
            time.sleep(0.1)
        dashboard = client.dashboard_link.removesuffix("/status")
        seen = stranger(cluster.scheduler_address, "-", "-", "-", dashboard, task)
        _all_refused(seen)  # still no way in through the scheduler
        assert seen["dashboard"] == {
            "status page": 200, "workers page": 200, "workers page names a worker": True,
            "task page shows the task": True, "logs page": 200, "retire workers (POST)": 404,
        }, seen["dashboard"]
        client.cancel(running)
        assert len(client.nthreads()) == 2  # it changed nothing
        _same_count(client)
