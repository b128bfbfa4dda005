"""Input checks with messages a learner can act on.

The command line and the Python API share these, so ``python -m montepi``
and ``estimate_pi`` reject the same inputs with the same words: the rules
live here, the command line only translates them into its exit status.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import operator
import os
import re
from decimal import Decimal, InvalidOperation
from fractions import Fraction

import numpy as np

#: The largest number of darts: PCG64 could go further, but a count must fit a
#: signed 64-bit integer for NumPy and dask, and 2**63 darts would take
#: centuries on any machine that exists.
MAX_SAMPLES = 2**63 - 1
#: More processes than this only thrash a machine (and one typo of 100000 would
#: start a hundred thousand processes).
MAX_WORKERS = max(64, 8 * (os.cpu_count() or 1))
#: "gpu" runs its own CUDA kernel (montepi.kernel_cuda) on an NVIDIA GPU through CuPy, which is optional.
BACKENDS = ("serial", "threads", "pool", "dask", "distributed", "gpu")
#: The kernels every backend can run: NumPy (montepi.kernel) and numba (montepi.kernel_numba, optional).
KERNELS = ("numpy", "numba")


#: Text a count may be written as: an integer with Python's underscore rule (``100_000_000``: single
#: underscores between digits), or a plain decimal or ``1e8``-style number without underscores.  ``1_0_``,
#: ``1__0``, ``_1`` and ``1e1_0`` (ten billion darts by a slip of the finger) are refused, although
#: ``float()`` takes some of them.  ``nan`` and ``inf`` pass here to be refused with their own words.
#: Each alternative splits its digits in one way only (``\d+(?:\.\d*)?``, not ``\d+\.?\d*``), so a
#: refusal costs time linear in the length, never the quadratic backtracking of an ambiguous pattern.
NUMBER_TEXT = re.compile(r"[+-]?(?:\d+(?:_\d+)*|(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|nan|inf|infinity)",
                         re.IGNORECASE)
#: The longest text taken as a number: 2**63 - 1 with underscores, a sign and a decimal tail fit with room
#: to spare; longer text is refused before any pattern reads it.
MAX_NUMBER_TEXT = 64
#: Seeds run from 0 to 2**128 - 1: PCG64 keeps 128 bits of state, so larger seeds would only be folded
#: into the same states.  estimate_pi, count_inside, darts and every kernel apply this one rule.
MAX_SEED = 2**128 - 1


def _refuse_time(value: object, name: str) -> None:
    # NumPy registers its time spans as integers: np.timedelta64(1000) must not count as 1000 darts.
    if isinstance(value, (np.timedelta64, np.datetime64)):
        raise TypeError(f"{name} must be a whole number, got {type(value).__name__} {value!r}")


def whole_number(value: object, name: str, *, minimum: int, maximum: int | None = None,
                 text: bool = True) -> int:
    """``value`` as an int from ``minimum`` to ``maximum``, or a ``TypeError``/``ValueError`` naming ``name``.

    The one integer validator of the package.  With ``text`` (what users type and pass: the command line,
    ``estimate_pi``) it also takes integral floats, exact fractions and text like ``1e8``; without it (the
    kernels and the planner, which programs call) only integers: Python's and NumPy's.  Values are compared
    exactly, never through a float, so ``Fraction(2**53 + 1)`` stays itself.

    >>> whole_number("1_000", "samples", minimum=1)
    1000
    >>> whole_number(2.0, "seed", minimum=0, text=False)
    Traceback (most recent call last):
    ...
    TypeError: seed must be an integer (int or NumPy integer), got float 2.0
    """
    _refuse_time(value, name)
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str) if text else numbers.Integral):
        kind = "a whole number" if text else "an integer (int or NumPy integer)"
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__} {value!r}")
    if isinstance(value, numbers.Integral):
        number: Fraction | Decimal | int = operator.index(value)
    elif isinstance(value, numbers.Rational):
        number = Fraction(value.numerator, value.denominator)
    else:
        try:
            if isinstance(value, str):
                spelled = value.strip()
                if len(spelled) > MAX_NUMBER_TEXT or not NUMBER_TEXT.fullmatch(spelled):
                    shown = value if len(value) <= MAX_NUMBER_TEXT else f"{value[:20]}… ({len(value):_} characters)"
                    raise ValueError(f"{name} must be a whole number such as 1000000, 1e6 or 1_000_000 "
                                     f"(underscores only between digits), got {shown!r}")
                number = Decimal(spelled)
            else:
                number = Decimal(float(value))
        except (InvalidOperation, TypeError, OverflowError):
            raise ValueError(f"{name} must be a whole number such as 1000000, 1e6 or 1_000_000, "
                             f"got {value!r}") from None
        if not number.is_finite():
            raise ValueError(f"{name} must be a finite whole number, got {value!r}")
    shown = value if not isinstance(value, str) else value.strip()
    if maximum is not None and number > maximum:
        raise ValueError(f"{name} must be at most {maximum:_}, got {_short(shown)}")
    if number != int(number):
        raise ValueError(f"{name} must be a whole number, got {_short(shown)}")
    if number < minimum:
        which = "positive" if minimum == 1 else f"at least {minimum}"
        raise ValueError(f"{name} must be {which}, got {_short(shown)}")
    return int(number)


def _short(value: object) -> str:
    """``repr(value)``, cut to a readable length (a 4000-digit integer is not a message)."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}… ({len(text):_} characters)"


def check_samples(samples: object) -> int:
    """Validate a dart count: a whole number from 1 to ``MAX_SAMPLES``."""
    return whole_number(samples, "samples", minimum=1, maximum=MAX_SAMPLES)


def check_workers(workers: object) -> int:
    """Validate a number of workers: 1 to ``MAX_WORKERS``."""
    return whole_number(workers, "workers", minimum=1, maximum=MAX_WORKERS)


def check_chunk(chunk: object) -> int:
    """Validate a block size: at least one dart."""
    return whole_number(chunk, "chunk", minimum=1, maximum=MAX_SAMPLES)


def check_seed(seed: object) -> int:
    """Validate a seed: a whole number from 0 to ``MAX_SEED``, the same rule for every entry point."""
    return whole_number(seed, "seed", minimum=0, maximum=MAX_SEED)


def check_backend(backend: object) -> str:
    """Validate a backend name."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")
    return backend  # type: ignore[return-value]


def check_kernel(kernel: object) -> str:
    """Validate a kernel name (whether numba is installed is checked when the kernel is used)."""
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; choose one of {', '.join(KERNELS)}")
    return kernel  # type: ignore[return-value]


#: The longest wait for a scheduler or its first worker: a day.  Longer is a typo (and
#: dask's timers overflow on values such as 1e300).
MAX_TIMEOUT = 86_400.0


def check_timeout(timeout: object) -> float:
    """Validate a timeout: a finite positive number of seconds up to ``MAX_TIMEOUT`` (or text such as ``2.5``)."""
    if isinstance(timeout, bool) or not isinstance(timeout, (numbers.Real, str)):
        raise TypeError(f"timeout must be a positive number of seconds, got {type(timeout).__name__} {timeout!r}")
    seconds = math.nan
    with contextlib.suppress(ValueError, OverflowError):
        seconds = float(timeout)
    if not 0 < seconds <= MAX_TIMEOUT:
        raise ValueError(f"timeout must be a positive number of seconds up to {MAX_TIMEOUT:g} (a day), "
                         f"got {timeout!r}")
    return seconds


def check_backend_options(backend: str, *, workers: int | None = None, cluster_given: bool = False,
                          start_method: str | None = None, kernel: str | None = None) -> None:
    """Reject options that the chosen backend would otherwise silently ignore.

    ``cluster_given``: a client, scheduler address or scheduler file was given.
    """
    if backend == "serial" and workers not in (None, 1):
        raise ValueError(f"the serial backend runs on one core; "
                         f"use threads, pool, dask or distributed for workers={workers}")
    if backend != "distributed" and cluster_given:
        raise ValueError("a client, scheduler or scheduler file belongs to the distributed backend")
    if cluster_given and workers is not None:
        raise ValueError(f"workers={workers} sizes a cluster that montepi starts; a client, scheduler or "
                         "scheduler file brings its own workers (leave workers out, or scale that cluster)")
    if backend != "pool" and start_method is not None:
        raise ValueError(f"start_method belongs to the pool backend, not {backend}")
    if backend == "gpu" and workers is not None:
        raise ValueError(f"the gpu backend runs on one GPU with thousands of threads of its own; "
                         f"workers={workers} belongs to threads, pool, dask or distributed")
    if backend == "gpu" and kernel not in (None, "numpy"):
        raise ValueError(f"the gpu backend runs its own CUDA kernel; kernel={kernel!r} belongs to the CPU backends")


def check_progress(progress: object) -> None:
    """``progress`` is ``None`` or something to call with each finished block's darts."""
    if progress is not None and not callable(progress):
        raise TypeError(f"progress must be a function called with each finished block's number of darts "
                        f"(or None), got {type(progress).__name__} {_short(progress)}")
