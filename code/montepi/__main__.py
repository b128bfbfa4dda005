"""``python -m montepi``.  The guard matters: pool and cluster workers re-import this module."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
