"""Drive the dask dashboard and JupyterLab in a real, headless Chromium.

Test and figure tooling, not part of the installed package: shared by
``tests/test_browser.py`` (which proves that the dashboard draws and that
notebook 05 runs in JupyterLab) and ``scripts/make_figures.py`` (which takes
the screenshots in ``notebooks/fig/``).  Needs Playwright for Python and Debian's
``/usr/bin/chromium``; nothing here downloads a browser.

Why a real browser: the dashboard is a Bokeh app that draws its plots only
after a websocket has delivered the document, so fetching the HTML (or
``chromium --screenshot``) shows an empty page even when all is well.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: The checkout this harness lives in (tests/support/browser.py): JupyterLab gets its .dask settings.
REPO = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
#: Headless, offline, no state: nothing phones home or waits for a GPU.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
#: How every test and script here launches it (Playwright's launch options): one place for all of them.
LAUNCH = {"executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}

#: In the page: the rows of the task-stream and progress plots, read from the
#: Bokeh documents themselves (the numbers behind what is drawn).
BOKEH_STATE_JS = """() => {
  if (!window.Bokeh || !Bokeh.documents || Bokeh.documents.length === 0) return null;
  const state = {documents: Bokeh.documents.length, task_stream: 0, workers: [], progress: {}};
  const has = (data, cols) => cols.every(c => c in data);
  for (const doc of Bokeh.documents) {
    for (const model of doc.all_models) {
      let data = model.data;
      if (!data || typeof data !== 'object') continue;
      if (data instanceof Map) data = Object.fromEntries(data);
      if (has(data, ['start', 'duration', 'key', 'worker'])) {
        state.task_stream += data.key.length;
        state.workers = Array.from(new Set(Array.from(data.worker)));
      } else if (has(data, ['all', 'memory', 'released', 'name'])) {
        Array.from(data.name).forEach((name, i) => {
          state.progress[name] = {all: Number(data.all[i]),
                                  done: Number(data.memory[i]) + Number(data.released[i])};
        });
      }
    }
  }
  return state;
}"""


def chromium_problem() -> str | None:
    """Why no browser can be started here, or None."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (Debian: apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (./lesson setup installs it)"
    return None


@contextlib.contextmanager
def chromium() -> Iterator:
    """A headless Chromium (Playwright ``Browser``) that is closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(**LAUNCH)
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def busy_cluster(samples: int = 10**10, chunk: int = 2**23, workers: int = 2, seed: int = 2017,
                 security=True) -> Iterator:
    """A local cluster busy with an estimate of ``samples`` darts: yields ``(client, futures)``.

    ``security`` goes to ``local_cluster``: certificates as files
    (``montepi.tls.security(folder)``) let another process, a notebook's kernel, connect too.

    Many small blocks give the task stream many boxes to draw; ``samples=0``
    gives an idle cluster.  Unfinished work is cancelled and everything is
    closed on exit.
    """
    from distributed import Client

    from montepi import count_block, local_cluster, plan_blocks

    with local_cluster(workers, silence_logs=logging.CRITICAL, security=security) as cluster, \
            Client(cluster) as client:
        blocks = list(plan_blocks(samples, chunk=chunk)) if samples else []
        futures = client.map(count_block, blocks, seed=seed, pure=True)
        try:
            yield client, futures
        finally:
            client.cancel(futures)


def bokeh_state(page_or_frame) -> dict | None:
    """Task-stream rows, workers and per-task progress as the page's Bokeh documents hold them."""
    return page_or_frame.evaluate(BOKEH_STATE_JS)


def wait_for_plots(page_or_frame, *, tasks: int = 1, progress: bool = True, timeout: float = 60.0) -> dict:
    """Wait until a Bokeh figure is drawn and the task stream holds ``tasks`` boxes; returns the state.

    With ``progress``, the page must also show a progress bar with tasks in it.
    """
    page_or_frame.locator(".bk-Figure").first.wait_for(state="visible", timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    state = None
    while time.monotonic() < deadline:
        state = bokeh_state(page_or_frame)
        if state and state["task_stream"] >= tasks and (state["progress"] or not progress):
            return state
        time.sleep(0.25)
    raise TimeoutError(f"the dashboard did not show {tasks} task(s) within {timeout:g} s; last state: {state}")


def colourful_fraction(png: bytes, spread: int = 60) -> float:
    """Share of pixels that are clearly coloured (not white, grey or black).

    A dashboard whose plots did not draw is grey and white; task boxes and
    progress bars are saturated colours.
    """
    import io

    import numpy as np
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=np.int16)
    return float(np.mean(rgb.max(axis=2) - rgb.min(axis=2) > spread))


@dataclass
class Lab:
    """A running JupyterLab: its base URL, token and the folder it serves."""

    url: str
    token: str
    root: Path
    process: subprocess.Popen
    #: The server's TMPDIR: a private one, so that what it leaves there can only be its own.
    tmp: Path

    def api(self, path: str, method: str = "GET") -> bytes:
        """Call the Jupyter REST API (``path`` like ``/api/kernels``)."""
        request = urllib.request.Request(
            f"{self.url}{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()

    def open_url(self, path: str = "lab?reset") -> str:
        """The browser URL for ``path`` (``?reset`` ignores any saved workspace)."""
        sep = "&" if "?" in path else "?"
        return f"{self.url}/{path}{sep}token={self.token}"


#: JupyterLab settings for a test run: start the kernel without asking, keep every cell in the DOM (so outputs
#: and dashboards below the fold stay loaded) and do not ask about news.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


@contextlib.contextmanager
def jupyter_lab(notebooks: Path, *, timeout: float = 60.0, log: Path | None = None,
                dask_config: bool = True) -> Iterator[Lab]:
    """JupyterLab serving a temporary *copy* of ``notebooks``, with its own home, settings and TMPDIR.

    The copy means autosave never touches the repository; the temporary home
    and settings mean no workspace, setting or history leaks in or out.
    ``dask_config``: point ``DASK_CONFIG`` at the repository's ``.dask`` as
    ``./lesson lab`` does; without it, no ``DASK_*`` variable is passed on, as
    when a learner runs ``jupyter lab notebooks/`` (the README's pip and conda routes).
    """
    tmp = Path(tempfile.mkdtemp(prefix="montepi-lab-"))
    root = tmp / "notebooks"
    shutil.copytree(notebooks, root, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "dask-scratch-space"))
    settings = tmp / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        path = settings / f"{name}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = dict(os.environ)
    if not dask_config:
        env = {name: value for name, value in env.items() if not name.startswith("DASK_")}
    private_tmp = tmp / "tmp"
    private_tmp.mkdir()
    env.update(
        TMPDIR=str(private_tmp),
        HOME=str(tmp / "home"),
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        IPYTHONDIR=str(tmp / "ipython"),
        JUPYTERLAB_SETTINGS_DIR=str(settings),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
    )
    if dask_config:
        env["DASK_CONFIG"] = env.get("DASK_CONFIG", str(REPO / ".dask"))
    (tmp / "home").mkdir()
    from distributed.utils import open_port

    port, token = open_port("127.0.0.1"), os.urandom(16).hex()
    command = [
        str(Path(sys.executable).with_name("jupyter")),
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")
    out = open(log or tmp / "lab.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen(
        command,
        env=env,
        cwd=root,
        stdin=subprocess.DEVNULL,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    lab = Lab(url=f"http://127.0.0.1:{port}", token=token, root=root, process=process, tmp=private_tmp)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with {process.returncode}; see {out.name}")
            try:
                lab.api("/api/status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"JupyterLab did not answer within {timeout:g} s; see {out.name}") from None
                time.sleep(0.25)
        yield lab
    finally:
        _stop(process)
        out.close()
        shutil.rmtree(tmp, ignore_errors=True)


def _stop(process: subprocess.Popen, grace: float = 20.0) -> None:
    """SIGTERM (Jupyter's clean shutdown: kernels first), then the whole session if needed."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
    # Kernels and their workers are in the server's session: end any stragglers.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)


# --- JupyterLab, driven the way a learner drives it ------------------------------------------

#: In the page: the prompts of all code cells ("[3]:", "[*]:", "[ ]:").
PROMPTS_JS = (
    "() => Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')).map(e => e.textContent.trim())"
)


def open_notebook(page, lab: Lab, name: str, *, timeout: float = 90.0) -> None:
    """Open ``name`` in a fresh layout (``?reset``) and wait until its kernel is idle."""
    import re

    page.goto(lab.open_url(f"lab/tree/{name}?reset"))
    page.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=timeout * 1000)
    # The status bar says "Python 3 (ipykernel) | Idle" once the kernel is up; Run All before
    # that is silently dropped.
    page.locator(".jp-StatusBar-Widget").get_by_text(re.compile(r"\| Idle$")).first.wait_for(timeout=timeout * 1000)


def run_all_cells(page, *, timeout: float = 180.0, while_running=None) -> list[str]:
    """Clear all outputs, then Run → Run All Cells from the menu bar, and wait until all have run.

    Clearing first means every output checked afterwards comes from this run,
    never from what the notebook had stored.  Finished means: no cell queued
    or running, and either every code cell has run or one failed (JupyterLab
    then stops).  ``while_running(page)``, if given, is called every half
    second meanwhile.  Returns the final prompts ("[3]:", "[ ]:", …).
    """
    page.get_by_role("menuitem", name="Edit", exact=True).click()
    page.get_by_role("menuitem", name="Clear Outputs of All Cells", exact=True).click()
    page.wait_for_function(f"() => ({PROMPTS_JS})().every(p => p === '[ ]:')", timeout=30_000)
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name="Run All Cells", exact=True).click()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        prompts = page.evaluate(PROMPTS_JS)
        if while_running:
            while_running(page)
        ran = [p[1:-2].isdigit() for p in prompts]
        failed = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').count()
        if "[*]:" not in prompts and any(ran) and (all(ran) or failed):
            return prompts
        time.sleep(0.5)
    raise TimeoutError(f"the notebook did not finish within {timeout:g} s; prompts: {page.evaluate(PROMPTS_JS)}")


def stderr_outputs(page) -> list[str]:
    """Texts of all stderr and error outputs in the open notebook."""
    return page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]').all_inner_texts()


def run_command(page, label: str) -> None:
    """Run a JupyterLab command through the command palette, as a learner would."""
    page.keyboard.press("Control+Shift+C")
    search = page.locator(".lm-CommandPalette-input")
    search.wait_for()
    search.fill(label)
    page.locator(".lm-CommandPalette-item", has_text=label).first.click()


def dask_panes(page) -> dict[str, object]:
    """The open dask-labextension panes: plot name (``individual-task-stream``, …) → its ``Frame``."""
    panes = {}
    for iframe in page.locator(".dask-DaskDashboard-widget iframe").all():
        src = iframe.get_attribute("src") or ""
        panes[src.rstrip("/").rsplit("/", 1)[-1]] = iframe.element_handle().content_frame()
    return panes
