"""``TypeRegistry``: the allow-list of classes that stored JSON may name.

Loading a snapshot or a journal never imports a module and never unpickles: a class named in
the JSON must be in the registry, looked up by its qualified name (``module.QualName``) or, when
that is not known, by its bare class name (so ``__main__.MyEvent`` still finds ``app.MyEvent``
once the script is imported as a module). Names stepwork's own classes had before they were
given public names (``stepwork._core.events.StopEvent``, now ``stepwork.events.StopEvent``)
still find them, so journals written then still load. One more kind of class is allowed
without being registered: an ``Event`` subclass whose module is *already imported* in this
process (found in ``sys.modules``, never imported on behalf of the data). Loading it runs no
code the process did not already run, so it is as safe as an allow-listed class. Registries
are immutable; ``with_types`` returns an extended copy.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable, Iterator
from enum import Enum

from stepwork._core import errors as _errors
from stepwork._core import events as _events
from stepwork._core.event_fields import qualified_name
from stepwork._core.public_names import PRIVATE_NAMES

__all__ = ["TypeRegistry", "imported_event_class"]

_AMBIGUOUS: type = type("_Ambiguous", (), {})


def _framework_types() -> list[type]:
    found: list[type] = []
    for module in (_events, _errors):
        for name in module.__all__:
            candidate = getattr(module, name)
            if isinstance(candidate, type) and (
                issubclass(candidate, (_events.Event, BaseException, Enum))
            ):
                found.append(candidate)
    return found


class TypeRegistry:
    """An immutable allow-list of classes, by qualified and by bare name.

    Args:
        types: The allowed classes.

    Example:
        >>> from stepwork._core.events import Event
        >>> class Ping(Event):
        ...     pass
        >>> registry = TypeRegistry.default().with_types(Ping)
        >>> registry.lookup("Ping") is Ping
        True
    """

    __slots__ = ("_by_bare", "_by_qualified")

    def __init__(self, types: Iterable[type] = ()) -> None:
        self._by_qualified: dict[str, type] = {}
        self._by_bare: dict[str, type] = {}
        self._add(types)

    def _add(self, types: Iterable[type]) -> None:
        for cls in types:
            if not isinstance(cls, type):
                raise TypeError(f"TypeRegistry takes classes, got {cls!r}")
            self._by_qualified[qualified_name(cls)] = cls
            bare = cls.__qualname__.rpartition(".")[2]
            known = self._by_bare.get(bare)
            self._by_bare[bare] = cls if known is None or known is cls else _AMBIGUOUS

    @classmethod
    def default(cls) -> TypeRegistry:
        """The registry of stepwork's own types: framework events, ``StepState``, errors."""
        return _default_registry()

    def with_types(self, *classes: type) -> TypeRegistry:
        """Return a copy of this registry that also allows ``classes``."""
        extended = TypeRegistry()
        extended._by_qualified = dict(self._by_qualified)
        extended._by_bare = dict(self._by_bare)
        extended._add(classes)
        return extended

    def resolve(self, name: str) -> type | None:
        """Return the allowed class called ``name`` (qualified or bare), or ``None``."""
        found = self._by_qualified.get(name)
        if found is None and name in PRIVATE_NAMES:  # written before public names
            found = self._by_qualified.get(qualified_name(PRIVATE_NAMES[name]))
        if found is None:
            found = self._by_bare.get(name.rpartition(".")[2])
        if found is None or found is _AMBIGUOUS:
            return imported_event_class(name)
        return found

    def lookup(self, name: str) -> type:
        """Return the allowed class called ``name``.

        Raises:
            ContextSerdeError: If no allowed class has that name (or its bare name is shared by
                several allowed classes and the qualified name matches none of them).
        """
        found = self.resolve(name)
        if found is not None:
            return found
        bare = name.rpartition(".")[2]
        if self._by_bare.get(bare) is _AMBIGUOUS:
            raise _errors.ContextSerdeError(
                f"Type {name!r} is ambiguous: several allowed classes are called {bare!r} and "
                "none has this qualified name. Load with the same module layout that saved it."
            )
        raise _errors.ContextSerdeError(
            f"Type {name!r} is not in the allow-list of types that may be loaded, so it was not "
            "imported. Declare it in a step signature or a Context[State] annotation of the "
            f"workflow, or allow it explicitly with TypeRegistry.with_types({bare})."
        )

    def __contains__(self, cls: object) -> bool:
        return isinstance(cls, type) and self._by_qualified.get(qualified_name(cls)) is cls

    def __iter__(self) -> Iterator[type]:
        return iter(self._by_qualified.values())

    def __len__(self) -> int:
        return len(self._by_qualified)


def imported_event_class(name: str) -> type | None:
    """The ``Event`` subclass called ``module.QualName`` if its module is already imported.

    Nothing is imported: a module absent from ``sys.modules`` gives ``None``, as does a name
    that is not an ``Event`` subclass (or is defined inside a function, ``<locals>``).
    """
    module_name, qualname = _split_qualified(name)
    module = sys.modules.get(module_name) if module_name else None
    if module is None or "<locals>" in qualname:
        return None
    found: object = module
    for part in qualname.split("."):
        found = getattr(found, part, None)
        if found is None:
            return None
    if isinstance(found, type) and issubclass(found, _events.Event):
        return found
    return None


def _split_qualified(name: str) -> tuple[str, str]:
    # The longest prefix that is an imported module is the module; the rest is the qualname.
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module_name = ".".join(parts[:cut])
        if module_name in sys.modules:
            return module_name, ".".join(parts[cut:])
    return "", name


@functools.cache
def _default_registry() -> TypeRegistry:
    return TypeRegistry(_framework_types())
