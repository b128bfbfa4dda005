"""The dashboard and JupyterLab, proven in a real (headless) Chromium.

1. The dask dashboard of a busy LocalCluster draws its plots: the task stream
   and progress bars hold the running tasks, and the page is not blank.
2. Notebook 05 runs top to bottom in JupyterLab (Run → Run All Cells), prints
   π, shows no errors, and its embedded dashboard frames draw Bokeh plots.
   JupyterLab serves a temporary copy of notebooks/, so nothing is saved
   into the repository.
3. dask-labextension finds the notebook's client and opens the dashboard
   panes (task stream, workers' memory, progress) next to the notebook.

Screenshots go to artifacts/browser/ (git-ignored); each test prints where.
These tests need /usr/bin/chromium, Playwright and pytest-playwright, whose fixtures
launch and close the browser (marker ``browser``).
"""

from __future__ import annotations

import hashlib
import re
import time
from pathlib import Path

import pytest

from support.playwright_fixtures import browser_context_args, browser_type_launch_args  # noqa: F401  (fixtures)

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
NOTEBOOK_05 = "05-dask-distributed.ipynb"
ARTIFACTS = ROOT / "artifacts" / "browser"

pytestmark = [pytest.mark.browser, pytest.mark.timeout(240)]


@pytest.fixture
def page(page):
    """pytest-playwright's page (a fresh context per test), with a 30 s default timeout."""
    page.set_default_timeout(30_000)
    return page


def shoot(page, name: str) -> Path:
    """Save a screenshot under artifacts/browser/ and say where."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    page.screenshot(path=str(path))
    print(f"screenshot: {path}")
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_dashboard_draws_a_running_estimate(page):
    from support.browser import busy_cluster, colourful_fraction, wait_for_plots

    with busy_cluster() as (client, futures):
        link = client.dashboard_link
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/status", link), link
        page.goto(link)
        state = wait_for_plots(page, tasks=4)
        time.sleep(1)  # let a few more boxes land before the picture
        picture = page.screenshot()
        shoot(page, "dashboard-status.png")
        finished = sum(f.status == "finished" for f in futures)
    assert state["documents"] >= 1
    assert state["task_stream"] >= 4, state
    assert len(state["workers"]) == 2, state  # both workers drew boxes
    assert "count_block" in state["progress"], state
    assert state["progress"]["count_block"]["all"] == len(futures), state
    assert finished < len(futures), "the estimate ended before the page was read: make it longer"
    # Boxes and bars are coloured; a dashboard that did not draw is white and grey.
    assert colourful_fraction(picture) > 0.02


def test_notebook_04_runs_in_jupyterlab(page):
    from support.browser import bokeh_state, jupyter_lab, open_notebook, run_all_cells, stderr_outputs

    notebook = NOTEBOOKS / NOTEBOOK_05
    assert notebook.is_file(), f"{notebook} is missing"
    before = digest(notebook)
    seen: dict[int, dict] = {}  # frame number → the fullest Bokeh state seen while the notebook ran

    def watch_frames(page):
        frames = page.locator(".jp-OutputArea-output iframe").all()
        for number, iframe in enumerate(frames):
            frame = iframe.element_handle().content_frame()
            try:
                state = bokeh_state(frame) if frame else None
            except Exception:  # the frame is navigating or its cluster just closed
                continue
            if state and state["task_stream"] >= seen.get(number, {}).get("task_stream", -1):
                seen[number] = state

    with jupyter_lab(NOTEBOOKS) as lab:
        assert lab.root != NOTEBOOKS
        open_notebook(page, lab, NOTEBOOK_05)
        prompts = run_all_cells(page, timeout=180, while_running=watch_frames)
        page.locator(".jp-OutputArea-output iframe").first.scroll_into_view_if_needed()
        shoot(page, "jupyterlab-04.png")
        errors = [text for text in stderr_outputs(page) if re.search(r"Traceback|\w*Error\b", text)]
        outputs = "\n".join(page.locator(".jp-OutputArea-output").all_inner_texts())
        frames = page.locator(".jp-OutputArea-output iframe").count()
    assert not errors, "error output in notebook 05:\n" + "\n---\n".join(errors)
    assert all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), f"cells left unrun: {prompts}"
    assert re.search(r"π ≈ 3\.14\d*", outputs), "no π line in the outputs"
    assert frames >= 1, "no embedded dashboard frame"
    drawn = {n: s for n, s in seen.items() if s["documents"] >= 1}
    assert len(drawn) == frames, f"only frames {sorted(drawn)} of {frames} drew Bokeh plots"
    assert any(s["task_stream"] > 0 for s in drawn.values()), f"no frame showed a task: {seen}"
    assert digest(notebook) == before, "the notebook in the repository was modified"


def test_dask_labextension_opens_panes(page):
    import tempfile

    import nbformat

    from montepi import tls
    from support.browser import (
        busy_cluster,
        dask_panes,
        jupyter_lab,
        open_notebook,
        run_all_cells,
        run_command,
        wait_for_plots,
    )

    # The cluster speaks TLS, so the kernel, another process, needs its certificates as files.
    with tempfile.TemporaryDirectory() as private, busy_cluster(
            security=tls.security(tls.make_certificates(Path(private) / "tls"))) as (client, _futures), \
            jupyter_lab(NOTEBOOKS) as lab:
        # A notebook (in the temporary copy) whose kernel holds a client of the busy cluster.
        scratch = nbformat.v4.new_notebook()
        scratch.metadata["kernelspec"] = {
            "name": "python3",
            "display_name": "Python 3 (ipykernel)",
            "language": "python",
        }
        scratch.cells = [
            nbformat.v4.new_code_cell(
                "from distributed import Client\nfrom montepi import tls\n"
                f"client = Client({client.scheduler.address!r}, security=tls.security({private + '/tls'!r}))\n"
                "client.dashboard_link"
            )
        ]
        nbformat.write(scratch, lab.root / "dask-panes.ipynb")
        link = client.dashboard_link

        open_notebook(page, lab, "dask-panes.ipynb")
        run_all_cells(page, timeout=60)
        # As INSTRUCTORS.md says: the Dask sidebar's search button finds the notebook's client,
        # then "Launch Dask Dashboard Layout" opens task stream, workers' memory and progress.
        page.locator('.jp-SideBar [data-id="dask-dashboard-launcher"]').click()
        page.get_by_title("Auto-detect dashboard URL").click()
        page.locator(".dask-DashboardListing-item", has_text="Task Stream").first.wait_for()
        url = page.locator(".dask-URLInput input").input_value()
        run_command(page, "Launch Dask Dashboard Layout")
        page.locator(".dask-DaskDashboard-widget iframe").nth(2).wait_for(timeout=30_000)
        panes = dask_panes(page)
        assert {"individual-task-stream", "individual-progress", "individual-workers-memory"} <= set(panes), panes
        state = wait_for_plots(panes["individual-task-stream"], tasks=1, progress=False)
        wait_for_plots(panes["individual-progress"], tasks=0, progress=True)
        time.sleep(1)
        shoot(page, "jupyterlab-dask-panes.png")
    assert url.rstrip("/") == link.removesuffix("/status"), (url, link)
    assert state["task_stream"] >= 1


#: The README's ways to start JupyterLab from the lesson's environment: ``./lesson lab`` points DASK_CONFIG at
#: .dask; the pip route ("Windows, macOS, or any other machine") and the conda route both end in
#: ``pip install --no-deps -e .`` and ``jupyter lab notebooks/``, with no DASK_CONFIG: there the settings
#: come from what the install put in {sys.prefix}/etc/dask.
ROUTES = {"lesson-lab": True, "jupyter-lab-pip-and-conda": False}


@pytest.mark.parametrize("route", ROUTES)
def test_sidebar_new_cluster_listens_on_127_0_0_1_and_leaves_nothing(page, route):
    """JupyterLab's Dask sidebar "+ NEW" (INSTRUCTORS.md has learners meet it) with the lesson's settings.

    Every socket of the new cluster (scheduler and dashboard in the Jupyter
    server, nannies and workers in their own processes) is on 127.0.0.1;
    SHUTDOWN leaves no process, no scratch folder and no dask-scratch-space.
    Without the lesson's settings, dask-labextension's default cluster would
    put its dashboard on 0.0.0.0:8787 and leave a dask-scratch-space behind.
    """
    import json
    import sys

    import psutil

    from support.browser import jupyter_lab

    if not ROUTES[route]:  # the settings this route relies on were installed with the package
        installed = Path(sys.prefix, "etc", "dask", "lesson-labextension.yaml")
        assert installed.read_text() == (ROOT / ".dask" / "lesson-labextension.yaml").read_text(), (
            f"{installed} is missing or stale: ./lesson setup (or pip install --no-deps -e .) installs it")
    with jupyter_lab(NOTEBOOKS, dask_config=ROUTES[route]) as lab:
        tmp = lab.tmp
        server = psutil.Process(lab.process.pid)
        page.goto(lab.open_url())
        page.locator('.jp-SideBar [data-id="dask-dashboard-launcher"]').click()
        listing = page.locator(".dask-DaskClusterManager")
        listing.wait_for()
        children_before = {p.pid for p in server.children(recursive=True)}
        sockets_before = {c.laddr for c in server.net_connections("inet")}

        listing.get_by_text("NEW", exact=True).click()
        listing.locator(".dask-ClusterListingItem").first.wait_for(timeout=120_000)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            clusters = json.loads(lab.api("/dask/clusters"))
            if clusters and clusters[0]["workers"] == 2:
                break
            time.sleep(0.5)
        assert len(clusters) == 1 and clusters[0]["workers"] == 2, clusters
        assert clusters[0]["scheduler_address"].startswith("tls://127.0.0.1:"), clusters  # other users refused
        link = clusters[0]["dashboard_link"]
        new = [p for p in server.children(recursive=True) if p.pid not in children_before]
        sockets = [c for c in server.net_connections("inet") if c.laddr not in sockets_before]
        sockets += [c for p in new for c in p.net_connections("inet")]
        shoot(page, f"jupyterlab-sidebar-new-cluster-{route}.png")
        scratch = set(tmp.glob("montepi-scratch-*"))

        page.get_by_title(re.compile(r"^Shutdown ")).first.click()
        deadline = time.monotonic() + 60
        while json.loads(lab.api("/dask/clusters")) and time.monotonic() < deadline:
            time.sleep(0.5)
        left = json.loads(lab.api("/dask/clusters"))
        # multiprocessing's resource tracker serves the Jupyter server for its whole life, by design.
        workers = [p for p in new if "multiprocessing.resource_tracker" not in _cmdline(p)]
        _gone, alive = psutil.wait_procs(workers, timeout=30)
        alive = [f"{p.pid} {_cmdline(p)[:100]}" for p in alive if _running(p)]
        dashboard_port = int(re.search(r":(\d+)/", link).group(1))
        listening = {c.laddr.port for c in sockets if c.status == psutil.CONN_LISTEN}
        dask_scratch = list(tmp.rglob("dask-scratch-space")) + list(lab.root.rglob("dask-scratch-space"))

    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/status", link), link
    assert len(new) >= 2, "the two workers run in processes of their own"
    assert dashboard_port in listening and len(listening) >= 3, (listening, link)  # scheduler, dashboard, workers
    elsewhere = [c for c in sockets if c.status == psutil.CONN_LISTEN and c.laddr.ip != "127.0.0.1"]
    assert not elsewhere, f"listening beyond 127.0.0.1: {elsewhere}"
    assert not [c for c in sockets if c.laddr.ip != "127.0.0.1"], f"sockets beyond 127.0.0.1: {sockets}"
    assert len(scratch) == 1, f"a private scratch folder per cluster: {scratch}"
    assert not left, f"the cluster is still listed after SHUTDOWN: {left}"
    assert not alive, f"processes left after SHUTDOWN: {alive}"
    assert not any(p.exists() for p in scratch), f"{scratch} was left behind"
    assert not dask_scratch, f"dask-scratch-space left: {dask_scratch}"


def _running(process) -> bool:
    import psutil

    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _cmdline(process) -> str:
    import psutil

    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""
