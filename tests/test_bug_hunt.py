"""Notebook 03's bug hunt: each of the four broken versions gets its own diagnosis.

The four bugs (every worker seeded alike, a split that drops the remainder, a
notebook function sent to a spawn pool, threads adding into one total without
a lock) are rebuilt here from the same parts the notebook uses, and what the
self-check (or the pool) says about each is checked: four different kinds of
line, none of them giving the count away.  The notebook's stored outputs must
show the same four diagnoses.
"""

from __future__ import annotations

import re
import subprocess
import sys
import threading
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from functools import partial
from pathlib import Path

import nbformat
import pytest

from montepi import count_block, count_inside, plan_blocks
from montepi.backends import pool_context
from montepi.lesson.pitfalls import count_block_seeded_alike
from montepi.lesson.selfcheck import block_verdict, verdict
from montepi.lesson.workerlog import last_line, missing_attribute, stderr_to

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "03-multiprocessing-pool.ipynb"
N_HUNT, SEED = 10**6, 2017
PLAN = plan_blocks(N_HUNT, parts=4)

#: The kind of each diagnosis: the start of its line.
KINDS = {
    "seeded alike": re.compile(r"^✗ the same random numbers in (every|several) worker"),
    "remainder dropped": re.compile(r"^✗ darts missing: your blocks cover \d+ darts, not \d+"),
    "notebook function in a spawn pool": re.compile(r"AttributeError: module '__main__' has no attribute 'count_mine'"),
    "lost updates": re.compile(r"^✗ counts lost: your total is the sum of \d of your \d blocks"),
}


def seeded_alike() -> str:
    counts = [count_block_seeded_alike(block, SEED) for block in PLAN]  # what each pool worker returns
    return block_verdict(counts, PLAN, N_HUNT, SEED)


def remainder_dropped() -> str:
    share = N_HUNT // 3
    blocks = [(w * share, share) for w in range(3)]
    return block_verdict([count_inside(start, count, SEED) for start, count in blocks], blocks, N_HUNT, SEED)


def lost_updates() -> str:
    total = 0
    everyone_has_read = threading.Barrier(len(PLAN))

    def throw(block):
        nonlocal total
        seen = total
        everyone_has_read.wait()
        total = seen + count_block(block, SEED)

    with ThreadPoolExecutor(len(PLAN)) as threads:
        list(threads.map(throw, PLAN))
    return verdict(total, N_HUNT, SEED, blocks=PLAN)


def count_mine(block, seed):
    return count_inside(block.start, block.count, seed)


def notebook_function_in_spawn_pool(tmp_path: Path, monkeypatch) -> str:
    """A function whose pickle says ``__main__.count_mine``, as a notebook's does, sent to spawned workers."""
    monkeypatch.setattr(count_mine, "__module__", "__main__")
    monkeypatch.setattr(sys.modules["__main__"], "count_mine", count_mine, raising=False)
    log = str(tmp_path / "worker-stderr.txt")
    spawn = pool_context("spawn")
    with pytest.raises(BrokenProcessPool), \
            ProcessPoolExecutor(1, mp_context=spawn, initializer=stderr_to, initargs=(log,)) as executor:
        list(executor.map(count_mine, PLAN, [SEED] * len(PLAN)))
    return missing_attribute(last_line(log))


def kind_of(line: str) -> list[str]:
    return [kind for kind, pattern in KINDS.items() if pattern.search(line)]


def test_each_broken_version_gets_its_own_diagnosis(tmp_path, monkeypatch):
    lines = {"seeded alike": seeded_alike(), "remainder dropped": remainder_dropped(),
             "lost updates": lost_updates(),
             "notebook function in a spawn pool": notebook_function_in_spawn_pool(tmp_path, monkeypatch)}
    for bug, line in lines.items():
        assert kind_of(line) == [bug], f"{bug}: {line!r}"
    assert len(set(lines.values())) == 4
    exact = str(count_inside(0, N_HUNT, SEED))
    assert not any(exact in line for line in lines.values()), "a diagnosis gave the count away"


def test_the_lost_updates_are_lost_every_time_not_by_luck():
    """The barrier makes every thread read the total before any writes: the same verdict on every run."""
    lines = {lost_updates() for _ in range(5)}
    assert len(lines) == 1 and kind_of(lines.pop()) == ["lost updates"]


def test_the_fixes_pass_the_same_checks():
    """What the folded fixes do: each block's own darts, an exact plan, a lock (the spawn fix is a module)."""
    with ProcessPoolExecutor(2, mp_context=pool_context()) as pool:
        counts = list(pool.map(partial(count_block, seed=SEED), PLAN))
    assert block_verdict(counts, PLAN, N_HUNT, SEED).startswith("✓")
    blocks = plan_blocks(N_HUNT, parts=3)
    assert block_verdict([count_block(b, SEED) for b in blocks], blocks, N_HUNT, SEED).startswith("✓")


def test_the_notebook_shows_each_diagnosis():
    """The stored outputs of the four bug cells: one diagnosis each, the right kind, in the order of the page."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    markers = {"seeded alike": "partial(count_block_seeded_alike", "remainder dropped": "share = N_HUNT // workers",
               "notebook function in a spawn pool": "def count_mine", "lost updates": "everyone_has_read.wait()"}
    for bug, marker in markers.items():
        cells = [c for c in notebook.cells if c.cell_type == "code" and marker in c.source]
        assert len(cells) == 1, f"{len(cells)} code cells hold {marker!r}"
        text = "".join(o.get("text", "") for o in cells[0].outputs if o["output_type"] == "stream")
        found = [kind for line in text.splitlines() for kind in kind_of(line)]
        assert found == [bug], f"{bug}: the cell printed {text!r}"


def test_the_module_a_learner_writes_stays_out_of_git_status():
    """Exercise 3 writes notebooks/mydarts.py (%%writefile): it is the learner's, so git ignores it."""
    root = NOTEBOOK.parent.parent
    if not (root / ".git").exists():
        pytest.skip("not a git checkout")
    ignored = subprocess.run(["git", "check-ignore", "-q", "notebooks/mydarts.py"], cwd=root, check=False)
    assert ignored.returncode == 0, "notebooks/mydarts.py would show up in git status after Run All"
