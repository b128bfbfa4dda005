"""The result of an estimate: π with its error bar, and how it was obtained."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

#: z for a two-sided 95 % normal interval.
Z95 = 1.959963984540054


def standard_error(p: float, samples: float) -> float:
    """Standard error of 4·p̂ for ``samples`` darts that land inside with probability ``p``: 4·√(p(1−p)/N).

    >>> round(standard_error(0.5, 10_000), 6)   # 4 · √(0.25 / 10⁴)
    0.02
    """
    return 4 * math.sqrt(p * (1 - p) / samples)


def format_samples(samples: int) -> str:
    """Darts for people: a round number in powers of ten, any other with thousands separators.

    >>> format_samples(100_000_000), format_samples(25 * 10**8), format_samples(123_456), format_samples(999)
    ('1e8', '2.5e9', '123,456', '999')
    """
    mantissa, exponent = f"{samples:.3e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    short = f"{mantissa}e{int(exponent)}"
    return short if samples >= 10_000 and float(short) == samples else f"{samples:,}"


@dataclass(frozen=True)
class Estimate:
    """π from ``inside`` of ``samples`` darts in the quarter circle."""

    samples: int
    inside: int
    seed: int
    backend: str
    workers: int
    seconds: float
    kernel: str = "numpy"

    @property
    def pi(self) -> float:
        """The estimate 4·inside/samples."""
        return 4 * self.inside / self.samples

    @property
    def stderr(self) -> float:
        """Standard error of :attr:`pi`, with p = inside/N."""
        return standard_error(self.inside / self.samples, self.samples)

    @property
    def ci95(self) -> tuple[float, float]:
        """A 95 % confidence interval, π̂ ± 1.96 standard errors."""
        return (self.pi - Z95 * self.stderr, self.pi + Z95 * self.stderr)

    @property
    def rate(self) -> float:
        """Darts per second of wall-clock time."""
        return self.samples / self.seconds if self.seconds > 0 else math.inf

    def to_dict(self) -> dict:
        """Plain numbers, ready for ``json.dumps``."""
        low, high = self.ci95
        return {**asdict(self), "pi": self.pi, "stderr": self.stderr, "ci95": [low, high]}

    def __str__(self) -> str:
        """For people: π with the digits its error bar allows, the darts and how they were thrown.

        >>> e = Estimate(samples=10**8, inside=78_539_816, seed=1, backend="pool", workers=2, seconds=1.234)
        >>> print(e)
        π ≈ 3.14159 ± 0.00016 (1e8 darts, pool ×2, 1.23 s)

        ``repr`` stays the dataclass's, for programmers: it names every field.

        >>> e
        Estimate(samples=100000000, inside=78539816, seed=1, backend='pool', workers=2, seconds=1.234, kernel='numpy')
        """
        # Two significant digits of the error decide how many digits of π mean anything.
        digits = max(1, 1 - math.floor(math.log10(self.stderr))) if self.stderr > 0 else 6
        how = self.backend if self.workers == 1 else f"{self.backend} ×{self.workers}"
        if self.kernel != "numpy":
            how += f", {self.kernel}"
        return (
            f"π ≈ {self.pi:.{digits}f} ± {self.stderr:.{digits}f} "
            f"({format_samples(self.samples)} darts, {how}, {self.seconds:.2f} s)"
        )

