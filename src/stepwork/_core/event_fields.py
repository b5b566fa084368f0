"""Field types that let events carry live exceptions and nested events through JSON.

Invariants:
- An exception dumps as ``{"exception_type": "mod.Qual", "exception_message": str}`` (this
  never fails) and an event as ``{"__is_pydantic": True, "value": <json dump>,
  "qualified_name": "mod.Qual"}``, the shapes LlamaIndex Workflows uses.
- Loading never imports anything. Classes are resolved through the ``TypeResolver`` found in
  the pydantic validation context under ``TYPE_RESOLVER_CONTEXT_KEY`` (the codec puts its
  allow-list there); without one, only builtins, stepwork's own errors and event classes that
  are already defined in this process are candidates.
- An exception whose class cannot be resolved or rebuilt from its message comes back as an
  ``UnreconstructedException`` that remembers the original type name (and dumps under it).
"""

from __future__ import annotations

import ast
import builtins
from typing import TYPE_CHECKING, Annotated, Any, Protocol

from pydantic import PlainSerializer, PlainValidator, ValidationInfo

from stepwork._core import errors as _errors
from stepwork._core.public_names import PRIVATE_NAMES

if TYPE_CHECKING:
    from stepwork._core.events import Event

__all__ = [
    "TYPE_RESOLVER_CONTEXT_KEY",
    "SerializableEvent",
    "SerializableException",
    "TypeResolver",
    "UnreconstructedException",
    "dump_exception",
    "load_exception",
    "qualified_name",
]

#: Key under which a ``TypeResolver`` is passed in pydantic's validation ``context``.
TYPE_RESOLVER_CONTEXT_KEY = "stepwork_types"


class TypeResolver(Protocol):
    """Anything that can map a qualified class name to an allowed class."""

    def resolve(self, name: str) -> type | None:
        """Return the allowed class called ``name`` (``module.QualName``), or ``None``."""
        ...


class UnreconstructedException(Exception):
    """Stands in for an exception whose class could not be rebuilt after a round trip.

    Args:
        message: The original exception's message.
        original_type: The original class's qualified name, e.g. ``"mypkg.errors.Boom"``.
    """

    def __init__(self, message: str, *, original_type: str | None = None) -> None:
        super().__init__(message)
        self.original_type = original_type

    def __repr__(self) -> str:
        return f"{type(self).__name__}(original_type={self.original_type!r}, {str(self)!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_unreconstructed, (str(self), self.original_type))


def _rebuild_unreconstructed(message: str, original_type: str | None) -> UnreconstructedException:
    return UnreconstructedException(message, original_type=original_type)


def qualified_name(cls: type) -> str:
    """Return ``module.QualName`` for ``cls``, the name stored in dumps."""
    return f"{cls.__module__}.{cls.__qualname__}"


def dump_exception(exc: BaseException) -> dict[str, str]:
    """Dump ``exc`` as ``{"exception_type": ..., "exception_message": ...}``."""
    if isinstance(exc, UnreconstructedException) and exc.original_type:
        type_name = exc.original_type
    else:
        type_name = qualified_name(type(exc))
    return {"exception_type": type_name, "exception_message": str(exc)}


def _stepwork_errors() -> dict[str, type]:
    found: dict[str, type] = {}
    for name in _errors.__all__:
        cls = getattr(_errors, name)
        found[qualified_name(cls)] = cls
    return found


def _legacy(name: str, base: type) -> type | None:
    """The stepwork class that was called ``name`` before it got its public name."""
    found = PRIVATE_NAMES.get(name)
    return found if found is not None and issubclass(found, base) else None


def _resolver(info: ValidationInfo | None) -> TypeResolver | None:
    context = info.context if info is not None else None
    if isinstance(context, dict):
        resolver = context.get(TYPE_RESOLVER_CONTEXT_KEY)
        if resolver is not None:
            return resolver  # type: ignore[no-any-return]
    return None


def _resolve_exception_class(name: str, resolver: TypeResolver | None) -> type | None:
    module, _, attr = name.rpartition(".")
    if module == "builtins":
        return getattr(builtins, attr, None)
    if resolver is not None:
        return resolver.resolve(name)
    return _stepwork_errors().get(name) or _legacy(name, BaseException)


def load_exception(data: Any, resolver: TypeResolver | None = None) -> BaseException:
    """Rebuild an exception from its dumped form (a live exception passes through).

    Args:
        data: A live exception or ``{"exception_type": ..., "exception_message": ...}``.
        resolver: The allow-list for non-builtin exception classes.

    Returns:
        The rebuilt exception, or an ``UnreconstructedException`` standing in for it.

    Raises:
        ValueError: ``data`` is neither form.
    """
    if isinstance(data, BaseException):
        return data
    if not isinstance(data, dict) or not isinstance(data.get("exception_type"), str):
        raise ValueError(
            "an exception field needs a live exception or a dict like "
            "{'exception_type': 'module.Class', 'exception_message': 'text'}, "
            f"got {type(data).__name__}"
        )
    type_name: str = data["exception_type"]
    message = str(data.get("exception_message", ""))
    cls = _resolve_exception_class(type_name, resolver)
    if isinstance(cls, type) and issubclass(cls, BaseException):
        if cls is UnreconstructedException:
            return UnreconstructedException(message)
        try:
            return cls(_unquote_key(message) if issubclass(cls, KeyError) else message)
        except Exception:  # a constructor that needs more than a message: fall through
            pass
    return UnreconstructedException(message, original_type=type_name)


def _unquote_key(message: str) -> object:
    # str(KeyError("k")) is "'k'": undo that repr so a round trip gives KeyError("k") again.
    if len(message) >= 2 and message[0] == message[-1] and message[0] in "'\"":
        try:
            key = ast.literal_eval(message)
        except (ValueError, SyntaxError):
            return message
        if repr(key) == message:
            return key
    return message


def _validate_exception(value: Any, info: ValidationInfo) -> BaseException:
    return load_exception(value, _resolver(info))


def _known_event_class(name: str, resolver: TypeResolver | None) -> type[Event] | None:
    from stepwork._core.events import Event  # events imports this module at load time

    if resolver is not None:
        cls = resolver.resolve(name)
    else:
        cls = None
        pending: list[type] = [Event]
        while pending and cls is None:
            candidate = pending.pop()
            if qualified_name(candidate) == name:
                cls = candidate
            pending.extend(candidate.__subclasses__())
        cls = cls or _legacy(name, Event)
    if isinstance(cls, type) and issubclass(cls, Event):
        return cls
    return None


def _validate_event(value: Any, info: ValidationInfo) -> Event:
    from stepwork._core.events import Event

    if isinstance(value, Event):
        return value
    if not (isinstance(value, dict) and isinstance(value.get("qualified_name"), str)):
        raise ValueError(
            "an event field needs an Event or a dict like "
            "{'__is_pydantic': True, 'value': {...}, 'qualified_name': 'module.Class'}, "
            f"got {type(value).__name__}"
        )
    name: str = value["qualified_name"]
    resolver = _resolver(info)
    cls = _known_event_class(name, resolver)
    if cls is None:
        raise ValueError(
            f"event type {name!r} is not an allowed event class; register it with "
            "TypeRegistry.with_types(...) (or define it before loading)"
        )
    context = info.context if resolver is not None else None
    return cls.model_validate(value.get("value") or {}, context=context)


def _dump_event(event: Event) -> dict[str, Any]:
    return {
        "__is_pydantic": True,
        "value": event.model_dump(mode="json"),
        "qualified_name": qualified_name(type(event)),
    }


SerializableException = Annotated[
    Exception,
    PlainValidator(_validate_exception),
    PlainSerializer(dump_exception, return_type=dict[str, str]),
]
"""A live exception in memory, ``{"exception_type", "exception_message"}`` when dumped."""

SerializableEvent = Annotated[
    "Event",
    PlainValidator(_validate_event),
    PlainSerializer(_dump_event, return_type=dict[str, Any]),
]
"""A live event in memory, ``{"__is_pydantic", "value", "qualified_name"}`` when dumped."""
