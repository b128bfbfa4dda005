"""The one way the lesson starts a local cluster: 127.0.0.1, a free dashboard port, private scratch gone on close."""

from __future__ import annotations

import logging
import tempfile

import pytest
from distributed import Client

from montepi import count_inside, estimate_pi, local_cluster


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Make tempfile put its folders in ``tmp_path``, where we can watch them."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("closing", ["with", "close()"])
def test_scratch_lives_exactly_as_long_as_the_cluster(private_tmp, closing):
    cluster = local_cluster(1, silence_logs=logging.CRITICAL)
    try:
        assert cluster.scheduler_address.startswith("tls://127.0.0.1:")  # TLS by default, no extra step below
        assert "127.0.0.1:" in cluster.dashboard_link and ":8787/" not in cluster.dashboard_link
        (scratch,) = private_tmp.glob("montepi-scratch-*")
        assert scratch.stat().st_mode & 0o777 == 0o700
        with Client(cluster) as client:
            assert estimate_pi(10**5, backend="distributed", client=client).inside == count_inside(0, 10**5, 2017)
        assert any(scratch.iterdir())  # the workers' space is in it
    finally:
        if closing == "with":
            with cluster:
                pass
        else:
            cluster.close()
    assert list(private_tmp.iterdir()) == []


def test_a_cluster_that_fails_to_start_leaves_no_scratch(private_tmp):
    with pytest.raises(RuntimeError, match="failed to start"):  # each worker rejects the unknown option
        local_cluster(1, silence_logs=logging.CRITICAL, no_such_option=True)
    assert list(private_tmp.iterdir()) == []


def test_a_closing_worker_drops_its_cut_off_heartbeat_but_a_running_one_logs_it():
    import logging
    import sys
    from types import SimpleNamespace

    from distributed.comm.core import CommClosedError
    from distributed.core import Status

    from montepi.closing import _DropWhileClosing

    def record(error):
        try:
            raise error
        except Exception:
            info = sys.exc_info()
        return logging.LogRecord("distributed.worker", logging.ERROR, __file__, 1,
                                 "Failed to communicate with scheduler during heartbeat.", None, info)

    worker = SimpleNamespace(status=Status.running)
    drop = _DropWhileClosing(worker)
    assert drop.filter(record(CommClosedError("ConnectionPool closing.")))  # running: an error worth seeing
    worker.status = Status.closing
    assert not drop.filter(record(CommClosedError("ConnectionPool closing.")))
    assert drop.filter(record(ValueError("not a connection error")))  # other errors still show


def test_the_install_gives_the_sidebar_the_lessons_cluster_without_dask_config(tmp_path):
    """Every README route ends in ``pip install -e .``, which puts the sidebar settings in {sys.prefix}/etc/dask.

    So JupyterLab's "+ NEW" starts ``montepi.local_cluster`` (127.0.0.1, no dask-scratch-space) even when
    JupyterLab is started as ``jupyter lab notebooks/``, with no DASK_CONFIG and an empty home.
    tests/test_browser.py clicks it under each route.
    """
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    shipped = Path(__file__).resolve().parents[1] / ".dask" / "lesson-labextension.yaml"
    installed = Path(sys.prefix, "etc", "dask", shipped.name)
    assert installed.exists(), f"{installed} is missing: reinstall with pip install --no-deps -e ."
    assert installed.read_text() == shipped.read_text(), f"{installed} is stale: reinstall"
    env = {name: value for name, value in os.environ.items() if not name.startswith("DASK_")}
    env["HOME"] = str(tmp_path)
    program = "import dask, json; print(json.dumps(dask.config.get('labextension.factory')))"
    out = subprocess.run([sys.executable, "-c", program], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    factory = json.loads(out.stdout)
    assert (factory["module"], factory["class"]) == ("montepi", "local_cluster"), factory
    assert factory["kwargs"]["host"] == "127.0.0.1", factory


def test_an_asynchronous_cluster_waits_for_its_workers_without_blocking_its_loop(monkeypatch):
    """``await local_cluster(asynchronous=True)``, as JupyterLab's Dask sidebar starts it, hands over every worker.

    Its scheduler runs on the caller's event loop, so the wait for the workers to register must await:
    a ``time.sleep`` there would freeze the very scheduler the workers register with (the sidebar's
    "+ NEW" then showed nothing for a minute, and CI's browser test gave up).
    """
    import asyncio
    import concurrent.futures

    import montepi.cluster

    def no_sleeping(seconds):
        raise AssertionError("local_cluster blocked its caller's event loop with time.sleep")

    monkeypatch.setattr(montepi.cluster.time, "sleep", no_sleeping)

    async def start_and_count() -> int:
        async with local_cluster(2, asynchronous=True) as cluster:
            return len(cluster.scheduler.workers)

    # A thread of its own has no running loop, whatever an earlier test (Playwright's sync API) left in this one
    with concurrent.futures.ThreadPoolExecutor(1) as thread:
        assert thread.submit(asyncio.run, start_and_count()).result() == 2


def test_workers_profile_every_100_ms_unless_told_otherwise():
    import dask

    def sampling_ms(dask_worker) -> float:
        return dask_worker.periodic_callbacks["profile"].callback_time

    with local_cluster(1) as cluster, Client(cluster) as client:
        assert set(client.run(sampling_ms).values()) == {100.0}  # dask's default would be 10
        cluster.scale(2)  # a worker added later (adapt, scale) is made the same way
        client.wait_for_workers(2, timeout=60)
        assert set(client.run(sampling_ms).values()) == {100.0}
    own = {"distributed": {"worker": {"profile": {"interval": "10ms"}}}}
    with local_cluster(1, config=own) as cluster, Client(cluster) as client:
        assert set(client.run(sampling_ms).values()) == {10.0}
    with dask.config.set({"distributed.worker.profile.interval": "20ms"}), local_cluster(1) as cluster, \
            Client(cluster) as client:
        assert set(client.run(sampling_ms).values()) == {20.0}
