"""What an attacker or a clumsy user can type or pass is refused in one line, quickly, never a traceback.

The command-line cases run ``python -m montepi`` in a subprocess and check
the exit status, that stderr is exactly one line, and that no traceback is
printed.  The Python API cases check the exception and that its message names
the parameter.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import montepi
from montepi import SchedulerUnreachable, connect, count_inside, darts, estimate_pi, local_cluster
from montepi.checks import check_samples, check_seed

CLI = [sys.executable, "-m", "montepi"]


def one_line(out: subprocess.CompletedProcess, status: int, *words: str) -> str:
    """Assert the run ended with ``status`` and one stderr line holding ``words``; return that line."""
    assert out.returncode == status, out.stderr
    assert "Traceback" not in out.stderr, out.stderr
    assert out.stderr.count("\n") == 1 and out.stderr.endswith("\n"), out.stderr
    for word in words:
        assert word in out.stderr, out.stderr
    return out.stderr


def cli(*args: str, timeout: float = 120, **options) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout, **options)


# -- §1: tracebacks that became one line ------------------------------------------------------------

@pytest.mark.parametrize("option", ["--samples", "--seed", "--workers", "--chunk", "--timeout", "--scheduler",
                                    "--scheduler-file"])
def test_a_lone_double_dash_as_a_value_is_refused(option):
    """argparse hands ``--samples=--`` over as ``[]`` without calling the check (3.11), or as "--" (3.13)."""
    backend = "distributed" if option.startswith(("--scheduler", "--timeout")) else "pool"
    done = cli(backend, "-n", "1000", f"{option}=--", "--dry-run")
    said = "expected a value, got '--'" if "expected a value" in done.stderr else "got '--'"
    one_line(done, 2, option, said)


@pytest.mark.parametrize("option", ["--scheduler", "--scheduler-file"])
def test_an_empty_scheduler_or_scheduler_file_is_refused_not_a_fresh_cluster(option):
    one_line(cli("distributed", "-n", "1000", option, ""), 2, option, "got ''")


def test_deeply_nested_json_is_not_a_scheduler_file(tmp_path):
    path = tmp_path / "scheduler.json"
    path.write_text("[" * 200_000)
    one_line(cli("distributed", "-n", "1000", "--scheduler-file", str(path)), 2, "is not JSON")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_is_not_a_scheduler_file(device):
    """``/dev/zero`` would be read until memory runs out."""
    one_line(cli("distributed", "-n", "1000", "--scheduler-file", device), 2, device, "not a regular file")


def test_a_scheduler_file_over_the_size_limit_is_refused(tmp_path):
    path = tmp_path / "scheduler.json"
    path.write_text('{"address": "tcp://127.0.0.1:8786", "pad": "' + "x" * (2 << 20) + '"}')
    one_line(cli("distributed", "-n", "1000", "--scheduler-file", str(path)), 2, "too big for a scheduler file")


def test_a_300_character_file_name_is_one_line(tmp_path):
    path = tmp_path / ("s" * 300 + ".json")
    line = one_line(cli("distributed", "-n", "1000", "--scheduler-file", str(path)), 2,
                    "cannot be read (File name too long)")
    assert len(line) < 400  # the name is shortened in the message


def test_a_scheduler_file_in_a_folder_that_cannot_be_entered(tmp_path):
    """Run without the capabilities that let root read anything, so the folder's mode 000 holds."""
    if shutil.which("setpriv") is None and os.environ.get("CI") != "true":
        pytest.skip("setpriv (util-linux) is missing")
    closed = tmp_path / "closed"
    closed.mkdir()
    (closed / "scheduler.json").write_text('{"address": "tcp://127.0.0.1:8786"}')
    closed.chmod(0)
    try:
        command = [*CLI, "distributed", "-n", "1000", "--scheduler-file", str(closed / "scheduler.json")]
        if os.geteuid() == 0:
            command = ["setpriv", "--inh-caps=-all", "--bounding-set=-dac_override,-dac_read_search", *command]
        out = subprocess.run(command, capture_output=True, text=True, timeout=120)
    finally:
        closed.chmod(0o700)
    one_line(out, 2, "cannot be read (Permission denied)")


@pytest.mark.parametrize("json_flag", [[], ["--json"]], ids=["sentence", "json"])
def test_a_full_disk_on_stdout_is_one_line_and_exit_1(json_flag):
    with open("/dev/full", "w") as full:
        out = subprocess.run([*CLI, "serial", "-n", "1000", *json_flag], stdout=full, stderr=subprocess.PIPE,
                             text=True, timeout=120)
    assert out.stderr == "montepi: error: could not write the result to stdout (No space left on device)\n"
    assert out.returncode == 1


@pytest.mark.parametrize("name", ["samples", "seed"])
def test_a_huge_fraction_is_refused_not_an_overflow(name):
    with pytest.raises(ValueError, match=f"{name} must be at most"):
        estimate_pi(**{"samples": 10, name: Fraction(10**400)})


def test_a_closed_client_is_named():
    from distributed import Client

    with local_cluster(1, processes=False) as cluster:
        client = Client(cluster)
        client.close()
        with pytest.raises(ValueError, match="client is closed"):
            estimate_pi(1000, backend="distributed", client=client)


# -- §2: hangs ------------------------------------------------------------------------------------

def test_a_fifo_as_scheduler_file_is_refused_at_once(tmp_path):
    """``open()`` of a FIFO blocks until a writer comes; the subprocess's timeout would catch a hang."""
    fifo = tmp_path / "scheduler.json"
    os.mkfifo(fifo)
    one_line(cli("distributed", "-n", "1000", "--scheduler-file", str(fifo), "--timeout", "3", timeout=60), 2,
             "not a regular file")
    with pytest.raises(SchedulerUnreachable, match="not a regular file"):
        estimate_pi(1000, backend="distributed", scheduler_file=fifo, timeout=3)


def test_the_timeout_bounds_a_client_whose_cluster_has_no_workers():
    from distributed import Client

    with (local_cluster(0, processes=False) as cluster, Client(cluster) as client,
          pytest.raises(montepi.cluster.NoWorkers, match=r"has no workers \(waited 2 s\)")):
        estimate_pi(1000, backend="distributed", client=client, timeout=2)


@pytest.mark.parametrize("timeout", [None, 60])
def test_an_adaptive_cluster_at_zero_workers_scales_up_for_the_work(timeout):
    """The wait for a client's first worker comes after the work is submitted, which is what makes it scale up
    (notebook 06's ``adapt(minimum=0)``); without a timeout it waits as long as that takes."""
    from distributed import Client

    with local_cluster(0, processes=False) as cluster, Client(cluster) as client:
        cluster.adapt(minimum=0, maximum=1, interval="100ms")
        assert not client.nthreads()
        result = estimate_pi(10**5, backend="distributed", client=client, timeout=timeout)
    assert result.inside == count_inside(0, 10**5, 2017)


# -- §3: the number parser is linear ------------------------------------------------------------------

def test_a_100000_character_number_is_refused_within_a_second():
    """Timed in a fresh process (imports done), so that nothing else in this session's process counts.

    Both the length bound and the expression are timed: the expression alone, on 100,000 characters,
    must also be linear (the old one backtracked quadratically: 22 s for 30,000 characters).
    """
    program = (
        "import time\n"
        "from montepi.checks import NUMBER_TEXT, check_samples\n"
        "text = '1' * 100_000 + 'x'\n"
        "began = time.perf_counter()\n"
        "try:\n"
        "    check_samples(text)\n"
        "except ValueError as error:\n"
        "    refused = 'samples must be a whole number' in str(error) and len(str(error)) < 200\n"
        "checked = time.perf_counter() - began\n"
        "began = time.perf_counter()\n"
        "matched = NUMBER_TEXT.fullmatch(text)\n"
        "print(refused, matched is None, checked, time.perf_counter() - began)\n"
    )
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300)
    refused, unmatched, checked, matched = out.stdout.split()
    assert refused == "True" and unmatched == "True", out.stderr
    assert float(checked) < 1 and float(matched) < 1, out.stdout
    one_line(cli("serial", "--samples", "1" * 100_000 + "x", "--dry-run", timeout=60), 2,
             "samples must be a whole number", "100_001 characters")


# -- §4: accepted when it should not be --------------------------------------------------------------

def test_a_negative_cluster_size_is_refused():
    with pytest.raises(ValueError, match="workers must be at least 0"):
        local_cluster(workers=-1)


def test_one_seed_rule_for_estimate_pi_count_inside_and_darts():
    for call in (lambda s: estimate_pi(10, seed=s), lambda s: count_inside(0, 10, s), lambda s: darts(10, seed=s)):
        with pytest.raises(ValueError, match="seed must be at most"):
            call(2**128)
        with pytest.raises(ValueError, match="seed must be at least 0"):
            call(-1)
        with pytest.raises(ValueError, match="seed must be a whole number"):
            call(2.5)
    assert check_seed(2**128 - 1) == 2**128 - 1
    assert count_inside(0, 1000, 2**128 - 1) == estimate_pi(1000, seed=2**128 - 1).inside


def test_fractions_keep_their_value_and_time_spans_are_not_counts():
    assert check_samples(Fraction(2**53 + 1)) == 2**53 + 1  # float() would give 2**53
    assert estimate_pi(Fraction(1000), seed=Fraction(7)).inside == count_inside(0, 1000, 7)
    with pytest.raises(ValueError, match="samples must be a whole number"):
        check_samples(Fraction(3, 2))
    for call in (lambda: estimate_pi(np.timedelta64(1000)), lambda: count_inside(0, np.timedelta64(1000), 1),
                 lambda: estimate_pi(1000, seed=np.timedelta64(3))):
        with pytest.raises(TypeError, match="must be a whole number, got timedelta64|must be an integer"):
            call()


def test_parameters_that_would_be_dropped_are_named(tmp_path):
    from distributed import Client

    with pytest.raises(ValueError, match="give scheduler or scheduler_file, not both"):
        estimate_pi(10, backend="distributed", scheduler="tcp://127.0.0.1:8786", scheduler_file=tmp_path / "s.json")
    with pytest.raises(TypeError, match="progress must be a function"):
        estimate_pi(10, progress=5)
    with (local_cluster(1, processes=False) as cluster, Client(cluster) as client,
          pytest.raises(ValueError, match="workers=5 sizes a cluster that montepi starts")):
        estimate_pi(10, backend="distributed", client=client, workers=5)
    one_line(cli("distributed", "-n", "1000", "-w", "2", "--scheduler", "tcp://127.0.0.1:8786"), 2,
             "workers=2 sizes a cluster")
    one_line(cli("distributed", "-n", "1000", "--scheduler", "tcp://127.0.0.1:8786", "--scheduler-file", "x"), 2,
             "not allowed with argument")


def _closed_port() -> int:
    with socket.socket() as probe:  # a port that was free a moment ago, and nothing listens on it
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


ADDRESSES = [
    ("tcp://127.0.0.1:99999", "has no valid port ('99999'): a TCP port is a number from 1 to 65535"),
    ("tcp://127.0.0.1:-1", "has no valid port ('-1')"),
    ("tcp://no-such-host.invalid:8786", "the host 'no-such-host.invalid' could not be resolved"),
    ("inproc://10.0.0.1/1234/1", "is an in-process address"),
    ("ucx://127.0.0.1:8786", "not ucx://"),
    ("foo://127.0.0.1:8786", "not foo://"),
    ("tcp://127.0.0.1", "has no valid port"),
]


@pytest.mark.parametrize(("address", "message"), ADDRESSES, ids=[a for a, _ in ADDRESSES])
def test_a_bad_address_says_what_is_wrong(address, message):
    with pytest.raises(SchedulerUnreachable) as caught:
        connect(address, timeout=2)
    assert message in str(caught.value)
    assert "ConnectionRefusedError" not in str(caught.value) and "does not answer as a dask" not in str(caught.value)
    one_line(cli("distributed", "-n", "1000", "--scheduler", address, "--timeout", "2"), 2, message)


def test_a_port_where_nothing_listens_says_so():
    port = _closed_port()
    with pytest.raises(SchedulerUnreachable, match=f"nothing listens on port {port} of 127.0.0.1"):
        connect(f"tcp://127.0.0.1:{port}", timeout=2)


# -- the scratch sweep ------------------------------------------------------------------------------

def test_stale_scratch_folders_of_gone_processes_are_swept(tmp_path):
    from montepi.cluster import sweep_stale_scratch

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = tmp_path / f"montepi-scratch-{gone.pid}-abc123"
    live = tmp_path / f"montepi-scratch-{os.getpid()}-def456"
    unnamed = tmp_path / "montepi-scratch-xyz"  # made before the owner's pid was in the name: whose, unknown
    for folder in (stale, live, unnamed):
        (folder / "worker-1").mkdir(parents=True)
    others = tmp_path / f"montepi-scratch-{gone.pid}-other1"
    others.mkdir()
    if os.geteuid() == 0:
        os.chown(others, 65534, 65534)  # another user's: never ours to remove
    assert sweep_stale_scratch(tmp_path) == [stale]
    assert not stale.exists() and live.exists() and unnamed.exists()
    assert others.exists() == (os.geteuid() == 0)


def test_a_new_cluster_sweeps_and_names_its_scratch_with_its_pid(tmp_path, monkeypatch):
    import tempfile

    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = tmp_path / f"montepi-scratch-{gone.pid}-left"
    stale.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with local_cluster(0, processes=False):
        assert not stale.exists()
        (mine,) = Path(tmp_path).glob("montepi-scratch-*")
        assert mine.name.startswith(f"montepi-scratch-{os.getpid()}-")
    assert not mine.exists()
