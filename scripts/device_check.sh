#!/usr/bin/env bash
# The one prepared check for a machine with more cores and a GPU (issue 25 §4): the full benchmark on
# every core, then scripts/gpu_check.py, their JSON (and logs) in one folder, within a time budget.
#
#   bash scripts/device_check.sh                     # into $OUT (or ./device-results), 600 s in all
#   bash scripts/device_check.sh --out DIR --budget 540 --python .venv/bin/python
#   bash scripts/device_check.sh --bench-args "--samples 8e8 --repeat 3"   # instead of the defaults below
#   bash scripts/device_check.sh --dry-run           # say what would run, with its time limits; run nothing
#
# Run from anywhere; it works from the repository root with PYTHONPATH=code, so no install is needed, but the
# Python it uses must have NumPy, dask and distributed (and CuPy for the GPU part); it checks that first.
# Order and limits: gpu_check first (it rewrites its JSON after every step, so a cut-short run keeps what it
# measured), at most GPU_SHARE of the budget; then the benchmark with what is left, less a margin.  Each part
# is stopped by `timeout` when its time is up, so the whole never runs past the budget.
#
# Exit status: 0 both parts finished (whatever they measured: targets are reported, not asserted), 1 a part
# failed or ran out of time (its log in the folder says which), 2 bad arguments or a Python without what the
# benchmark needs (one line on stderr).
set -euo pipefail

root=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
out=${OUT:-./device-results}
budget=600
bench_args="--samples 4e8 --repeat 2"   # full mode; sized (untried) to fit its share on 16 cores: see BENCHMARKS.md
python=""
dry=0
GPU_SHARE=35      # per cent of the budget for gpu_check (its full run takes 2-3 minutes)
MARGIN=20         # seconds kept back for start-up and writing

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
fail() { echo "device_check: $1" >&2; exit 2; }

while [ $# -gt 0 ]; do
    case $1 in
        --out) [ $# -ge 2 ] || fail "--out needs a folder"; out=$2; shift 2 ;;
        --budget) [ $# -ge 2 ] || fail "--budget needs seconds"; budget=$2; shift 2 ;;
        --python) [ $# -ge 2 ] || fail "--python needs an interpreter"; python=$2; shift 2 ;;
        --bench-args) [ $# -ge 2 ] || fail "--bench-args needs the benchmark's options in one word"; bench_args=$2; shift 2 ;;
        --dry-run) dry=1; shift ;;
        -h|--help) usage; exit 0 ;;
        *) fail "unknown argument '$1' (try --help)" ;;
    esac
done
case $budget in ''|*[!0-9]*) fail "--budget must be whole seconds, got '$budget'" ;; esac
[ "$budget" -ge 120 ] || fail "--budget $budget is too short: the benchmark and gpu_check need at least 120 s"
if [ -z "$python" ]; then
    if [ -x "$root/.venv/bin/python" ]; then python=$root/.venv/bin/python; else python=python3; fi
fi

gpu_s=$(( budget * GPU_SHARE / 100 ))
bench_s=$(( budget - gpu_s - MARGIN ))
gpu_cmd=("$python" "$root/scripts/gpu_check.py" --max-cpu-seconds 60 --out "$out")
read -r -a extra <<<"$bench_args"
bench_cmd=("$python" -m montepi.bench --workers max "${extra[@]}" --out "$out")

if [ "$dry" = 1 ]; then
    echo "would write into: $out"
    echo "gpu_check, at most ${gpu_s} s: ${gpu_cmd[*]}"
    echo "benchmark, at most ${bench_s} s: PYTHONPATH=$root/code ${bench_cmd[*]}"
    exit 0
fi

export PYTHONPATH="$root/code${PYTHONPATH:+:$PYTHONPATH}"
command -v "$python" >/dev/null 2>&1 || fail "no Python at '$python' (give one with --python)"
"$python" -c "import numpy, dask, distributed, psutil" 2>/dev/null \
    || fail "$python lacks NumPy, dask, distributed or psutil, which the benchmark needs (give another with --python)"
mkdir -p "$out"
status=0
echo "device_check: gpu_check (at most ${gpu_s} s) → $out/gpu_check.json"
timeout --signal=INT --kill-after=10 "$gpu_s" "${gpu_cmd[@]}" >"$out/gpu_check.log" 2>&1 || {
    echo "device_check: gpu_check ended with status $? (see $out/gpu_check.log)"; status=1; }
echo "device_check: benchmark on every core (at most ${bench_s} s) → $out/results-*cores.json"
timeout --signal=INT --kill-after=10 "$bench_s" "${bench_cmd[@]}" >"$out/bench.log" 2>&1 || {
    echo "device_check: benchmark ended with status $? (see $out/bench.log)"; status=1; }
ls -l "$out"
exit $status
