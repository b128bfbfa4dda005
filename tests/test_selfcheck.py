"""The exercises' self-check: right answers pass, each kind of mistake gets its own diagnosis, no answer leaks.

Every expected count here comes from the definition (all darts drawn at once
from one PCG64 stream, as in test_numbered_darts.py), not from the kernel the
self-check itself uses.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from statistics import NormalDist

import nbformat
import numpy as np
import pytest

from montepi import estimate_pi, plan_blocks
from montepi.lesson import selfcheck
from montepi.lesson.selfcheck import NOT_YET, block_verdict, check, verdict

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def darts(samples: int, seed: int, start: int = 0) -> np.ndarray:
    """Darts start … start+samples−1 by the definition: rows of one PCG64 stream drawn from the beginning."""
    xy = np.random.Generator(np.random.PCG64(seed)).random((start + samples, 2))
    return xy[start:]


def inside(xy: np.ndarray) -> int:
    return int(np.count_nonzero(xy[:, 0] ** 2 + xy[:, 1] ** 2 <= 1.0))


def reference_count(samples: int, seed: int, start: int = 0) -> int:
    return inside(darts(samples, seed, start))


N, SEED = 100_003, 2017  # N % 3 == 1, N % 2 == 1: splits leave remainders


def test_unfilled_skeletons_are_not_yet():
    for answer in (..., None, [..., 1], (3, ...)):
        assert verdict(answer, N, SEED) == NOT_YET
    assert block_verdict(..., plan_blocks(N, parts=2), N, SEED) == NOT_YET
    assert block_verdict([1, ...], plan_blocks(N, parts=2), N, SEED) == NOT_YET
    assert NOT_YET.startswith("… not yet")


def test_the_right_count_in_every_form_is_accepted(capsys):
    exact = reference_count(N, SEED)
    counts = [reference_count(b.count, SEED, b.start) for b in plan_blocks(N, parts=3)]
    for answer in (exact, np.int64(exact), float(exact), counts, tuple(counts), estimate_pi(N, seed=SEED)):
        assert verdict(answer, N, SEED).startswith("✓"), answer
    assert block_verdict(counts, plan_blocks(N, parts=3), N, SEED).startswith("✓")
    check(exact, samples=N, seed=SEED)
    assert capsys.readouterr().out.startswith("✓ identical to the numbered darts")


def test_answers_that_are_no_count_say_so():
    assert "estimate of π" in verdict(3.14159, N, SEED)
    assert "whole number" in verdict("78000", N, SEED)
    assert "whole number" in verdict(True, N, SEED)
    assert "impossible" in verdict(N + 1, N, SEED)
    assert "impossible" in verdict(-1, N, SEED)
    assert "seed 1" in verdict(estimate_pi(N, seed=1), N, SEED)


def test_a_dropped_remainder_is_named_from_the_blocks():
    """The original lesson's split: int(N / workers) darts each, the remainder never thrown."""
    k = 3
    blocks = [(i * (N // k), N // k) for i in range(k)]
    line = block_verdict([reference_count(c, SEED, s) for s, c in blocks], blocks, N, SEED)
    assert line.startswith("✗ darts missing") and f"{N - N % k}…{N - 1} are in no block" in line


def test_every_worker_starting_at_dart_zero_is_the_trap():
    plan = plan_blocks(N, parts=4)
    from_zero = [reference_count(b.count, SEED) for b in plan]
    assert "same random numbers" in block_verdict(from_zero, plan, N, SEED)
    assert "plausible" in verdict(sum(from_zero), N, SEED) or "z = " in verdict(sum(from_zero), N, SEED)


def test_identical_counts_in_equal_blocks_are_the_trap():
    """Workers seeded alike from another stream: not from dart 0, but every block of one size finds one count."""
    plan = plan_blocks(4 * 25_000, parts=4)
    same = inside(np.random.default_rng(7).random((25_000, 2)))
    assert "same random numbers" in block_verdict([same] * 4, plan, 100_000, SEED)
    # Two small blocks agree by chance too often to accuse anyone: then it is only "not the numbered darts".
    pair = [(0, 100), (100, 100)]
    assert "same random numbers" not in block_verdict([78, 78], pair, 200, SEED)


def test_another_stream_is_plausible_but_not_the_numbered_darts():
    other = inside(np.random.default_rng([SEED, 99]).random((N, 2)))
    line = verdict(other, N, SEED)
    assert line.startswith("✗ not the numbered darts, but plausible") and "generator_at" in line


def test_lost_updates_are_found_from_the_blocks():
    plan = plan_blocks(N, parts=6)
    counts = [reference_count(b.count, SEED, b.start) for b in plan]
    line = verdict(counts[0] + counts[3] + counts[4], N, SEED, blocks=plan)
    assert line.startswith("✗ counts lost") and "3 of your 6 blocks" in line


def test_the_wrong_block_is_named():
    plan = plan_blocks(N, parts=3)
    counts = [reference_count(b.count, SEED, b.start) for b in plan]
    counts[2] += 3
    line = block_verdict(counts, plan, N, SEED)
    assert line.startswith("✗") and "block 2" in line


def test_blocks_that_miss_or_repeat_darts_are_found():
    exact_blocks = [(0, 40_000), (40_000, 40_000)]
    counts = [reference_count(c, SEED, s) for s, c in exact_blocks]
    line = block_verdict(counts, exact_blocks, N, SEED)
    assert line.startswith("✗ darts missing") and "cover 80000 darts" in line and "80000…100002" in line
    twice = [(0, 60_000), (50_000, 50_003)]
    line = block_verdict([reference_count(c, SEED, s) for s, c in twice], twice, N, SEED)
    assert line.startswith("✗ darts counted twice") and "50000…59999 are in two blocks" in line
    assert "one count per block" in block_verdict(counts, exact_blocks + [(80_000, 20_003)], N, SEED)


def numbers_in(line: str) -> set[int]:
    return {int(token) for token in re.findall(r"\d+", line.replace(",", ""))}


def test_no_line_ever_holds_the_correct_count():
    rng = random.Random(5)
    for _ in range(60):
        samples, seed = rng.randrange(2_000, 60_000), rng.randrange(2**32)
        exact = reference_count(samples, seed)
        plan = plan_blocks(samples, parts=rng.randrange(2, 7))
        counts = [reference_count(b.count, seed, b.start) for b in plan]
        k = rng.randrange(2, 6)
        answers = [exact, exact + 1, exact - 1, exact + 500, exact // 2, counts[:-1],
                   reference_count(k * (samples // k), seed),
                   inside(np.random.default_rng([seed, 1]).random((samples, 2)))]
        for answer in answers:
            line = verdict(answer, samples, seed, blocks=plan)
            assert exact not in numbers_in(line) - {samples, seed}, line
            for block_line in (block_verdict(counts, plan, samples, seed),
                               block_verdict([c + 1 for c in counts], plan, samples, seed)):
                assert exact not in numbers_in(block_line) - {samples, seed}, block_line


def test_honest_counts_from_other_streams_are_called_plausible_for_1000_fresh_seeds():
    """The verdicts' false alarms on honest darts from another stream: at most 1 % (the threshold allows ~0.1 %).

    Per block too: four workers with independent streams must not be accused of sharing random numbers.
    """
    samples = 10_000
    plan = plan_blocks(samples, parts=4)
    false_alarms = 0
    for seed in range(1000):
        xy = np.random.default_rng([seed, 12345]).random((samples, 2))
        other = inside(xy)
        line = verdict(other, samples, seed)
        blocks_line = block_verdict([inside(xy[b.start:b.start + b.count]) for b in plan], plan, samples, seed)
        if other == reference_count(samples, seed):
            assert line.startswith("✓")
        elif "plausible" not in line or "plausible" not in blocks_line:
            false_alarms += 1
    # Two-sided normal tail beyond the threshold, with room for 1000 draws: well under 1 %.
    assert 2 * (1 - NormalDist().cdf(selfcheck.PLAUSIBLE_Z)) < 0.005
    assert false_alarms <= 10, false_alarms


def test_far_off_counts_are_never_called_plausible():
    for seed in range(200):
        line = verdict(int(0.70 * 10_000), 10_000, seed)
        assert line.startswith("✗ z = ") and "plausible" not in line


def headings(notebook: Path) -> set[str]:
    found = set()
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.cell_type == "markdown":
            found |= {line.lstrip("#").strip() for line in cell.source.splitlines() if line.startswith("#")}
    return found


@pytest.mark.parametrize("kind", sorted(selfcheck.SECTIONS))
def test_every_hint_names_a_section_that_exists(kind):
    section, number = selfcheck.SECTIONS[kind]
    [notebook] = NOTEBOOKS.glob(f"{number}-*.ipynb")
    assert section in headings(notebook), f"{notebook.name} has no heading {section!r}"
