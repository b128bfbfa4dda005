"""pytest-playwright's browser for test_browser.py and test_site.py: Debian's chromium, headless and offline.

Each of those modules imports these two fixtures, which makes them that module's own: defined in conftest.py
instead, a session fixture changes pytest-playwright's grouping and splits test_site.py in two (test_ci_run).
"""

from __future__ import annotations

import pytest

from .browser import LAUNCH


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """The same launch as every browser here (support.browser.LAUNCH): nothing is downloaded."""
    return {**browser_type_launch_args, **LAUNCH}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    """One window size for every page, so screenshots and layouts compare."""
    return {**browser_context_args, "viewport": {"width": 1400, "height": 900}}
