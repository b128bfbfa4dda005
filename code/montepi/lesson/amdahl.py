"""Amdahl's and Gustafson's laws, and fitting them to measured timings (NumPy only).

Amdahl: if a fraction ``s`` of a run cannot be spread over workers, ``p``
workers speed it up by at most

    S(p) = 1 / (s + (1 - s) / p)        (and never more than 1/s)

Rearranged, ``1/S = s + (1 - s)/p`` is a straight line in ``1/p``, so the
serial fraction that best explains a set of measured speed-ups is a linear
least-squares problem; :func:`fit_serial_fraction` solves it with
``np.linalg.lstsq``.  The serial fraction times the one-worker time gives
the *seconds* that do not shrink with more workers.

Gustafson: if the problem grows with the workers (``p`` times the darts on
``p`` workers), the scaled speed-up is ``s + (1 - s) p``: nearly linear.

The precision helpers turn darts into decimals of π, with the series' one
definition (notebook 01): "π to d decimals" means that the 95 % interval's
half-width, 1.96·σ, is below half a unit of the d-th decimal, 0.5·10⁻ᵈ.  The
standard error of 4·inside/N is ``σ = 4·sqrt(q(1-q)/N)`` with ``q = π/4``, so
each extra decimal costs 100× the darts.
"""

from __future__ import annotations

import math

import numpy as np

from ..result import Z95, standard_error
from .selfcheck import NOT_YET

#: Probability that a dart lands inside the quarter circle.
Q = math.pi / 4


def amdahl_speedup(serial_fraction: float, workers):
    """Amdahl's speed-up on ``workers`` (a number or an array) for a serial fraction."""
    p = np.asarray(workers, dtype=float)
    result = 1.0 / (serial_fraction + (1.0 - serial_fraction) / p)
    return float(result) if result.ndim == 0 else result


def gustafson_speedup(serial_fraction: float, workers):
    """Gustafson's scaled speed-up ``s + (1 - s)·p`` when the work grows with ``p``."""
    p = np.asarray(workers, dtype=float)
    result = serial_fraction + (1.0 - serial_fraction) * p
    return float(result) if result.ndim == 0 else result


def _check(workers, values, name: str) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(workers, dtype=float)
    v = np.asarray(values, dtype=float)
    if p.shape != v.shape or p.ndim != 1:
        raise ValueError(f"workers and {name} must be two lists of the same length")
    if np.any(p < 1) or np.any(v <= 0):
        raise ValueError(f"workers must be ≥ 1 and {name} positive")
    return p, v


def fit_serial_fraction(workers, speedups) -> float:
    """Least-squares serial fraction ``s`` for measured speed-ups over one worker.

    ``1/S - 1/p = s·(1 - 1/p)`` is linear in ``s``; points at ``p = 1`` carry no
    information (their speed-up is 1 by definition) and get zero weight.  The
    result may fall outside [0, 1] when timings are noisy; it is not clipped.
    """
    p, speedup = _check(workers, speedups, "speedups")
    x = 1.0 - 1.0 / p
    if not np.any(x > 0):
        raise ValueError("need a measurement with more than one worker to fit a serial fraction")
    y = 1.0 / speedup - 1.0 / p
    (s,), *_ = np.linalg.lstsq(x[:, None], y, rcond=None)
    return float(s)


def stderr_for(samples: float) -> float:
    """Expected standard error of the π estimate from ``samples`` darts."""
    return standard_error(Q, samples)


def digits(stderr: float) -> float:
    """Decimals of π that a standard error allows: ``d`` with ``1.96·stderr = 0.5·10⁻ᵈ``.

    "π to d decimals" holds for every whole ``d`` up to this number (notebook 01's
    definition: the 95 % interval's half-width is below half a unit of the d-th decimal).

    >>> round(digits(1e-6), 2)          # σ = 10⁻⁶: 1.96·σ ≈ 2·10⁻⁶ < 0.5·10⁻⁵, not < 0.5·10⁻⁶
    5.41
    >>> import math
    >>> math.floor(digits(stderr_for(1e8)))   # 10⁸ darts: π to 3 decimals
    3
    """
    return -math.log10(2 * Z95 * stderr)


def darts_for_digits(wanted: float) -> float:
    """Darts for π to ``wanted`` decimals: the N at which ``1.96·σ = 0.5·10⁻ʷᵃⁿᵗᵉᵈ`` (the inverse of :func:`digits`).

    >>> f"{darts_for_digits(4):.1e}"     # notebook 01's Exercise 1: four decimals
    '4.1e+09'
    >>> round(digits(stderr_for(darts_for_digits(6))), 9)
    6.0
    >>> round(darts_for_digits(7) / darts_for_digits(6))   # each decimal costs 100× the darts
    100
    """
    return 16.0 * Q * (1 - Q) * (2 * Z95 * 10.0**wanted) ** 2


# --- The self-check of notebook 07's "time and fit it yourself" exercise ----------------------------------------

#: Notebook 07's sections that the fit check's hints point back to.
LAWS, TIMING = "Two laws in one line each", "A job that waits: a serial part you choose"


def _filled(value) -> bool:
    if value is None or value is ...:
        return False
    if isinstance(value, dict):
        return all(_filled(v) for v in value.values())
    return True


def fit_verdict(times, s) -> str:
    """One line: does the serial fraction ``s`` follow from the learner's own ``times`` ({workers: seconds})?

    There is no right number to give away: a timing differs on every machine.  What is checked is the
    fit's arithmetic, ``1/S = s + (1 − s)/p`` with ``S = T(1)/T(p)``, and the usual slips are named.

    >>> fit_verdict(..., ...)
    '… not yet: fill in the ... in the cell above, then run it again'
    >>> fit_verdict({1: 2.0, 2: 1.1}, 0.1)[0]
    '✓'
    >>> fit_verdict({1: 1.0, 2: 0.8}, 0.375)[:39]    # S = 1.25: s = 0.6, and 1 − S/p = 0.375
    '✗ that is 1 − efficiency (1 − S/p), not'
    >>> fit_verdict({1: 1.0, 2: 0.8}, 1.5)[:32]      # T(p)/T(1) taken for the speed-up
    '✗ your speed-ups are upside down'
    """
    if not (_filled(times) and _filled(s)):
        return NOT_YET
    if not isinstance(times, dict) or not times:
        return ("✗ times should be a dict {workers: best seconds}, e.g. from interleaved_best_of "
                f"(see “{TIMING}” above)")
    try:
        p = [int(k) for k in times]
        t = [float(v) for v in times.values()]
    except (TypeError, ValueError):
        return "✗ times should map whole numbers of workers to seconds, e.g. {1: 0.61, 2: 0.35}"
    if any(not math.isfinite(x) or x <= 0 for x in t) or any(k < 1 for k in p):
        return "✗ every time must be a positive number of seconds, for 1 or more workers"
    if 1 not in p:
        return f"✗ time 1 worker too: the speed-up is T(1)/T(p) (see “{LAWS}” above)"
    if len(set(p)) < 2:
        return "✗ time at least one other number of workers besides 1: one point fits no curve"
    if isinstance(s, bool) or not isinstance(s, (int, float)) or not math.isfinite(s):
        return "✗ s should be one number, the serial fraction your times give"
    t1 = t[p.index(1)]
    speedups = [t1 / x for x in t]
    fitted = fit_serial_fraction(p, speedups)
    close = 0.005  # s rounded to two decimals still counts
    if min(abs(s - fitted), abs(s - min(max(fitted, 0.0), 1.0))) <= close:
        return "✓ your s follows from your times: 1/S = s + (1 − s)/p with S = T(1)/T(p), solved for s"
    if abs(s - fit_serial_fraction(p, [x / t1 for x in t])) <= close:
        return ("✗ your speed-ups are upside down: S(p) = T(1)/T(p), one worker's time over p workers' "
                f"(see “{LAWS}” above)")
    if any(k > 1 and abs(s - (1 - sp / k)) <= close for k, sp in zip(p, speedups, strict=True)):
        return ("✗ that is 1 − efficiency (1 − S/p), not the serial fraction: solve 1/S = s + (1 − s)/p "
                "for s, as in Exercise 1")
    return ("✗ this s does not follow from your times: solve 1/S = s + (1 − s)/p for s with "
            "S = T(1)/T(p), as in Exercise 1")


def check_fit(times, s) -> None:
    """Print :func:`fit_verdict`'s one line (the notebook's self-check for a fit of your own)."""
    print(fit_verdict(times, s))
