"""Keep what a logger says during a ``with`` block, to show it on the page instead of as stray stderr.

Notebook 06 shows a TLS scheduler turning strangers away.  The refusal is
written by the scheduler to its log (logger ``distributed.comm``); with a
cluster inside the notebook's own process, that log would land as
time-stamped stderr in whichever cell runs next.  :func:`kept_log` collects
the messages in a list instead, for the cell to print::

    with kept_log("distributed.comm") as said:
        ...                 # something the scheduler refuses
    said.wait_for(1)        # the log is written on the event loop's thread
    print(said[0])
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

#: Where in CPython's C source an SSL error was raised, e.g. " (_ssl.c:1006)": differs between Python versions.
_C_SOURCE = re.compile(r" \(_ssl\.c:\d+\)")


class KeptLog(list):
    """The messages kept so far (without time stamps), and a way to wait for more."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = threading.Condition()

    def add(self, message: str) -> None:
        with self._changed:
            self.append(_C_SOURCE.sub("", message))
            self._changed.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until at least ``count`` messages are kept; False if ``timeout`` seconds passed first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while len(self) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True


class _Keep(logging.Handler):
    def __init__(self, kept: KeptLog, level: int) -> None:
        super().__init__(level)
        self.kept = kept

    def emit(self, record: logging.LogRecord) -> None:
        self.kept.add(record.getMessage())


@contextmanager
def kept_log(name: str, level: int = logging.WARNING) -> Iterator[KeptLog]:
    """Collect the messages of logger ``name`` (at ``level`` and above) instead of printing them."""
    logger = logging.getLogger(name)
    kept = KeptLog()
    handler = _Keep(kept, level)
    propagate = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False  # not also to dask's stderr handler
    try:
        yield kept
    finally:
        logger.removeHandler(handler)
        logger.propagate = propagate
