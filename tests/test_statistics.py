"""The error bar means what it says, and blocks of one stream are independent."""

from __future__ import annotations

import math

import numpy as np

from montepi import estimate_pi
from montepi.kernel import generator_at


def test_z_scores_of_seeded_estimates_look_standard_normal():
    z = np.array([(e.pi - math.pi) / e.stderr for e in (estimate_pi(100_000, seed=s) for s in range(200))])
    assert abs(z.mean()) < 0.25  # 4 standard errors of the mean of 200 N(0,1)
    assert 0.75 < z.std() < 1.25
    inside_band = np.mean(np.abs(z) <= 1.96)
    assert 0.90 <= inside_band <= 0.99
    assert np.all(np.abs(z) < 5)


def test_confidence_interval_is_pi_hat_plus_minus_1_96_stderr():
    e = estimate_pi(10_000, seed=3)
    low, high = e.ci95
    assert math.isclose(high - e.pi, 1.959963984540054 * e.stderr)
    assert math.isclose(e.pi - low, high - e.pi)
    assert e.stderr == 4 * math.sqrt((e.inside / e.samples) * (1 - e.inside / e.samples) / e.samples)


def test_neighbouring_blocks_are_not_correlated():
    n = 200_000
    first = generator_at(0, 2017).random(2 * n)
    second = generator_at(n, 2017).random(2 * n)  # the next block of darts
    far = generator_at(10**12, 2017).random(2 * n)
    for other in (second, far):
        r = np.corrcoef(first, other)[0, 1]
        assert abs(r) < 5 / math.sqrt(2 * n)  # 5 sigma of a zero correlation
    # consecutive numbers within one block (x against y of the same dart)
    assert abs(np.corrcoef(first[0::2], first[1::2])[0, 1]) < 5 / math.sqrt(n)


def test_uniform_marginals():
    u = generator_at(123_456, 7).random(400_000)
    counts, _ = np.histogram(u, bins=20, range=(0, 1))
    chi2 = ((counts - 20_000) ** 2 / 20_000).sum()
    assert chi2 < 50  # 19 degrees of freedom: p ≈ 1e-4
