"""Versions are pinned once (requirements.in) and locked, with hashes, in requirements.lock.

The lock is generated (``./lesson lock``), never edited; these checks are offline: they read the
two files and the installed environment, and fail when the lock is stale against the pins.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib.metadata import version
from pathlib import Path

import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.lock"
RELOCK = "requirements.lock is stale: run ./lesson lock and commit requirements.lock"

#: One locked requirement: ``name==version`` with an optional ``; marker``, before its hashes.
LOCKED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")


def pins_in_requirements() -> dict[str, str]:
    """The top-level pins: {canonical name: version}."""
    pins = {}
    for line in (ROOT / "requirements.in").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            specifiers = list(requirement.specifier)
            assert len(specifiers) == 1 and specifiers[0].operator == "==", f"requirements.in: pin {line!r} with =="
            pins[canonicalize_name(requirement.name)] = specifiers[0].version
    return pins


def locked() -> list[dict]:
    """Every requirement in the lock: name, version, marker, hashes and what it is there for (``via``)."""
    entries: list[dict] = []
    for line in LOCK.read_text().splitlines():
        if match := LOCKED.match(line):
            name, pinned, marker = match.groups()
            entries.append({"name": canonicalize_name(name), "version": pinned, "marker": marker,
                            "hashes": [], "via": []})
        elif entries and (hashed := re.search(r"--hash=sha256:([0-9a-f]{64})", line)):
            entries[-1]["hashes"].append(hashed.group(1))
        elif entries and (via := re.match(r"\s+#\s+(?:via\b)?\s*(.*)$", line)):
            if via.group(1).strip():
                entries[-1]["via"].append(via.group(1).strip())
        else:
            assert line.startswith(("#", " ")) or not line.strip(), f"requirements.lock: cannot read {line!r}"
    return entries


def applies_here(entry: dict) -> bool:
    return entry["marker"] is None or Marker(entry["marker"]).evaluate()


def test_every_pin_is_locked_at_its_version():
    versions: dict[str, set[str]] = {}
    for entry in locked():
        versions.setdefault(entry["name"], set()).add(entry["version"])
    wrong = {name: (pinned, sorted(versions.get(name, ()))) for name, pinned in pins_in_requirements().items()
             if versions.get(name) != {pinned}}
    assert not wrong, f"{RELOCK} (pin: requirements.in, lock): {wrong}"


def test_the_lock_holds_nothing_that_was_unpinned():
    """A package dropped from requirements.in must leave the lock, or stay only as another's dependency."""
    pins = pins_in_requirements()
    orphans = [e["name"] for e in locked() if "-r requirements.in" in e["via"] and e["name"] not in pins]
    assert not orphans, f"{RELOCK}; no longer in requirements.in: {orphans}"
    assert all(e["via"] for e in locked()), "requirements.lock lost its annotations: regenerate it with ./lesson lock"


def test_every_locked_package_is_hashed_and_the_lock_is_generated():
    entries = locked()
    assert len(entries) > 2 * len(pins_in_requirements()), "the lock should hold the dependencies too"
    assert [e["name"] for e in entries if not e["hashes"]] == []
    assert "./lesson lock" in LOCK.read_text().splitlines()[1], "requirements.lock is written by ./lesson lock"


def test_the_lock_provides_what_the_package_needs():
    """``pip install --no-deps -e .`` trusts the lock to hold montepi's own dependencies."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    here = {e["name"]: e["version"] for e in locked() if applies_here(e)}
    missing = {}
    for line in project["dependencies"]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        if name not in here or not requirement.specifier.contains(here[name], prereleases=True):
            missing[line] = here.get(name)
    assert not missing, f"pyproject.toml needs what requirements.lock does not give: {missing}"


def test_the_pins_cover_the_lesson_stack():
    pins = pins_in_requirements()
    for needed in ("numpy", "dask", "distributed", "bokeh", "jupyterlab", "matplotlib", "nbval", "ipykernel",
                   "pytest", "dask-labextension", "dask-jobqueue", "playwright", "sphinx", "myst-nb", "uv"):
        assert needed in pins, f"{needed} is not pinned"
    assert pins["dask"] == pins["distributed"], "distributed pins dask exactly: keep them equal"


def test_the_installed_environment_is_the_locked_one():
    mismatched = {e["name"]: (e["version"], version(e["name"])) for e in locked()
                  if applies_here(e) and version(e["name"]) != e["version"]}
    assert not mismatched, f"installed versions differ from requirements.lock (run ./lesson setup): {mismatched}"


def pip_entries(environment: Path) -> list[str]:
    env = yaml.safe_load(environment.read_text())
    return next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)


def test_conda_and_binder_install_from_the_lock():
    assert pip_entries(ROOT / "environment.yml") == ["--require-hashes", "-r requirements.lock"]
    assert pip_entries(ROOT / "binder" / "environment.yml") == ["--require-hashes", "-r ../requirements.lock"]


def test_python_versions_agree():
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    lowest = re.fullmatch(r">=(\d+\.\d+)", requires).group(1)
    for environment in (ROOT / "environment.yml", ROOT / "binder" / "environment.yml"):
        conda_python = re.search(r"python=(\d+\.\d+)", environment.read_text()).group(1)
        assert tuple(map(int, conda_python.split("."))) >= tuple(map(int, lowest.split("."))), environment
    assert f"--python-version {lowest}" in (ROOT / "lesson").read_text(), "lock for the lowest supported Python"
    assert sys.version_info >= tuple(map(int, lowest.split(".")))
