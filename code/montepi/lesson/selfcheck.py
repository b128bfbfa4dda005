"""A self-check for the exercises: right or wrong, and what kind of wrong, never the answer.

Every ``(samples, seed)`` has one exact count of darts inside, whatever the
split (numbered darts, notebook 01).  A learner puts one call under their
answer::

    check(counts, samples=N, seed=SEED)               # a count, a list of counts or an Estimate
    check_blocks(counts, blocks, samples=N, seed=SEED)  # one count per block: says which block is wrong

and reads one line: ``✓``, ``… not yet`` while the skeleton's ``...`` are
still there, or ``✗`` with the kind of mistake (an impossible count, darts
missing or counted twice, other random numbers, the same random numbers in
every worker, counts lost on the way) and the section of the lesson to reread.

The line never holds the correct count nor anything it follows from: the
``z`` it shows measures the answer against the *expected* count N·π/4, which
any learner can work out, not against the exact one.  ``verdict`` and
``block_verdict`` return the line instead of printing it (for tests).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from functools import lru_cache

from ..checks import check_samples, check_seed
from ..kernel import count_inside

#: Where to look again, by kind of mistake: (section heading, notebook).
SECTIONS = {
    "numbered": ("Numbered darts: the kernel every notebook runs", "01"),
    "split": ("Splitting the work", "03"),
    "trap": ("The trap: every worker throws the same darts", "03"),
    "error": ("How wrong can it be?", "01"),
}
#: |z| above this is no honest count of these darts (a false alarm once in about a thousand honest answers).
PLAUSIBLE_Z = 3.29
#: A diagnosis that rests on counts being equal is given only when honest counts would be equal less often than this.
COINCIDENCE = 1e-3
#: Block counts up to which "some blocks' counts were lost" is looked for (2**blocks subsets).
LOST_BLOCKS_LIMIT = 16

NOT_YET = "… not yet: fill in the ... in the cell above, then run it again"
P_INSIDE = math.pi / 4


def hint(kind: str) -> str:
    section, notebook = SECTIONS[kind]
    return f"(see “{section}” in notebook {notebook})"


@lru_cache(maxsize=256)
def _exact(start: int, count: int, seed: int) -> int:
    return count_inside(start, count, seed)


def _z(count: int, samples: int) -> float:
    """How many standard deviations ``count`` lies from the expected N·π/4 (not from the exact count)."""
    return (count - samples * P_INSIDE) / math.sqrt(samples * P_INSIDE * (1 - P_INSIDE))


def _chance_equal(darts: int) -> float:
    """The largest chance that an honest count of ``darts`` darts takes any one given value."""
    return 1 / math.sqrt(2 * math.pi * darts * P_INSIDE * (1 - P_INSIDE)) if darts else 1.0


def _unfilled(answer: object) -> bool:
    if answer is ... or answer is None:
        return True
    if isinstance(answer, (list, tuple)):
        return any(_unfilled(item) for item in answer)
    return False


def _as_count(value: object, what: str) -> int | str:
    """``value`` as a count of darts, or the ✗ line saying why it is not one."""
    import numpy as np

    if isinstance(value, bool) or not isinstance(value, (int, np.integer, float, np.floating)):
        return f"✗ {what} should be a whole number of darts inside, not {type(value).__name__} {value!r:.40}"
    if isinstance(value, (float, np.floating)) and (not math.isfinite(value) or value != int(value)):
        looks_like_pi = 2.5 < value < 3.8
        return (f"✗ {what} is {value!r:.12}, {'an estimate of π' if looks_like_pi else 'not a whole number'}: "
                "pass the count of darts inside (an int), not a ratio")
    return int(value)


def _total(answer: object, samples: int, seed: int) -> int | str:
    """The learner's total count, or the ✗ line saying why there is none."""
    from ..result import Estimate

    if isinstance(answer, Estimate):
        if (answer.samples, answer.seed) != (samples, seed):
            return (f"✗ this estimate threw {answer.samples} darts with seed {answer.seed}; the check is for "
                    f"N = {samples}, seed = {seed}")
        return answer.inside
    if isinstance(answer, Iterable) and not isinstance(answer, (str, bytes)):
        total = 0
        for index, item in enumerate(answer):
            count = _as_count(item, f"item {index} of your list")
            if isinstance(count, str):
                return count
            total += count
        return total
    return _as_count(answer, "your answer")


def _otherwise(count: int, samples: int, seed: int, what: str = "your count") -> str:
    """The ✗ line for a possible but wrong count."""
    z = _z(count, samples)
    if abs(z) <= PLAUSIBLE_Z:
        return (f"✗ not the numbered darts, but plausible (z = {z:.1f}): {what} came from other random numbers; "
                f"did you draw from a fresh generator instead of jumping to each block's start with "
                f"generator_at? {hint('numbered')}")
    return (f"✗ z = {z:.1f}: {what} is too far from N·π/4 to come from {samples} darts; are darts missing or "
            f"counted twice, or several workers drawing the same random numbers? {hint('split')}")


def _lost(total: int, exact_counts: list[int]) -> int | None:
    """How many blocks' counts are missing from ``total`` (a sum of a proper subset of them), or None."""
    if not 1 < len(exact_counts) <= LOST_BLOCKS_LIMIT:
        return None
    sums = {0: 0}  # a sum some blocks add up to → the most blocks that add up to it
    for count in exact_counts:
        for value, used in list(sums.items()):
            sums[value + count] = max(sums.get(value + count, 0), used + 1)
    used = sums.get(total)
    return len(exact_counts) - used if used is not None and used < len(exact_counts) else None


def verdict(answer: object, samples: int, seed: int, *, blocks: Iterable[tuple[int, int]] | None = None) -> str:
    """The line :func:`check` prints (``blocks``: the plan the answer was added up from, if any)."""
    samples, seed = check_samples(samples), check_seed(seed)
    if _unfilled(answer):
        return NOT_YET
    total = _total(answer, samples, seed)
    if isinstance(total, str):
        return total
    if not 0 <= total <= samples:
        return (f"✗ {total} darts inside out of {samples} is impossible: a count lies between 0 and N "
                f"{hint('error')}")
    if total == _exact(0, samples, seed):
        return f"✓ identical to the numbered darts for N = {samples}, seed = {seed}"
    if blocks is not None:
        blocks = [tuple(block) for block in blocks]
        lost = _lost(total, [_exact(start, count, seed) for start, count in blocks])
        if lost:
            blocks_were = "1 block was" if lost == 1 else f"{lost} blocks were"
            return (f"✗ counts lost: your total is the sum of {len(blocks) - lost} of your {len(blocks)} blocks; "
                    f"{blocks_were} thrown but never added (two threads updating one total at once?) "
                    f"{hint('split')}")
    return _otherwise(total, samples, seed)


def _coverage(blocks: list[tuple[int, int]], samples: int) -> str | None:
    """The ✗ line when ``blocks`` do not cover darts 0 … samples−1 exactly once, else None."""
    covered = sum(count for _, count in blocks)
    where, expected_start = None, 0
    for start, count in sorted(blocks):
        if start > expected_start and where is None:
            where = f"darts {expected_start}…{start - 1} are in no block"
        elif start < expected_start and where is None:
            where = f"darts {start}…{min(expected_start, start + count) - 1} are in two blocks"
        expected_start = max(expected_start, start + count)
    if where is None and expected_start < samples:
        where = f"darts {expected_start}…{samples - 1} are in no block"
    if where is None and expected_start > samples:
        where = f"darts {samples}…{expected_start - 1} are beyond N"
    if where is None:
        return None
    kind = "missing" if covered < samples else "counted twice" if covered > samples else "misplaced"
    return f"✗ darts {kind}: your blocks cover {covered} darts, not {samples}; {where} {hint('split')}"


def block_verdict(counts: object, blocks: Iterable[tuple[int, int]], samples: int, seed: int) -> str:
    """The line :func:`check_blocks` prints."""
    samples, seed = check_samples(samples), check_seed(seed)
    if _unfilled(counts):
        return NOT_YET
    try:
        blocks = [(int(start), int(count)) for start, count in blocks]
    except (TypeError, ValueError):
        return "✗ blocks should be (start, count) pairs, as plan_blocks gives them"
    if not isinstance(counts, Iterable) or isinstance(counts, (str, bytes)):
        return f"✗ check_blocks wants one count per block (a list), not {type(counts).__name__}"
    counts = list(counts)
    if len(counts) != len(blocks):
        return f"✗ {len(counts)} counts for {len(blocks)} blocks: one count per block, in the order of the blocks"
    values = []
    for index, item in enumerate(counts):
        value = _as_count(item, f"the count of block {index}")
        if isinstance(value, str):
            return value
        values.append(value)
    for index, ((start, count), value) in enumerate(zip(blocks, values)):
        if not 0 <= value <= count:
            return (f"✗ block {index} (start {start}, {count} darts) says {value} inside: impossible, a count "
                    f"lies between 0 and the block's darts {hint('error')}")
    wrong = [i for i, ((start, count), value) in enumerate(zip(blocks, values))
             if value != _exact(start, count, seed)]
    if wrong:
        # Blocks that hold the darts from dart 0 instead of their own: each worker started the stream afresh.
        moved = [i for i in wrong if blocks[i][0] != 0]
        from_zero = [i for i in moved if values[i] == _exact(0, blocks[i][1], seed)]
        if from_zero and len(from_zero) == len(moved) and \
                math.prod(_chance_equal(blocks[i][1]) for i in from_zero) < COINCIDENCE:
            return (f"✗ the same random numbers in every worker: block {from_zero[0]} (start "
                    f"{blocks[from_zero[0]][0]}) holds the darts that start at dart 0; each block must jump to "
                    f"its own start {hint('trap')}")
        # Wrong blocks of one size that all found one count: workers seeded alike, from any stream.
        for i in wrong:
            twins = [j for j in wrong if blocks[j][1] == blocks[i][1] and values[j] == values[i]]
            if len(twins) >= 2 and _chance_equal(blocks[i][1]) ** (len(twins) - 1) * len(blocks) ** 2 < COINCIDENCE:
                return (f"✗ the same random numbers in several workers: blocks {twins[0]} and {twins[1]} of "
                        f"{blocks[i][1]} darts each found exactly the same count {hint('trap')}")
        i = wrong[0]
        start, count = blocks[i]
        more = f" ({len(wrong)} blocks are wrong)" if len(wrong) > 1 else ""
        return _otherwise(values[i], count, seed, what=f"block {i} (start {start}, {count} darts){more}")
    covered = _coverage(blocks, samples)
    if covered:
        return covered
    return f"✓ identical to the numbered darts for N = {samples}, seed = {seed}, block by block"


def check(answer: object, samples: int, seed: int, *, blocks: Iterable[tuple[int, int]] | None = None) -> None:
    """Print whether ``answer`` (a count, a list of counts or an Estimate) is the exact count for (samples, seed)."""
    print(verdict(answer, samples, seed, blocks=blocks))


def check_blocks(counts: object, blocks: Iterable[tuple[int, int]], samples: int, seed: int) -> None:
    """Print whether each of ``counts`` is its block's exact count and the blocks cover every dart once."""
    print(block_verdict(counts, blocks, samples, seed))
