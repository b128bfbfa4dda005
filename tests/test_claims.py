"""Every sentence true: each corrected claim of the notebooks, checked on what the notebook printed.

A claim is a function of one executed notebook's outputs (:class:`Printed`) that
fails when a sentence of the lesson would be false beside them: a printed
interpretation that does not match the printed numbers, a pid that says the
scheduler is not where the page says, an extrapolation beyond what was measured.
Register one with ``@claim("NN")`` in its notebook's section below.

Every claim runs twice: on the notebook's *stored* outputs (every test run), and
on a fresh execution beside two busy processes, whose outputs are checked and
thrown away (a learner on a shared JupyterHub sees a busy machine; the page must
stay true there too).
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("[0-9][0-9]-*.ipynb"))


class Printed:
    """What each code cell of one executed notebook printed (stdout, stderr and results as plain text)."""

    def __init__(self, notebook) -> None:
        self.cells = [cell for cell in notebook.cells if cell.cell_type == "code"]

    @staticmethod
    def text(cell) -> str:
        parts = []
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                parts.append(output["text"])
            elif output["output_type"] in ("execute_result", "display_data"):
                parts.append(output["data"].get("text/plain", ""))
        return "".join(parts)

    def of(self, marker: str) -> str:
        """What the one code cell whose source contains ``marker`` printed (the marker must be unique)."""
        found = [cell for cell in self.cells if marker in "".join(cell.source)]
        assert len(found) == 1, f"{len(found)} code cells contain {marker!r}; a claim needs exactly one"
        return self.text(found[0])

    def number(self, marker: str, pattern: str) -> float:
        """The first number captured by ``pattern`` (one group) in what the cell holding ``marker`` printed."""
        text = self.of(marker)
        match = re.search(pattern, text)
        assert match, f"{pattern!r} not found in the output of the cell with {marker!r}:\n{text}"
        return float(match.group(1))


Claim = Callable[[Printed], None]
CLAIMS: dict[str, list[Claim]] = {path.name[:2]: [] for path in NOTEBOOKS}


def claim(notebook: str) -> Callable[[Claim], Claim]:
    """Register a claim about notebook ``notebook`` ("01" … "07")."""
    def register(check: Claim) -> Claim:
        CLAIMS[notebook].append(check)
        return check
    return register


# --- 01 · Serial π ------------------------------------------------------------------------------------------------

@claim("01")
def decimals_follow_the_one_definition(printed: Printed) -> None:
    """"π to d decimals" means 1.96 σ < 0.5·10⁻ᵈ: d is the largest such, and π̂ is shown with d decimals."""
    text = printed.of("decimals = math.floor(")
    match = re.search(r"1\.96 σ = ([0-9.]+) < ([0-9.e-]+): π to (\d+) decimals, ([0-9.]+) "
                      r"\(not (\d+): that needs 1\.96 σ < ([0-9.e-]+)\)", text)
    assert match, f"the decimals line is missing:\n{text}"
    half_width, bound, decimals, shown, next_decimals, next_bound = match.groups()
    d = int(decimals)
    assert float(bound) == 0.5 * 10**-d and float(next_bound) == 0.5 * 10**-(d + 1) and int(next_decimals) == d + 1
    assert float(half_width) < float(bound), f"1.96 σ = {half_width} is not below {bound}"
    assert float(half_width) >= float(next_bound), f"1.96 σ = {half_width} would allow {d + 1} decimals"
    assert len(shown.partition(".")[2]) == d, f"{shown} is not shown with {d} decimals"
    interval = printed.number("p = inside / N", r"π̂ = \S+ ± ([0-9.]+)")
    assert abs(1.96 * interval - float(half_width)) <= 1e-6, "the half-width is not 1.96 × the printed σ"


@claim("01")
def advance_lands_on_the_dart_and_jumped_does_not(printed: Printed) -> None:
    """advance(2·start) gives the long draw's rows bit for bit; jumped() is another operation."""
    text = printed.of("long_draw = np.random.Generator")
    assert re.search(r"by advance\(\) and rows 1000–1999 of the long draw, identical: True", text), text
    assert re.search(r"jumped\(\) instead of advance\(\): lands on dart 1000\? False", text), text


@claim("01")
def the_kernel_buffer_is_the_size_the_page_says(printed: Printed) -> None:
    """The page says the kernel's buffer, radii and flags take 1.6 MiB (more than most L2 caches), at every N."""
    text = printed.of("kernel_peaks = [peak_memory(count_inside")
    kernel = re.findall(r"^\s*\d+\s+[0-9.]+ MiB\s+([0-9.]+) MiB$", text, re.M)
    assert len(kernel) == 3 and set(kernel) == {"1.6"}, f"kernel peaks {kernel}, the page says 1.6 MiB:\n{text}"


# --- 02 · Threads and the GIL -------------------------------------------------------------------------------------
# The thresholds the notebook's verdict uses (montepi.lesson.gil), restated so that the test does not trust it.
NEAR_TWICE, TOOK_TURNS, SIDE_BY_SIDE = 1.7, 0.4, 0.25


def race_verdict(printed: Printed, marker: str, workers: str) -> tuple[float, float, float, float | None]:
    """The load, cores, speed-up and waits a race cell printed, checked against the words it printed beside them."""
    text = printed.of(marker)
    load = re.search(r"load average ([0-9.]+) on (\d+) cores \((quiet enough|busy: [^)]*)\)", text)
    assert load, f"no load line in the output of {marker!r}:\n{text}"
    level, cores = float(load.group(1)), int(load.group(2))
    assert load.group(3).startswith("busy") == (level >= 0.5 * cores), f"load {level} on {cores} cores: {load.group(0)}"
    speed = re.search(rf"speed-up with 2 {workers}: ([0-9.]+) \(wall clock\): (.*)", text)
    assert speed, f"no speed-up line in the output of {marker!r}:\n{text}"
    speedup, words = float(speed.group(1)), speed.group(2)
    if speedup >= NEAR_TWICE:
        assert words == "close to twice as fast", words
    elif level >= 0.5 * cores:
        assert words.startswith("short of 2×, and the machine is busy"), words
    else:
        assert words == "short of 2×, on a quiet machine", words
    one = {"threads": "thread", "processes": "process"}[workers]
    rows = dict(re.findall(rf"^\s*(1|2) (?:{one}|{workers}): ([0-9.]+) s", text, re.M))
    assert set(rows) == {"1", "2"}, f"both contenders' times are printed: {text}"
    # The times are printed rounded: the speed-up must lie within what the rounded times allow (and its own rounding).
    t1, t2 = float(rows["1"]), float(rows["2"])
    half = 0.5 * 10 ** -len(rows["1"].partition(".")[2])
    low, high = (t1 - half) / (t2 + half), (t1 + half) / max(t2 - half, 1e-9)
    assert low - 0.006 <= speedup <= high + 0.006, f"speed-up {speedup} ≠ the times' ratio {t1}/{t2}"
    waits = re.search(rf"waits with 2 {workers}: ([0-9.]+) s asleep per second on a core: (.*)", text)
    if waits is None:
        return level, cores, speedup, None
    value, meaning = float(waits.group(1)), waits.group(2)
    expected = ("they took turns, one at a time (the GIL)" if value >= TOOK_TURNS else
                "they did not wait for each other, so they can run at once" if value < SIDE_BY_SIDE else
                "they partly took turns")
    assert meaning == expected, f"waits {value}: printed {meaning!r}"
    assert re.search(rf"2 {workers}: .* waits {value:.2f}$", text, re.M), "the verdict's waits are the table's"
    return level, cores, speedup, value


@claim("02")
def pure_python_threads_take_turns_on_any_machine(printed: Printed) -> None:
    """With the GIL, two threads of pure Python each sleep about as long as they run, quiet machine or busy."""
    _, _, _, waits = race_verdict(printed, "t_py = race(", "threads")
    if waits is not None:
        assert waits >= TOOK_TURNS, f"two pure-Python threads slept only {waits} s per second on a core"


@claim("02")
def numpy_threads_do_not_wait_for_each_other(printed: Printed) -> None:
    """NumPy gives the GIL back: its two threads hardly sleep, whatever the wall clock says under load."""
    _, _, _, waits = race_verdict(printed, "t_np = race(", "threads")
    if waits is not None:
        assert waits < SIDE_BY_SIDE, f"two NumPy threads slept {waits} s per second on a core"


@claim("02")
def the_process_speedup_is_worded_from_its_numbers(printed: Printed) -> None:
    race_verdict(printed, "t_proc = race(", "processes")


@pytest.mark.parametrize("name, pattern, doctored", [
    ("01-serial-pi.ipynb", r"π to (\d) decimals", lambda m: f"π to {int(m.group(1)) + 1} decimals"),
    ("01-serial-pi.ipynb", r"lands on dart 1000\? False", lambda m: "lands on dart 1000? True"),
    ("02-threads-and-the-gil.ipynb", r"(waits with 2 threads: )[0-9.]+( s asleep per second on a core: they took)",
     lambda m: f"{m.group(1)}0.05{m.group(2)}"),
    ("02-threads-and-the-gil.ipynb", r"speed-up with 2 processes: [0-9.]+",
     lambda m: "speed-up with 2 processes: 9.99"),
])
def test_the_01_02_claims_catch_a_doctored_output(name, pattern, doctored):
    """Each claim of notebooks 01 and 02 fails when its stored output is changed to contradict the page."""
    path = next(p for p in NOTEBOOKS if p.name == name)
    notebook = nbformat.read(path, as_version=4)
    changed = 0
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            if output["output_type"] == "stream":
                output["text"], n = re.subn(pattern, doctored, output["text"])
                changed += n
    assert changed, f"{pattern!r} is not in the stored outputs of {name}"
    assert check_all(path, notebook), f"no claim noticed {pattern!r} changed"


# --- 03 · A pool of processes -------------------------------------------------------------------------------------

def _within(value: float, low: float, high: float, slack: float) -> bool:
    """``low < value < high`` up to ``slack`` either side (printed numbers are rounded)."""
    return low - slack < value < high + slack


@claim("03")
def one_process_pool_reading_follows_its_numbers(printed: Printed) -> None:
    """The verdict on a one-process pool against serial is the one its printed times and spread support."""
    marker = "ROUNDS = 5"
    serial = printed.number(marker, r"\n\s*serial\s+([\d.]+) s")
    one = printed.number(marker, r"\n\s*1\s+([\d.]+) s")
    difference = printed.number(marker, r"one process against serial: ([+-][\d.]+) s")
    noise = printed.number(marker, r"one process against serial: [+-][\d.]+ s, spread ([\d.]+) s")
    assert abs(difference - (one - serial)) <= 0.011, f"printed difference {difference} is not {one} − {serial}"
    verdict = re.search(r"one process against serial: .*?: (\w+)", printed.of(marker)).group(1)
    expected = {"slower": (noise, float("inf")), "within": (-noise, noise), "faster": (float("-inf"), -noise)}
    assert verdict in expected, f"unknown verdict {verdict!r}"
    assert _within(difference, *expected[verdict], slack=0.011), \
        f"says {verdict!r} for a difference of {difference:+.2f} s beside a spread of {noise:.2f} s"
    # The predict-then-run answer (B: about as fast as serial, or a little slower) stays true.
    assert 0.5 * serial < one < 2 * serial, f"one-process pool {one} s against serial {serial} s: answer B is wrong"


@claim("03")
def all_cores_speedup_reading_follows_its_numbers(printed: Printed) -> None:
    """The verdict on the speed-up with every core is the one the printed ratio supports."""
    marker = "ROUNDS = 5"
    text = printed.of(marker)
    cores = int(printed.number(marker, r"(\d+) cores, load average"))
    one = printed.number(marker, r"\n\s*1\s+([\d.]+) s")
    most = printed.number(marker, rf"\n\s*{cores}\s+([\d.]+) s")
    speedup = printed.number(marker, rf"{cores} processes against 1: speed-up ([\d.]+)")
    assert abs(speedup - one / most) <= 0.01 + 0.006 * speedup, f"speed-up {speedup} is not {one} / {most}"
    verdict = re.search(rf"{cores} processes against 1: speed-up [\d.]+: (\w+)", text).group(1)
    expected = {"close": (0.9 * cores, float("inf")), "short": (1, 0.9 * cores), "no": (float("-inf"), 1)}
    assert verdict in expected, f"unknown verdict {verdict!r}"
    assert _within(speedup, *expected[verdict], slack=0.011), f"says {verdict!r} for a speed-up of {speedup}"


@claim("03")
def fork_exists_where_the_table_says(printed: Printed) -> None:
    """The start-method table: `fork` is available on Linux and macOS (not only on Linux), never on Windows."""
    methods = printed.of("get_all_start_methods()")
    if sys.platform in ("linux", "darwin"):
        assert "'fork'" in methods, methods
    assert "montepi uses: forkserver" in methods or "montepi uses: spawn" in methods, methods


# --- 04 · dask.array ----------------------------------------------------------------------------------------------

@claim("04")
def per_task_rule_follows_its_numbers(printed: Printed) -> None:
    """Darts per task for ≤ 10 % overhead = 10 × measured cost per task / measured cost per dart, per scheduler."""
    marker = "per_task_seconds(\"dask\""
    per_dart = printed.number(marker, r"one dart costs ([\d.]+) ns") * 1e-9
    rows = {}
    for scheduler in ("threads", "distributed"):
        match = re.search(rf"\n{scheduler}\s+([\d.]+) ms\s+([\d.e+-]+)", printed.of(marker))
        assert match, f"no row for {scheduler}"
        seconds, darts = float(match[1]) * 1e-3, float(match[2])
        rows[scheduler] = seconds
        expected = 10 * seconds / per_dart
        slack = 0.06 + 0.005e-3 / max(seconds, 1e-9) + 0.05e-9 / per_dart
        assert abs(darts / expected - 1) <= slack, \
            f"{scheduler}: {darts:.1e} darts, but 10 × {seconds} s / {per_dart} s"
    ratio = printed.number(marker, r"dask.distributed costs ([\d.]+)× as much per task")
    assert abs(ratio - rows["distributed"] / rows["threads"]) <= 0.05 + 0.06 * ratio, ratio
    assert ratio >= 2, f"the page says dask.distributed costs several times more per task; measured {ratio}×"
    share = printed.number(marker, r"blocks of 2\*\*23 darts on dask.distributed: overhead ([\d.]+)%") / 100
    assert abs(share - rows["distributed"] / (2**23 * per_dart)) <= 0.0006 + 0.08 * share, share
    under = "under a tenth" in printed.of(marker)
    assert under == (share <= 0.1) or abs(share - 0.1) < 0.001, f"overhead {share:.1%}, says under a tenth: {under}"


@claim("04")
def the_fan_in_tree_starts_at_five_chunks(printed: Printed) -> None:
    """Four chunks: one task adds all four counts; from five chunks up, sum-partial tasks make a tree."""
    text = printed.of("def reduction_tasks")
    partial = {int(m[1]): int(m[2]) for m in re.finditer(r"(\d+) chunks: \{'sum-partial': (\d+), 'sum-aggregate': 1\}",
                                                        text)}
    assert partial.get(4) == 0, text
    assert partial and all(tasks > 0 for chunks, tasks in partial.items() if chunks >= 5), text
    assert {4, 5} <= set(partial), text


@claim("04")
def the_original_lessons_chunks_are_a_tenth_of_n(printed: Printed) -> None:
    """The sweep marks the original lesson's chunk size, 0.1·N (not 1 000 darts), on the row where it holds."""
    rows = [line for line in printed.of("SWEEP = [").splitlines() if "the original lesson's 0.1·N" in line]
    assert rows, "the sweep marks no row as the original lesson's chunk size"
    for row in rows:
        darts, chunk = (int(field.replace("_", "")) for field in row.split()[:2])
        assert chunk * 10 == darts, f"marked as 0.1·N: {row!r}"


@claim("04")
def tiny_chunks_cost_more_than_ten_times_per_dart(printed: Printed) -> None:
    """The predict-then-run answer (C): 1 000-dart chunks cost more than ten times the cheapest per dart."""
    ratio = printed.number("SWEEP = [", r"1_000-dart chunks cost ([\d.]+)×")
    assert ratio > 10, f"1 000-dart chunks cost only {ratio}× the cheapest per dart: answer C is wrong here"


# --- 05 · dask.distributed ----------------------------------------------------------------------------------------
# (claims about notebook 05 go here)

def _processes(text: str, label: str) -> list[int]:
    """The pids printed as "process N" on the line that starts with ``label`` (before any "|")."""
    line = next((line for line in text.splitlines() if line.startswith(label)), None)
    assert line, f"no line starting {label!r} in:\n{text}"
    return [int(pid) for pid in re.findall(r"process (\d+)", line.split("|")[0])]


@claim("05")
def the_scheduler_and_the_nannies_run_in_the_kernel_only_the_workers_are_processes(printed):
    """"The scheduler and the nannies run inside this kernel's process; only the two workers are processes of
    their own, and the kernel started them" (not: "a LocalCluster starts a scheduler and workers as processes")."""
    text = printed.of("client.run_on_scheduler(os.getpid)")
    [kernel] = _processes(text, "this kernel:")
    assert _processes(text, "scheduler:") == [kernel], text
    assert _processes(text, "nannies:") == [kernel, kernel], text
    workers = _processes(text, "workers:")
    assert len(set(workers)) == 2 and kernel not in workers, text
    started_by = [int(pid) for pid in re.findall(r"process (\d+)", text.split("started by")[1])]
    assert started_by == [kernel, kernel], text


@claim("05")
def a_plain_tcp_client_is_refused_and_ours_still_works(printed):
    """"127.0.0.1 is not private … a client without this cluster's certificates is refused"."""
    text = printed.of('cluster.scheduler_address.replace("tls://", "tcp://")')
    assert re.search(r"plain TCP to tcp://127\.0\.0\.1:\d+: refused \(\w+\)", text), text
    assert re.search(r"TLS with certificates of its own: refused \(\w+", text), text
    assert "with the cluster's certificates: True" in text, text


@claim("05")
def progress_with_notebook_false_returns_only_when_every_future_is_done(printed):
    """"`progress(futures, notebook=False)` … blocks until every future is done"."""
    text = printed.of("progress(futures, notebook=False)")
    match = re.search(r"(\d+) of (\d+) futures done when progress returned", text)
    assert match and match[1] == match[2] and int(match[2]) > 0, text


def _seconds(text: str, backend: str) -> float:
    match = re.search(rf"\(\S+ darts, {backend} ×2, (\d+\.\d+) s\)", text)
    assert match, f"no {backend} time in:\n{text}"
    return float(match[1])


def _load_words_match(text: str) -> None:
    match = re.search(r"a (busy|quiet) machine \(load (\d+\.\d+) on (\d+) cores\)", text)
    assert match, f"no load average in:\n{text}"
    assert (match[1] == "busy") == (float(match[2]) > int(match[3])), match[0]


@claim("05")
def the_pool_and_the_cluster_are_compared_in_words_that_fit_the_numbers(printed):
    """Not "they are close: 0.34 s … 0.39 s" beside 0.45 s against 0.68 s: the cell's words follow its times."""
    text = printed.of("cluster ÷ Pool")
    pool, dist = _seconds(text, "pool"), _seconds(text, "distributed")
    ratio = float(re.search(r"cluster ÷ Pool: (\d+\.\d+)", text)[1])
    low, high = (dist - 0.005) / (pool + 0.005), (dist + 0.005) / max(pool - 0.005, 1e-9)
    assert low - 0.005 <= ratio <= high + 0.005, f"ratio {ratio} does not follow from {dist} s ÷ {pool} s"
    expected = ("was faster" if ratio < 0.87 else "close" if ratio <= 1.15 else
                "a little slower" if ratio < 1.5 else "well behind")
    assert re.search(rf"cluster ÷ Pool: {ratio:.2f}, [^;]*{expected}", text), \
        f"{ratio} should read {expected!r}:\n{text}"
    _load_words_match(text)


@claim("05")
def tasks_of_a_hundred_darts_take_many_times_longer_on_the_cluster(printed):
    """The predict-then-run answer ("C: many times longer, ten times or more") and the words of its cell."""
    text = printed.of("SMALL, CHUNK =")
    one = float(re.search(r"one core: (\d+\.\d+) ms", text)[1])
    cluster = float(re.search(r"tasks of \d+ darts: (\d+) ms", text)[1])
    longer = float(re.search(r"the cluster took (\d+)× as long", text)[1])
    assert "identical: True" in text, text
    assert (cluster - 0.5) / (one + 0.05) - 1 <= longer <= (cluster + 0.5) / max(one - 0.05, 1e-9) + 1, text
    assert longer >= 10 and "the tasks cost far more than their darts" in text, text


# --- 06 · Scaling out ---------------------------------------------------------------------------------------------
NO_SLURM_06 = "No Slurm here ("


@claim("06")
def tls_scheduler_itself_refuses_both_strangers(printed: Printed) -> None:
    """"Refused" means the scheduler refused: both clients fail, and its log names both handshakes it turned away.

    (The page used to print a TypeError raised by the client library before any connection was made.)
    """
    text = printed.of('kept_log("distributed.comm") as scheduler_log')
    assert "TypeError" not in text and "should not happen" not in text, text
    assert re.findall(r"^(plain TCP|another authority's certificate): no client; it raised \w+Error$", text,
                      re.M) == ["plain TCP", "another authority's certificate"], text
    log = text.split("the scheduler's log:", 1)[1]
    refusals = re.findall(r"TLS handshake failed with remote .*?\[SSL: (\w+)\]", log)
    assert refusals == ["WRONG_VERSION_NUMBER", "CERTIFICATE_VERIFY_FAILED"], log


@claim("06")
def both_jobs_run_where_slurm_ran_the_cell(printed: Printed) -> None:
    """The prose after the sbatch cell says our two jobs are listed as running *where Slurm ran the cell*."""
    text = printed.of('workers = [slurm.sbatch("slurm/worker.sh"')
    if text.startswith(NO_SLURM_06):
        assert text.count("\n") == 1, text
        return
    lines = text.splitlines()
    header = next(i for i, line in enumerate(lines) if line.split()[:1] == ["JOBID"])  # after the login address
    rows = [line.split() for line in lines[header + 1:] if line.strip()]
    assert len(rows) == 2 and all(row[4] == "R" for row in rows), text


@claim("06")
def none_of_our_jobs_left_where_the_queue_is_read(printed: Printed) -> None:
    """Each "our jobs in the queue" after scancel/close/clean-up prints 0 (or the one no-Slurm line)."""
    for marker in ("slurm.scancel(workers)", "# the jobs adapt submitted", "shutil.rmtree(jobs)"):
        text = printed.of(marker)
        assert text.startswith(NO_SLURM_06) or text.strip().endswith("our jobs in the queue: 0"), (marker, text)


@claim("06")
def the_sbatch_exercise_runs_without_slurm(printed: Printed) -> None:
    """The exercise's skeleton runs everywhere as shipped: the check says "not yet", never NameError or No Slurm."""
    text = printed.of("# Your turn: one sbatch line")
    assert text.startswith("… not yet"), text


# --- 07 · Amdahl's law --------------------------------------------------------------------------------------------
SIXTEEN = "FURTHEST = 4 * max(workers16)"  # the cell that reads benchmarks/results-16cores.json
RESULTS_16 = Path(__file__).resolve().parent.parent / "benchmarks" / "results-16cores.json"
TABLE_16 = re.compile(r"^\s*(\d+) │\s+([\d.]+)\s+([\d.]+)\s+([\d.]+) │\s+([\d.]+) –\s+([\d.]+)\s+(\d+)% – (\d+)%", re.M)


@claim("07")
def no_speedup_is_predicted_beyond_4x_the_largest_count_measured(printed):
    measured = max(int(row[0]) for row in TABLE_16.findall(printed.of(SIXTEEN)))
    everything = "".join(printed.text(cell) for cell in printed.cells)
    asked = [int(p) for p in re.findall(r"\bS\((\d+)\)", everything)]
    assert asked, "no S(p) printed at all"
    assert max(asked) <= 4 * measured, f"S({max(asked)}) printed; the data end at {measured} workers"


@claim("07")
def sixteen_core_speedups_are_over_the_serial_time(printed):
    import json

    scaling = json.loads(RESULTS_16.read_text())["scaling"]
    rows = TABLE_16.findall(printed.of(SIXTEEN))
    assert len(rows) == len(scaling["rows"]), rows
    for (p, _, _, _, low, high, _, _), row in zip(rows, scaling["rows"], strict=True):
        expected = sorted(scaling["serial_s"] / row[key] for key in ("pool_s", "pool_prestarted_s"))
        assert abs(float(low) - expected[0]) < 0.006 and abs(float(high) - expected[1]) < 0.006, (p, low, high)


@claim("07")
def s_is_a_range_and_what_follows_from_it_agrees(printed):
    text = printed.of(SIXTEEN)
    low, high = (float(x) for x in re.search(r"pool: s between ([\d.]+) and ([\d.]+)", text).groups())
    assert 0 <= low < high <= 1
    ceiling = [int(x) for x in re.search(r"ceiling 1/s between (\d+)× and (\d+)×", text).groups()]
    assert abs(ceiling[0] - 1 / high) <= 1 and abs(ceiling[1] - 1 / low) <= 1, ceiling
    p, at_high, at_low = (int(x) for x in re.search(r"S\((\d+)\) between (\d+)× and (\d+)×", text).groups())
    assert abs(at_high - 1 / (high + (1 - high) / p)) <= 1 and abs(at_low - 1 / (low + (1 - low) / p)) <= 1


@claim("07")
def the_efficiency_verdict_matches_the_table(printed):
    text = printed.of(SIXTEEN)
    efficiency = [int(row[7]) for row in TABLE_16.findall(text)]  # of the faster run at each count
    falls = all(b <= a for a, b in zip(efficiency, efficiency[1:]))
    said = re.search(r"as Amdahl's law has it: (yes|no)", text).group(1)
    assert said == ("yes" if falls else "no"), (said, efficiency)


@claim("07")
def the_stand_in_verdict_matches_its_numbers(printed):
    text = printed.of("stand_in_seconds(STAND_IN_WORKERS")
    s, chosen, said, tolerance = re.search(
        r"fitted s = (-?[\d.]+), chosen ([\d.]+): (within|NOT within) the test's ±([\d.]+)", text).groups()
    off, tolerance = abs(float(s) - float(chosen)), float(tolerance)
    if abs(off - tolerance) > 0.001:  # printed to 3 decimals: only a clear case can be judged
        assert (said == "within") == (off <= tolerance), (s, chosen, said)
    cores = int(re.search(r"(\d+) cores", text).group(1))
    fastest = max(float(x) for x in re.findall(r"^\s*\d+\s+[\d.]+\s+([\d.]+)", text, re.M))
    assert (fastest > cores) == ("these threads wait" in text), (fastest, cores)


@claim("07")
def the_real_darts_verdict_follows_the_load_and_the_numbers(printed):
    text = printed.of("SERIAL_DARTS, PARALLEL_DARTS =")
    assert "same count as one serial run: True" in text
    cores, load = re.search(r"(\d+) cores, load average ([\d.]+)", text).groups()
    cores, load = int(cores), float(load)
    if cores == 1:
        assert "nothing to fit" in text
        return
    chosen, measured = (float(x) for x in re.search(r"chosen s = ([\d.]+), measured s = (-?[\d.]+)", text).groups())
    # the measured s is the fit to the printed speed-ups: 1/S − 1/p = s·(1 − 1/p), least squares
    rows = [(int(p), float(S)) for p, S in re.findall(r"^\s*(\d+)\s+[\d.]+\s+([\d.]+)\s+[\d.]+$", text, re.M)]
    x = [1 - 1 / p for p, _ in rows]
    y = [1 / S - 1 / p for p, S in rows]
    assert abs(sum(a * b for a, b in zip(x, y)) / sum(a * a for a in x) - measured) < 0.02, (rows, measured)
    busy = "Busy machine" in text
    if abs(load - cores) >= 0.05:
        assert busy == (load > cores), (load, cores)
    if not busy:
        word = "within 0.03" if abs(measured - chosen) <= 0.03 else "above" if measured > chosen else "below"
        assert word in text, (chosen, measured, text)


@claim("07")
def decimals_follow_the_95_percent_definition(printed):
    import math

    q = math.pi / 4
    rows = re.findall(r"^(\S+) darts → .* π to (\d+) decimals", printed.of("print(inspect.getsource(digits))"), re.M)
    assert len(rows) >= 3
    for n, d in rows:
        half_width = 1.96 * 4 * math.sqrt(q * (1 - q) / float(n))
        assert half_width < 0.5 * 10.0 ** -int(d) and not half_width < 0.5 * 10.0 ** -(int(d) + 1), (n, d)


FIXED_COST = "FIT_SIZES = ["  # the cell that fits T(N) = a + N/r to serial, the pool and threads
FIT_ROW = re.compile(r"^\s*(\w+)\s+([\d.]+)\s+([\d.]+|inf)\s+([\d.]+)%\s+(.+)$", re.M)


@claim("07")
def each_crossing_follows_from_the_printed_a_and_r(printed):
    text = printed.of(FIXED_COST)
    cores, load = re.search(r"(\d+) cores, load average ([\d.]+)", text).groups()
    fits = {name: (float(a) / 1e3, float(r) * 1e6, float(rms) / 100, said)
            for name, a, r, rms, said in FIT_ROW.findall(text)}
    assert set(fits) == {"serial", "pool", "threads"}, fits
    for name, (a, r, rms, said) in fits.items():
        assert a >= 0 and r > 0, (name, a, r)  # the fit is constrained: no negative cost, no negative speed
        if said == "good":
            assert rms <= 0.05 + 0.0005, (name, rms)  # montepi.timing.GOOD_FIT, printed to 0.1 %
    a0, r0 = fits["serial"][:2]
    for name in ("pool", "threads"):
        a, r = fits[name][:2]
        line = re.search(rf"^{name} (never pays off|pays off at every N|pays off above N = ([\d.e+-]+))", text, re.M)
        assert line, (name, text)
        if abs(r / r0 - 1) < 0.002 or abs(a - a0) < 0.0002:  # printed to 0.1 M and 0.1 ms: too close to judge
            continue
        if r < r0:
            assert line.group(1) == "never pays off", (name, a, r, a0, r0)
        elif a < a0:
            assert line.group(1) == "pays off at every N", (name, a, r, a0, r0)
        else:
            assert line.group(2), (name, line.group(0))
            # a and r are printed to 0.1 ms and 0.1 M darts/s: the crossing (a − a0) / (1/r0 − 1/r) can lie anywhere
            # their rounding allows, and the printed crossing (two digits) must meet that range.
            da, dr = 0.5e-4, 0.5e5
            slowest = 1 / (r0 + dr) - 1 / (r - dr)
            if slowest <= 0:  # within rounding, threads/pool may be no faster than serial: nothing to judge
                continue
            fastest = 1 / (r0 - dr) - 1 / (r + dr)
            low, high = max(a - a0 - 2 * da, 0) / fastest, (a - a0 + 2 * da) / slowest
            shown = float(line.group(2))
            assert shown * 0.95 <= high and shown * 1.05 >= low, (name, line.group(0), low, high)
    if abs(float(load) - int(cores)) >= 0.05:
        assert ("Busy machine" in text) == (float(load) > int(cores)), (load, cores)


WEAK = "PER_WORKER = "  # the weak-scaling cell
WEAK_ROW = re.compile(r"^\s*(\d+)\s+([\d.e+]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)$", re.M)


@claim("07")
def weak_scaling_grows_the_darts_with_the_workers_and_its_verdict_matches(printed):
    text = printed.of(WEAK)
    cores, load = re.search(r"(\d+) cores, load average ([\d.]+)", text).groups()
    cores, load = int(cores), float(load)
    per_worker = float(re.search(r"([\d.e+]+) darts per worker", text).group(1))
    rows = [tuple(float(x) for x in row) for row in WEAK_ROW.findall(text)]
    assert rows and rows[0][0] == 1 and max(p for p, *_ in rows) <= cores, rows
    t1 = rows[0][2]
    for p, darts, seconds, flat, scaled, _ in rows:
        assert darts == pytest.approx(per_worker * p)  # N = n₀·p
        assert flat == pytest.approx(t1 / seconds, abs=0.01) and scaled == pytest.approx(p * t1 / seconds, abs=0.02)
    if len(rows) < 2:
        assert "nothing to grow" in text
        return
    busy = "Busy machine" in text
    if abs(load - cores) >= 0.05:
        assert busy == (load > cores), (load, cores)
    if not busy:
        flat = rows[-1][3]
        if abs(flat - 0.9) > 0.005:
            assert ("stayed flat" in text) == (flat >= 0.9), (flat, text)


# --- The tests ------------------------------------------------------------------------------------------------------

def params(with_busy: bool = False):
    for path in NOTEBOOKS:
        marks = [pytest.mark.slurm] if path.name.startswith("06-") and with_busy else []
        yield pytest.param(path, id=path.name, marks=marks)


def check_all(path: Path, notebook) -> list[str]:
    printed, problems = Printed(notebook), []
    for check in CLAIMS[path.name[:2]]:
        try:
            check(printed)
        except AssertionError as error:
            problems.append(f"{path.name}: {check.__name__}: {error}")
    return problems


@pytest.mark.parametrize("path", list(params()))
def test_the_stored_outputs_keep_every_claim(path):
    problems = check_all(path, nbformat.read(path, as_version=4))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", list(params(with_busy=True)))
def test_every_claim_holds_beside_two_busy_processes(path):
    """A fresh run beside two processes that keep both cores busy; its outputs are checked, never stored."""
    if not CLAIMS[path.name[:2]]:
        pytest.skip(f"no claims about {path.name} yet")
    notebook = nbformat.read(path, as_version=4)
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}},
                       skip_cells_with_tag="skip-execution").execute()
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
    problems = check_all(path, notebook)
    assert not problems, "\n".join(problems)
