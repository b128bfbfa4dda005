"""binder/start makes the dask dashboard reachable behind a JupyterHub, as a hub runs the image.

The hub starts the single-user server with a base URL (``/user/<name>/``) and sets
``JUPYTERHUB_SERVICE_PREFIX``; the browser can reach only that server, never its 127.0.0.1.  This
test starts a real JupyterLab the same way, through ``binder/start``, runs the dask.distributed notebook's cells
up to its cluster through the server's kernel API (REST + the kernel websocket, as JupyterLab does),
and fetches the dashboard at the address ``client.dashboard_link`` gives: through
jupyter-server-proxy, HTTP 200 and a Bokeh page.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from distributed.utils import open_port

ROOT = Path(__file__).resolve().parent.parent
#: The dask.distributed notebook (whatever its number).
NOTEBOOK = next((ROOT / "notebooks").glob("[0-9]*-dask-distributed.ipynb"))
BASE_URL = "/user/learner/"

pytestmark = pytest.mark.timeout(300)


def code_cells() -> list[str]:
    return ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]


def up_to_the_cluster() -> str:
    """The notebook's code from the top through the cell that connects its Client."""
    cells = code_cells()
    last = next(i for i, source in enumerate(cells) if "Client(" in source)
    return "\n".join(cells[: last + 1])


def the_closing_cell() -> str:
    """The notebook's last cell that closes the client and cluster."""
    return next(source for source in reversed(code_cells()) if ".close()" in source)


class HubLikeLab:
    """JupyterLab started by binder/start with a hub's base URL and prefix; a temporary home."""

    def __init__(self, tmp: Path):
        self.port, self.token = open_port("127.0.0.1"), uuid.uuid4().hex
        self.url = f"http://127.0.0.1:{self.port}{BASE_URL}"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DASK_", "JUPYTER"))}
        env.update(HOME=str(tmp), JUPYTER_CONFIG_DIR=str(tmp / "config"), JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
                   IPYTHONDIR=str(tmp / "ipython"), JUPYTERHUB_SERVICE_PREFIX=BASE_URL)
        command = [str(ROOT / "binder" / "start"), str(Path(sys.executable).with_name("jupyter")), "lab",
                   "--no-browser", "--ip=127.0.0.1", f"--port={self.port}", "--ServerApp.port_retries=0",
                   f"--ServerApp.base_url={BASE_URL}", f"--IdentityProvider.token={self.token}",
                   f"--ServerApp.root_dir={tmp}"]
        if os.geteuid() == 0:
            command.append("--allow-root")
        self.log = open(tmp / "lab.log", "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(command, env=env, cwd=tmp, stdin=subprocess.DEVNULL, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)

    def get(self, path: str, method: str = "GET", timeout: float = 30) -> tuple[int, bytes]:
        """An authenticated request to the server (``path`` without the base URL, or absolute from /)."""
        url = f"http://127.0.0.1:{self.port}{path}" if path.startswith("/") else self.url + path
        request = urllib.request.Request(url, method=method, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()

    def wait_until_up(self, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while True:
            assert self.process.poll() is None, f"JupyterLab exited: {Path(self.log.name).read_text()[-2000:]}"
            with contextlib.suppress(OSError):
                self.get("api/status", timeout=5)
                return
            assert time.monotonic() < deadline, f"JupyterLab did not answer: {Path(self.log.name).read_text()[-2000:]}"
            time.sleep(0.25)

    def execute(self, kernel_id: str, code: str, timeout: float = 180) -> str:
        """Run ``code`` in the kernel through its websocket; return its stdout, fail on an error."""
        # In a thread of its own: pytest-playwright's sync API keeps an event loop running in this one.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, self._execute(kernel_id, code, timeout)).result()

    async def _execute(self, kernel_id: str, code: str, timeout: float) -> str:
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        url = f"ws://127.0.0.1:{self.port}{BASE_URL}api/kernels/{kernel_id}/channels"
        socket_ = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {self.token}"}))
        msg_id, session = uuid.uuid4().hex, uuid.uuid4().hex
        socket_.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "username": "learner", "session": session,
                       "date": "", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True},
        }))
        out, errors = [], []
        try:
            async with asyncio.timeout(timeout):
                while True:
                    raw = await socket_.read_message()
                    assert raw is not None, "the kernel websocket closed"
                    message = json.loads(raw)
                    if message.get("parent_header", {}).get("msg_id") != msg_id:
                        continue
                    kind, content = message["header"]["msg_type"], message["content"]
                    if kind == "stream" and content["name"] == "stdout":
                        out.append(content["text"])
                    elif kind == "error":
                        errors.append(f"{content['ename']}: {content['evalue']}")
                    elif kind == "execute_reply":
                        break
        finally:
            socket_.close()
        assert not errors, errors
        return "".join(out)

    def stop(self) -> None:
        """SIGTERM (kernels first), then the whole session if it lingers."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGTERM)
        self.log.close()


@pytest.fixture
def hub_lab():
    tmp = Path(tempfile.mkdtemp(prefix="montepi-hub-"))
    lab = HubLikeLab(tmp)
    try:
        lab.wait_until_up()
        yield lab
    finally:
        lab.stop()
        shutil.rmtree(tmp, ignore_errors=True)


def test_the_dashboard_link_works_behind_a_hub(hub_lab):
    status, body = hub_lab.get("api/kernels", method="POST")
    assert status == 201
    kernel_id = json.loads(body)["id"]
    try:
        printed = hub_lab.execute(kernel_id, up_to_the_cluster() + "\nprint('LINK', client.dashboard_link)")
        link = next(line.split(" ", 1)[1] for line in printed.splitlines() if line.startswith("LINK "))
        assert link.startswith(f"{BASE_URL}proxy/") and link.endswith("/status"), link
        status, page = hub_lab.get(link)
        assert status == 200
        assert b"bokeh" in page.lower(), page[:500]
        hub_lab.execute(kernel_id, the_closing_cell())
    finally:
        with contextlib.suppress(OSError):
            hub_lab.get(f"api/kernels/{kernel_id}", method="DELETE")
