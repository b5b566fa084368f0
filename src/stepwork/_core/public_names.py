"""Public names for public classes: ``stepwork.events.StopEvent``, not the private module path.

Classes live in private packages (``stepwork._core.events``) but are written into journals,
snapshots, HTTP bodies and tracebacks by their ``module.QualName``. Each public module calls
:func:`publish_names` on itself, so every class it exports reports a public ``__module__`` (as
httpx and trio do), and the private path stops being a storage and wire contract.

Invariants:
- A class is named by the *deepest* public module that exports it, and among modules equally
  deep by the first in alphabetical order: ``Context`` is ``stepwork.context.context.Context``,
  as the anchor's ``workflows.context.context.Context``. The name does not depend on the order
  in which modules are imported, once the modules exporting the class are (``stepwork``
  imports the ones its own exports need).
- Every private name a class had is kept in :data:`PRIVATE_NAMES`, so names written before
  (``stepwork._core.events.StopEvent``) still resolve when journals are read.
- Pickling keeps working: ``module.QualName`` is importable under the public name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from types import ModuleType

__all__ = ["PRIVATE_NAMES", "publish_imported", "publish_names"]

#: ``"stepwork._private.module.QualName"`` -> the class, for every class given a public name.
PRIVATE_NAMES: dict[str, type] = {}


def _is_ours(module: str) -> bool:
    return module == "stepwork" or module.startswith("stepwork.")


def _is_private(module: str) -> bool:
    return any(part.startswith("_") for part in module.split(".")[1:])


def _better(candidate: str, current: str) -> bool:
    """True if ``candidate`` (a public module) should name a class now named by ``current``."""
    if current == candidate or not _is_ours(current):
        return False
    if _is_private(current):
        return True
    deep, now = candidate.count("."), current.count(".")
    return deep > now or (deep == now and candidate < current)


def publish_names(modules: Iterable[ModuleType]) -> None:
    """Name every stepwork class in each module's ``__all__`` by the best public module.

    Args:
        modules: Public modules (no ``_`` in their dotted path after ``stepwork``).

    Example:
        >>> import stepwork.events
        >>> stepwork.events.StopEvent.__module__
        'stepwork.events'
        >>> PRIVATE_NAMES["stepwork._core.events.StopEvent"] is stepwork.events.StopEvent
        True
    """
    for module in modules:
        public = module.__name__
        for name in getattr(module, "__all__", ()):
            cls = getattr(module, name, None)
            if not isinstance(cls, type) or not _better(public, cls.__module__):
                continue
            if _is_private(cls.__module__):
                PRIVATE_NAMES[f"{cls.__module__}.{cls.__qualname__}"] = cls
            cls.__module__ = public


def publish_imported(modules: Mapping[str, ModuleType]) -> None:
    """:func:`publish_names` over every public stepwork module in ``modules``
    (``sys.modules``): what each public module calls once it has imported its names."""
    publish_names(
        module
        for name, module in list(modules.items())
        if _is_ours(name) and not _is_private(name) and module is not None
    )
