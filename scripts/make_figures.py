"""Regenerate every figure in notebooks/fig/ from real runs (``./lesson figures``).

    ./lesson figures                     # all of them
    ./lesson figures dashboard-status    # some (names without .png)

Each figure is a screenshot taken in headless Chromium (/usr/bin/chromium,
driven by Playwright) while a local cluster is busy estimating π:

* ``dashboard-status.png``: the dashboard's status page, tasks streaming in;
* ``dashboard-task-stream.png``: the task stream on its own page;
* ``jupyterlab-dask-panes.png``: notebook 05 in JupyterLab with the
  dask-labextension panes (task stream, workers' memory, progress) beside it;
* ``dashboard-small-tasks.png``: the task stream of 10**7 darts in blocks of
  2**14 (INSTRUCTORS.md, notebook 07): per-task overhead shows as white.

PNGs are reduced to 256 colours so that each stays well under 300 KB.
"""

from __future__ import annotations

import io
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))  # the browser harness lives in tests/support/, outside the package
FIG = ROOT / "notebooks" / "fig"  # under notebooks/: JupyterLab (./lesson lab) serves that folder
VIEWPORT = {"width": 1400, "height": 860}


def save_png(png: bytes, path: Path) -> None:
    """Write ``png`` as a 256-colour PNG (dashboards have few colours; this keeps files small)."""
    from PIL import Image

    image = Image.open(io.BytesIO(png)).convert("RGB")
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(path, optimize=True)
    print(f"{path.relative_to(ROOT)}: {path.stat().st_size // 1024} KB", flush=True)


def _shoot_dashboard(browser, url: str, out: Path, viewport: dict, **wait) -> None:
    """Open a dashboard page, wait until its plots hold tasks, and save a screenshot."""
    from support.browser import wait_for_plots

    page = browser.new_page(viewport=viewport)
    page.goto(url)
    wait_for_plots(page, tasks=30, **wait)
    time.sleep(1)
    save_png(page.screenshot(), out)
    page.close()


def dashboard_status(browser, client, out: Path) -> None:
    """The status page once a good stretch of tasks has landed."""
    _shoot_dashboard(browser, client.dashboard_link, out, VIEWPORT)


def dashboard_task_stream(browser, client, out: Path) -> None:
    """The task stream alone: one row per worker thread, one box per block of darts."""
    _shoot_dashboard(browser, client.dashboard_link.replace("/status", "/individual-task-stream"), out,
                     {"width": 1200, "height": 420}, progress=False)


def jupyterlab_dask_panes(browser, client, out: Path) -> None:
    """Notebook 05 with the Dask panes beside it, set up as INSTRUCTORS.md describes."""
    from support.browser import dask_panes, jupyter_lab, open_notebook, run_command, wait_for_plots

    with jupyter_lab(ROOT / "notebooks") as lab:
        page = browser.new_page(viewport=VIEWPORT)
        open_notebook(page, lab, "05-dask-distributed.ipynb")
        page.locator('.jp-SideBar [data-id="dask-dashboard-launcher"]').click()
        url = page.locator(".dask-URLInput input")
        url.fill(client.dashboard_link)
        url.press("Enter")
        page.locator(".dask-DashboardListing-item", has_text="Task Stream").first.wait_for()
        run_command(page, "Launch Dask Dashboard Layout")
        page.locator(".dask-DaskDashboard-widget iframe").nth(2).wait_for()
        # The sidebar made room for the URL; close it again to give the panes the space.
        page.locator('.jp-SideBar [data-id="dask-dashboard-launcher"]').click()
        wait_for_plots(dask_panes(page)["individual-task-stream"], tasks=10, progress=False)
        time.sleep(2)
        save_png(page.screenshot(), out)
        page.close()


def dashboard_small_tasks(browser, client, out: Path) -> None:
    """Hundreds of tiny tasks: thin boxes with white between them, the overhead made visible."""
    import montepi

    page = browser.new_page(viewport={"width": 1200, "height": 420})
    page.goto(client.dashboard_link.replace("/status", "/individual-task-stream"))
    page.locator(".bk-Figure").first.wait_for()
    estimate = montepi.estimate_pi(10**7, backend="distributed", client=client, chunk=2**14)
    print(f"  {estimate}")
    time.sleep(1.5)  # the task stream refreshes about once a second
    save_png(page.screenshot(), out)
    page.close()


#: name → (function, whether it wants the cluster busy with a long estimate first).
FIGURES: dict[str, tuple[Callable, bool]] = {
    "dashboard-status": (dashboard_status, True),
    "dashboard-task-stream": (dashboard_task_stream, True),
    "jupyterlab-dask-panes": (jupyterlab_dask_panes, True),
    "dashboard-small-tasks": (dashboard_small_tasks, False),
}


def main(names: list[str]) -> int:
    """Make the named figures, or all of them."""
    from support.browser import busy_cluster, chromium, chromium_problem

    unknown = sorted(set(names) - set(FIGURES))
    if unknown:
        print(f"unknown figure(s) {', '.join(unknown)}; known: {', '.join(FIGURES)}", file=sys.stderr)
        return 2
    problem = chromium_problem()
    if problem:
        print(f"cannot take screenshots: {problem}", file=sys.stderr)
        return 1
    FIG.mkdir(exist_ok=True)
    with chromium() as browser:
        for name in names or FIGURES:
            # A fresh cluster per figure, busy where the picture should show work in progress.
            make, busy = FIGURES[name]
            with busy_cluster(samples=10**10 if busy else 0) as (client, _futures):
                make(browser, client, FIG / f"{name}.png")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
