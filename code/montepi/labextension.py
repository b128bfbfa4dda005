"""The cluster that JupyterLab's Dask sidebar starts when a learner clicks "+ NEW".

dask-labextension builds it from the ``labextension.factory`` settings that
the lesson ships in ``.dask/lesson-labextension.yaml``: workers and dashboard
on 127.0.0.1 and a free dashboard port come from the settings' ``kwargs``;
this class adds what settings cannot say: a private scratch folder for the
scheduler and the workers, made for each cluster and deleted when the
sidebar shuts the cluster down (a plain ``LocalCluster`` leaves a
``dask-scratch-space`` folder in the shared temporary directory).
"""

from __future__ import annotations

import shutil
import tempfile

from distributed import LocalCluster


class SidebarCluster(LocalCluster):
    """A ``LocalCluster`` whose scratch folder is its own and goes when it is closed."""

    def __init__(self, *args, **kwargs):
        self.scratch = tempfile.mkdtemp(prefix="montepi-scratch-")
        kwargs.setdefault("local_directory", self.scratch)
        kwargs.setdefault("scheduler_kwargs", {}).setdefault("local_directory", self.scratch)
        try:
            super().__init__(*args, **kwargs)
        except BaseException:
            shutil.rmtree(self.scratch, ignore_errors=True)
            raise

    async def _close(self):
        # SpecCluster's hook for subclasses that own resources: runs once, after the workers stopped.
        try:
            await super()._close()
        finally:
            shutil.rmtree(self.scratch, ignore_errors=True)
