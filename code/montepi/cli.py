"""``python -m montepi``: estimate π from the command line.

Errors are one line on stderr, never a traceback.  Exit status:

    0    success
    1    the run failed: a pool worker died, the scheduler was lost mid-run,
         or the result could not be written (stdout closed, or its disk full)
    2    input you can fix: a bad argument, --kernel numba without numba, the gpu
         backend without CuPy or a GPU, an unreachable scheduler, something that
         is not a dask scheduler, a bad scheduler file, missing or wrong TLS
         certificates, no workers within --timeout
    129  hung up (SIGHUP: the terminal or SSH session was closed)
    130  interrupted by Ctrl-C (SIGINT)
    143  stopped by SIGTERM (for instance Slurm's scancel)

Ctrl-C in a terminal reaches every process of the group; the workers montepi
starts ignore it and this process stops them all.  A hang-up (SIGHUP) and
SIGTERM stop it the same way.  Pool workers also end by themselves within a
second when this process dies without a word (SIGKILL), and the next cluster
removes a killed run's scratch folder.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Callable

from . import tls
from .backends import SchedulerLost, WorkerLost, kernel_functions
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
from .cluster import CONNECT_TIMEOUT, NoWorkers, SchedulerUnreachable, connect, wait_for_workers
from .estimate import available_cores, estimate_pi
from .kernel_cuda import GpuUnavailable, describe_gpu
from .kernel_numba import NumbaMissing
from .progress import format_duration, rate_line
from .result import format_samples
from .signals import start_resource_tracker, stop_on_signals

#: Runs expected to take longer than this (seconds) are announced before they start.
ANNOUNCE_AFTER = 60.0
#: The ``--help`` epilog: the exit statuses of the module docstring.
EXIT_STATUS = "exit status:\n" + __doc__.split("Exit status:\n\n", 1)[1].split("\n\n", 1)[0]


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
        epilog=EXIT_STATUS,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
                       help="distributed: the JSON file written by `dask scheduler --scheduler-file`; "
                       "a TLS scheduler's certificates are taken from tls/ beside it")
    for option, role in (("--tls-ca-file", "the authority that signed the cluster's certificates"),
                         ("--tls-cert", "the client certificate"), ("--tls-key", "the client certificate's key")):
        parser.add_argument(option, metavar="PATH", help=f"distributed, a tls:// scheduler: {role} "
                            "(the files given to `dask scheduler --tls-…`)")
    parser.add_argument("--timeout", type=argument_type(check_timeout), default=None,
                        help=f"seconds to wait for a scheduler (default {CONNECT_TIMEOUT:g}) and then for its first "
                        "worker (default: as long as it takes, saying so after a few seconds)")
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


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status (a signal's: 129, 130 or 143)."""
    return stop_on_signals(lambda: _run(build_parser(), argv), "montepi: interrupted; stopped all workers")


def _parse(parser: argparse.ArgumentParser, argv: list[str] | None) -> argparse.Namespace:
    """``parser.parse_args``, refusing what argparse lets through: ``--samples=--`` and empty addresses.

    argparse reads a lone ``--`` as the end of the options and hands the option an empty list,
    without calling its ``type``.
    """
    args = parser.parse_args(argv)
    for action in parser._actions:
        value = getattr(args, action.dest, None)
        # Python 3.11 hands over [], 3.13 the text "--" itself (for options with a type, its check refuses it first).
        if action.option_strings and (isinstance(value, list) or value == "--"):
            parser.error(f"argument {'/'.join(action.option_strings)}: expected a value, got '--'")
    if args.scheduler is not None and not args.scheduler.strip():
        parser.error("argument --scheduler: expected an address such as tcp://127.0.0.1:8786, got ''")
    if args.scheduler_file is not None and not args.scheduler_file.strip():
        parser.error("argument --scheduler-file: expected the path of a scheduler file, got ''")
    return args


def _run(parser: argparse.ArgumentParser, argv: list[str] | None) -> int:
    args = _parse(parser, argv)
    try:  # the rules are estimate_pi's; checked before --dry-run, which does not call it
        check_backend_options(args.backend, workers=args.workers,
                              cluster_given=args.scheduler is not None or args.scheduler_file is not None,
                              kernel=args.kernel)
    except ValueError as error:
        parser.error(str(error))
    certificates = {"ca_file": args.tls_ca_file, "cert": args.tls_cert, "key": args.tls_key}
    if any(certificates.values()) and args.scheduler is None and args.scheduler_file is None:
        parser.error("--tls-ca-file, --tls-cert and --tls-key go with --scheduler or --scheduler-file")
    workers = args.workers or (1 if args.backend == "serial" else available_cores())
    try:  # a Ctrl-C while the probe runs (or numba compiles) is main()'s, like any other
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
        _say(f"montepi: error: {error}")
        return 2
    talk = not (args.quiet or args.json)
    if talk or args.backend in ("pool", "distributed"):
        start_resource_tracker()  # before the rate line's lock (a semaphore) starts it: a hang-up would kill it
    try:
        with contextlib.ExitStack() as stack:
            client = None
            if args.backend == "distributed":
                from distributed.utils import silence_logging_cmgr

                # Its log lines (a lost connection, retries) would be tracebacks: this command says it in one line.
                stack.enter_context(silence_logging_cmgr(logging.CRITICAL + 1))
                if args.scheduler is not None or args.scheduler_file is not None:
                    security = tls.security(**certificates) if any(certificates.values()) else None
                    client = stack.enter_context(connect(args.scheduler, scheduler_file=args.scheduler_file,
                                                         timeout=args.timeout or CONNECT_TIMEOUT,
                                                         security=security))
                    wait_for_workers(client, args.timeout, say=None if args.quiet else _say)
            bar = stack.enter_context(rate_line(args.samples)) if talk else None
            result = estimate_pi(
                args.samples, seed=args.seed, backend=args.backend, workers=args.workers, chunk=args.chunk,
                client=client, progress=bar.update if bar is not None else None, kernel=args.kernel,
            )
    except (ValueError, TypeError, SchedulerUnreachable, NoWorkers, NumbaMissing) as error:
        _say(f"montepi: error: {error}")
        return 2
    except (WorkerLost, SchedulerLost) as error:
        _say(f"montepi: error: {error}")
        return 1
    return _write(json.dumps(result.to_dict()) if args.json else str(result))


def _write(line: str) -> int:
    """Print the result; a closed stdout (``| head -c0``) or a full disk (``>/dev/full``) is one line on stderr
    and exit 1, not a traceback.

    The recipe of the Python documentation's "Note on SIGPIPE", for every write error.
    """
    try:
        print(line)
        sys.stdout.flush()  # inside the try, so that a broken pipe is found here
    except OSError as error:
        # Python flushes stdout again at exit: point it at devnull so that this does not fail too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        if isinstance(error, BrokenPipeError):
            _say("montepi: error: stdout was closed before the result could be written")
        else:
            _say(f"montepi: error: could not write the result to stdout ({error.strerror or error})")
        return 1
    return 0
