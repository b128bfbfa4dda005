"""Numbered darts in one compiled loop: the ``kernel="numba"`` choice.

``dart_loop`` is plain Python: draw x, draw y, count the dart if x² + y² ≤ 1.
The Python interpreter runs it at a few million darts per second; numba
compiles the very same function to machine code.  The compiled loop draws
from the same ``np.random.Generator`` that :func:`montepi.kernel.generator_at`
positions at dart ``start`` (numba calls the generator's own C routine for
each number, exactly as NumPy does), and it computes x*x + y*y with the same
two roundings, so it finds the same count as :func:`montepi.kernel.count_inside`,
bit for bit.  It keeps no arrays (each dart is drawn, tested and forgotten)
and it releases the GIL (``nogil=True``), so threads run it side by side.

numba is optional: importing this module never needs it.  The first call in
a process compiles the loop (or loads it from numba's on-disk cache, where the
cache directory is writable); :func:`compile_kernel` does that up front, so
that no compile falls inside a timed region.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np

from .kernel import generator_at

#: What a learner sees when numba is missing: one line that says what to do.
INSTALL_HINT = 'kernel="numba" needs numba: pip install numba (or pip install "montepi[numba]")'


class NumbaMissing(ImportError):
    """``kernel="numba"`` was asked for, but numba is not installed."""


def dart_loop(rng: np.random.Generator, count: int) -> int:
    """Count how many of the next ``count`` darts from ``rng`` land inside the quarter circle."""
    inside = 0
    for _ in range(count):
        x = rng.random()
        y = rng.random()
        if x * x + y * y <= 1.0:
            inside += 1
    return inside


def numba_available() -> bool:
    """Whether numba can be imported here."""
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def require_numba() -> None:
    """Raise :class:`NumbaMissing` with :data:`INSTALL_HINT` unless numba is installed."""
    if not numba_available():
        raise NumbaMissing(INSTALL_HINT)


def nogil_loop(loop: Callable[[np.random.Generator, int], int]) -> Callable[[np.random.Generator, int], int]:
    """``loop(rng, count)`` compiled by numba with the GIL released, and compiled now (not inside a timing).

    ``cache=True`` keeps the machine code on disk, next to the loop's module or
    in numba's per-user cache folder; when neither is writable numba refuses
    to cache, and the loop is compiled in memory instead.
    """
    require_numba()
    import numba

    try:
        jitted = numba.njit(nogil=True, cache=True)(loop)
    except RuntimeError:  # "cannot cache function ...: no locator available"
        jitted = numba.njit(nogil=True)(loop)
    jitted(generator_at(0, 0), 1)  # compile (or load) now
    return jitted


@functools.cache
def compiled_loop() -> Callable[[np.random.Generator, int], int]:
    """``dart_loop`` compiled by numba, once per process."""
    return nogil_loop(dart_loop)


def compile_kernel() -> None:
    """Compile (or load from the cache) the numba kernel in this process now."""
    compiled_loop()


def count_inside(start: int, count: int, seed: int) -> int:
    """Count darts ``start .. start+count-1`` inside the quarter circle, in compiled code.

    Same darts and same answer as :func:`montepi.kernel.count_inside`; no
    memory beyond the generator, and the GIL is released while it runs.
    """
    return int(compiled_loop()(generator_at(start, seed), count))


def count_block(block: tuple[int, int], seed: int) -> int:
    """``count_inside`` for a ``(start, count)`` pair, the shape pools map over."""
    start, count = block
    return count_inside(start, count, seed)
