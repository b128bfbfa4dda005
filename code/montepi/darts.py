"""The darts themselves, as a NumPy array or as a chunked dask array.

Both containers hold exactly the same numbers (row *i* is dart *i* of
:mod:`montepi.kernel`), so the same NumPy expression gives the same count on
either: only the import and the container change.
"""

from __future__ import annotations

import numpy as np

from .checks import MAX_SAMPLES, check_samples, check_seed, whole_number
from .kernel import generator_at


def _darts_block(start: int, count: int, seed: int) -> np.ndarray:
    """Darts ``start .. start+count-1`` as a ``(count, 2)`` array."""
    return generator_at(start, seed).random((count, 2))


def _dask_block(seed: int, block_info=None) -> np.ndarray:
    start, stop = block_info[None]["array-location"][0]
    return _darts_block(start, stop - start, seed)


def darts(samples: int, seed: int = 2017, chunks: int | str | None = None):
    """``samples`` darts as rows ``(x, y)`` in the unit square.

    Without ``chunks`` this is a NumPy array (it needs 16 bytes per dart: fine
    for 10**7, not for 10**10).  With ``chunks`` (darts per chunk, or
    ``"auto"``) it is a lazy ``dask.array`` of the same darts whose chunks are
    made on demand, so it never needs more than a few chunks of memory.
    ``chunks`` follows the rule of ``chunk`` in ``estimate_pi`` (:func:`montepi.checks.whole_number`).
    """
    samples, seed = check_samples(samples), check_seed(seed)
    if chunks is None:
        return _darts_block(0, samples, seed)
    import dask.array as da

    if not (isinstance(chunks, str) and chunks == "auto"):
        chunks = whole_number(chunks, "chunks", minimum=1, maximum=MAX_SAMPLES)
    normal = da.core.normalize_chunks((chunks, 2), shape=(samples, 2), dtype=np.float64)
    return da.map_blocks(
        _dask_block,
        seed=seed,
        chunks=normal,
        dtype=np.float64,
        meta=np.empty((0, 2)),
        name=f"darts-{samples}-{seed}-{normal[0][0]}",
    )
