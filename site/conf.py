"""Sphinx settings for the lesson's website (``./lesson site``).

The website is built from the repository root (``sphinx -c site . site/_build/html``) so that the
notebooks, README and fig/ are read where they lie: nothing is copied or edited. myst-nb shows the
outputs stored in the notebooks (the ones nbval checks) and never re-executes them.

Where the launch links point is set here, or overridden without editing by the environment
variables ``MONTEPI_SITE_REPOSITORY`` (the lesson's public git repository on GitHub),
``MONTEPI_SITE_BRANCH``, ``MONTEPI_SITE_BINDERHUB`` and ``MONTEPI_SITE_JUPYTERHUB`` (your workshop's
hub; empty for no hub link).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent / "_ext"))

project = "montepi"
author = "the montepi authors"
copyright = "the montepi authors; code MIT, lesson text and figures CC BY 4.0"
html_title = "montepi: parallel Python, one dart at a time"

extensions = ["myst_nb", "sphinx_copybutton", "montepi_site"]

# The README is the landing page; montepi_site gives it the sidebar's table of contents.
root_doc = "README"
include_patterns = ["README.md", "BENCHMARKS.md", "notebooks/*.ipynb", "notebooks/*.md"]
exclude_patterns = [".venv", "site", "artifacts", "build", "**/.ipynb_checkpoints"]

# Show the stored outputs; never run a notebook to build the site.
nb_execution_mode = "off"
nb_merge_streams = True
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "dollarmath"]
# Math as MathML written at build time (site/_ext/montepi_site.py): drawn by the browser, nothing fetched.
html_math_renderer = "mathml"
# Download links point at the notebook itself (_sources/notebooks/NN-name.ipynb), not a .txt copy.
html_sourcelink_suffix = ""

# Where "launch" goes.
montepi_repository = os.environ.get("MONTEPI_SITE_REPOSITORY", "https://github.com/montepi-lesson/montepi")
montepi_branch = os.environ.get("MONTEPI_SITE_BRANCH", "main")
montepi_binderhub = os.environ.get("MONTEPI_SITE_BINDERHUB", "https://mybinder.org")
montepi_jupyterhub = os.environ.get("MONTEPI_SITE_JUPYTERHUB", "https://hub.example.org")

html_theme = "sphinx_book_theme"
html_theme_options = {
    "repository_url": montepi_repository,
    "repository_branch": montepi_branch,
    "use_repository_button": True,
    "use_download_button": True,
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "launch_buttons": {
        "binderhub_url": montepi_binderhub,
        "jupyterhub_url": montepi_jupyterhub,
        "notebook_interface": "jupyterlab",
    },
}
html_static_path = ["_static"]
# Light by default (the stored plots have white backgrounds); readers can still switch.
html_context = {"default_mode": "light"}
html_favicon = "_static/favicon.svg"
suppress_warnings = ["myst.header"]  # heading levels are the README and notebook authors' choice, not a site error
