"""Input checks with messages a learner can act on.

The command line and the Python API share these, so ``python -m montepi``
and ``estimate_pi`` reject the same inputs with the same words: the rules
live here, the command line only translates them into its exit status.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
from decimal import Decimal, InvalidOperation

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


def _whole_number(value: object, name: str, *, minimum: int, maximum: int) -> int:
    """Turn ``value`` (int, integral float or text like ``1e8``) into an int."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, str)):
        raise TypeError(f"{name} must be a whole number, got {type(value).__name__} {value!r}")
    if isinstance(value, str):
        text = value.strip()
    elif isinstance(value, numbers.Integral):
        text = int(value)
    else:
        text = float(value)
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError, TypeError):
        raise ValueError(f"{name} must be a whole number such as 1000000, 1e6 or 1_000_000, got {value!r}") from None
    if not number.is_finite():
        raise ValueError(f"{name} must be a finite whole number, got {value!r}")
    if number > maximum:
        raise ValueError(f"{name} must be at most {maximum:_}, got {value!r}")
    if number != number.to_integral_value():
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    if number < minimum:
        which = "positive" if minimum == 1 else f"at least {minimum}"
        raise ValueError(f"{name} must be {which}, got {value!r}")
    return int(number)


def check_samples(samples: object) -> int:
    """Validate a dart count: a whole number from 1 to ``MAX_SAMPLES``."""
    return _whole_number(samples, "samples", minimum=1, maximum=MAX_SAMPLES)


def check_workers(workers: object) -> int:
    """Validate a number of workers: 1 to ``MAX_WORKERS``."""
    return _whole_number(workers, "workers", minimum=1, maximum=MAX_WORKERS)


def check_chunk(chunk: object) -> int:
    """Validate a block size: at least one dart."""
    return _whole_number(chunk, "chunk", minimum=1, maximum=MAX_SAMPLES)


def check_seed(seed: object) -> int:
    """Validate a seed: any non-negative whole number (NumPy's SeedSequence rule)."""
    return _whole_number(seed, "seed", minimum=0, maximum=2**128 - 1)


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


def check_timeout(timeout: object) -> float:
    """Validate a timeout: a positive number of seconds (a number, or text such as ``2.5``)."""
    seconds = math.nan
    if isinstance(timeout, (numbers.Real, str)) and not isinstance(timeout, bool):
        with contextlib.suppress(ValueError):
            seconds = float(timeout)
    if not 0 < seconds < math.inf:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
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
    if backend != "pool" and start_method is not None:
        raise ValueError(f"start_method belongs to the pool backend, not {backend}")
    if backend == "gpu" and workers is not None:
        raise ValueError(f"the gpu backend runs on one GPU with thousands of threads of its own; "
                         f"workers={workers} belongs to threads, pool, dask or distributed")
    if backend == "gpu" and kernel not in (None, "numpy"):
        raise ValueError(f"the gpu backend runs its own CUDA kernel; kernel={kernel!r} belongs to the CPU backends")
