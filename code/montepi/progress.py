"""A rate line on stderr for long command-line runs."""

from __future__ import annotations

import sys
import time
from typing import TextIO

from .result import format_samples


def format_duration(seconds: float) -> str:
    """``75`` → ``1 min 15 s``; ``90000`` → ``1 d 1 h``."""
    if seconds < 60:
        return f"{seconds:.0f} s"
    units = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
    parts = []
    for name, size in units:
        if seconds >= size:
            value, seconds = divmod(seconds, size)
            parts.append(f"{value:.0f} {name}")
        if len(parts) == 2:
            break
    return " ".join(parts)


class RateLine:
    """Call it with darts done; it reports progress, rate and time left.

    Silent for the first ``after`` seconds, so short runs print nothing.  On a
    terminal it redraws one line; in a log it writes a line every ``every`` s.
    """

    def __init__(self, total: int, stream: TextIO = sys.stderr, after: float = 1.0, every: float | None = None):
        self.total, self.done, self.stream = total, 0, stream
        self.tty = stream.isatty()
        self.every = every if every is not None else (0.25 if self.tty else 5.0)
        self.began = time.perf_counter()
        self.next_report = self.began + after
        self.printed = False

    def __call__(self, darts: int) -> None:
        self.done += darts
        now = time.perf_counter()
        if now < self.next_report or self.done >= self.total:  # the result line follows at once
            return
        self.next_report = now + self.every
        rate = self.done / (now - self.began)
        left = (self.total - self.done) / rate if rate else float("inf")
        line = (f"{100 * self.done / self.total:5.1f} % of {format_samples(self.total)} darts, "
                f"{rate:.3g} darts/s, about {format_duration(left)} left")
        self.stream.write(f"\r{line}   " if self.tty else line + "\n")
        self.stream.flush()
        self.printed = True

    def close(self) -> None:
        """End the redrawn line so the result starts on a line of its own."""
        if self.printed and self.tty:
            self.stream.write("\n")
            self.stream.flush()
