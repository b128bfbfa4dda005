"""The benchmark's report: each target beside its measured value (PASS/FAIL), and a Markdown table."""

from __future__ import annotations

import json
import math
from pathlib import Path

from ..result import format_samples

#: Targets the lesson's package is meant to meet (reported, not asserted).
TARGETS = {
    "kernel_speedup": 4.0,  # kernel ÷ naive darts/s, one core
    "numba_over_numpy": 1.2,  # numba kernel ÷ NumPy kernel darts/s, one core, same darts
    "efficiency": 0.9,  # parallel efficiency on 2 cores at N ≥ 4e8
    "dist_over_pool": 0.95,  # distributed ÷ pool darts/s
    "tls_over_tcp": 0.97,  # distributed darts/s on TLS (the default) ÷ on plain TCP, clusters started before
    "pool_of_ceiling": 0.95,  # pool (start-up included) ÷ the machine's ceiling, largest worker count
    "distributed_of_ceiling": 0.90,  # distributed (cluster started before) ÷ ceiling
    "threads_of_ceiling": 0.95,  # threads ÷ ceiling (the NumPy kernel releases the GIL while it works)
    "peak_rss_mb": 150.0,  # peak RSS of a 1e10-dart serial run, MB (10**6 bytes)
}


def verdicts(results: dict) -> list[dict]:
    """Each target beside its measured value, with PASS or FAIL (``pass`` is None where it was not measured)."""
    return [_verdict(*row) for row in _rows(results)]


def _verdict(name: str, value: float, target: float, higher: bool, shown: str, note: str = "", unit: str = "",
             measured: bool = True) -> dict:
    return {"measure": name, "value": value, "shown": shown, "target": target,
            "target_shown": ("≥ " if higher else "≤ ") + f"{target:g}{unit}",
            "pass": (value >= target if higher else value <= target) if measured else None, "note": note}


def _rows(results: dict) -> list[tuple]:
    """The arguments of :func:`_verdict` for every target that ``results`` can speak to, in report order."""
    k, nb, s, r = results["kernel"], results["numba"], results["scaling"], results["rss"]
    rows = [(f"kernel ÷ naive darts/s, one core, N = {format_samples(k['samples'])}", k["speedup"],
             TARGETS["kernel_speedup"], True, f"{k['speedup']:.1f}×", "", "×")]
    if nb.get("installed", True):
        rows.append((f"numba ÷ NumPy kernel darts per CPU-second, one core, N = {format_samples(nb['samples'])}"
                     + ("" if nb["identical"] else " — COUNTS DIFFER"), nb["speedup"] if nb["identical"] else 0.0,
                     TARGETS["numba_over_numpy"], True, f"{nb['speedup']:.2f}×", "", "×"))
    else:
        rows.append(("numba ÷ NumPy kernel darts per CPU-second, one core", math.nan, TARGETS["numba_over_numpy"],
                     True, NOT_INSTALLED, "", "×", False))
    top = s["rows"][-1]
    p, n = top["workers"], format_samples(s["samples"])
    if p > 1:
        for key, how in EFFICIENCY_LABELS.items():
            rows.append((f"parallel efficiency, {key} ×{p}{how}, N = {n}", top[f"{key}_efficiency"],
                         TARGETS["efficiency"], True, f"{top[f'{key}_efficiency']:.2f}"))
        fits = s.get("throughput", {}).get("fits", {})
        for key, label in CEILING_LABELS.items():
            target = TARGETS[f"{key}_of_ceiling"]
            if key in fits and fits[key]["r_of_ceiling"] is not None:
                fit, ceiling_fit = fits[key], fits["ceiling_numpy"]
                poor = [f"{name} fit {why}" for name, why in (("its", _fit_trouble(fit)),
                                                              ("ceiling", _fit_trouble(ceiling_fit))) if why]
                rows.append((f"{label} ÷ ceiling by throughput r (T = a + N/r), ×{p}", fit["r_of_ceiling"], target,
                             True, f"{fit['r_of_ceiling']:.2f}",
                             "; ".join(poor + [f"at N = {n} alone: {top[f'{key}_of_ceiling']:.2f}"])))
            elif f"{key}_of_ceiling" in top:
                rows.append((f"{label} ÷ ceiling, ×{p}, N = {n}", top[f"{key}_of_ceiling"], target, True,
                             f"{top[f'{key}_of_ceiling']:.2f}",
                             "at N alone: the sizes gave no throughput r" if key in fits else ""))
    ratio = top["distributed_rate"] / top["pool_rate"]
    rows.append((f"distributed ÷ pool darts/s, ×{p}, as used (cluster before, pool per call)", ratio,
                 TARGETS["dist_over_pool"], True, f"{ratio:.2f}"))
    if "tls" in results:  # results written before TLS became the default have no such row
        rows.append(tls_row(results["tls"]))
    rows.append((f"peak RSS, serial {format_samples(r['samples'])} darts (fresh process)", r["peak_rss_mb"],
                 TARGETS["peak_rss_mb"], False, f"{r['peak_rss_mb']:.0f} MB",
                 "" if r["samples"] >= 10**10 else "target is for 1e10 darts; --quick runs 1e9", " MB"))
    return rows


#: How each backend's parallel-efficiency row says it was run.
EFFICIENCY_LABELS = {"threads": "", "pool": " (start-up included)", "distributed": " (cluster started before)"}
#: The backends with a fraction-of-ceiling target, and their names in its row.
CEILING_LABELS = {"pool": "pool (start-up included)", "threads": "threads",
                  "distributed": "distributed (cluster started before)"}


#: Shown for a figure that needs numba where numba is not installed.
NOT_INSTALLED = "not installed"


def _fit_trouble(fit: dict) -> str:
    """Why a ``T = a + N/r`` fit is not to be trusted ('' when it is good)."""
    if fit["good"]:
        return ""
    if fit["points"] < 3:
        return f"rests on {fit['points']} sizes"
    if fit["bound"] == "r":
        return "poor: times did not grow with N"
    if fit["bound"] == "a":
        return "held at a = 0 (the best fit had a < 0)"
    return f"poor: residuals {fit['relative_rms']:.0%} of the mean time"


def _result(target: dict) -> str:
    return "PASS" if target["pass"] else NOT_INSTALLED if target["pass"] is None else "FAIL"


def tls_row(t: dict) -> tuple:
    """The verdict arguments of the "distributed, TLS ÷ plain TCP" row."""
    return (f"distributed, TLS ÷ plain TCP darts/s, ×{t['workers']}, N = {format_samples(t['samples'])} "
            "(clusters started before, interleaved)", t["ratio"], TARGETS["tls_over_tcp"], True, f"{t['ratio']:.3f}",
            f"per CPU-second of the cluster: {t['cpu_ratio']:.3f}" if "cpu_ratio" in t else "")


#: Scaling-table column of each backend key (in this order; a key missing from the results is left out).
COLUMNS = {
    "pool": "pool, start-up included",
    "pool_prestarted": "pool, started before",
    "threads": "threads",
    "dask": "dask",
    "distributed": "distributed, cluster started before",
    "distributed_cold": "distributed, cluster started per call",
}


def _rate(x: float) -> str:
    return f"{x / 1e6:,.0f} M"


def markdown(results: dict) -> str:
    """The results as a Markdown report: machine, targets, scaling table, definitions."""
    sections = (_machine_lines, _target_lines, _one_core_lines, _buffer_lines, _ceiling_lines, _scaling_lines,
                _of_ceiling_lines, lambda r: _throughput_lines(r["scaling"]), _weak_lines, lambda r: [TIMED_HOW, ""])
    return "\n".join(line for section in sections for line in section(results))


def _machine_lines(results: dict) -> list[str]:
    m = results["machine"]
    load, load_end = m.get("load_average_at_start"), m.get("load_average_at_end")
    return [
        f"### {m['cores']} cores — {m['cpu']} ({results['mode']} mode, {m['date']})",
        "",
        f"{m['cores']} usable cores ({m['logical_cpus']} logical CPUs), {m['ram_gb']} GB RAM, {m['os']}; "
        f"Python {m['python']}, NumPy {m['numpy']}, dask {m['dask']}, distributed {m['distributed']}."
        + (f" Load average at start: {', '.join(map(str, load))}." if load else "")
        + (f" Load average at end: {', '.join(map(str, load_end))}." if load_end else ""),
        "",
        *([f"**Warning**: {results['load_warning']}.", ""] if results.get("load_warning") else []),
    ]


def _target_lines(results: dict) -> list[str]:
    lines = ["| Measure | Measured | Target | Result |", "|---|---:|---:|:---:|"]
    for t in results["targets"]:
        note = f" ({t['note']})" if t["note"] else ""
        lines.append(f"| {t['measure']}{note} | {t['shown']} | {t['target_shown']} | {_result(t)} |")
    return [*lines, ""]


def _one_core_lines(results: dict) -> list[str]:
    k, s, r, nb = results["kernel"], results["scaling"], results["rss"], results["numba"]
    numba = (f"NumPy kernel {_rate(nb['numpy_rate'])} and numba kernel {_rate(nb['numba_rate'])} darts per "
             f"CPU-second (interleaved, compiled before timing, same count: {nb['identical']}). "
             if nb.get("installed", True) else "numba kernel: not installed. ")
    return [
        f"One core, N = {format_samples(k['samples'])}: kernel {_rate(k['kernel_rate'])} darts/s, "
        f"naive {_rate(k['naive_rate'])} darts/s; " + numba
        + f"Serial `estimate_pi`, N = {format_samples(s['samples'])}: "
        f"{_rate(s['serial_rate'])} darts/s ({s['serial_s']:.2f} s). Peak RSS {r['peak_rss_mb']:.0f} MB "
        f"(of which {r['import_rss_mb']:.0f} MB is Python + NumPy + montepi after import) for "
        f"{format_samples(r['samples'])} serial darts in {r['seconds']:.0f} s.",
        "",
    ]


def _buffer_lines(results: dict) -> list[str]:
    if "buffer" not in results:
        return []
    b = results["buffer"]
    return [f"Kernel buffer (`BLOCK_DARTS` = {b['chosen']:_} darts), one core, N = {format_samples(b['samples'])}: "
            + ", ".join(f"{int(size):_} darts {_rate(rate)}" for size, rate in b["rates"].items()) + " darts/s.", ""]


def _ceiling_lines(results: dict) -> list[str]:
    s = results["scaling"]
    top = s["rows"][-1]
    return [
        f"**Ceiling**: {top['workers']} independent processes, each throwing its share of the darts at the same "
        f"moment, reach {_rate(top['ceiling_numpy_rate'])} darts/s = **{top['ceiling_numpy_efficiency']:.2f}** "
        f"of {top['workers']} × the one-core rate (NumPy kernel"
        + "".join(f"; {k}: {top[f'ceiling_{k}_efficiency']:.2f}" for k in _kernels(s) if k != "numpy")
        + "). That is this machine's own limit; the fractions of ceiling below are what montepi loses on top of it."
        + ("" if s.get("ceiling_count_identical", True) else " **The ceiling processes counted wrong darts.**"),
        "",
    ]


def _kernels(s: dict) -> list[str]:
    return s.get("kernels", ["numpy"])


def _shown(s: dict) -> list[str]:
    """The scaling table's backend columns: those in :data:`COLUMNS` that these results measured."""
    return [key for key in COLUMNS if f"{key}_rate" in s["rows"][0]]


def _scaling_lines(results: dict) -> list[str]:
    s = results["scaling"]
    kernels, shown = _kernels(s), _shown(s)
    lines = [
        f"Strong scaling, N = {format_samples(s['samples'])} darts, best of {results['repeat']} interleaved rounds, "
        "darts/s (parallel efficiency = darts/s ÷ (workers × serial darts/s)):",
        "",
        "| workers | tasks (distributed) | load | "
        + " | ".join([f"ceiling ({k})" for k in kernels] + [COLUMNS[key] for key in shown])
        + " | pool start-up | LocalCluster start-up |",
        "|" + "---:|" * (3 + len(kernels) + len(shown) + 2),
    ]
    for row in s["rows"]:
        cells = [f"{_rate(row[f'ceiling_{k}_rate'])} ({row[f'ceiling_{k}_efficiency']:.2f})" for k in kernels]
        cells += [f"{_rate(row[f'{key}_rate'])} ({row[f'{key}_efficiency']:.2f})" for key in shown]
        load = row.get("load_average")
        tasks = f"{row['tasks']} ({row['distributed_tasks']})" if "distributed_tasks" in row else row["tasks"]
        lines.append(f"| {row['workers']} | {tasks} | {load[0] if load else '–'} | " + " | ".join(cells)
                     + f" | {row['pool_startup_s']:.3f} s | {row['cluster_startup_s']:.2f} s |")
    return [*lines, ""]


def _of_ceiling_lines(results: dict) -> list[str]:
    s = results["scaling"]
    shown = _shown(s)
    lines = [
        "Fraction of ceiling (darts/s ÷ the ceiling's darts/s at the same worker count, NumPy kernel); "
        "the ceiling's own column is ceiling ÷ (workers × serial darts/s):",
        "",
        "| workers | ceiling ÷ ideal | " + " | ".join(COLUMNS[key] for key in shown) + " |",
        "|" + "---:|" * (2 + len(shown)),
    ]
    lines += [f"| {row['workers']} | {row['ceiling_numpy_efficiency']:.2f} | "
              + " | ".join(f"{row[f'{key}_of_ceiling']:.2f}" for key in shown) + " |" for row in s["rows"]]
    return [*lines, ""]


#: The report's last paragraph: how each column of the scaling tables is timed.
TIMED_HOW = (
    "How each column is timed: *ceiling* is W warmed-up processes released together by a barrier, each "
    "counting N/W darts with the kernel alone (no pool, no scheduler), timed by the slowest; *pool, "
    'start-up included* is `estimate_pi(backend="pool")`, which starts and stops a pool on every call '
    "(the forkserver itself is already running); *pool, started before* maps the same blocks over a pool "
    'created before the clock starts; *threads* and *dask* are `estimate_pi(backend="threads"/"dask")`; '
    "*distributed, cluster started before* passes the client of a running `LocalCluster` (as a notebook "
    'user has one); *distributed, cluster started per call* is `estimate_pi(backend="distributed")` '
    "without a client. The distributed ÷ pool target compares the two as a user meets them: cluster "
    "started before, pool per call. *load* is the 1-minute load average when that worker count began."
)


def _throughput_lines(s: dict) -> list[str]:
    """The fixed cost *a* and throughput *r* of each contender, fitted to ``T(N) = a + N/r``."""
    if "throughput" not in s:
        return []
    t = s["throughput"]
    names = [f"ceiling_{k}" for k in s.get("kernels", ["numpy"])] + [key for key in COLUMNS if key in t["fits"]]
    names += [name for name in t["fits"] if name not in names]  # rows added elsewhere keep their place
    lines = [
        f"Fixed cost and throughput apart, {t['workers']} workers: each contender timed at N = "
        + ", ".join(format_samples(n) for n in t["sizes"])
        + " in the same interleaved rounds, best of each, fitted to *T(N) = a + N/r* by least squares with "
        "a ≥ 0 (*a*: what a call costs once; *r*: darts/s once running; ÷ ceiling is *r* over the ceiling's *r*):",
        "",
        "| contender | a | r | r ÷ ceiling | fit |",
        "|---|---:|---:|---:|---|",
    ]
    for name in names:
        fit = t["fits"][name]
        label = COLUMNS.get(name, name.replace("_", " "))
        r_shown = "–" if fit["r"] is None else f"{_rate(fit['r'])} darts/s"
        ratio = "–" if fit["r_of_ceiling"] is None else f"{fit['r_of_ceiling']:.2f}"
        verdict = _fit_trouble(fit) or f"good (residuals {fit['relative_rms']:.1%})"
        lines.append(f"| {label} | {fit['a_s'] * 1e3:,.1f} ms | {r_shown} | {ratio} | {verdict} |")
    return [*lines, ""]


def _weak_lines(results: dict) -> list[str]:
    """Weak scaling: N = n₀·p on p workers; the time should stay flat."""
    if "weak" not in results:
        return []
    w = results["weak"]
    before, after = w["load_average"]
    lines = [
        f"Weak scaling (Gustafson), {format_samples(w['per_worker'])} darts per worker, N = n₀·p, best of "
        f"{results['repeat']} interleaved rounds (load average {before[0] if before else '–'} before, "
        f"{after[0] if after else '–'} after); flat = T(1)/T(p), 1.00 when the extra workers add no time:",
        "",
        "| workers | N | ceiling | flat | pool, start-up included | flat |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {row['workers']} | {format_samples(row['samples'])} | {row['ceiling_s']:.3f} s | "
              f"{row['ceiling_flat']:.2f} | {row['pool_s']:.3f} s | {row['pool_flat']:.2f} |" for row in w["rows"]]
    return [*lines, ""]


def write(results: dict, out: Path) -> tuple[Path, Path]:
    """Write ``results-<cores>cores[-quick].json`` and ``.md`` under ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    stem = f"results-{results['machine']['cores']}cores" + ("-quick" if results["mode"] == "quick" else "")
    json_path, md_path = out / f"{stem}.json", out / f"{stem}.md"
    json_path.write_text(json.dumps(results, indent=2) + "\n")
    md_path.write_text(markdown(results))
    return json_path, md_path
