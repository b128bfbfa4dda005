"""A failed connection leaves an error in OpenSSL's per-thread queue: the clusters must not blame the next one.

On Python 3.13 with OpenSSL 3.5 (Debian 13) every TLS ``LocalCluster`` met this by itself (a nanny's
finished registration connection broke the cluster's own), and a killed worker could hang notebook 05.
Here the leftover error is put on the event loop's thread on purpose, so the check is the same on every
Python and OpenSSL: without ``montepi.ssl_error_queue`` the next call to the scheduler fails.
"""

from __future__ import annotations

import ctypes
import os

import pytest

import montepi
from montepi import ssl_error_queue

ERR_LIB_SYS = 2  # OpenSSL's "library" code for a failed system call; its reason is the errno


async def _leave_a_broken_pipe_error() -> int:
    """On the cluster's event-loop thread: what a connection that hit EPIPE leaves behind; the queue's first code."""
    crypto = ssl_error_queue.libcrypto()
    crypto.ERR_new()
    crypto.ERR_set_error(ctypes.c_int(ERR_LIB_SYS), ctypes.c_int(32), None)  # 32: EPIPE
    crypto.ERR_peek_error.restype = ctypes.c_ulong
    return crypto.ERR_peek_error()


@pytest.fixture(scope="module")
def cluster():
    with montepi.local_cluster(1) as started:  # installs the fix in this process and, as a preload, in the worker
        yield started


def identity_after_a_stale_error(cluster) -> str:
    assert cluster.sync(_leave_a_broken_pipe_error) != 0, "the error was not put on the queue"
    return cluster.sync(cluster.scheduler_comm.identity)["type"]


def test_a_stale_error_breaks_no_healthy_connection(cluster):
    assert identity_after_a_stale_error(cluster) == "Scheduler"
    assert identity_after_a_stale_error(cluster) == "Scheduler"  # and again, on the same pooled connection


def test_without_it_the_stale_error_is_blamed_on_the_next_read(cluster, monkeypatch):
    """The control: the same steps with tornado's own methods fail, so the test above can fail."""
    from distributed.comm.core import CommClosedError
    from tornado.iostream import SSLIOStream

    for name in ssl_error_queue.WRAPPED:
        monkeypatch.setattr(SSLIOStream, name, getattr(SSLIOStream, name).__wrapped__)
    with pytest.raises((CommClosedError, OSError)):
        identity_after_a_stale_error(cluster)
    # (If this Python clears the queue itself, CPython gh-148594 is fixed and montepi.ssl_error_queue can go.)


def _asking_whether_it_clears():
    """A function to run in a cluster's processes (nested, so that cloudpickle sends it by value)."""
    def clears() -> tuple[int, bool]:
        from tornado.iostream import SSLIOStream

        return os.getpid(), getattr(SSLIOStream.read_from_fd, "__montepi_clears_ssl_errors__", False)

    return clears


wrapped = _asking_whether_it_clears()


def test_the_workers_clear_it_too(cluster):
    from distributed import Client

    with Client(cluster) as client:
        answers = list(client.run(wrapped).values())
    assert answers and all(clears for _, clears in answers)
    assert os.getpid() not in {pid for pid, _ in answers}  # asked in the worker's own process


def test_install_wraps_once():
    from tornado.iostream import SSLIOStream

    assert ssl_error_queue.install() and ssl_error_queue.install()
    method = SSLIOStream.read_from_fd
    assert method.__montepi_clears_ssl_errors__
    assert not getattr(method.__wrapped__, "__montepi_clears_ssl_errors__", False)  # not a wrapper of a wrapper


def test_a_hand_started_scheduler_and_its_workers_clear_it_too():
    """`dask scheduler` and `dask worker` started by HandCluster (notebook 06) are processes of their own."""
    from montepi.lesson.hand_cluster import HandCluster

    with HandCluster(workers=1) as hand, montepi.connect(scheduler_file=hand.scheduler_file) as client:
        scheduler = client.run_on_scheduler(wrapped)
        workers = list(client.run(wrapped).values())
    assert scheduler[1] and workers and all(clears for _, clears in workers)
    assert os.getpid() not in {scheduler[0], *(pid for pid, _ in workers)}
