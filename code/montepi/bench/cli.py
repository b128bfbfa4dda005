"""The benchmark's command line: run, write JSON and Markdown, print the table."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from ..checks import check_samples, check_workers
from ..cli import argument_type
from ..estimate import available_cores
from ..signals import stop_on_signals
from .measure import run
from .report import markdown, write


def _workers(text: str) -> int:
    """``max`` (the available cores) or a worker count that estimate_pi accepts."""
    return available_cores() if text == "max" else argument_type(check_workers)(text)


def _write_and_print(out: Path, stem: str, found: dict, table: str) -> int:
    """Write ``found`` as ``out/stem.json`` and ``table`` as ``out/stem.md``; print the table and where they went."""
    import json

    out.mkdir(parents=True, exist_ok=True)
    path = out / stem
    path.with_suffix(".json").write_text(json.dumps(found, indent=2) + "\n")
    path.with_suffix(".md").write_text(table)
    print(table)
    print(f"wrote {path}.json and {path}.md")
    return 0


def _shapes(args: argparse.Namespace) -> int:
    """``--shapes``: the cluster-shape comparison alone, printed and written as JSON + Markdown."""
    from .shapes import compare_shapes, shapes_markdown

    workers = args.workers or available_cores()
    samples = args.samples or (10**8 if args.quick else 2 * 10**8) * max(1, workers // 2)
    found = compare_shapes(samples, workers, args.repeat)
    return _write_and_print(args.out, f"shapes-{workers}workers", found, shapes_markdown(found))


def _cpu_split(args: argparse.Namespace) -> int:
    """``--cpu-split``: where a distributed run's CPU goes, thread by thread, printed and written as JSON + Markdown."""
    from .cpu_split import cpu_split, cpu_split_markdown

    workers = args.workers or available_cores()
    samples = args.samples or (10**8 if args.quick else 4 * 10**8)
    found = cpu_split(samples, workers, args.repeat)
    return _write_and_print(args.out, f"cpu-split-{workers}workers", found, cpu_split_markdown(found))


def _tls(args: argparse.Namespace) -> int:
    """``--tls``: the TLS ÷ plain TCP comparison alone, printed and written as JSON."""
    import json

    from .measure import tls_vs_tcp
    from .report import TARGETS

    workers = args.workers or available_cores()
    samples = args.samples or (10**8 if args.quick else 4 * 10**8)
    found = tls_vs_tcp(samples, workers, args.repeat)
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"tls-{workers}workers.json"
    path.write_text(json.dumps(found, indent=2) + "\n")
    verdict = "PASS" if found["ratio"] >= TARGETS["tls_over_tcp"] else "FAIL"
    print(f"distributed, TLS ÷ plain TCP darts/s, ×{workers}, N = {samples:.0e}: {found['ratio']:.3f} "
          f"(target ≥ {TARGETS['tls_over_tcp']:g}, {verdict}); best of {args.repeat}: TLS {found['tls_s']:.3f} s, "
          f"TCP {found['tcp_s']:.3f} s; CPU seconds of the cluster, TLS ÷ TCP darts per CPU-second: "
          f"{found.get('cpu_ratio', math.nan):.3f} (TLS {found['tls_cpu_s']:.3f}, TCP {found['tcp_cpu_s']:.3f}); "
          f"load average {found['load_average'][0]} → {found['load_average'][1]}")
    print(f"wrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Command line: run, write, print; exit 0 whether targets pass or not.

    Ctrl-C, SIGTERM or a hang-up stop it in one line with exit 130, 143 or 129, its pools and
    clusters closed (``montepi.signals.stop_on_signals``).
    """
    return stop_on_signals(lambda: _main(argv), "montepi.bench: interrupted; stopped all workers")


def _main(argv: list[str] | None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m montepi.bench",
        description="Measure montepi's darts/s (kernel, pool, distributed) and peak memory; "
        "write JSON and a Markdown table; report targets as PASS/FAIL.",
    )
    parser.add_argument(
        "--quick", action="store_true", help="CI-sized run: 1e8 darts for scaling, 1e9 for the memory check"
    )
    parser.add_argument("--out", type=Path, default=Path("."),
                        help="output folder (default: the current directory; ./lesson bench uses benchmarks/)")
    parser.add_argument(
        "--workers",
        type=_workers,
        default=None,
        metavar="N|max",
        help="largest worker count to try (default: max = the cores available)",
    )
    parser.add_argument(
        "--samples",
        type=argument_type(check_samples),
        default=None,
        metavar="N",
        help="darts for the scaling runs (default 4e8, 1e8 with --quick; more above 2 cores)",
    )
    parser.add_argument("--repeat", type=int, default=5, metavar="R",
                        help="timings per figure, taken in interleaved rounds, best kept (default 5)")
    parser.add_argument("--shapes", action="store_true",
                        help="instead: compare LocalCluster shapes (processes × threads, tasks in flight, block size) "
                        "against the ceiling on --workers cores")
    parser.add_argument("--tls", action="store_true",
                        help="instead: distributed darts/s on a TLS cluster ÷ on a plain-TCP one, interleaved")
    parser.add_argument("--cpu-split", action="store_true",
                        help="instead: where a distributed run's CPU goes (darts, event loops, nannies), "
                        "thread by thread, on a running cluster of --workers workers (Linux)")
    args = parser.parse_args(argv)
    if args.cpu_split:
        return _cpu_split(args)
    if args.tls:
        return _tls(args)
    if args.shapes:
        return _shapes(args)
    results = run(quick=args.quick, workers=args.workers, samples=args.samples, repeat=args.repeat)
    json_path, md_path = write(results, args.out)
    print(markdown(results))
    print(f"wrote {json_path} and {md_path}")
    return 0

