"""A worker plugin so that closing a cluster prints no traceback.

When a busy machine closes a ``LocalCluster``, a worker can be in the middle
of a heartbeat while its own connections shut down.  distributed then logs
"Failed to communicate with scheduler during heartbeat." with a
``CommClosedError`` traceback, although nothing went wrong: the worker was
closing anyway.  :class:`QuietClose` drops exactly those records (a
connection error logged by a worker that is already closing); every error
of a running worker is still logged.

Imported only when a cluster starts (distributed imports slowly).
"""

from __future__ import annotations

import logging

from distributed.core import Status
from distributed.diagnostics.plugin import WorkerPlugin

#: Worker states in which a lost connection is expected, not an error.
CLOSING = frozenset({Status.closing, Status.closing_gracefully, Status.closed, Status.failed})


class _DropWhileClosing(logging.Filter):
    """Drop connection errors logged while ``worker`` closes."""

    def __init__(self, worker) -> None:
        super().__init__()
        self.worker = worker

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, OSError) and self.worker.status in CLOSING)


class QuietClose(WorkerPlugin):
    """Keep a closing worker from logging its cut-off heartbeat as an error (see the module docstring)."""

    name = "montepi-quiet-close"

    def setup(self, worker) -> None:
        logging.getLogger("distributed.worker").addFilter(_DropWhileClosing(worker))
        # No teardown: plugins are removed while the worker closes, which is when the filter is needed.
