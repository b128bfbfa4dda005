"""TLS certificates for hand-started clusters, and how connect() and the CLI find them or say they are missing."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

import montepi
from montepi import tls
from montepi.cluster import SchedulerUnreachable, connect
from montepi.lesson.hand_cluster import HandCluster

CLI = [sys.executable, "-m", "montepi"]


def test_certificates_are_private_from_the_start(tmp_path):
    folder = tls.make_certificates(tmp_path / "a" / "tls")
    assert folder.stat().st_mode & 0o777 == 0o700
    assert {p.name: p.stat().st_mode & 0o777 for p in folder.iterdir()} == {
        "ca.pem": 0o600, "cert.pem": 0o600, "key.pem": 0o600}
    assert "PRIVATE KEY" in (folder / "key.pem").read_text()
    with pytest.raises(FileExistsError, match="already holds certificates .* remove that folder or choose another"):
        # never overwrites a cluster's certificates
        tls.make_certificates(folder)


def test_security_names_the_missing_file(tmp_path):
    (tmp_path / "ca.pem").write_text("x")
    (tmp_path / "cert.pem").write_text("x")
    with pytest.raises(tls.CertificatesMissing, match="key.pem' cannot be read"):
        tls.security(tmp_path)
    with pytest.raises(tls.CertificatesMissing, match="--tls-cert, --tls-key not given"):
        tls.security(ca_file=tmp_path / "ca.pem")


@pytest.fixture(scope="module")
def hand():
    with HandCluster(workers=1, nanny=False) as cluster:
        yield cluster


def test_connect_takes_the_certificates_beside_the_scheduler_file(hand):
    assert hand.address.startswith("tls://")
    with connect(scheduler_file=hand.scheduler_file, timeout=10) as client:
        assert montepi.estimate_pi(10**5, backend="distributed", client=client).inside == \
            montepi.count_inside(0, 10**5, 2017)


def test_connect_refuses_what_would_not_work_in_one_line(hand, tmp_path):
    with pytest.raises(tls.CertificatesMissing, match="speaks TLS: give its certificates"):
        connect(hand.address, timeout=5)
    with pytest.raises(SchedulerUnreachable, match="refused our TLS certificates"):
        connect(hand.address, timeout=5, security=tls.security(tls.make_certificates(tmp_path / "tls")))
    with pytest.raises(SchedulerUnreachable, match="has a tls:// address"):
        connect(hand.address.replace("tls://", "tcp://"), timeout=5)
    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(hand.scheduler_file, alone)
    with pytest.raises(tls.CertificatesMissing, match="no certificate folder .*alone/tls"):
        connect(scheduler_file=alone / "scheduler.json", timeout=5)


def test_cli_with_tls_options_and_without(hand):
    run = lambda *args: subprocess.run([*CLI, "distributed", "-n", "1e5", "-q", "--json", *args],  # noqa: E731
                                       capture_output=True, text=True, timeout=120)
    given = run("--scheduler", hand.address, *tls.options(hand.certificates))
    assert given.returncode == 0, given.stderr
    missing = run("--scheduler", hand.address)
    assert missing.returncode == 2 and missing.stdout == ""
    assert missing.stderr.count("\n") == 1 and "--tls-ca-file" in missing.stderr
    alone = run("--tls-ca-file", str(hand.certificates / "ca.pem"))
    assert alone.returncode == 2 and "go with --scheduler" in alone.stderr


def test_benchmark_row_tls_over_plain_tcp():
    from montepi.bench.measure import tls_vs_tcp
    from montepi.bench.report import TARGETS, tls_row

    found = tls_vs_tcp(10**5, 1, 1)  # both clusters count right, or it raises
    assert found["ratio"] == pytest.approx(found["tcp_s"] / found["tls_s"])
    assert found["load_average"][0] is None or len(found["load_average"][0]) == 3
    # CPU clocks tick in 10 ms, so a tiny run's TLS CPU time may read 0: then there is no ratio, and no note
    if found["tls_cpu_s"] > 0:
        assert found["cpu_ratio"] == pytest.approx(found["tcp_cpu_s"] / found["tls_cpu_s"])
    else:
        assert "cpu_ratio" not in found
    name, value, target, higher, shown, note = tls_row(found)
    assert note == (f"per CPU-second of the cluster: {found['cpu_ratio']:.3f}" if "cpu_ratio" in found else "")
    assert name.startswith("distributed, TLS ÷ plain TCP darts/s, ×1, N = 1e5")
    assert (value, target, higher) == (found["ratio"], TARGETS["tls_over_tcp"], True)


def test_the_tls_row_notes_the_cpu_ratio_only_when_there_is_one():
    from montepi.bench.report import tls_row

    measured = {"workers": 2, "samples": 10**6, "ratio": 0.9, "tls_cpu_s": 0.5, "tcp_cpu_s": 0.4, "cpu_ratio": 0.8}
    assert tls_row(measured)[-1] == "per CPU-second of the cluster: 0.800"
    too_short = {key: value for key, value in measured.items() if key != "cpu_ratio"} | {"tls_cpu_s": 0.0}
    assert tls_row(too_short)[-1] == ""
