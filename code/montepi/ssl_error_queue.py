"""Clear OpenSSL's error queue before each TLS read, write and handshake of dask's connections.

Why: OpenSSL keeps one error queue per thread, and ``SSL_get_error`` reports
whatever it finds there, so an error left by one connection is blamed on the
next connection read or written in that thread.  CPython's ``ssl`` does not
clear the queue before each read and write (CPython issue gh-148594; OpenSSL
documents that the caller must).  Since Python 3.13.2 turns such a leftover
system error into ``OSError`` (gh-127257) and OpenSSL 3.4+ reports more errors
that way, on Python 3.13 with OpenSSL 3.5 (Debian 13) a connection that ended
in a cluster's process broke its healthy ones with "Broken pipe": a plain
``LocalCluster(security=True)`` failed its first call to the scheduler after
the workers registered, every time, and a killed worker could hang the client.

dask's TLS connections are tornado ``SSLIOStream`` objects (one event-loop
thread), so :func:`install` wraps that class's reads, writes and handshake
with OpenSSL's own ``ERR_clear_error``, found in the library that Python's
``_ssl`` module uses.  It changes nothing until it is called: the lesson's
clusters call it in their own process and, as a worker preload
(``preload=["montepi.ssl_error_queue"]``, :func:`dask_setup`), in each worker.
"""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Callable

#: The ``SSLIOStream`` methods that end in ``SSL_read``, ``SSL_write`` or ``SSL_do_handshake``.
WRAPPED = ("read_from_fd", "write_to_fd", "_do_ssl_handshake")


@functools.cache
def libcrypto() -> ctypes.CDLL | None:
    """The OpenSSL library that Python's ``_ssl`` module is linked with, or None where it cannot be opened."""
    import _ssl

    try:
        # dlsym on the extension module's handle also searches the libraries it was linked with.
        return ctypes.CDLL(getattr(_ssl, "__file__", None))
    except OSError:  # no shared _ssl to look into
        return None


def _err_clear_error() -> Callable[[], None] | None:
    """OpenSSL's ``ERR_clear_error`` from :func:`libcrypto`, or None."""
    function = getattr(libcrypto(), "ERR_clear_error", None)
    if function is not None:
        function.argtypes, function.restype = [], None
    return function


def _clearing_first(method: Callable, clear: Callable[[], None]) -> Callable:
    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        clear()
        return method(self, *args, **kwargs)

    wrapper.__montepi_clears_ssl_errors__ = True
    return wrapper


def install() -> bool:
    """Make tornado's TLS streams start each read, write and handshake with an empty error queue.

    Idempotent; returns whether the streams clear the queue now (False where
    OpenSSL's function cannot be found, which leaves them as they were).
    """
    from tornado.iostream import SSLIOStream

    clear = _err_clear_error()
    if clear is None:
        return False
    for name in WRAPPED:
        method = getattr(SSLIOStream, name)
        if not getattr(method, "__montepi_clears_ssl_errors__", False):
            setattr(SSLIOStream, name, _clearing_first(method, clear))
    return True


def dask_setup(server: object) -> None:
    """dask's preload hook: a worker (or scheduler) started with this module as a preload installs it."""
    install()
