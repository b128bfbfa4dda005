"""``python -m montepi``: estimate π from the command line.

Exit status: 0 on success, 2 for bad input or an unreachable scheduler,
1 when a worker died, 130 when interrupted (Ctrl-C).  Errors are one line on
stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
import time
from collections.abc import Callable

from .backends import WorkerLost, kernel_functions
from .checks import (
    BACKENDS,
    KERNELS,
    check_backend_options,
    check_chunk,
    check_samples,
    check_seed,
    check_timeout,
    check_workers,
)
from .cluster import CONNECT_TIMEOUT, SchedulerUnreachable
from .estimate import available_cores, estimate_pi
from .kernel_cuda import GpuUnavailable, describe_gpu
from .kernel_numba import NumbaMissing
from .progress import format_duration, rate_line
from .result import format_samples

#: Runs expected to take longer than this (seconds) are announced before they start.
ANNOUNCE_AFTER = 60.0


def argument_type(check: Callable[[object], object]) -> Callable[[str], object]:
    """Wrap a check for ``argparse``'s ``type=``, so a bad value gets the check's own message."""

    def convert(text: str):
        try:
            return check(text)
        except (TypeError, ValueError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = check.__name__.removeprefix("check_")  # argparse names the argument type with it
    return convert


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str):  # one clear line instead of usage + error
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The command line's arguments."""
    parser = _OneLineParser(
        prog="python -m montepi",
        description="Estimate π by throwing numbered Monte Carlo darts. The count of darts inside "
        "depends only on --samples and --seed, whatever the backend and worker count.",
    )
    parser.add_argument("backend", choices=BACKENDS, help="where the darts are thrown")
    parser.add_argument("--samples", "-n", type=argument_type(check_samples), default=10_000_000,
                        help="number of darts: 1e8, 100_000_000 or 100000000 (default 1e7)")
    parser.add_argument("--seed", type=argument_type(check_seed), default=2017, help="random seed (default 2017)")
    parser.add_argument("--workers", "-w", type=argument_type(check_workers), default=None,
                        help="processes or threads (default: the available cores)")
    parser.add_argument("--chunk", type=argument_type(check_chunk), default=None,
                        help="largest number of darts in one task (default: chosen for you)")
    parser.add_argument("--kernel", choices=KERNELS, default="numpy",
                        help="numpy (default) or numba: the same darts and count; numba is compiled, and optional")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="distributed: a running scheduler, e.g. tcp://127.0.0.1:8786")
    where.add_argument("--scheduler-file", metavar="PATH",
                       help="distributed: the JSON file written by `dask scheduler --scheduler-file`")
    parser.add_argument("--timeout", type=argument_type(check_timeout), default=CONNECT_TIMEOUT,
                        help=f"seconds to wait for a scheduler (default {CONNECT_TIMEOUT:g})")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a sentence")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress or announcements on stderr")
    parser.add_argument("--dry-run", action="store_true",
                        help="check the arguments and say how long the run would take, without running it")
    return parser


def _announce(samples: int, seed: int, workers: int, always: bool = False, kernel: str = "numpy") -> None:
    """Time a small sample and say how long the full run will take, if long (or ``always``)."""
    count_inside, _ = kernel_functions(kernel)
    probe = 2**20
    best = float("inf")
    for _ in range(3):  # the first call also pays for warming up
        began = time.perf_counter()
        count_inside(0, probe, seed)
        best = min(best, time.perf_counter() - began)
    rate = probe / best
    expected = samples / (rate * workers)
    if always or expected > ANNOUNCE_AFTER:
        print(f"montepi: {format_samples(samples)} darts at about {rate:.2g} darts/s on each of {workers} "
              f"worker(s) will take about {format_duration(expected)}; Ctrl-C stops it.", file=sys.stderr)


class _Terminated(BaseException):
    """SIGTERM arrived: stop like Ctrl-C, so pools and clusters are shut down."""


def _on_sigterm(signum, frame):
    raise _Terminated


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:  # the rules are estimate_pi's; checked before --dry-run, which does not call it
        check_backend_options(args.backend, workers=args.workers,
                              cluster_given=bool(args.scheduler or args.scheduler_file), kernel=args.kernel)
    except ValueError as error:
        parser.error(str(error))
    workers = args.workers or (1 if args.backend == "serial" else available_cores())
    try:
        if args.backend == "gpu":  # a CPU probe says nothing about a GPU: check that there is one instead
            device = describe_gpu()
            if args.dry_run:
                print(f"montepi: {format_samples(args.samples)} darts would be thrown on {device}", file=sys.stderr)
                return 0
        elif args.dry_run:
            _announce(args.samples, args.seed, workers, always=True, kernel=args.kernel)
            return 0
        elif not args.quiet:
            _announce(args.samples, args.seed, workers, kernel=args.kernel)
    except (NumbaMissing, GpuUnavailable) as error:
        print(f"montepi: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # while timing the probe (or compiling numba's kernel for it)
        print("montepi: interrupted", file=sys.stderr)
        return 130
    talk = not (args.quiet or args.json)
    bar = rate_line(args.samples) if talk else None
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        result = estimate_pi(
            args.samples, seed=args.seed, backend=args.backend, workers=args.workers, chunk=args.chunk,
            scheduler=args.scheduler, scheduler_file=args.scheduler_file, timeout=args.timeout,
            progress=bar.update if bar is not None else None, kernel=args.kernel,
        )
    except (KeyboardInterrupt, _Terminated) as stop:
        if bar is not None:
            bar.close()
        print("montepi: interrupted; stopped all workers", file=sys.stderr)
        return 130 if isinstance(stop, KeyboardInterrupt) else 143
    except (ValueError, TypeError, SchedulerUnreachable, NumbaMissing) as error:
        print(f"montepi: error: {error}", file=sys.stderr)
        return 2
    except WorkerLost as error:
        print(f"montepi: error: {error}", file=sys.stderr)
        return 1
    if bar is not None:
        bar.close()
    print(json.dumps(result.to_dict()) if args.json else result)
    return 0
