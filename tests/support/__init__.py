"""Tooling shared by the tests and scripts/make_figures.py; not part of the montepi package."""
