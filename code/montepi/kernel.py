"""Numbered darts: the one kernel every backend runs.

Dart *i* is the point ``(u[2i], u[2i+1])`` where ``u`` is the stream of
float64 numbers in [0, 1) drawn from ``PCG64(seed)``.  A block of darts that
starts at dart ``start`` does not need the darts before it: it *jumps* its
generator forward with ``PCG64(seed).advance(2 * start)`` (PCG64 can skip any
number of steps in O(log n) time; each float64 uses exactly one 64-bit step).

Why this matters for parallel work:

* ``count_inside(start, count, seed)`` is a pure function.  The estimate for
  ``(samples, seed)`` is the same integer however the darts are split among
  blocks, processes, threads or machines, and no two workers can ever draw the
  same random numbers, because they read disjoint stretches of one stream.
* This is the "jumping" approach of NumPy's *Parallel random number
  generation* guide, with ``advance(n)``, which moves the stream exactly n
  outputs on.  (``PCG64.jumped()`` is another operation: a new generator a
  fixed (φ−1)·2¹²⁸ outputs further on, which cannot land on a given dart.)
  NumPy promises the same stream only with the same NumPy, hence one locked
  environment on every machine of a cluster.  The other
  approach there, ``SeedSequence(seed).spawn(n)``, gives each of ``n`` workers
  an independent stream.  That is also safe, but the result then depends on
  ``n``: one worker's darts are not another's, so serial and parallel runs
  disagree.  With numbered darts they agree bit for bit.
"""

from __future__ import annotations

import numpy as np

from .checks import check_seed, whole_number

#: Darts per buffer: 2**16 darts are 1 MiB of float64 (1.6 MiB with the radii and
#: flags), large enough that NumPy's per-call overhead (microseconds) is small
#: beside each buffer's work; in every interleaved sweep it was at least as fast
#: as any other size (BENCHMARKS.md, "Kernel buffer").  ``montepi.bench`` times 2**12 … 2**20
#: ("Kernel buffer" in its report); the count is the same at any size.
BLOCK_DARTS = 2**16


def generator_at(start: int, seed: int) -> np.random.Generator:
    """A generator whose next two numbers are dart ``start``'s coordinates.

    Every kernel and ``darts`` start here, so the seed rule of :func:`montepi.checks.check_seed`
    (0 to 2**128 - 1) holds for all of them, as it does for ``estimate_pi``.
    """
    bit_generator = np.random.PCG64(check_seed(seed))
    bit_generator.advance(2 * start)
    return np.random.Generator(bit_generator)


def count_inside(start: int, count: int, seed: int) -> int:
    """Count darts ``start .. start+count-1`` that land in the quarter circle.

    A dart is inside when x² + y² ≤ 1.  Memory stays flat at any ``count``:
    darts are drawn into one reused buffer of ``BLOCK_DARTS`` rows, squared in
    place and counted, so a block of 10**10 darts needs the same ~2 MiB as a
    block of 10**5.
    """
    start = whole_number(start, "start", minimum=0, text=False)
    count = whole_number(count, "count", minimum=0, text=False)
    rng = generator_at(start, seed)
    size = min(count, BLOCK_DARTS)
    xy = np.empty((size, 2))
    radius2 = np.empty(size)
    inside = np.empty(size, dtype=bool)
    total = 0
    left = count
    while left > 0:
        m = min(left, size)
        buf, r2, ok = xy[:m], radius2[:m], inside[:m]
        rng.random(out=buf)
        np.multiply(buf, buf, out=buf)
        np.add(buf[:, 0], buf[:, 1], out=r2)
        np.less_equal(r2, 1.0, out=ok)
        total += int(np.count_nonzero(ok))
        left -= m
    return total


def count_block(block: tuple[int, int], seed: int) -> int:
    """``count_inside`` for a ``(start, count)`` pair, the shape pools map over."""
    start, count = block
    return count_inside(start, count, seed)
