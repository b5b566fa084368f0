"""An import hook that makes ``workflows`` and every ``workflows.X`` module stepwork's twin.

Installed first on ``sys.meta_path``, the finder answers for ``workflows`` and its submodules
only: ``workflows.X.Y`` becomes ``stepwork.X.Y`` (the very same module object, so classes and
``isinstance`` checks agree whichever name imported them). A module the anchor has and
stepwork does not (its private ``workflows.runtime...`` internals) raises
``ModuleNotFoundError`` naming the twin it looked for. It refuses to install when the real
``llama-index-workflows`` is already imported: two libraries answering to one name in a
process would split a program's classes between them.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

from stepwork._core.errors import CompatInstallError

__all__ = ["WorkflowsAliasFinder", "install", "is_installed", "uninstall"]

ALIAS = "workflows"
TARGET = "stepwork"


def _target_of(fullname: str) -> str | None:
    if fullname == ALIAS:
        return TARGET
    if fullname.startswith(ALIAS + "."):
        return TARGET + fullname[len(ALIAS) :]
    return None


class _AliasLoader(importlib.abc.Loader):
    """Loads an alias by importing its stepwork twin and putting it under the alias's name."""

    def __init__(self, target: str) -> None:
        self._target = target

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None  # a placeholder; exec_module swaps the twin in

    def exec_module(self, module: ModuleType) -> None:
        # The import system returns whatever sys.modules holds under the name afterwards.
        sys.modules[module.__name__] = importlib.import_module(self._target)


class WorkflowsAliasFinder(importlib.abc.MetaPathFinder):
    """Finds ``workflows[.X...]`` as the stepwork module of the same path."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        """A spec loading ``stepwork.X`` for ``workflows.X``; ``None`` for any other name.

        Raises:
            ModuleNotFoundError: If stepwork has no twin of that module.
        """
        twin = _target_of(fullname)
        if twin is None:
            return None
        if importlib.util.find_spec(twin) is None:
            raise ModuleNotFoundError(
                f"No module named {fullname!r}: stepwork.compat maps it to {twin!r}, which does "
                "not exist. It is a private module of LlamaIndex Workflows or one stepwork does "
                "not mirror; docs/porting.md lists the twins and what to import instead.",
                name=fullname,
            )
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader(twin))


def _real_workflows_modules() -> list[str]:
    return sorted(
        name
        for name, module in list(sys.modules.items())
        if _target_of(name) is not None
        and module is not None
        and not getattr(module, "__name__", "").startswith(TARGET)
    )


def is_installed() -> bool:
    """True if ``workflows`` imports resolve to stepwork in this process."""
    return any(isinstance(finder, WorkflowsAliasFinder) for finder in sys.meta_path)


def install() -> None:
    """Make ``import workflows...`` give stepwork's modules in this process (idempotent).

    Raises:
        CompatInstallError: If the real ``llama-index-workflows`` is already imported.
    """
    real = _real_workflows_modules()
    if real:
        shown = ", ".join(real[:5]) + (", ..." if len(real) > 5 else "")
        raise CompatInstallError(
            f"The real llama-index-workflows is already imported ({shown}), so 'workflows' "
            "cannot be made to mean stepwork in this process. Call stepwork.compat.install() "
            "before anything imports workflows (first thing in your entry point or conftest.py), "
            "or start the program with `python -m stepwork.compat app.py`."
        )
    if not is_installed():
        sys.meta_path.insert(0, WorkflowsAliasFinder())


def uninstall() -> None:
    """Undo :func:`install`: forget the aliases and remove the import hook."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, WorkflowsAliasFinder)]
    for name in [n for n in sys.modules if _target_of(n) is not None]:
        del sys.modules[name]
