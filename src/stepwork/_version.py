"""stepwork's version, read from the installed distribution (``pyproject.toml`` is its one source).

Kept in its own leaf module so the server and the CLI can name the version without importing
the ``stepwork`` façade from inside the package (an import cycle through ``__init__``).
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__: str = version("stepwork")
except PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
