"""Several hosts for real: ``./lesson cluster-up``'s login and two compute hosts (network namespaces).

A dask scheduler on the login host, bound to the login host's bridge address and speaking TLS with
the cluster's own certificates (montepi.tls, ``tls/`` beside the scheduler file); two workers
submitted with ``sbatch`` from the login host, or by dask-jobqueue's ``SLURMCluster`` there, which
Slurm places on compute1 and compute2; the client on the login host too.  What only breaks across
hosts is checked here: the addresses bound and advertised, work done on two hosts in one run, and a
compute host whose link goes down in the middle of a run.

The module brings the cluster up (or uses one that is up, and then leaves it up), and removes what
it made afterwards, also after a failure, then checks that nothing is left: namespaces, interfaces,
daemons, files.  Marker ``hosts``: root, iproute2, Slurm and munge (conftest skips without them).
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

import montepi
from montepi import tls
from montepi.polling import poll_until

pytestmark = [pytest.mark.hosts, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
STATE = Path(os.environ.get("MONTEPI_CLUSTER_STATE", "/run/montepi-cluster.state"))
ADDRESS = {"login": "10.254.26.10", "compute1": "10.254.26.11", "compute2": "10.254.26.12"}
NAMESPACES = ("montepi-switch", "montepi-login", "montepi-compute1", "montepi-compute2")
DASK = str(Path(sys.executable).parent / "dask")
N = 20_000_001  # odd, so blocks differ in size
CHUNK = 500_000  # 41 blocks: enough for both workers, and for a fault in the middle
SEED = 2017


def run(*command: str, timeout: float = 120, check: bool = False,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL, env=env)
    if check and done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-2000:]}", pytrace=False)
    return done


def on(host: str, *command: str, **kw) -> subprocess.CompletedProcess:
    """A command on a host of the cluster (./lesson cluster-on)."""
    return run("bash", str(SCRIPTS / "cluster-on.sh"), host, *command, **kw)


def read_state() -> dict[str, str]:
    return dict(line.split("=", 1) for line in STATE.read_text().splitlines() if "=" in line)


def root_links() -> set[str]:
    """The names of this machine's own network interfaces."""
    lines = run("ip", "-o", "link", "show", check=True).stdout.splitlines()
    return {line.split(":")[1].strip().split("@")[0] for line in lines}


def leftovers(state: dict[str, str], links_before: set[str]) -> list[str]:
    """What cluster-down should have removed and did not."""
    left = [f"network namespace {ns}" for ns in run("ip", "netns", "list").stdout.split() if ns in NAMESPACES]
    left += [f"interface {link} in this machine's namespace" for link in root_links() - links_before]
    for key, value in state.items():
        if key != "DIR" and value and psutil.pid_exists(int(value)) \
                and psutil.Process(int(value)).status() != psutil.STATUS_ZOMBIE:
            left.append(f"process {value} ({key})")
    if state.get("DIR"):
        if Path(state["DIR"]).exists():
            left.append(f"folder {state['DIR']}")
        for process in psutil.process_iter(["cmdline"]):  # the daemons name their files in DIR
            if state["DIR"] in " ".join(process.info["cmdline"] or ()):
                left.append(f"process {process.pid}: {' '.join(process.info['cmdline'])[:100]}")
    if STATE.exists():
        left.append(f"state file {STATE}")
    return left


def test_a_cluster_up_that_fails_says_why_first_and_leaves_nothing():
    with open("/run/lock/montepi-cluster-test.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one test session at a time (see the cluster fixture)
        fail_a_cluster_up()


def fail_a_cluster_up():
    if STATE.exists():
        pytest.skip(f"a cluster is up already ({STATE}); this test makes and breaks its own")
    links_before = root_links()
    # No time to wait for the compute nodes: cluster-up fails after everything has been made.
    failed = subprocess.run(["bash", str(SCRIPTS / "cluster-up.sh")], capture_output=True, text=True, timeout=300,
                            stdin=subprocess.DEVNULL, env={**os.environ, "MONTEPI_CLUSTER_WAIT": "0"})
    assert failed.returncode == 1, failed.stderr
    first = failed.stderr.splitlines()[0]
    assert first.startswith("cluster-up: the compute nodes did not become idle within 0 s"), failed.stderr
    assert failed.stderr.splitlines()[-1] == "cluster-up: removing what was made (cluster-down)"
    made = re.search(r"==> (/tmp/montepi-cluster\.\w+)/log/", failed.stderr)
    assert made, failed.stderr  # the logs were shown, from the cluster's own folder
    assert leftovers({"DIR": made.group(1)}, links_before) == []


def test_where_namespaces_are_forbidden_cluster_up_says_so_in_one_line():
    # As in a container without CAP_SYS_ADMIN and CAP_NET_ADMIN.
    forbidden = run("setpriv", "--bounding-set", "-sys_admin,-net_admin", "--inh-caps", "-sys_admin,-net_admin",
                    "bash", str(SCRIPTS / "cluster-up.sh"))
    assert forbidden.returncode == 1, forbidden
    assert forbidden.stderr.startswith("cluster-up: cannot make network namespaces here ("), forbidden.stderr
    assert len(forbidden.stderr.splitlines()) == 1, forbidden.stderr


def single_host_slurm() -> dict[str, bool]:
    """The daemons of a single-host Slurm from ``./lesson slurm-up`` (shared by everyone here): alive or not."""
    state = Path(os.environ.get("MONTEPI_SLURM_STATE", "/run/montepi-slurm.state"))
    if not state.exists():
        return {}
    pids = dict(line.split("=", 1) for line in state.read_text().splitlines() if line.endswith(tuple("0123456789")))
    return {f"{key} {pid}": psutil.pid_exists(int(pid)) for key, pid in pids.items() if key.endswith("_PID") and pid}


@pytest.fixture(scope="module")
def cluster():
    """The cluster's state; made here (and removed afterwards, with a check that nothing is left) unless up."""
    # One test session at a time on this machine: the cluster's names and addresses are fixed.
    lock = open("/run/lock/montepi-cluster-test.lock", "w")  # noqa: SIM115 (closed below)
    fcntl.flock(lock, fcntl.LOCK_EX)
    links_before = root_links()
    other_slurm = single_host_slurm()
    ours = not STATE.exists()
    started = time.monotonic()
    # OMP_NUM_THREADS=1: as in any process that has run a LocalCluster (dask's nanny sets it there), which
    # once made cluster-up's nodes 1-CPU ones (nproc obeys it) and notebook 06's 2-CPU job impossible.
    up = run("bash", str(SCRIPTS / "cluster-up.sh"), timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    state = read_state() if STATE.exists() else {}
    try:
        if up.returncode != 0:
            pytest.fail(f"cluster-up failed: {up.stderr.strip()[-3000:]}", pytrace=False)
        print(f"cluster-up took {time.monotonic() - started:.1f} s (load {os.getloadavg()[0]:.1f})")
        yield state
    finally:
        try:
            if ours:
                down = run("bash", str(SCRIPTS / "cluster-down.sh"), timeout=120)
                assert down.returncode == 0, down.stderr
                left = leftovers(state, links_before)
                assert left == [], f"cluster-down left: {left}"
            assert single_host_slurm() == other_slurm, "the single-host Slurm (./lesson slurm-up) was touched"
        finally:
            lock.close()


def test_hosts_have_their_own_names_and_addresses_and_no_way_out(cluster):
    for host, address in ADDRESS.items():
        assert on(host, "hostname", check=True).stdout.strip() == host
        addresses = on(host, "ip", "-4", "-o", "addr", "show", check=True).stdout
        assert sorted(line.split()[3] for line in addresses.splitlines()) == sorted(["127.0.0.1/8", f"{address}/24"])
        routes = on(host, "ip", "route", "show", check=True).stdout
        assert routes.strip() == f"10.254.26.0/24 dev eth0 proto kernel scope link src {address}"  # no default
        assert on(host, "getent", "hosts", "login", check=True).stdout.split()[0] == ADDRESS["login"]
        # Nothing off the bridge can be reached from a host: no route (the machine's own network may
        # well answer any address, through a proxy, so a connection from here would prove nothing).
        off = on(host, "ip", "route", "get", "192.0.2.1")
        assert off.returncode != 0 and "Network is unreachable" in off.stderr, off
    # And this machine's own namespace got no interface or address of the cluster's.
    assert "10.254.26." not in run("ip", "-o", "addr", "show", check=True).stdout
    assert on("login", "sinfo", "-h", "-N", "-o", "%N %t %c", check=True).stdout.split() == \
        ["compute1", "idle", str(montepi.available_cores()), "compute2", "idle", str(montepi.available_cores())]


REPORT = """
import json, socket, subprocess
from distributed import Client, get_task_stream
import montepi

quarter = {n} // 4
done = 0
def progress(darts):
    global done
    before, done = done, done + darts
    if before < quarter <= done:
        print("QUARTER", flush=True)  # the test may now take a compute host's link down

def report(client, scheduler_pid):
    client.wait_for_workers(2, timeout=120)
    names = client.run(socket.gethostname)
    with get_task_stream(client) as stream:
        estimate = montepi.estimate_pi({n}, seed={seed}, chunk={chunk}, backend="distributed", client=client,
                                       progress=progress)
    sockets = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout.splitlines()
    print(json.dumps({{
        "inside": estimate.inside,
        "scheduler": client.scheduler.address,
        "listening": sorted(line.split()[3] for line in sockets if f"pid={{scheduler_pid}}," in line),
        "names": names,
        "worked": sorted({{task["worker"] for task in stream.data}}),
        "workers_after": sorted(client.scheduler_info()["workers"]),
    }}), flush=True)
"""

BY_FILE = REPORT + """
with montepi.connect(scheduler_file={scheduler_file!r}, timeout=30) as client:  # TLS: tls/ beside the file
    report(client, {scheduler_pid})
"""

JOBQUEUE = REPORT + """
import os, signal
from dask_jobqueue import SLURMCluster
from montepi import tls
signal.signal(signal.SIGINT, signal.default_int_handler)  # importing dask_jobqueue changed it

# --exclusive: one job per node, so the two land on different hosts.  --host: the address of the
# node's own name, as on a real cluster, where the compute nodes' network may not be the default one.
with SLURMCluster(queue="debug", cores=1, processes=1, memory="1GB", walltime="00:10:00", python={python!r},
                  security=tls.security(tls.make_certificates({folder!r} + "/tls")),
                  job_extra_directives=["--exclusive"], worker_extra_args=["--host", "$(hostname -i)"],
                  scheduler_options={{"host": {login!r}, "dashboard_address": "127.0.0.1:0"}},
                  local_directory={folder!r}, log_directory={folder!r}) as cluster:
    assert "--host $(hostname -i)" in cluster.job_script(), cluster.job_script()
    assert cluster.scheduler_address.startswith("tls://"), cluster.scheduler_address
    with Client(cluster) as client:
        cluster.scale(2)
        report(client, os.getpid())
"""


HAND = REPORT + """
import shlex, subprocess
from montepi import tls
from montepi.lesson.hand_cluster import HandCluster

# The lesson's own helper, on the login host's address; its workers come from Slurm.
with HandCluster(workers=0, host={login!r}) as hand:
    assert hand.dashboard_link.startswith("http://127.0.0.1:"), hand.dashboard_link  # for you, not the nodes
    for _ in range(2):
        subprocess.run(["sbatch", "--parsable", "--exclusive", "--chdir={folder}", "--output=worker-%j.out",
                        "--wrap", f"exec {dask} worker --scheduler-file {{hand.scheduler_file}} --nthreads 1"
                                  " --memory-limit 1GB --host $(hostname -i)"
                                  " --local-directory {folder}/scratch-$SLURM_JOB_ID "
                                  + shlex.join(tls.options(hand.certificates))], check=True, capture_output=True)
    with montepi.connect(scheduler_file=hand.scheduler_file, timeout=30) as client:
        report(client, hand.pids["scheduler"])
"""

def run_client(folder: Path, text: str, on_quarter=None) -> dict:
    """Run a client script on the login host; its last line (JSON) is the answer."""
    script = folder / "client.py"
    script.write_text(text)
    process = subprocess.Popen(["bash", str(SCRIPTS / "cluster-on.sh"), "login", sys.executable, str(script)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.strip() == "QUARTER" and on_quarter:
            on_quarter()
    err = process.stderr.read()
    assert process.wait(timeout=300) == 0, err[-3000:]
    return json.loads(lines[-1])


def leave_hosts_clean() -> None:
    """Cancel every job and check that only the cluster's own daemons and holders run on its hosts."""
    jobs = on("login", "squeue", "-h", "-o", "%i").stdout.split()
    if jobs:
        on("login", "scancel", *jobs)
    deadline = time.monotonic() + 60
    while on("login", "squeue", "-h", "-o", "%i").stdout.strip() and time.monotonic() < deadline:
        time.sleep(0.5)
    assert on("login", "squeue", "-h", "-o", "%i").stdout.strip() == "", "worker jobs left in the queue"
    state = read_state()
    ours = {int(v) for k, v in state.items() if v and k != "DIR"}
    ours |= {p.pid for p in psutil.Process(int(state["SLURMCTLD_PID"])).children()}  # its slurmscriptd
    for ns in NAMESPACES[1:]:
        deadline = time.monotonic() + 30
        while (extra := set(map(int, run("ip", "netns", "pids", ns).stdout.split())) - ours) and \
                time.monotonic() < deadline:
            time.sleep(0.2)
        assert not extra, f"processes left in {ns}: {[psutil.Process(p).cmdline() for p in extra]}"


@pytest.fixture
def dask_on_cluster(cluster, tmp_path):
    """A TLS dask scheduler on login (bound to its bridge address), one sbatch'd worker per compute host: a client."""
    scheduler_file = tmp_path / "scheduler.json"
    certificates = tls.options(tls.make_certificates(tls.beside(scheduler_file)))  # the lesson's convention
    log = open(tmp_path / "scheduler.log", "w")  # noqa: SIM115 (closed in the finally below)
    # worker-ttl: a worker that stops answering (its link down) is removed after 10 s, not 5 minutes.
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__WORKER_TTL": "10s"}
    scheduler = subprocess.Popen(
        ["bash", str(SCRIPTS / "cluster-on.sh"), "login", DASK, "scheduler", "--host", ADDRESS["login"], "--port", "0",
         "--dashboard-address", "127.0.0.1:0", "--protocol", "tls", *certificates,
         "--scheduler-file", str(scheduler_file)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, env=env)
    try:
        deadline = time.monotonic() + 120
        while not scheduler_file.exists():
            assert scheduler.poll() is None, (tmp_path / "scheduler.log").read_text()
            assert time.monotonic() < deadline, "the scheduler wrote no scheduler file within 120 s"
            time.sleep(0.2)
        for _ in range(2):
            # --exclusive: one job per node, so the two land on different hosts.  --host: the address of the
            # node's own name, as on a real cluster, where the compute nodes' network may not be the default one.
            on("login", "sbatch", "--parsable", "--exclusive", f"--chdir={tmp_path}", "--output=worker-%j.out",
               "--wrap", f"exec {DASK} worker --scheduler-file {scheduler_file} --nthreads 1 --memory-limit 1GB"
                         f" --host $(hostname -i) --local-directory {tmp_path}/scratch-$SLURM_JOB_ID "
                         + shlex.join(certificates), check=True)
        text = BY_FILE.format(n=N, seed=SEED, chunk=CHUNK, scheduler_file=str(scheduler_file),
                              scheduler_pid=scheduler.pid)
        yield lambda on_quarter=None: run_client(tmp_path, text, on_quarter)
    finally:
        run("ip", "-n", "montepi-switch", "link", "set", "compute1", "up")  # after the fault test
        try:
            if scheduler.poll() is None:
                os.killpg(scheduler.pid, signal.SIGTERM)
                try:
                    scheduler.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(scheduler.pid, signal.SIGKILL)
                    scheduler.wait(timeout=10)
            log.close()
        finally:
            leave_hosts_clean()


def check_two_hosts_worked(answer: dict) -> None:
    """The serial count; the scheduler on the login address only; work done on both compute hosts."""
    assert answer["inside"] == montepi.estimate_pi(N, seed=SEED).inside
    assert answer["scheduler"].startswith(f"tls://{ADDRESS['login']}:")  # TLS between all of them
    # The scheduler listens on the login host's bridge address, its dashboard on 127.0.0.1: nowhere else.
    where = answer["listening"]
    on_bridge = [w for w in where if w.startswith(f"{ADDRESS['login']}:")]
    on_loopback = [w for w in where if w.startswith("127.0.0.1:")]
    assert answer["scheduler"].rsplit(":", 1)[1] == on_bridge[0].rsplit(":", 1)[1], where
    assert len(on_bridge) == 1 and len(on_loopback) >= 1 and len(where) == len(on_bridge) + len(on_loopback), where
    # Both compute hosts did work in this one run, each under its own name and address.
    worked = {answer["names"][worker] for worker in answer["worked"]}
    assert worked == {"compute1", "compute2"}, answer
    for worker, name in answer["names"].items():
        assert worker.startswith(f"tls://{ADDRESS[name]}:"), answer["names"]


def test_workers_sbatched_on_both_compute_hosts_give_the_serial_count(dask_on_cluster):
    check_two_hosts_worked(dask_on_cluster())


def test_handcluster_on_the_login_address_with_sbatched_workers_gives_the_serial_count(cluster, tmp_path):
    text = HAND.format(n=N, seed=SEED, chunk=CHUNK, login=ADDRESS["login"], folder=str(tmp_path), dask=DASK)
    try:
        check_two_hosts_worked(run_client(tmp_path, text))
    finally:
        leave_hosts_clean()


def test_slurmcluster_workers_on_both_compute_hosts_give_the_serial_count(cluster, tmp_path):
    text = JOBQUEUE.format(n=N, seed=SEED, chunk=CHUNK, python=sys.executable, login=ADDRESS["login"],
                           folder=str(tmp_path))
    try:
        check_two_hosts_worked(run_client(tmp_path, text))
    finally:
        leave_hosts_clean()


def test_a_compute_host_that_drops_off_mid_run_leaves_the_count_unchanged(dask_on_cluster):
    dropped = []

    def link_down():
        run("ip", "-n", "montepi-switch", "link", "set", "compute1", "down", check=True)
        dropped.append(time.monotonic())

    answer = dask_on_cluster(on_quarter=link_down)
    assert dropped, "the run never reached a quarter"
    assert answer["inside"] == montepi.estimate_pi(N, seed=SEED).inside
    # The scheduler noticed before the run ended: only compute2's worker was left to finish it.
    assert [answer["names"].get(w) for w in answer["workers_after"]] == ["compute2"], answer


def test_a_scheduler_its_workers_cannot_reach_gives_the_client_one_line_not_a_hang(cluster, tmp_path):
    """The login host is unreachable from both compute hosts (a route that says so on each): workers started
    there never join, and the learner's command on the login host waits its --timeout, says so in one line and
    exits 2, while the workers give up by themselves (--death-timeout) instead of retrying for ever."""
    scheduler_file = tmp_path / "scheduler.json"
    certificates = tls.options(tls.make_certificates(tls.beside(scheduler_file)))
    log = open(tmp_path / "scheduler.log", "w")  # noqa: SIM115 (closed in the finally below)
    scheduler = subprocess.Popen(
        ["bash", str(SCRIPTS / "cluster-on.sh"), "login", DASK, "scheduler", "--host", ADDRESS["login"], "--port", "0",
         "--dashboard-address", "127.0.0.1:0", "--protocol", "tls", *certificates,
         "--scheduler-file", str(scheduler_file)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    workers: list[subprocess.Popen] = []
    cut = []
    try:
        assert poll_until(lambda: scheduler_file.exists() or scheduler.poll() is not None, 120) \
            and scheduler.poll() is None, (tmp_path / "scheduler.log").read_text()
        for host in ("compute1", "compute2"):
            run("ip", "-n", f"montepi-{host}", "route", "add", "unreachable", ADDRESS["login"], check=True)
            cut.append(host)
        for host in cut:  # the log goes to the worker's own file (a pipe nobody reads could fill and block it)
            with open(tmp_path / f"worker-{host}.log", "w") as worker_log:
                workers.append(subprocess.Popen(
                    ["bash", str(SCRIPTS / "cluster-on.sh"), host, DASK, "worker", "--scheduler-file",
                     str(scheduler_file), "--nthreads", "1", "--memory-limit", "1GB", "--host", ADDRESS[host],
                     "--death-timeout", "20", "--local-directory", str(tmp_path / f"scratch-{host}"), *certificates],
                    stdout=subprocess.DEVNULL, stderr=worker_log, stdin=subprocess.DEVNULL, start_new_session=True))
        done = on("login", sys.executable, "-m", "montepi", "distributed", "-n", "1e6",
                  "--scheduler-file", str(scheduler_file), "--timeout", "15", timeout=180)
        assert done.returncode == 2, done
        lines = done.stderr.strip().splitlines()
        assert lines[-1].startswith(f"montepi: error: the scheduler at tls://{ADDRESS['login']}:"), done.stderr
        assert "has no workers (waited 15 s)" in lines[-1], done.stderr
        assert all(line.startswith("montepi: ") for line in lines), done.stderr  # the waiting notice, the error
        for host, worker in zip(cut, workers):  # each gives up on its own: no retrying for ever on a compute node
            worker.wait(timeout=180)
            said = (tmp_path / f"worker-{host}.log").read_text()
            assert "Traceback" not in said, said
    finally:
        for host in cut:
            run("ip", "-n", f"montepi-{host}", "route", "del", "unreachable", ADDRESS["login"])
        for process in [*workers, scheduler]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
        log.close()
        leave_hosts_clean()


def test_notebook_06_runs_unchanged_on_the_login_host_with_workers_on_both_compute_hosts(cluster, tmp_path):
    """Notebook 06 as the learner has it, executed on the login host (as ./lesson notebooks does) against the
    three-host Slurm: its scheduler listens on the login address, its worker jobs land on both compute hosts
    (the partition schedules onto the least loaded node), and every count is the serial one."""
    import nbformat

    copy = tmp_path / "notebooks"
    shutil.copytree(ROOT / "notebooks", copy, ignore=shutil.ignore_patterns("fig", ".ipynb_checkpoints"))
    notebook = copy / "06-scaling-out.ipynb"
    try:
        done = on("login", sys.executable, str(SCRIPTS / "execute_notebooks.py"), str(notebook), timeout=540)
        assert done.returncode == 0, done.stderr[-3000:]
    finally:
        leave_hosts_clean()
    executed = nbformat.read(notebook, as_version=4)
    printed = [(cell.source, "".join(output.get("text", "") for output in cell.get("outputs", ())))
               for cell in executed.cells if cell.cell_type == "code"]  # (source, what it printed)

    def printed_by(code: str) -> str:
        (text,) = [text for source, text in printed if code in source]
        return text

    assert f"the scheduler listens on {ADDRESS['login']}" in printed_by("slurm.login_address()")
    # squeue's NODELIST: the two worker jobs of sbatch, then the two of SLURMCluster, on the two compute hosts.
    for code in ('squeue --jobs={",".join(workers)}', 'squeue --jobs={",".join(ours)}'):
        nodes = re.findall(r" dask-wor .* (\S+)\s*$", printed_by(code), re.MULTILINE)
        assert sorted(nodes) == ["compute1", "compute2"], printed_by(code)
    registered = printed_by("outputs = sorted(jobs.glob(")
    assert re.search(rf"Registered to:\s+tls://{re.escape(ADDRESS['login'])}:", registered), registered
    answers = re.findall(r"same count as serial: (\w+)", "\n".join(text for _, text in printed))
    assert len(answers) >= 5 and set(answers) == {"True"}, answers
