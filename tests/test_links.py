"""Every relative link and figure in the lesson resolves inside the folder JupyterLab serves.

``./lesson lab`` serves ``notebooks/``: a link that climbs out of it (``../fig/…``)
shows as a broken image or a 404 inside JupyterLab, however fine it looks on GitHub.
Checked: ``notebooks/*.md`` and the Markdown cells of every notebook.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

SERVED = Path(__file__).resolve().parent.parent / "notebooks"
FENCED = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
TARGETS = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)|\b(?:src|href)=[\"']([^\"']+)[\"']")


def markdown_of(path: Path) -> str:
    if path.suffix == ".md":
        return path.read_text(encoding="utf-8")
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def relative_links(text: str) -> list[str]:
    """Link and image targets that point into the file system (not web, mail or in-page anchors)."""
    text = INLINE_CODE.sub("", FENCED.sub("", text))
    found = [a or b for a, b in TARGETS.findall(text)]
    return [t for t in found if not urlparse(t).scheme and not t.startswith(("#", "//"))]


def broken(path: Path) -> list[str]:
    problems = []
    for target in relative_links(markdown_of(path)):
        resolved = (path.parent / unquote(target.split("#")[0].split("?")[0])).resolve()
        if not resolved.is_relative_to(SERVED):
            problems.append(f"{target}: outside notebooks/, which JupyterLab serves")
        elif not resolved.exists():
            problems.append(f"{target}: no such file")
    return problems


FILES = sorted(SERVED.glob("*.md")) + sorted(SERVED.glob("[0-9][0-9]-*.ipynb"))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_relative_links_resolve_inside_the_served_folder(path):
    assert not broken(path), broken(path)


def test_the_link_check_can_fail(tmp_path, monkeypatch):
    page = SERVED / "INSTRUCTORS.md"
    assert relative_links(page.read_text(encoding="utf-8")), "INSTRUCTORS.md should have figures to check"
    text = "![a](../fig/x.png) [b](missing.md) [c](https://example.org) `[d](code.md)` ![e](fig/dashboard-status.png)"
    fake = SERVED / "fake.md"
    monkeypatch.setattr(Path, "read_text", lambda self, encoding=None: text)
    assert broken(fake) == ["../fig/x.png: outside notebooks/, which JupyterLab serves", "missing.md: no such file"]
