"""The dashboard link from .dask/config.yaml: 127.0.0.1 locally, jupyter-server-proxy behind JupyterHub.

Each case runs in a fresh Python, because dask reads DASK_CONFIG and the
``DASK_*`` variables when it is first imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
#: What INSTRUCTORS.md tells hub and Binder admins to set.
HUB_TEMPLATE = "{JUPYTERHUB_SERVICE_PREFIX}proxy/{port}/status"

PROBE = r"""
import json, logging, sys, urllib.request
from distributed import Client
from montepi import local_cluster

if __name__ == "__main__":
    cluster = local_cluster(1, silence_logs=logging.CRITICAL)
    try:
        with Client(cluster) as client:
            port = client.scheduler_info()["services"]["dashboard"]
            try:
                link = client.dashboard_link
            except KeyError as error:
                link = f"KeyError: {error}"
            status = None
            if link.startswith("http"):
                with urllib.request.urlopen(link, timeout=30) as response:
                    status = response.status
                    page = response.read().decode()
                    status = status if "Bokeh" in page or "bokeh" in page else f"{status} without Bokeh"
            print(json.dumps({"link": link, "port": port, "status": status}))
    finally:
        cluster.close()
"""


def probe(**env: str) -> dict:
    """Start a one-worker cluster in a fresh Python with ``env`` and report its dashboard link."""
    environ = {k: v for k, v in os.environ.items() if k != "JUPYTERHUB_SERVICE_PREFIX" and not k.startswith("DASK_")}
    environ.update(DASK_CONFIG=str(ROOT / ".dask"), **env)
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=environ, capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_config_file_sets_the_local_template():
    done = subprocess.run(
        [sys.executable, "-c", "import dask, distributed; print(dask.config.get('distributed.dashboard.link'))"],
        env={**os.environ, "DASK_CONFIG": str(ROOT / ".dask")},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == "{scheme}://{host}:{port}/status", done.stderr


def test_local_link_is_127_0_0_1_and_serves_the_dashboard():
    result = probe()
    assert result["link"] == f"http://127.0.0.1:{result['port']}/status"
    assert result["status"] == 200


def test_hub_link_goes_through_jupyter_server_proxy():
    result = probe(JUPYTERHUB_SERVICE_PREFIX="/user/ada/", DASK_DISTRIBUTED__DASHBOARD__LINK=HUB_TEMPLATE)
    assert result["link"] == f"/user/ada/proxy/{result['port']}/status"


def test_hub_template_without_a_hub_fails_loudly():
    """Why the hub template is not the default: without the variable dask raises KeyError."""
    result = probe(DASK_DISTRIBUTED__DASHBOARD__LINK=HUB_TEMPLATE)
    assert result["link"].startswith("KeyError") and "JUPYTERHUB_SERVICE_PREFIX" in result["link"]


@pytest.mark.parametrize("prefix", ["/user/ada/", "/user/b%40b.org/"])
def test_hub_template_formats_any_prefix(prefix, monkeypatch):
    import dask
    from distributed.utils import format_dashboard_link

    monkeypatch.setenv("JUPYTERHUB_SERVICE_PREFIX", prefix)
    with dask.config.set({"distributed.dashboard.link": HUB_TEMPLATE}):
        assert format_dashboard_link("127.0.0.1", 8787) == f"{prefix}proxy/8787/status"
