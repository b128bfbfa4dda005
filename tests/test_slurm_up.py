"""``./lesson slurm-up`` where it used to fail for no good reason, or to bury the reason under 60 log lines.

Each case runs the real script, as root, in a sandbox of its own (tests/support/slurm-sandbox.sh:
its own PID and network namespaces, private /run, /etc/slurm and munge state), so that a Slurm
already running on this machine (a shared development machine has one) is neither seen nor touched.
Marker ``chroot``: needs root (and, here, unshare and Debian's Slurm and munge packages).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SANDBOX = ROOT / "tests" / "support" / "slurm-sandbox.sh"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

pytestmark = pytest.mark.chroot


@pytest.fixture(autouse=True)
def slurm_packages():
    missing = [t for t in ("slurmd", "slurmctld", "munged", "unshare")
               if not shutil.which(t, path=os.environ["PATH"] + ":/usr/sbin:/sbin")]
    if missing:
        reason = f"missing {', '.join(missing)} (apt-get install slurmctld slurmd slurm-client munge)"
        if IN_CI:
            pytest.fail(f"CI must provide this: {reason}", pytrace=False)
        pytest.skip(reason)


def in_sandbox(script: str, *options: str) -> subprocess.CompletedProcess:
    return subprocess.run([SANDBOX, *options, "bash", "-c", script], cwd=ROOT, capture_output=True, text=True,
                          timeout=300, stdin=subprocess.DEVNULL)


def test_without_a_cgroup_filesystem_slurm_still_comes_up():
    run = in_sandbox("""
        grep -c ' /sys/fs/cgroup' /proc/mounts || true   # the premise: 0
        MONTEPI_SLURM_WAIT=120 ./lesson slurm-up || exit 1
        srun -N1 -t 1 echo a job ran
        ./lesson slurm-down
        ls /etc/slurm | wc -l                             # what slurm-up wrote is gone: 0
    """, "--no-cgroup")
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.split("\n")[0] == "0", run.stdout  # no cgroup filesystem there
    assert "a job ran" in run.stdout, run
    assert run.stdout.split()[-1] == "0", run.stdout
    first = run.stderr.splitlines()[0]
    assert first.startswith("slurm-up: no cgroup filesystem on /sys/fs/cgroup") and "CgroupPlugin=" in first, \
        run.stderr


def test_a_port_in_use_is_the_one_line_and_nothing_is_started():
    run = in_sandbox("""
        python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 6817)); s.listen(); print("listening", flush=True); time.sleep(300)' &
        until ss -Hltn 'sport = :6817' | grep -q .; do sleep 0.1; done
        ./lesson slurm-up
        echo "status $?"
        ls /etc/slurm | wc -l
    """)
    assert "status 1" in run.stdout, run
    assert run.stderr.splitlines() == [run.stderr.splitlines()[0]], run.stderr  # one line
    assert run.stderr.startswith("slurm-up: port 6817, which slurmctld needs, is already in use by pid "), run.stderr
    assert "(python3)" in run.stderr
    assert run.stdout.split()[-1] == "0", "slurm-up wrote a configuration before it failed"


def test_munge_that_does_not_start_is_said_first():
    # A key that munged refuses (owned by root, readable by all): munged exits at once.
    run = in_sandbox("""
        mount -t tmpfs insecure /etc/munge
        head -c 1024 /dev/urandom > /etc/munge/munge.key
        chmod 644 /etc/munge/munge.key
        ./lesson slurm-up
        echo "status $?"
        ls /etc/slurm | wc -l
        ls /run/montepi-slurm.state 2>/dev/null | wc -l
    """)
    assert "status 1" in run.stdout, run
    first = run.stderr.splitlines()[0]
    assert first.startswith("slurm-up: munge, which authenticates every Slurm message, did not start: "), run.stderr
    assert "Keyfile is insecure" in first, first
    assert run.stdout.split()[-2:] == ["0", "0"], "slurm-up left its configuration or state behind"
