"""The one prepared check a GPU session runs: same count on the GPU as on the CPU, and the GPU's rate.

Run on a machine with an NVIDIA GPU, from the repository root (the device machine
needs no virtual environment: NumPy, CuPy, numba, tqdm and psutil are there)::

    PYTHONPATH=code python3 scripts/gpu_check.py            # 3 pairs up to 1e11 darts, about 2-3 minutes
    PYTHONPATH=code python3 scripts/gpu_check.py --quick    # 1e7 … 1e8 darts, seconds

It prints the GPU, CuPy and driver, compiles the kernel (timed apart), then for
each (samples, seed) pair: the GPU's count and rate (best of ``--repeat`` runs
after one warm-up run, each run waits for the device's count, so its wall time
is the GPU's work), the count of the CPU ``pool`` backend on every core
(``--cpu-kernel``: numba where installed, it is the faster), and
``identical: True/False``.  Pairs run smallest first and the JSON (``$OUT`` or
``--out``) is rewritten after every step, so a run cut short still leaves what
it measured.  A CPU pair expected to take longer than ``--max-cpu-seconds``
(from a probe of one core) is skipped and says so.

Exit status: 0 every compared pair identical (the GPU's repeated runs too), 1 a
count differs or no pair could be compared, 2 no GPU or CuPy here (one line on
stderr, and the JSON says why).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "code"))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT / "code"), os.environ.get("PYTHONPATH")]))

from montepi import available_cores, estimate_pi, kernel_cuda  # noqa: E402
from montepi.backends import kernel_functions  # noqa: E402
from montepi.kernel_numba import numba_available  # noqa: E402
from montepi.result import format_samples  # noqa: E402

FULL_PAIRS = [(10**9 + 7, 2**100 + 1), (10**10, 7), (10**11, 2017)]
QUICK_PAIRS = [(10**7 + 7, 2**100 + 1), (3 * 10**7, 7), (10**8, 2017)]


def nvidia_smi() -> str | None:
    """``name, driver, memory`` of each GPU as nvidia-smi reports them, or None without nvidia-smi."""
    if not shutil.which("nvidia-smi"):
        return None
    query = ["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"]
    run = subprocess.run(query, capture_output=True, text=True, timeout=30)
    return (run.stdout or run.stderr).strip()


def versions() -> dict:
    """CuPy's, CUDA's and NVRTC's versions, where CuPy imports."""
    try:
        import cupy
    except Exception as error:  # reported, not raised: the check says what is missing
        return {"cupy": None, "cupy_problem": str(error).splitlines()[0] if str(error) else type(error).__name__}
    found = {"cupy": cupy.__version__}
    for name, read in [("cuda_runtime", cupy.cuda.runtime.runtimeGetVersion),
                       ("cuda_driver", cupy.cuda.runtime.driverGetVersion),
                       ("nvrtc", lambda: cupy.cuda.nvrtc.getVersion())]:
        try:
            found[name] = read()
        except Exception as error:
            found[name] = f"unavailable: {str(error).splitlines()[0] if str(error) else type(error).__name__}"
    return found


def cpu_rate(kernel: str) -> float:
    """Darts per second of one core with ``kernel`` (best of three 2**22-dart probes)."""
    count_inside, _ = kernel_functions(kernel)
    best = float("inf")
    for _ in range(3):
        began = time.perf_counter()
        count_inside(0, 2**22, 1)
        best = min(best, time.perf_counter() - began)
    return 2**22 / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small pairs (1e7 … 1e8 darts), for a first try")
    parser.add_argument("--repeat", type=int, default=3, help="GPU runs per pair, best kept (default 3)")
    parser.add_argument("--cpu-kernel", choices=("auto", "numba", "numpy"), default="auto",
                        help="kernel of the CPU pool (default: numba where installed)")
    parser.add_argument("--max-cpu-seconds", type=float, default=240.0,
                        help="skip a CPU pair expected to take longer (default 240)")
    parser.add_argument("--out", type=Path, default=Path(os.environ["OUT"]) if os.environ.get("OUT") else None,
                        help="folder for gpu_check.json (default: $OUT if set)")
    args = parser.parse_args(argv)
    pairs = QUICK_PAIRS if args.quick else FULL_PAIRS
    cpu_kernel = ("numba" if numba_available() else "numpy") if args.cpu_kernel == "auto" else args.cpu_kernel
    report: dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "host": platform.node(),
                    "cpu": platform.processor() or platform.machine(), "cores": available_cores(),
                    "nvidia_smi": nvidia_smi(), **versions(), "pairs": []}

    def save() -> None:
        if args.out:
            args.out.mkdir(parents=True, exist_ok=True)
            (args.out / "gpu_check.json").write_text(json.dumps(report, indent=2) + "\n")

    print(f"nvidia-smi: {report['nvidia_smi'] or 'not found'}")
    print(f"cupy: {report['cupy'] or 'not importable'}; CUDA runtime {report.get('cuda_runtime')}, "
          f"driver {report.get('cuda_driver')}, NVRTC {report.get('nvrtc')}")
    try:
        report["gpu"] = kernel_cuda.describe_gpu()
        began = time.perf_counter()
        kernel_cuda.compile_kernel()
        report["compile_seconds"] = time.perf_counter() - began
        report["gpu_threads"] = kernel_cuda.gpu_threads()
    except kernel_cuda.GpuUnavailable as error:
        report["problem"] = str(error)
        save()
        print(f"gpu_check: {error}", file=sys.stderr)
        return 2
    print(f"GPU: {report['gpu']}, {report['gpu_threads']} threads a launch, "
          f"kernel compiled in {report['compile_seconds']:.2f} s")
    estimate_pi(kernel_cuda.LAUNCH_DARTS, seed=1, backend="gpu")  # warm-up: first launch, allocations
    save()

    for samples, seed in pairs:  # the GPU first: it is quick, and its rates survive a cut-short CPU part
        runs = [estimate_pi(samples, seed=seed, backend="gpu") for _ in range(max(1, args.repeat))]
        best = min(runs, key=lambda r: r.seconds)
        report["pairs"].append({"samples": samples, "seed": seed, "gpu_inside": best.inside,
                                "gpu_repeatable": len({r.inside for r in runs}) == 1,
                                "gpu_seconds": best.seconds, "gpu_rate": best.rate, "pi": best.pi,
                                "stderr": best.stderr})
        print(f"GPU {format_samples(samples)} darts, seed {seed}: inside {best.inside}, "
              f"{best.seconds:.3f} s, {best.rate:.3g} darts/s", flush=True)
        save()

    rate = cpu_rate(cpu_kernel)
    report["cpu_kernel"], report["cpu_core_rate"] = cpu_kernel, rate
    print(f"CPU: pool ×{available_cores()}, {cpu_kernel} kernel, about {rate:.3g} darts/s a core", flush=True)
    for pair in report["pairs"]:
        expected = pair["samples"] / (rate * available_cores())
        if expected > args.max_cpu_seconds:
            pair["cpu"] = f"skipped: about {expected:.0f} s expected, over --max-cpu-seconds {args.max_cpu_seconds:g}"
            print(f"CPU {format_samples(pair['samples'])} darts: {pair['cpu']}", flush=True)
            save()
            continue
        cpu = estimate_pi(pair["samples"], seed=pair["seed"], backend="pool", kernel=cpu_kernel)
        pair.update(cpu_inside=cpu.inside, cpu_seconds=cpu.seconds, cpu_rate=cpu.rate, cpu_workers=cpu.workers,
                    identical=cpu.inside == pair["gpu_inside"], gpu_over_cpu=pair["gpu_rate"] / cpu.rate)
        print(f"CPU {format_samples(pair['samples'])} darts, seed {pair['seed']}: inside {cpu.inside}, "
              f"{cpu.seconds:.1f} s ({cpu.rate:.3g} darts/s); identical: {pair['identical']}; "
              f"GPU/CPU rate {pair['gpu_over_cpu']:.0f}×", flush=True)
        save()

    compared = [p for p in report["pairs"] if "identical" in p]
    report["identical"] = bool(compared) and all(p["identical"] and p["gpu_repeatable"] for p in compared)
    report["compared_pairs"] = len(compared)
    report["best_gpu_rate"] = max(p["gpu_rate"] for p in report["pairs"])
    save()
    print(f"identical: {report['identical']} ({len(compared)} of {len(pairs)} pairs compared); "
          f"GPU rate up to {report['best_gpu_rate']:.3g} darts/s on {report['gpu']}")
    return 0 if report["identical"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
