"""Notebook 06's machinery: scheduler and workers by hand, Slurm jobs, dask-jobqueue, TLS, batch jobs.

The by-hand processes and TLS need no Slurm.  Tests marked ``slurm`` need
the throwaway cluster from ``./lesson slurm-up`` (conftest skips them without
it, and fails them under CI).  Every Slurm test checks afterwards that no job
is left in the queue and no dask worker process is left on the machine.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

import montepi
from montepi import tls
from montepi.lesson import slurm
from montepi.lesson.hand_cluster import HandCluster, ProcessFailed

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "notebooks" / "slurm"
N = 3_000_001  # odd, so blocks differ in size
SEED = 2017


@pytest.fixture(scope="module")
def serial() -> int:
    return montepi.estimate_pi(N, seed=SEED).inside


def _dask_worker_processes() -> list[str]:
    """Command lines of `dask worker` processes anywhere on this machine (ours: Slurm jobs, HandCluster)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            line = " ".join(proc.info["cmdline"] or ())
        except psutil.Error:
            continue
        if "distributed.cli.dask_worker" in line or "-m dask worker" in line:
            found.append(f"{proc.pid} {line[:150]}")
    return found


@pytest.fixture
def clean_slurm():
    """Before: an empty queue.  After: the queue is empty again and no worker process is left."""
    assert slurm.job_states() == {}, "the Slurm queue is not empty before the test; scancel those jobs first"
    yield
    try:
        slurm.wait_until_gone(timeout=30)
    finally:
        left = slurm.job_states()
        if left:
            slurm.scancel(list(left))
        assert left == {}, f"jobs left in the queue: {left}"
    deadline = time.monotonic() + 10
    while (workers := _dask_worker_processes()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert workers == [], f"dask worker processes left running: {workers}"


# -- by hand, without Slurm -------------------------------------------------------------------------


def test_hand_cluster_same_count_add_worker_and_stop(serial):
    from distributed import Client

    with HandCluster(workers=2) as hand:
        assert hand.scheduler_file.is_file()
        assert hand.address.startswith("tls://127.0.0.1:")
        assert hand.dashboard_link.startswith("http://127.0.0.1:")
        assert hand.commands["scheduler"].startswith("dask scheduler --host 127.0.0.1")
        tls_options = f"--tls-ca-file {hand.certificates}/ca.pem --tls-cert {hand.certificates}/cert.pem"
        assert all(tls_options in command for command in hand.commands.values())
        private = {path.relative_to(hand.folder).as_posix(): oct(path.stat().st_mode & 0o777)
                   for path in [hand.folder, *hand.folder.rglob("*")]
                   if path == hand.folder or path.parent in (hand.folder, hand.certificates, hand.folder / "scratch")}
        assert private["."] == private["tls"] == private["scratch"] == "0o700", private
        assert {private[name] for name in ("scheduler.json", "tls/ca.pem", "tls/cert.pem", "tls/key.pem",
                                           "scheduler.log", "worker-1.log")} == {"0o600"}, private
        assert any(hand.address in line for line in hand.log("scheduler", contains="Scheduler at:"))
        assert hand.log("worker-2", contains="Registered to:")
        with Client(hand.address, security=hand.security, timeout=10) as client:
            assert sorted(w["name"] for w in client.scheduler_info()["workers"].values()) == ["worker-1", "worker-2"]
            result = montepi.estimate_pi(N, seed=SEED, backend="distributed", client=client)
            assert result.inside == serial
            assert hand.add_worker() == "worker-3"
            assert len(client.nthreads()) == 3
            assert hand.workers == ["worker-1", "worker-2", "worker-3"]
        family = []
        for pid in hand.pids.values():
            top = psutil.Process(pid)
            family += [top, *top.children(recursive=True)]
        assert len(family) >= 4 + 3, "each nanny should have a worker process below it"
        folder = hand.folder
    # Context exit stopped everything: processes, their children and the folder.
    assert not folder.exists()
    assert [p.pid for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE] == []
    assert hand.workers == []
    assert "stopped" in repr(hand)
    hand.stop()  # a second stop is harmless


def test_scheduler_file_from_the_command_line(serial):
    with HandCluster(workers=2, nanny=False) as hand:
        done = subprocess.run(
            [sys.executable, "-m", "montepi", "distributed", "--samples", str(N), "--seed", str(SEED),
             "--scheduler-file", str(hand.scheduler_file), "--json"],
            capture_output=True, text=True, timeout=120,
        )
        assert done.returncode == 0, done.stderr
        answer = json.loads(done.stdout)
        assert (answer["inside"], answer["workers"]) == (serial, 2)


def test_stop_kills_a_process_that_ignores_sigterm(monkeypatch):
    from montepi.lesson import hand_cluster

    monkeypatch.setattr(hand_cluster, "GRACE", 0.5)
    hand = HandCluster(workers=1, nanny=False)
    worker = psutil.Process(hand.pids["worker-1"])
    worker.send_signal(signal.SIGSTOP)  # a stopped process cannot act on SIGTERM
    began = time.monotonic()
    hand.stop()
    assert time.monotonic() - began < 10
    assert not worker.is_running() or worker.status() == psutil.STATUS_ZOMBIE


def test_a_process_that_cannot_start_is_reported_and_cleaned_up():
    with pytest.raises(ProcessFailed, match="scheduler exited") as failure:
        HandCluster(workers=1, scheduler_args=("--no-such-option",))
    assert "no-such-option" in str(failure.value)  # the log's last lines say why
    recent = time.time() - 5
    leftovers = [p for p in Path(tempfile.gettempdir()).glob("montepi-hand-*") if p.stat().st_mtime > recent]
    assert leftovers == []


def test_negative_workers_are_refused():
    with pytest.raises(ValueError, match="0 or more"):
        HandCluster(workers=-1)


# -- TLS, without Slurm -----------------------------------------------------------------------------


def test_tls_cluster_same_count_and_the_scheduler_refuses_strangers(serial):
    """The scheduler itself turns strangers away: a plain-TCP client, and a TLS client that trusts our authority
    but shows a certificate of another; its log names both refusals, and our own client still gets the count."""
    pytest.importorskip("cryptography", reason="Security.temporary() needs the cryptography package")
    from distributed import Client
    from distributed.comm import CommClosedError
    from distributed.security import Security

    from montepi.lesson.kept_log import kept_log

    security = Security.temporary()
    cluster = montepi.local_cluster(2, protocol="tls", security=security)
    try:
        assert cluster.scheduler_address.startswith("tls://127.0.0.1:")
        own = Security.temporary()
        stranger = Security(tls_ca_file=security.tls_ca_file, tls_client_cert=own.tls_client_cert,
                            tls_client_key=own.tls_client_key)
        plain = cluster.scheduler_address.replace("tls://", "tcp://")
        with kept_log("distributed.comm") as said:
            for address, credentials in [(plain, None), (cluster.scheduler_address, stranger)]:
                with pytest.raises(CommClosedError):
                    Client(address, security=credentials, timeout=30)
            assert said.wait_for(2)
        assert [line.split("[SSL: ")[1].split("]")[0] for line in said] == \
            ["WRONG_VERSION_NUMBER", "CERTIFICATE_VERIFY_FAILED"], said
        assert all("TLS handshake failed" in line for line in said)
        with Client(cluster) as client:
            assert montepi.estimate_pi(N, seed=SEED, backend="distributed", client=client).inside == serial
    finally:
        cluster.close()


# -- Slurm --------------------------------------------------------------------------------------------


@pytest.mark.slurm
def test_sbatch_workers_same_count(serial, clean_slurm, tmp_path):

    with HandCluster(workers=0) as hand:
        env = {"VENV": sys.prefix, "SCHEDULER_FILE": hand.scheduler_file, "TMPDIR": tmp_path}
        jobs = [slurm.sbatch(SCRIPTS / "worker.sh", export=env, chdir=tmp_path) for _ in range(2)]
        try:
            slurm.wait_for_state(jobs, "RUNNING")
            with montepi.connect(scheduler_file=hand.scheduler_file, timeout=10) as client:  # certificates beside
                client.wait_for_workers(2, timeout=60)
                assert all(address.startswith("tls://") for address in client.nthreads())
                assert len(client.nthreads()) == 2
                assert montepi.estimate_pi(N, seed=SEED, backend="distributed", client=client).inside == serial
        finally:
            slurm.scancel(jobs)
            slurm.wait_until_gone(jobs)
    outputs = sorted(tmp_path.glob("dask-worker-*.out"))
    assert [p.name for p in outputs] == sorted(f"dask-worker-{j}.out" for j in jobs)
    assert {oct(p.stat().st_mode & 0o777) for p in outputs} == {"0o600"}  # slurm.sbatch passes on umask 077
    assert all("Registered to:" in p.read_text() for p in outputs)


@pytest.mark.slurm
def test_the_login_address_of_a_one_machine_slurm_is_loopback():
    # ./lesson slurm-up's node is this machine: a scheduler for its workers listens on 127.0.0.1, not beyond
    # (tests/test_several_hosts.py checks the login host's bridge address on three hosts).
    assert slurm.login_address() == "127.0.0.1"


@pytest.mark.slurm
def test_slurmcluster_same_count(serial, clean_slurm, tmp_path, monkeypatch):
    ctrl_c = signal.getsignal(signal.SIGINT)
    from dask_jobqueue import SLURMCluster  # its runner module sets Ctrl-C to sys.exit() when imported
    from distributed import Client

    signal.signal(signal.SIGINT, ctrl_c)  # later tests need Python's own KeyboardInterrupt

    monkeypatch.setenv("VENV", sys.prefix)
    cluster = SLURMCluster(
        queue="debug", cores=1, processes=1, memory="500MB", walltime="00:10:00",
        security=tls.security(tls.make_certificates(tmp_path / "tls")),  # files 0600 in a 0700 folder
        job_script_prologue=['source "$VENV/bin/activate"'], python="python",
        worker_extra_args=["--host", "127.0.0.1"],
        scheduler_options={"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0", "local_directory": str(tmp_path)},
        local_directory=str(tmp_path), log_directory=str(tmp_path),
    )
    try:
        script = cluster.job_script()
        assert "#SBATCH -p debug" in script and "--host 127.0.0.1" in script
        assert cluster.scheduler_address.startswith("tls://") and f"--tls-key {tmp_path}/tls/key.pem" in script
        with Client(cluster) as client:
            cluster.scale(2)
            client.wait_for_workers(2, timeout=90)
            assert len(slurm.job_states()) == 2
            assert montepi.estimate_pi(N, seed=SEED, backend="distributed", client=client).inside == serial
    finally:
        cluster.close()


@pytest.mark.slurm
def test_estimate_batch_job_same_count(serial, clean_slurm, tmp_path):
    job = slurm.sbatch(SCRIPTS / "estimate.sh", str(N), export={"VENV": sys.prefix}, chdir=tmp_path)
    slurm.wait_until_gone([job])
    lines = (tmp_path / f"montepi-estimate-{job}.out").read_text().splitlines()
    assert lines[0] == f"job {job}: 2 cores on localhost"
    result = json.loads(lines[-1])
    assert (result["inside"], result["samples"], result["backend"], result["workers"]) == (serial, N, "pool", 2)


@pytest.mark.slurm
def test_slurm_helpers_report_failures(clean_slurm, tmp_path):
    with pytest.raises(slurm.SlurmError, match="sbatch"):
        slurm.sbatch(tmp_path / "missing.sh")
    # A job that may not start for an hour never reaches RUNNING: the wait says so instead of hanging.
    job = slurm.sbatch(wrap="true", chdir=tmp_path, options=["--begin=now+3600", "--mem=10M"])
    try:
        with pytest.raises(slurm.SlurmError, match="not RUNNING"):
            slurm.wait_for_state([job], "RUNNING", timeout=1)
        assert slurm.job_states([job, "999999"]) == {job: "PENDING"}
    finally:
        slurm.scancel([job])
    slurm.wait_until_gone([job])
    assert slurm.job_states([job]) == {}


# -- the scripts that start and stop the throwaway Slurm ---------------------------------------------


@pytest.mark.parametrize("script", ["slurm-up.sh", "slurm-down.sh"])
def test_slurm_scripts_parse(script):
    done = subprocess.run(["bash", "-n", str(ROOT / "scripts" / script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_slurm_down_without_a_state_file_does_nothing(tmp_path):
    env = {**os.environ, "MONTEPI_SLURM_STATE": str(tmp_path / "none.state")}
    done = subprocess.run(["bash", str(ROOT / "scripts" / "slurm-down.sh")], capture_output=True, text=True,
                          env=env, timeout=30)
    assert done.returncode == 0
    assert "nothing to stop" in done.stderr


@pytest.mark.slurm
def test_slurm_up_twice_leaves_the_running_cluster_alone():
    state = Path(os.environ.get("MONTEPI_SLURM_STATE", "/run/montepi-slurm.state"))
    if not state.is_file():
        pytest.skip(f"this Slurm was not started by scripts/slurm-up.sh (no {state})")
    before = state.read_text()
    done = subprocess.run(["bash", str(ROOT / "scripts" / "slurm-up.sh")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "already running" in done.stderr
    assert state.read_text() == before
