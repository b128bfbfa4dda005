"""Waiting for something that has no event to wait on: ask again until it holds or a deadline passes.

Where there is an event (a condition variable, a future, ``Client.wait_for_workers``)
wait for that instead; this is for what can only be looked at (Slurm's queue, a
log file, a port), and it is the one polling loop of the package and its tests.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def poll_until(ready: Callable[[], T], timeout: float, interval: float = 0.05) -> T | None:
    """Call ``ready()`` every ``interval`` seconds until it returns something true, and return that.

    Returns ``None`` once ``timeout`` seconds have passed without it (``ready`` is
    asked at least once, and once more at the deadline).  ``ready`` may raise to
    stop the wait early, e.g. when the process it waits for has died.

    >>> poll_until(lambda: 42, timeout=1)
    42
    >>> poll_until(lambda: [], timeout=0.01) is None
    True
    """
    deadline = time.monotonic() + timeout
    while True:
        last_look = time.monotonic() >= deadline
        if value := ready():
            return value
        if last_look:
            return None
        time.sleep(max(0.0, min(interval, deadline - time.monotonic())))
