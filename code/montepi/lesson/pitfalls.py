"""The original lesson's patterns, kept so the notebooks can show what goes wrong.

Nothing here is used by :func:`montepi.estimate_pi`.  Each function is what a
first parallel program often looks like, and each has a flaw that a notebook
demonstrates live:

* :func:`naive_inside` materialises every dart (16 bytes each) and three more
  full-size temporaries: memory grows with N.
* :func:`inside_with_global_seed` draws from NumPy's *global* random state,
  seeded once "at the top" by :func:`seed_global_generator`.  Every worker
  process starts from that same state, so workers throw the same darts.
* :func:`truncated_partition` is ``int(N / ncores)`` per worker: the
  remainder is silently dropped.
* :func:`count_block_seeded_alike` gives each block a generator made from the
  seed alone, not from the block: every block throws block 0's darts again
  (notebook 03's bug hunt; the fix jumps to the block's first dart, as
  :func:`montepi.count_block` does).
"""

from __future__ import annotations

import numpy as np

#: The seed of the trap.
GLOBAL_SEED = 2017


def seed_global_generator(seed: int = GLOBAL_SEED) -> None:
    """The trap: seed NumPy's *global* generator once, as the top of a script often does.

    A forked worker inherits the seeded state; a spawned worker that runs this
    at its start (a pool ``initializer``) sets the same state again.  Either
    way, every worker starts with the same random numbers.  (Called only when
    asked: importing this module changes no global state.)
    """
    np.random.seed(seed)


def naive_inside(samples: int, seed: int = 2017) -> int:
    """The original serial version: whole arrays, ``sqrt``, ``where``, ``len``."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(size=samples)
    y = rng.uniform(size=samples)
    radius = np.sqrt(x * x + y * y)
    return len(np.where(radius < 1.0)[0])


def inside_with_global_seed(samples: int) -> int:
    """Count darts drawn from NumPy's global random state (the flawed worker)."""
    x = np.random.uniform(size=samples)
    y = np.random.uniform(size=samples)
    return int(np.count_nonzero(x * x + y * y <= 1.0))


def inside_with_seed_sequence(args: tuple[np.random.SeedSequence, int]) -> int:
    """Count darts from a child ``SeedSequence``: independent, but tied to the split.

    ``SeedSequence(seed).spawn(n)`` gives each of ``n`` workers its own
    stream, which fixes the duplicate darts.  The answer then depends on ``n``;
    numbered darts (:mod:`montepi.kernel`) do not.
    """
    seed_sequence, samples = args
    xy = np.random.default_rng(seed_sequence).random((samples, 2))
    return int(np.count_nonzero(xy[:, 0] ** 2 + xy[:, 1] ** 2 <= 1.0))


def truncated_partition(samples: int, workers: int) -> list[int]:
    """The original lesson's split: ``int(samples / workers)`` darts each."""
    return [int(samples / workers)] * workers


def count_block_seeded_alike(block: tuple[int, int], seed: int) -> int:
    """Count the darts of one block (start, count) with a generator seeded with ``seed`` (notebook 03's bug hunt)."""
    start, count = block
    xy = np.random.default_rng(seed).random((count, 2))
    return int(np.count_nonzero(xy[:, 0] ** 2 + xy[:, 1] ** 2 <= 1.0))
