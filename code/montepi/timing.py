"""Timing a piece of work the way the lesson and the benchmark do: best of a few runs, and what a run costs.

A run of N darts mixes a fixed cost and a speed: ``T(N) = a + N/r``.  Timed at
several N, :func:`fit_fixed_cost` separates them (the benchmark and notebook 07).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass


def best_of(run: Callable[[], object], repeat: int = 3, clock: Callable[[], float] = time.perf_counter) -> float:
    """The shortest of ``repeat`` wall-clock times of ``run()``, in seconds.

    The minimum is the least disturbed by other programs on the machine: noise
    only ever adds time.  ``clock=time.thread_time`` measures the CPU time of
    this thread instead: for work done in this thread it does not grow when
    other programs share the core, so one-core rates hold on a busy machine.
    """
    times = []
    for _ in range(max(1, repeat)):
        began = clock()
        run()
        times.append(clock() - began)
    return min(times)


def timed(run: Callable[[], object], clock: Callable[[], float] = time.perf_counter) -> Callable[[], float]:
    """``run`` as a contender for :func:`best_of_interleaved`: a call runs it once and returns its seconds.

    The seconds are wall-clock by default; ``clock`` chooses another, as in :func:`best_of`.

    >>> seconds = timed(lambda: None)()
    >>> 0 <= seconds < 1
    True
    """
    return lambda: best_of(run, 1, clock=clock)


def best_of_interleaved(contenders: Mapping[str, Callable[[], float]], repeat: int = 3) -> dict[str, float]:
    """The shortest of ``repeat`` times of each contender, timed in turns: A B C, A B C, …

    Each contender runs once and returns its own seconds (so that set-up, such
    as starting a cluster, can stay outside its clock).  Taking turns spreads
    whatever else the machine is doing over all contenders alike, so the
    *ratios* between them hold on a busy machine, where one best-of run after
    another would compare a quiet minute with a busy one.
    """
    best = {name: math.inf for name in contenders}
    for _ in range(max(1, repeat)):
        for name, timed in contenders.items():
            best[name] = min(best[name], timed())
    return best


@dataclass(frozen=True)
class CostFit:
    """``T(N) = a + N/r`` fitted to timings: fixed cost ``a`` (s), throughput ``r`` (darts/s), and how well it fits.

    ``relative_rms`` is the root-mean-square residual over the mean time; ``bound``
    names a parameter the fit pushed to its limit (``"a"`` at 0, ``"r"`` infinite),
    ``None`` if neither.  A fit is ``good`` when it has at least three sizes, no
    parameter at a bound and residuals within ``GOOD_FIT`` of the mean time.
    """

    a: float
    r: float
    relative_rms: float
    points: int
    bound: str | None

    @property
    def good(self) -> bool:
        return self.points >= 3 and self.bound is None and self.relative_rms <= GOOD_FIT

    def as_dict(self) -> dict:
        """Plain data for JSON (which has no infinity): ``r`` is ``None`` where the times gave none."""
        return {"a_s": self.a, "r": self.r if math.isfinite(self.r) else None, "relative_rms": self.relative_rms,
                "points": self.points, "bound": self.bound, "good": self.good}


#: Residuals (root mean square, over the mean time) up to which a fixed-cost fit is called good.
GOOD_FIT = 0.05


def fit_fixed_cost(samples: Sequence[float], seconds: Sequence[float]) -> CostFit:
    """Least-squares ``T(N) = a + N/r`` with ``a ≥ 0`` and ``r > 0``, from timings at several sizes ``N``.

    The model is linear in ``a`` and ``b = 1/r``; where the unconstrained
    optimum has ``a < 0`` (noise, or a cost that shrinks with N) the best
    fit with ``a = 0`` is taken, and where it has ``b ≤ 0`` (times that do not
    grow with N) ``r`` is infinite: both are said in ``bound``, never hidden.

    >>> fit = fit_fixed_cost([1e7, 1e8, 1e9], [0.05 + n / 2e8 for n in (1e7, 1e8, 1e9)])
    >>> round(fit.a, 6), round(fit.r / 1e6, 3), fit.good
    (0.05, 200.0, True)
    >>> fit_fixed_cost([1e7, 1e8, 1e9], [0.04, 0.4, 4.1]).bound   # a would be negative: held at 0
    'a'
    """
    n = [float(x) for x in samples]
    t = [float(x) for x in seconds]
    if len(n) != len(t) or len(n) < 2 or len(set(n)) < 2:
        raise ValueError("need timings at two or more different sizes, one time per size")
    if min(n) <= 0 or min(t) <= 0:
        raise ValueError("sizes and times must be positive")
    k, mean_n, mean_t = len(n), sum(n) / len(n), sum(t) / len(t)
    b = sum((x - mean_n) * (y - mean_t) for x, y in zip(n, t)) / sum((x - mean_n) ** 2 for x in n)
    a, bound = mean_t - b * mean_n, None
    if b <= 0:  # times do not grow with N: no throughput can be read from them
        a, b, bound = mean_t, 0.0, "r"
    elif a < 0:  # through the origin instead: the best fit with a = 0
        a, b, bound = 0.0, sum(x * y for x, y in zip(n, t)) / sum(x * x for x in n), "a"
    rms = math.sqrt(sum((y - a - b * x) ** 2 for x, y in zip(n, t)) / k)
    return CostFit(a=a, r=1 / b if b > 0 else math.inf, relative_rms=rms / mean_t, points=k, bound=bound)
