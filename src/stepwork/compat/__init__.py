"""Run code written for LlamaIndex Workflows unchanged: ``import workflows`` gives stepwork.

Call :func:`install` before anything imports ``workflows`` (first thing in the entry point,
or in ``conftest.py`` for a test suite), or start the program with
``python -m stepwork.compat app.py [args]`` (``-m pytest`` for a test suite). Every
``workflows.X`` module then is stepwork's ``stepwork.X`` twin.

Example:
    >>> import stepwork.compat
    >>> stepwork.compat.install()              # doctest: +SKIP
    >>> from workflows import Workflow         # doctest: +SKIP
    >>> Workflow.__module__                    # doctest: +SKIP
    'stepwork.workflow'
"""

from stepwork._compat.finder import install, is_installed, uninstall

__all__ = ["install", "is_installed", "uninstall"]
