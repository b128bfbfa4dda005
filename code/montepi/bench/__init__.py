"""The montepi benchmark: darts per second from one core to all of them, in one run.

    python -m montepi.bench                # full run (a few minutes on 2 cores)
    python -m montepi.bench --quick        # CI-sized: smaller N, 1e9 darts for the memory check
    ./lesson bench --out /tmp/b --workers 4
    python -m montepi.bench --shapes       # LocalCluster shapes against the ceiling (shapes)
    python -m montepi.bench --cpu-split    # where a distributed run's CPU goes, per thread (cpu_split)

It measures, on this machine and in this one run:

* the kernel (``count_inside``) against the original lesson's naive pattern
  (``montepi.lesson.pitfalls.naive_inside``: whole arrays, sqrt, where, len), same N;
* ``pool`` and ``distributed`` on 1 … ``--workers`` workers, best of ``--repeat``:
  ``pool`` as ``estimate_pi`` runs it (a fresh pool per call, start-up
  included) and on a pool started beforehand; ``distributed`` on a
  ``LocalCluster`` started beforehand (as a notebook user has one) and as
  ``estimate_pi`` runs it without a client (a cluster started and closed per call);
* at the largest worker count, every contender also at N/40 and N/4, in the same
  rounds, fitted to ``T(N) = a + N/r`` (:func:`montepi.timing.fit_fixed_cost`): the
  fixed cost *a* of a call apart from the throughput *r*; the ceiling targets
  judge *r* (the numba rows read "not installed" where numba is not);
* weak scaling: N = n₀·p darts on p workers (ceiling and pool), where time should stay flat;
* the peak resident memory of a serial run of 1e10 darts (1e9 with ``--quick``)
  in a fresh child process.

It writes ``results-<cores>cores.json`` and ``.md`` under ``--out`` (default:
the current directory; ``./lesson bench`` writes to the checkout's
``benchmarks/``), prints the table, and reports each target as PASS or FAIL.
It exits 0 either way: targets are reported, not asserted, because timings on
a shared machine are noise-prone.

measure   what is measured (timed with :func:`montepi.timing.best_of`; pool and
          cluster start-up from :mod:`montepi.lesson.overheads`)
report    targets, PASS/FAIL verdicts and the Markdown table
cli       the command line
"""

from __future__ import annotations

from .cli import main
from .measure import FULL, QUICK, kernel_vs_naive, machine_info, peak_rss, run, scaling
from .report import TARGETS, markdown, verdicts, write

__all__ = ["FULL", "QUICK", "TARGETS", "kernel_vs_naive", "machine_info", "main", "markdown", "peak_rss", "run",
           "scaling", "verdicts", "write"]
