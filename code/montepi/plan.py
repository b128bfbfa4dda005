"""Exact work plans: which darts each task throws.

The original lesson split N darts with ``int(N / ncores)`` per worker and
silently dropped the remainder.  A :class:`Plan` never loses a dart: it splits
``samples`` into ``len(plan)`` blocks whose sizes differ by at most one, the
same rule as :func:`numpy.array_split`, but computed arithmetically so that
even 10**18 darts need no memory.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import NamedTuple, overload

from .checks import whole_number

#: Smallest and largest default block, in darts.  Blocks below ~1e6 darts pay
#: more in task overhead than they compute; blocks above ~6.7e7 darts (about
#: 0.3 s on one core) make progress bars jumpy and Ctrl-C slow.
MIN_DEFAULT_CHUNK = 2**20
MAX_DEFAULT_CHUNK = 2**26
#: Default number of tasks per worker, so that a slow worker does not hold up
#: the whole run (load balancing) and progress advances smoothly.
TASKS_PER_WORKER = 16
#: The same on a dask.distributed cluster: fewer, bigger tasks, because each
#: task costs the cluster's event loops (scheduler and worker) about 5 ms of
#: CPU, which comes out of the darts when every core throws them.  On 2 quiet
#: cores, 4e8 darts ran at 309, 318 and 330 M darts/s with 16, 8 and 4 tasks
#: per worker (``python -m montepi.bench --cpu-split`` shows where it goes).
DISTRIBUTED_TASKS_PER_WORKER = 4


class Block(NamedTuple):
    """Darts ``start, start+1, …, start+count-1``."""

    start: int
    count: int


class Plan(Sequence[Block]):
    """``samples`` darts split into ``nblocks`` contiguous blocks, none lost."""

    def __init__(self, samples: int, nblocks: int) -> None:
        samples = whole_number(samples, "samples", minimum=1, text=False)
        nblocks = whole_number(nblocks, "nblocks", minimum=1, text=False)
        if nblocks < 1 or nblocks > samples:
            raise ValueError(f"cannot split {samples} darts into {nblocks} blocks")
        self.samples = samples
        self._q, self._r = divmod(samples, nblocks)
        self._n = nblocks

    def __len__(self) -> int:
        return self._n

    def _block(self, i: int) -> Block:
        q, r = self._q, self._r
        return Block(i * q + min(i, r), q + (1 if i < r else 0))

    @overload
    def __getitem__(self, i: int) -> Block: ...
    @overload
    def __getitem__(self, i: slice) -> list[Block]: ...
    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self._block(j) for j in range(*i.indices(self._n))]
        if i < 0:
            i += self._n
        if not 0 <= i < self._n:
            raise IndexError("block index out of range")
        return self._block(i)

    def __iter__(self) -> Iterator[Block]:
        return (self._block(i) for i in range(self._n))

    def __repr__(self) -> str:
        sizes = f"{self._q + 1}×{self._r} + {self._q}×{self._n - self._r}" if self._r else f"{self._q}×{self._n}"
        return f"Plan({self.samples} darts in {self._n} blocks: {sizes})"


def default_chunk(samples: int, workers: int, tasks_per_worker: int = TASKS_PER_WORKER) -> int:
    """A block size giving each worker several tasks (``tasks_per_worker``) of a useful size.

    >>> default_chunk(4 * 10**8, 2), default_chunk(4 * 10**8, 2, DISTRIBUTED_TASKS_PER_WORKER)
    (12500000, 50000000)
    >>> default_chunk(10**6, 2) == MIN_DEFAULT_CHUNK, default_chunk(10**12, 2) == MAX_DEFAULT_CHUNK
    (True, True)
    """
    per_task = math.ceil(samples / (workers * tasks_per_worker))
    return min(MAX_DEFAULT_CHUNK, max(MIN_DEFAULT_CHUNK, per_task))


def plan_blocks(samples: int, *, parts: int | None = None, chunk: int | None = None) -> Plan:
    """Split ``samples`` darts into ``parts`` blocks, or blocks of at most ``chunk``.

    With neither, the whole run is one block.  Every dart is in exactly one
    block: ``sum(b.count for b in plan) == samples``.
    """
    samples = whole_number(samples, "samples", minimum=1, text=False)
    if parts is not None and chunk is not None:
        raise ValueError("give parts or chunk, not both")
    if parts is not None:
        parts = whole_number(parts, "parts", minimum=1, text=False)
    if chunk is not None:
        parts = -(-samples // whole_number(chunk, "chunk", minimum=1, text=False))
    return Plan(samples, min(parts or 1, samples))
