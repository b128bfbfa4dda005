"""Measure how much memory a function needs, for the lesson's memory comparisons.

NumPy reports its array buffers to :mod:`tracemalloc`, so the traced peak
includes every temporary array a NumPy expression creates, not only Python
objects.  That makes it a simple, portable way to compare the naive
full-array estimate with the streaming kernel at the same number of darts.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


def peak_memory(func: Callable[..., T], *args: Any, **kwargs: Any) -> tuple[T, int]:
    """Call ``func(*args, **kwargs)``; return its result and the peak bytes it allocated.

    The peak is measured above what was already allocated when the call
    began, so earlier arrays in a notebook do not count.  Tracing is switched
    on for the call (and off again if it was off), which slows Python code a
    little but not NumPy's arithmetic.
    """
    was_tracing = tracemalloc.is_tracing()
    if not was_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        result = func(*args, **kwargs)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        if not was_tracing:
            tracemalloc.stop()
    return result, max(0, peak - before)


def mib(nbytes: int) -> float:
    """Bytes to MiB (2**20 bytes)."""
    return nbytes / 2**20
