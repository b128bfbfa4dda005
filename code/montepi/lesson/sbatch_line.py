"""The self-check of notebook 06's exercise: one ``sbatch`` line that starts a given number of dask workers.

The learner writes the command line as a string; :func:`check_sbatch_line`
reads it as ``sbatch`` would (options, the script, the script's own
arguments) and prints one line: ``✓``, ``… not yet`` while the ``...`` is
still there, or ``✗`` with what this line would do instead and the section to
reread.  It needs no Slurm: it judges the line, not a queue, so it says the
same on a laptop and on a cluster.  It never prints the option that is missing.

The rules are those of ``notebooks/slurm/worker.sh``: it starts exactly one
``dask worker`` per job (it has no ``srun``), and it reads ``$VENV`` and
``$SCHEDULER_FILE`` from the job's environment.
"""

from __future__ import annotations

import shlex
from pathlib import PurePosixPath

from .selfcheck import NOT_YET

SECTION = "(see “Workers as Slurm jobs, by hand” above)"
SCRIPT = "worker.sh"

#: sbatch options that take a value as the next word when not written ``--name=value`` (or ``-Xvalue``).
LONG_WITH_VALUE = {
    "account", "array", "begin", "chdir", "comment", "constraint", "cpus-per-gpu", "cpus-per-task", "dependency",
    "error", "exclude", "export", "gpus", "gres", "input", "job-name", "mem", "mem-per-cpu", "mem-per-gpu",
    "nodelist", "nodes", "ntasks", "ntasks-per-node", "output", "partition", "qos", "reservation", "time", "wrap",
}
SHORT_WITH_VALUE = set("aAbcCdDeGiJLmMnNopqtwx")
SHORT_NAMES = {"a": "array", "A": "account", "c": "cpus-per-task", "D": "chdir", "e": "error", "J": "job-name",
               "n": "ntasks", "N": "nodes", "o": "output", "p": "partition", "t": "time"}


def _options(words: list[str]) -> tuple[dict[str, str], list[str]] | str:
    """sbatch's options as ``{long name: value}`` and the words from the script on, or the ✗ line."""
    options: dict[str, str] = {}
    index = 0
    while index < len(words) and words[index].startswith("-"):
        word = words[index]
        if word.startswith("--"):
            name, has_value, value = word[2:].partition("=")
            if not has_value and name in LONG_WITH_VALUE:
                index += 1
                if index == len(words):
                    return f"✗ --{name} needs a value {SECTION}"
                value = words[index]
        else:
            letter, value = word[1:2], word[2:]
            name = SHORT_NAMES.get(letter, letter)
            if not value and letter in SHORT_WITH_VALUE:
                index += 1
                if index == len(words):
                    return f"✗ -{letter} needs a value {SECTION}"
                value = words[index]
        options[name] = value
        index += 1
    return options, words[index:]


def _array_tasks(spec: str) -> tuple[int, int | None] | str:
    """How many tasks ``--array=spec`` makes, and how many may run at once (None: all), or the ✗ line."""
    indices, _, limit = spec.partition("%")
    tasks: set[int] = set()
    try:
        for part in indices.split(","):
            bounds, _, step = part.partition(":")
            first, dash, last = bounds.partition("-")
            stop = int(last) if dash else int(first)
            tasks.update(range(int(first), stop + 1, int(step) if step else 1))
        at_once = int(limit) if limit else None
    except ValueError:
        return f"✗ --array={spec} is not an index list sbatch understands (e.g. 0-9, 1,3,5 or 1-9:2) {SECTION}"
    return len(tasks), at_once


def sbatch_verdict(line: object, workers: int = 2) -> str:
    """The line :func:`check_sbatch_line` prints."""
    if line is ... or line is None or (isinstance(line, str) and "..." in line):
        return NOT_YET
    if not isinstance(line, str):
        return f"✗ write the command line as a string (line = \"sbatch …\"), not {type(line).__name__}"
    text = line.strip().removeprefix("!").strip()
    if any(joiner in text for joiner in (";", "&&", "||", "\n")):
        return (f"✗ that is more than one command: the exercise asks for one sbatch line that starts all "
                f"{workers} workers {SECTION}")
    try:
        words = shlex.split(text)
    except ValueError as error:
        return f"✗ the line does not parse as a shell command ({error}): check its quotes"
    if not words or words[0] != "sbatch":
        first = words[0] if words else "nothing"
        return (f"✗ the line starts with {first}: a batch job is submitted with sbatch (srun runs a job step and "
                f"waits; bash would run the script here, outside Slurm) {SECTION}")
    parsed = _options(words[1:])
    if isinstance(parsed, str):
        return parsed
    options, rest = parsed
    if "wrap" in options:
        return f"✗ --wrap runs a command instead of a script; the workers come from {SCRIPT} {SECTION}"
    if not rest:
        return f"✗ which script? name {SCRIPT} after sbatch's options {SECTION}"
    script, script_args = rest[0], rest[1:]
    if PurePosixPath(script).name != SCRIPT:
        return f"✗ this line submits {script}; the workers are started by {SCRIPT} {SECTION}"
    if any(arg.startswith("-") for arg in script_args):
        return (f"✗ {' '.join(script_args)}: words after the script's name go to the script, not to sbatch; "
                f"put sbatch's options before {SCRIPT}")
    export = options.get("export", "")
    names = {item.partition("=")[0] for item in export.split(",") if item}
    if not {"VENV", "SCHEDULER_FILE"} <= names:
        return (f"✗ {SCRIPT} reads $VENV and $SCHEDULER_FILE: hand both to the job with --export, as in the "
                f"section above {SECTION}")
    if "ALL" not in names:
        return ("✗ --export without ALL passes only the variables it names (no PATH, no HOME) to the job: "
                "start its list with ALL")
    if "array" not in options:
        asked = [f"--{name}={options[name]}" for name in ("ntasks", "nodes", "cpus-per-task") if name in options]
        why = f" however much it asks for ({', '.join(asked)})" if asked else ""
        return (f"✗ this submits one job, and {SCRIPT} starts one dask worker per job{why}: it has no srun. "
                f"One job, one worker; which sbatch option submits the same script several times? {SECTION}")
    tasks = _array_tasks(options["array"])
    if isinstance(tasks, str):
        return tasks
    count, at_once = tasks
    if at_once is not None and at_once < min(count, workers):
        return (f"✗ --array=…%{at_once} lets only {at_once} of its tasks run at a time: {at_once} worker(s) at "
                f"once, not {workers}")
    if count != workers:
        return f"✗ this array has {count} task(s), so {count} worker(s); the exercise asks for {workers}"
    return f"✓ {workers} workers from one sbatch line: an array of {workers} tasks, each running {SCRIPT} once"


def check_sbatch_line(line: object, workers: int = 2) -> None:
    """Print whether ``line`` (a shell command, as a string) starts ``workers`` dask workers from worker.sh."""
    print(sbatch_verdict(line, workers))
