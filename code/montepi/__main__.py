"""``python -m montepi``.  The guard matters: pool and cluster workers re-import this module.

Until :func:`montepi.cli.main` takes charge, a Ctrl-C or SIGTERM (say, in the
first fraction of a second, while NumPy loads) ends the command with the same
line and exit status as later on, instead of a ``KeyboardInterrupt``
traceback: nothing has been started yet, so there is nothing to stop.
"""

import os
import signal
import sys


def _stop_before_main(signum: int, frame) -> None:
    sys.stderr.write("montepi: interrupted; stopped all workers\n")
    sys.stderr.flush()
    os._exit(128 + signum)  # 130 for SIGINT, 143 for SIGTERM, as main() returns


if __name__ == "__main__":
    for _signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(_signum, _stop_before_main)
    from montepi.cli import main

    sys.exit(main())
