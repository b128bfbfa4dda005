"""The command line's rate line on stderr (tqdm draws it) and how long a run will take, in words."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm

#: Seconds before the rate line appears: short runs print nothing.
SHOW_AFTER = 1.0


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


def rate_line(total: int, stream: TextIO = sys.stderr) -> tqdm:
    """A tqdm bar for ``total`` darts: call its ``update(darts)`` as each block finishes, ``close()`` at the end.

    Silent for the first second; redrawn on a terminal, a line every 5 s in a log;
    it clears itself on close so the result line stands alone.
    """
    tty = stream.isatty()
    return tqdm(total=total, file=stream, unit=" darts", unit_scale=True, delay=SHOW_AFTER,
                mininterval=0.25 if tty else 5.0, leave=False, dynamic_ncols=tty,
                bar_format="{percentage:5.1f} % of {total_fmt} darts, {rate_fmt}, about {remaining} left")
