"""The error bar means what it says, and blocks of one stream are independent."""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from montepi import estimate_pi
from montepi.kernel import generator_at


def test_z_scores_of_seeded_estimates_look_standard_normal():
    """(π̂ − π) / stderr over many seeds: mean 0, standard deviation 1, 95 % inside ±1.96.

    Each bound is five of its own standard errors for this many seeds, so a
    standard error 10 % off (std 0.9 or 1.1) fails.
    """
    seeds = 2000
    z = np.array([(e.pi - math.pi) / e.stderr for e in (estimate_pi(50_000, seed=s) for s in range(seeds))])
    assert abs(z.mean()) < 5 / math.sqrt(seeds)
    assert abs(z.std() - 1) < 5 / math.sqrt(2 * seeds)
    assert 5 / math.sqrt(2 * seeds) < 0.1
    inside_band = np.mean(np.abs(z) <= NormalDist().inv_cdf(0.975))
    assert abs(inside_band - 0.95) < 5 * math.sqrt(0.95 * 0.05 / seeds)
    assert np.all(np.abs(z) < 6)


def binomial_sd(n: int, p: float) -> float:
    """The standard deviation of a Binomial(n, p) count, summed from its probabilities (not from a formula)."""
    log_pmf = [math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) + k * math.log(p)
               + (n - k) * math.log1p(-p) for k in range(n + 1)]
    pmf = [math.exp(value) for value in log_pmf]
    mean = sum(k * q for k, q in enumerate(pmf))
    return math.sqrt(sum((k - mean) ** 2 * q for k, q in enumerate(pmf)))


def test_confidence_interval_is_pi_hat_plus_minus_1_96_stderr():
    e = estimate_pi(10_000, seed=3)
    low, high = e.ci95
    assert math.isclose(high - e.pi, NormalDist().inv_cdf(0.975) * e.stderr, rel_tol=1e-9)
    assert math.isclose(e.pi - low, high - e.pi)
    # π̂ = 4·inside/N: its standard error is 4/N times the standard deviation of a binomial count at p̂.
    assert math.isclose(e.stderr, 4 / e.samples * binomial_sd(e.samples, e.inside / e.samples), rel_tol=1e-6)


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
