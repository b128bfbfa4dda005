"""The lesson's website (``./lesson site``): built from the stored notebooks, every link whole, every page sound.

The site is built once per session into a temporary folder, with warnings as errors.  The link check
and the content checks read the HTML; the ``browser`` tests serve it on 127.0.0.1 and open every page
in headless Chromium: no console error or failed request, "Key points" on each notebook page,
every image drawn, and the folded solutions closed until their summary is clicked.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from support.playwright_fixtures import browser_context_args, browser_type_launch_args  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
#: The pages besides the notebooks, as the site names them.
OTHER_PAGES = ["README.html", "notebooks/INSTRUCTORS.html", "notebooks/SLURM.html", "BENCHMARKS.html"]


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Path:
    """The website, built as ``./lesson site`` builds it (warnings are errors)."""
    out = tmp_path_factory.mktemp("site") / "html"
    done = subprocess.run(
        [sys.executable, "-m", "sphinx", "-b", "html", "-q", "-W", "--keep-going", "-c", "site", ".", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert done.returncode == 0, f"the site build failed:\n{done.stderr[-3000:]}"
    return out


def page_of(notebook: Path) -> str:
    return f"notebooks/{notebook.stem}.html"


class Links(HTMLParser):
    """Every id, every link (a/link href, img/script/source src) and the article's <details> in a page."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()
        self.links: list[tuple[str, str, str]] = []  # (tag, attribute, url)
        self.details: list[dict] = []
        self.in_article = 0

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if "id" in attributes:
            self.ids.add(attributes["id"])
        for name in ("href", "src"):
            if attributes.get(name) is not None and tag in ("a", "link", "img", "script", "source", "iframe"):
                self.links.append((tag, name, attributes[name]))
        if tag == "article":
            self.in_article += 1
        if tag == "details" and self.in_article:
            self.details.append(attributes)

    def handle_endtag(self, tag):
        if tag == "article":
            self.in_article -= 1


@functools.cache
def parsed(path: Path) -> Links:
    links = Links()
    links.feed(path.read_text(encoding="utf-8"))
    return links


def test_no_broken_internal_link(site):
    broken = []
    # The theme's Jinja macros in _static/ are templates, not pages.
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)
    assert len(pages) >= len(NOTEBOOKS) + len(OTHER_PAGES)
    for page in pages:
        for tag, attribute, url in parsed(page).links:
            parts = urlsplit(url)
            if parts.scheme or url.startswith("//") or parts.scheme == "mailto":
                # Off the site: only plain links may leave it, never a script, style or image (offline site).
                if tag != "a":
                    broken.append(f"{page.relative_to(site)}: {tag} {attribute}={url} is loaded from outside")
                continue
            target = (page.parent / unquote(parts.path)).resolve() if parts.path else page
            if target.is_dir():
                target = target / "index.html"
            if not target.is_file():
                broken.append(f"{page.relative_to(site)}: {url} does not exist")
            elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in parsed(target).ids:
                broken.append(f"{page.relative_to(site)}: {url} has no #{parts.fragment}")
    assert not broken, "\n".join(broken)


def test_every_notebook_has_its_page_in_order_in_the_sidebar(site):
    landing = (site / "README.html").read_text(encoding="utf-8")
    positions = [landing.find(f'href="{page_of(nb)}"') for nb in NOTEBOOKS]
    assert -1 not in positions, dict(zip([nb.name for nb in NOTEBOOKS], positions))
    assert positions == sorted(positions), "the sidebar lists the notebooks out of order"
    for page in OTHER_PAGES:
        assert (site / page).is_file(), page
    assert (site / "index.html").read_bytes() == (site / "README.html").read_bytes(), "index.html is the landing page"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_page_offers_the_notebook_and_launch_links(site, notebook):
    page = site / page_of(notebook)
    links = [url for tag, _, url in parsed(page).links if tag == "a"]
    download = next(url for url in links if url.endswith(f"{notebook.name}") and "_sources" in url)
    assert (page.parent / download).resolve().read_bytes() == notebook.read_bytes(), "the download is the notebook"
    assert any("/v2/gh/" in url and f"notebooks%2F{notebook.name}" in url for url in links), "no Binder link"
    assert any("/hub/user-redirect/git-pull" in url and notebook.name in url for url in links), "no JupyterHub link"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_dashboard_frames_are_shown_as_screenshots(site, notebook):
    cells = json.loads(notebook.read_text())["cells"]
    frames = sum("<iframe" in "".join(output.get("data", {}).get("text/html", ""))
                 for cell in cells for output in cell.get("outputs", []))
    html = (site / page_of(notebook)).read_text(encoding="utf-8")
    assert "<iframe" not in html, "a dead dashboard frame reached the page"
    assert html.count('class="montepi-dashboard-screenshot') == frames
    assert html.count("shows a screenshot taken from a real run instead") == frames


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_folded_solutions_arrive_folded(site, notebook):
    cells = json.loads(notebook.read_text())["cells"]
    folded = sum("".join(c["source"]).count("<details") for c in cells if c["cell_type"] == "markdown")
    details = parsed(site / page_of(notebook)).details
    assert len(details) == folded
    assert not [d for d in details if "open" in d], "a solution is unfolded on the page"


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_math_is_drawn_not_shown_as_tex(site, notebook):
    """``$…$`` in the notebook's prose is MathML on the page, never raw TeX (and no MathJax to fetch)."""
    html = (site / page_of(notebook)).read_text(encoding="utf-8")
    prose = re.sub(r"<(pre|code|math|script)\b.*?</\1>", "", html, flags=re.S)
    assert not re.findall(r"\\(?:frac|hat|sqrt|le|ge|cdot|sum|approx)\b", prose), "raw TeX on the page"
    cells = json.loads(notebook.read_text())["cells"]
    prose_md = "\n".join(re.sub(r"`[^`]*`", "", "".join(c["source"])) for c in cells if c["cell_type"] == "markdown")
    if re.search(r"\$[^$\s][^$]*\\[a-z]+[^$]*\$", prose_md):
        assert "<math" in html, "the notebook has math but the page has no MathML"


# --- in Chromium ---------------------------------------------------------------------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the standard library's name
        pass


@pytest.fixture(scope="module")
def served(site) -> Iterator[str]:
    """The built site on http://127.0.0.1:PORT (a thread of this process; stopped afterwards)."""
    handler = functools.partial(QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


#: In the page: images in the article not drawn (no pixels), after bringing each into view.
UNDRAWN_IMAGES_JS = """async () => {
  const images = Array.from(document.querySelectorAll('article img'));
  for (const img of images) { img.loading = 'eager'; img.scrollIntoView(); }
  await Promise.all(images.map(img => img.complete ? null : new Promise(r => { img.onload = img.onerror = r; })));
  return {count: images.length, undrawn: images.filter(img => img.naturalWidth === 0).map(img => img.src)};
}"""


def stored_pictures(notebook: Path) -> int:
    """Pictures the page must show: stored image outputs (plots, task graphs) and dashboard frames."""
    outputs = [o for c in json.loads(notebook.read_text())["cells"] for o in c.get("outputs", [])]
    return sum(any(k.startswith("image/") for k in o.get("data", {})) or "<iframe" in "".join(
        o.get("data", {}).get("text/html", "")) for o in outputs)


def open_page(page, url: str) -> list[str]:
    """Open ``url`` in ``page``; return the list that collects its console errors and failed requests."""
    page.set_default_timeout(30_000)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    page.goto(url, wait_until="load")
    page.wait_for_load_state("networkidle")
    return problems


@pytest.mark.browser
@pytest.mark.timeout(300)
@pytest.mark.parametrize("path", ["index.html", *OTHER_PAGES, *map(page_of, NOTEBOOKS)])
def test_page_loads_cleanly_in_chromium(page, served, path):
    problems = open_page(page, f"{served}/{path}")
    images = page.evaluate(UNDRAWN_IMAGES_JS)
    assert page.locator("nav.bd-docs-nav a").count() >= len(NOTEBOOKS), "no sidebar"
    if path.startswith("notebooks/0"):
        assert page.locator("article h2", has_text="Key points").count() == 1, "no Key points"
        cells = page.locator("article div.cell_input div.highlight").count()
        buttons = page.locator("article div.cell_input button.copybtn").count()
        assert cells >= 1 and buttons == cells, f"{buttons} copy buttons for {cells} code cells"
        assert images["count"] >= stored_pictures(ROOT / path.replace(".html", ".ipynb")), "pictures missing"
    assert not images["undrawn"], f"images not drawn: {images['undrawn']}"
    assert not problems, problems


@pytest.mark.browser
@pytest.mark.timeout(300)
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_solutions_stay_folded_until_clicked(page, served, notebook):
    problems = open_page(page, f"{served}/{page_of(notebook)}")
    solutions = page.locator("article details")
    for i in range(solutions.count()):
        solution = solutions.nth(i)
        answer = solution.locator(":scope > :not(summary)").first
        assert solution.evaluate("d => d.open") is False
        assert not answer.is_visible(), f"solution {i + 1} shows before it is clicked"
        solution.locator("summary").click()
        assert answer.is_visible(), f"solution {i + 1} does not open when clicked"
    assert not problems, problems
