"""Versions are pinned once (requirements.txt); environment.yml must say the same."""

from __future__ import annotations

import re
from importlib.metadata import version
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def pins_in_requirements() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, pinned = line.partition("==")
            assert pinned, f"requirements.txt: {line!r} is not pinned with =="
            pins[name.lower()] = pinned
    return pins


def pins_in_environment() -> dict[str, str]:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    pins = {}
    for entry in pip:
        if entry.startswith("-e"):
            continue
        name, _, pinned = entry.partition("==")
        pins[name.strip().lower()] = pinned.strip()
    return pins


def test_environment_yml_repeats_the_pins():
    assert pins_in_environment() == pins_in_requirements()


def test_the_pins_cover_the_lesson_stack():
    pins = pins_in_requirements()
    for needed in ("numpy", "dask", "distributed", "bokeh", "jupyterlab", "matplotlib", "nbval", "ipykernel",
                   "pytest", "dask-labextension", "dask-jobqueue", "playwright"):
        assert needed in pins, f"{needed} is not pinned"
    assert pins["dask"] == pins["distributed"], "distributed pins dask exactly: keep them equal"


def test_the_installed_environment_is_the_pinned_one():
    mismatched = {name: (pinned, version(name)) for name, pinned in pins_in_requirements().items()
                  if version(name) != pinned}
    assert not mismatched, f"installed versions differ from requirements.txt (run ./lesson setup): {mismatched}"


def test_python_version_agrees():
    env = (ROOT / "environment.yml").read_text()
    requires = re.search(r'requires-python = ">=(\d+\.\d+)"', (ROOT / "pyproject.toml").read_text()).group(1)
    conda_python = re.search(r"python=(\d+\.\d+)", env).group(1)
    assert tuple(map(int, conda_python.split("."))) >= tuple(map(int, requires.split(".")))
