"""The command line: one result line, or one clear error line and exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from montepi.checks import check_samples
from montepi.cli import main

CLI = [sys.executable, "-m", "montepi"]


def run_cli(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("samples", ["1e5", "100_000", "100000"])
def test_sample_spellings_mean_the_same(samples):
    out = run_cli("serial", "--samples", samples, "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["samples"] == 100_000
    assert set(result) >= {"samples", "inside", "pi", "stderr", "seconds", "backend", "workers"}
    assert out.stderr == ""


def test_human_line_and_json_agree_across_backends():
    seen = set()
    for backend in ("serial", "threads", "pool", "dask", "distributed"):
        workers = [] if backend == "serial" else ["--workers", "2"]
        out = run_cli(backend, "--samples", "300_001", "--json", *workers)
        assert out.returncode == 0, out.stderr
        result = json.loads(out.stdout)
        assert result["backend"] == backend
        seen.add(result["inside"])
    assert len(seen) == 1
    line = run_cli("pool", "-n", "300_001", "-w", "2")
    assert line.returncode == 0
    assert line.stdout.startswith("π ≈ ") and "pool ×2" in line.stdout


BAD = [
    (["serial", "--samples", "0"], "samples must be positive"),
    (["serial", "--samples", "-5"], "samples must be positive"),
    (["serial", "--samples", "1.5"], "samples must be a whole number"),
    (["serial", "--samples", "lots"], "samples must be a whole number such as"),
    (["serial", "--samples", "nan"], "samples must be a finite whole number"),
    (["serial", "--samples", "inf"], "samples must be a finite whole number"),
    (["serial", "--samples", "1e19"], "samples must be at most"),
    (["serial", "--samples", str(2**63)], "samples must be at most"),
    (["pool", "--workers", "0"], "workers must be positive"),
    (["pool", "--workers", "-2"], "workers must be positive"),
    (["pool", "--workers", "1000000"], "workers must be at most"),
    (["serial", "--chunk", "0"], "chunk must be positive"),
    (["serial", "--workers", "2"], "the serial backend runs on one core"),
    (["threads", "--kernel", "fortran"], "invalid choice: 'fortran'"),
    (["tpu"], "invalid choice: 'tpu'"),
    (["gpu", "--workers", "2"], "the gpu backend runs on one GPU"),
    (["serial", "--scheduler", "tcp://127.0.0.1:8786"], "belongs to the distributed backend"),
    (["serial", "--timeout", "0"], "timeout must be a positive"),
    (["distributed", "--timeout", "soon"], "timeout must be a positive"),
]


@pytest.mark.parametrize(("args", "message"), BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_input_is_one_clear_line_and_exit_2(args, message):
    out = run_cli(*args, timeout=60)
    assert out.returncode == 2
    assert message in out.stderr
    assert out.stderr.count("\n") == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert out.stdout == ""


def test_the_api_raises_the_same_messages():
    from montepi import estimate_pi

    for value, message in ((0, "samples must be positive"), (1.5, "samples must be a whole number"),
                           ("nan", "samples must be a finite"), (2**63, "samples must be at most")):
        with pytest.raises(ValueError, match=message):
            estimate_pi(value)
    with pytest.raises(TypeError, match="samples must be a whole number, got NoneType"):
        estimate_pi(None)
    with pytest.raises(TypeError, match="got bool"):
        estimate_pi(True)
    with pytest.raises(ValueError, match="workers must be positive"):
        estimate_pi(10, backend="pool", workers=0)
    with pytest.raises(ValueError, match="chunk must be positive"):
        estimate_pi(10, chunk=0)
    with pytest.raises(ValueError, match="unknown backend 'tpu'"):
        estimate_pi(10, backend="tpu")
    with pytest.raises(ValueError, match="the serial backend runs on one core"):
        estimate_pi(10, workers=2)
    with pytest.raises(ValueError, match="belongs to the distributed backend"):
        estimate_pi(10, backend="pool", scheduler="tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="start_method belongs to the pool backend"):
        estimate_pi(10, backend="dask", start_method="spawn")
    with pytest.raises(ValueError, match="timeout must be a positive"):
        estimate_pi(10, timeout=0)


def test_dry_run_says_how_long_without_running():
    out = run_cli("pool", "-n", "1e15", "-w", "2", "--dry-run", timeout=60)
    assert out.returncode == 0
    assert "will take about" in out.stderr and "1e15 darts" in out.stderr
    assert out.stdout == ""


def test_long_runs_show_progress_on_stderr():
    """A run far too long for any machine writes its rate line (every 5 s outside a terminal); we wait for it.

    Waiting for the line itself, not for a run that should outlast the interval, holds on a machine of any speed.
    The suite's per-test time limit stops the wait if the line never comes.
    """
    from support.signals import default_dispositions

    run = subprocess.Popen([*CLI, "serial", "-n", "1e14"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           preexec_fn=default_dispositions)
    seen = b""
    try:
        while not (b"% of 100T darts" in seen and b"darts/s" in seen and b"left" in seen):
            chunk = os.read(run.stderr.fileno(), 4096)
            assert chunk, f"the command ended without a rate line: {seen.decode(errors='replace')}"
            seen += chunk
    finally:
        run.terminate()
        run.communicate(timeout=60)
    assert run.returncode == 143  # stopped by SIGTERM, as documented
    quiet = run_cli("serial", "-n", "1e6", "--json", timeout=300)
    assert quiet.stderr == ""


# Arguments a learner might type, and worse.
number_text = st.one_of(
    st.integers(-(10**25), 10**25).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.from_regex(r"[+-]?[0-9_]{0,6}(\.[0-9]{0,3})?([eE][+-]?[0-9]{1,3})?", fullmatch=True),
    st.text(max_size=8),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    backend=st.sampled_from(["serial", "pool", "dask", "nope", ""]),
    samples=number_text,
    workers=st.one_of(st.none(), number_text),
    chunk=st.one_of(st.none(), number_text),
)
def test_fuzzed_arguments_exit_0_or_2_and_never_a_traceback(capsys, backend, samples, workers, chunk):
    argv = [backend, "--samples", samples]
    if workers is not None:
        argv += ["--workers", workers]
    if chunk is not None:
        argv += ["--chunk", chunk]
    try:
        big = check_samples(samples) > 200_000
    except (TypeError, ValueError):
        big = False
    if big:  # a valid, large run: ask how long it would take instead of waiting for it
        argv.append("--dry-run")
    try:
        status = main(argv)
    except SystemExit as stop:
        status = stop.code
    err = capsys.readouterr().err
    assert status in (0, 2), (argv, err)
    assert "Traceback" not in err
    if status == 2:
        assert err.count("\n") == 1, err
