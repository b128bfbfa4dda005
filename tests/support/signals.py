"""Signal dispositions for the tests that send signals.

A process started with SIGINT ignored (``nohup … &``, ``cmd &`` in a script, many CI
runners and job launchers) passes that on to everything it starts, and Python then keeps
SIGINT ignored: a test that sends Ctrl-C would wait forever.  So every such test gives
its child (or, for an in-process Ctrl-C, pytest itself) the default disposition itself,
and checks that it took, instead of trusting whatever the suite was started with.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator
from pathlib import Path

#: The signals the tests send; a child gets the default disposition for each.
SENT = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def default_dispositions() -> None:
    """For ``subprocess.Popen(preexec_fn=...)``: the child starts with the default SIGINT, SIGTERM and SIGHUP,
    none of them blocked (a mask is inherited too)."""
    for signum in SENT:
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, SENT)


def ignored_signals(pid: int) -> set[int]:
    """The signals that process ``pid`` ignores (its ``SigIgn`` mask in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigIgn:"):
            mask = int(line.split()[1], 16)
            return {n for n in range(1, 65) if mask & (1 << (n - 1))}
    return set()


def assert_takes_signals(pid: int) -> None:
    """Fail unless process ``pid`` acts on the signals the tests send (none of them is ignored)."""
    ignored = ignored_signals(pid) & set(SENT)
    assert not ignored, f"process {pid} ignores {', '.join(signal.Signals(n).name for n in sorted(ignored))}"


@contextlib.contextmanager
def pythons_ctrl_c() -> Iterator[None]:
    """Python's own Ctrl-C (KeyboardInterrupt) in this process for the ``with`` block, then the earlier handler.

    Needed when the suite was started with SIGINT ignored, or after something (importing
    ``dask_jobqueue``) replaced the handler.
    """
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
