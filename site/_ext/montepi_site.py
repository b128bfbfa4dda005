"""What the lesson's website adds to Sphinx + myst-nb, at build time only (nothing in the repo is edited).

* The README (the landing page) gets a hidden table of contents: the notebooks in file-name order,
  then the instructor notes and the benchmarks.  GitHub shows the README unchanged.
* A stored dashboard ``<iframe>`` pointed at the cluster that ran the notebook (127.0.0.1:PORT);
  on a static page it can only be blank.  Each one is shown as the matching screenshot from fig/,
  with a caption that says so.  The notebook's stored output is untouched.
* Every notebook page opens with a line of links: download the .ipynb, launch it on Binder or on
  the workshop's JupyterHub.
* ``index.html`` is a copy of the README page.
* Math (``$…$``, ``$$…$$``) becomes MathML at build time (latex2mathml), which browsers draw
  natively: no MathJax, so nothing is fetched from a CDN and the site works offline.
"""

from __future__ import annotations

import html
import re
import shutil
from pathlib import Path
from urllib.parse import quote

from docutils import nodes
from sphinx.application import Sphinx

#: The documents after the notebooks, in sidebar order.
AFTER_NOTEBOOKS = ["notebooks/INSTRUCTORS", "notebooks/SLURM", "BENCHMARKS"]

#: Dashboard page (the end of the iframe's URL) → (screenshot, what it shows).
SCREENSHOTS = {
    "/status": ("dashboard-status.png", "the dashboard's status page during an estimate"),
    "/individual-task-stream": ("dashboard-task-stream.png", "the task stream during an estimate"),
    "/individual-progress": ("jupyterlab-dask-panes.png", "the task stream, workers' memory and progress panes"),
}
FALLBACK = SCREENSHOTS["/status"]
LOCAL_FRAME = re.compile(r"<iframe[^>]*\ssrc=\"(https?://(?:127\.0\.0\.1|localhost)(?::\d+)?(/[^\"]*)?)\"", re.S)


def notebook_docnames(srcdir: Path) -> list[str]:
    """The lesson's notebooks as document names, in file-name (= teaching) order."""
    return [f"notebooks/{p.stem}" for p in sorted((srcdir / "notebooks").glob("[0-9]*.ipynb"))]


def add_toctree(app: Sphinx, docname: str, source: list[str]) -> None:
    """Give the landing page the site's table of contents (hidden: the sidebar shows it)."""
    if docname != app.config.root_doc:
        return
    entries = notebook_docnames(Path(app.srcdir)) + AFTER_NOTEBOOKS
    # The README links to its documents relative to the repository root, as the root doc does here.
    source[0] += "\n\n```{toctree}\n:hidden:\n:maxdepth: 1\n\n" + "\n".join(f"/{e}" for e in entries) + "\n```\n"


#: Where the screenshots live, first found wins (relative to the repository root).
FIGURE_FOLDERS = ("notebooks/fig", "fig")


def screenshot_for(src_path: str) -> tuple[str, str]:
    for page, shot in SCREENSHOTS.items():
        if src_path.rstrip("/").endswith(page):
            return shot
    return FALLBACK


def figure_path(srcdir: Path, png: str) -> str:
    """The screenshot's path from the repository root, e.g. ``notebooks/fig/dashboard-status.png``."""
    for folder in FIGURE_FOLDERS:
        if (srcdir / folder / png).is_file():
            return f"{folder}/{png}"
    raise FileNotFoundError(f"no {png} in {' or '.join(FIGURE_FOLDERS)}: run ./lesson figures")


def replace_dashboard_frames(app: Sphinx, doctree: nodes.document) -> None:
    """Swap each stored local dashboard frame for its screenshot from fig/ and a caption saying so."""
    for number, raw in enumerate(list(doctree.findall(nodes.raw)), 1):
        match = LOCAL_FRAME.search(raw.astext())
        if not match or "html" not in raw.get("format", ""):
            continue
        png, shows = screenshot_for(match.group(2) or "/status")
        path = figure_path(Path(app.srcdir), png)
        figure = nodes.figure(classes=["montepi-dashboard-screenshot"], ids=[f"dashboard-screenshot-{number}"])
        figure += nodes.image(uri=f"/{path}", alt=f"Screenshot: {shows}")
        figure += nodes.caption(
            "",
            f"A screenshot of {shows} ({path}). In the notebook this output is a live frame of "
            "your own cluster's dashboard; a static page has no cluster behind it, so the website "
            "shows a screenshot taken from a real run instead.",
        )
        # myst-nb keeps one child per MIME type (text/html, text/plain) in a mime bundle: replace the bundle.
        target = raw.parent if raw.parent is not None and raw.parent.tagname == "mime_bundle" else raw
        target.replace_self(figure)


def launch_links(app: Sphinx, docname: str) -> dict[str, str]:
    """Binder and JupyterHub (nbgitpuller) URLs that open ``docname``'s notebook in JupyterLab."""
    config = app.config
    repo = config.montepi_repository.rstrip("/")
    path = f"{docname}.ipynb"
    links = {}
    if config.montepi_binderhub and repo.startswith("https://github.com/"):
        org_repo = repo.removeprefix("https://github.com/")
        links["Binder"] = (f"{config.montepi_binderhub.rstrip('/')}/v2/gh/{org_repo}/{config.montepi_branch}"
                           f"?urlpath={quote('lab/tree/' + path, safe='')}")
    if config.montepi_jupyterhub:
        folder = repo.rsplit("/", 1)[-1]
        links["JupyterHub"] = (f"{config.montepi_jupyterhub.rstrip('/')}/hub/user-redirect/git-pull"
                               f"?repo={quote(repo, safe='')}&branch={config.montepi_branch}"
                               f"&urlpath={quote(f'lab/tree/{folder}/{path}', safe='')}")
    return links


def add_notebook_links(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Open each notebook page with: download the .ipynb, launch on Binder, launch on the hub."""
    if not pagename.startswith("notebooks/") or context.get("page_source_suffix") != ".ipynb" or "body" not in context:
        return
    download = context["pathto"](f"_sources/{pagename}.ipynb", 1)
    name = Path(pagename).name + ".ipynb"
    parts = [f'<a class="montepi-download" href="{html.escape(download)}" download="{name}">Download {name}</a>']
    parts += [f'<a class="montepi-launch" href="{html.escape(url)}">Launch on {where}</a>'
              for where, url in launch_links(app, pagename).items()]
    context["body"] = '<p class="montepi-links">' + " · ".join(parts) + "</p>\n" + context["body"]


def write_index(app: Sphinx, exception: Exception | None) -> None:
    """index.html is the README page too, so the site's address opens the landing page.

    A copy rather than a redirect: both lie in the root folder, so every relative link holds, and
    nothing is navigated away from (a redirect cancels the requests of the page it leaves).
    """
    if exception is None and app.builder.format == "html" and app.config.root_doc != "index":
        out = Path(app.outdir)
        shutil.copyfile(out / f"{app.config.root_doc}.html", out / "index.html")


def visit_math(translator, node: nodes.Element) -> None:
    from latex2mathml.converter import convert

    translator.body.append(convert(node.astext()))
    raise nodes.SkipNode


def visit_math_block(translator, node: nodes.Element) -> None:
    from latex2mathml.converter import convert

    translator.body.append(f'<div class="math-wrapper">{convert(node.astext(), display="block")}</div>\n')
    raise nodes.SkipNode


def setup(app: Sphinx) -> dict:
    for name, default in (("montepi_repository", ""), ("montepi_branch", "main"),
                          ("montepi_binderhub", ""), ("montepi_jupyterhub", "")):
        app.add_config_value(name, default, "html")
    app.add_html_math_renderer("mathml", (visit_math, None), (visit_math_block, None))
    app.connect("source-read", add_toctree)
    # Before Sphinx's image collector (priority 500) so the screenshots are copied into the site.
    app.connect("doctree-read", replace_dashboard_frames, priority=400)
    app.connect("html-page-context", add_notebook_links)
    app.connect("build-finished", write_index)
    app.add_css_file("montepi.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
