"""montepi's build backend: setuptools' own, with data files installed by editable installs too.

``pyproject.toml`` installs the lesson's Dask sidebar settings into ``{sys.prefix}/etc/dask``
(``[tool.setuptools.data-files]``), where dask reads them, so that JupyterLab's "+ NEW" starts the
lesson's cluster however JupyterLab is started from the lesson's environment.  Every README route
installs the package with ``pip install -e .``.  setuptools' ``editable_wheel`` means to install data
files "as non editable", but asks the distribution ``has_data()``, which does not exist (the method
is ``has_data_files()``), so an editable install silently drops them (read in setuptools 84.2, the
newest when this was written).  This module is ``setuptools.build_meta`` with that one name
supplied; ``tests/test_local_cluster.py`` checks that the settings arrive.
"""

from setuptools.build_meta import *  # noqa: F403 - the whole PEP 517 interface, unchanged
from setuptools.build_meta import __all__  # noqa: F401
from setuptools.dist import Distribution

if not hasattr(Distribution, "has_data"):
    Distribution.has_data = Distribution.has_data_files
