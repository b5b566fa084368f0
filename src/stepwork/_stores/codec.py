"""The JSON codec for values that flow through runs: state, events, results.

Invariants:
- ``load_value(dump_value(v), registry) == v`` for every supported value whose classes are in
  ``registry``: JSON scalars, lists, dicts (any hashable keys), tuples, sets, frozensets,
  datetimes, dates, times, timedeltas, enums, UUIDs, decimals, bytes, exceptions and pydantic
  models (events included). Anything else fails at dump time with ``StateSerializationError``
  naming where the value sits, so a bad value is refused when written, not when reloaded.
- Non-JSON values become one-key "tagged" dicts (``{"__set__": [...]}``); a user dict that
  happens to use a tag as a key is wrapped in ``{"__dict__": {...}}``, so tags never collide.
- A pydantic model dumps as ``{"__model__": "module.QualName", "value": model_dump(mode="json")}``.
  Dynamic fields of a ``DictLikeModel`` go under ``"data"`` and a ``StopEvent``'s result under
  ``"result"``, both through this codec, so nested models in them keep their types.
- Loading never imports: classes come from a ``TypeRegistry`` and nothing is unpickled.
"""

from __future__ import annotations

import base64
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError

from stepwork._core.dict_like import FIELDS_ONLY_CONTEXT_KEY, DictLikeModel
from stepwork._core.errors import ContextSerdeError, StateSerializationError
from stepwork._core.event_fields import (
    TYPE_RESOLVER_CONTEXT_KEY,
    dump_exception,
    load_exception,
    qualified_name,
)
from stepwork._core.events import Event, StopEvent
from stepwork._stores.type_registry import TypeRegistry

__all__ = [
    "JSON",
    "TypeRegistry",
    "dump_event",
    "dump_model_body",
    "dump_value",
    "is_tagged",
    "load_event",
    "load_model_body",
    "load_value",
]

JSON = Any
"""A JSON-compatible value: ``None``, bool, int, float, str, list or str-keyed dict of those."""

_SCALARS = (str, int, float, bool, type(None))
_TAGS = frozenset(
    {
        "__model__", "__enum__", "__tuple__", "__set__", "__frozenset__", "__datetime__",
        "__date__", "__time__", "__timedelta__", "__bytes__", "__decimal__", "__uuid__",
        "__exception__", "__dict__", "__items__",
    }
)  # fmt: skip
_HINT = (
    "Store JSON types (str, int, float, bool, None, list, dict), a pydantic model, or one of "
    "tuple, set, frozenset, datetime, date, time, timedelta, Enum, UUID, Decimal, bytes, "
    "exception instead."
)


def _join(path: str, key: object) -> str:
    return f"{path}.{key}" if path else str(key)


def _refuse(value: Any, path: str, label: str, detail: str = "") -> StateSerializationError:
    where = f"{label} {path!r}" if path else "value"
    return StateSerializationError(
        f"Cannot serialise {where}: {qualified_name(type(value))} is not JSON-serialisable"
        f"{detail}. {_HINT}"
    )


def dump_value(value: Any, *, path: str = "", label: str = "state key") -> JSON:
    """Turn ``value`` into JSON-compatible data that :func:`load_value` reverses.

    Args:
        value: The value to dump.
        path: Where the value sits (``"a.b"``), used in error messages.
        label: What ``path`` names (``"state key"``, ``"event field"``).

    Returns:
        JSON-compatible data.

    Raises:
        StateSerializationError: If the value (or something inside it) is not supported; the
            message names the path and the offending type.
    """
    kind = type(value)
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is list:
        return _dump_items(value, path, label)
    if kind is dict:
        return _dump_dict(value, path, label)
    if isinstance(value, BaseModel):
        return {"__model__": qualified_name(kind), **dump_model_body(value, path=path, label=label)}
    if isinstance(value, Enum):
        return {
            "__enum__": qualified_name(kind),
            "value": dump_value(value.value, path=path, label=label),
        }
    if isinstance(value, BaseException):
        return {"__exception__": dump_exception(value)}
    if isinstance(value, tuple):
        return {"__tuple__": _dump_items(value, path, label)}
    if isinstance(value, set | frozenset):
        tag = "__frozenset__" if isinstance(value, frozenset) else "__set__"
        return {tag: _dump_items(_stable_order(value), path, label)}
    return _dump_other(value, path, label)


def _dump_items(items: Iterable[Any], path: str, label: str) -> list[JSON]:
    return [dump_value(item, path=_join(path, i), label=label) for i, item in enumerate(items)]


def _stable_order(items: set[Any] | frozenset[Any]) -> list[Any]:
    try:
        return sorted(items)
    except TypeError:
        return list(items)


def _dump_other(value: Any, path: str, label: str) -> JSON:
    if isinstance(value, datetime):
        return {"__datetime__": value.isoformat()}
    if isinstance(value, date):
        return {"__date__": value.isoformat()}
    if isinstance(value, time):
        return {"__time__": value.isoformat()}
    if isinstance(value, timedelta):
        return {"__timedelta__": [value.days, value.seconds, value.microseconds]}
    if isinstance(value, bytes | bytearray):
        return {"__bytes__": base64.b64encode(value).decode("ascii")}
    if isinstance(value, Decimal):
        return {"__decimal__": str(value)}
    if isinstance(value, UUID):
        return {"__uuid__": str(value)}
    if isinstance(value, dict):
        return _dump_dict(value, path, label)
    if isinstance(value, list):
        return _dump_items(value, path, label)
    if isinstance(value, _SCALARS):  # str/int/float subclasses keep their plain value
        for base in (bool, int, float, str):
            if isinstance(value, base):
                return base(value)
    raise _refuse(value, path, label)


def _dump_dict(value: dict[Any, Any], path: str, label: str) -> JSON:
    if all(type(key) is str for key in value):
        out = {
            key: dump_value(item, path=_join(path, key), label=label) for key, item in value.items()
        }
        return {"__dict__": out} if not _TAGS.isdisjoint(out) else out
    return {
        "__items__": [
            [
                dump_value(key, path=path, label=label),
                dump_value(item, path=_join(path, key), label=label),
            ]
            for key, item in value.items()
        ]
    }


def dump_model_body(
    model: BaseModel, *, path: str = "", label: str = "state key"
) -> dict[str, JSON]:
    """Dump a pydantic model's contents (no type name): ``{"value", "data"?, "result"?}``.

    Raises:
        StateSerializationError: If a field or dynamic value cannot be dumped.
    """
    extra = model.__pydantic_extra__ if isinstance(model, DictLikeModel) else None
    try:
        value = model.model_dump(
            mode="json",
            exclude=set(extra) if extra else None,
            context={FIELDS_ONLY_CONTEXT_KEY: True},
            warnings=False,
        )
    except (PydanticSerializationError, ValueError, TypeError) as error:
        raise _locate_field_error(model, path, label, error) from error
    body: dict[str, JSON] = {"value": value}
    if extra:
        body["data"] = {
            key: dump_value(item, path=_join(path, key), label=label) for key, item in extra.items()
        }
    if isinstance(model, StopEvent):
        result = model.__pydantic_private__.get("_result") if model.__pydantic_private__ else None
        if result is not None:
            body["result"] = dump_value(result, path=_join(path, "result"), label=label)
    return body


def _locate_field_error(
    model: BaseModel, path: str, label: str, error: Exception
) -> StateSerializationError:
    for name in type(model).model_fields:
        try:
            dump_value(getattr(model, name, None), path=_join(path, name), label=label)
        except StateSerializationError as located:
            return located
    return _refuse(model, path, label, f" ({error})")


def is_tagged(data: dict[str, Any]) -> bool:
    """True if ``data`` is one of this codec's tagged values rather than a plain dict."""
    return not _TAGS.isdisjoint(data)


def load_value(data: JSON, registry: TypeRegistry) -> Any:
    """Rebuild a value dumped by :func:`dump_value`.

    Raises:
        ContextSerdeError: If the data names a class outside ``registry`` or is malformed.
    """
    kind = type(data)
    if kind is list:
        return [load_value(item, registry) for item in data]
    if kind is not dict:
        return data
    if _TAGS.isdisjoint(data):
        return {key: load_value(item, registry) for key, item in data.items()}
    try:
        return _load_tagged(data, registry)
    except ContextSerdeError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as error:
        raise ContextSerdeError(
            f"Stored value {str(data)[:200]!r} is malformed ({error!r}); it was not written by "
            "this codec, or was edited by hand."
        ) from error


def _load_tagged(data: dict[str, Any], registry: TypeRegistry) -> Any:
    if "__model__" in data:
        cls = registry.lookup(data["__model__"])
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            raise ContextSerdeError(f"Type {data['__model__']!r} is not a pydantic model.")
        return load_model_body(cls, data, registry)
    if "__enum__" in data:
        enum_cls = registry.lookup(data["__enum__"])
        if not (isinstance(enum_cls, type) and issubclass(enum_cls, Enum)):
            raise ContextSerdeError(f"Type {data['__enum__']!r} is not an Enum.")
        return enum_cls(load_value(data["value"], registry))
    if "__dict__" in data:
        return {key: load_value(item, registry) for key, item in data["__dict__"].items()}
    if "__items__" in data:
        return {load_value(k, registry): load_value(v, registry) for k, v in data["__items__"]}
    if "__exception__" in data:
        return load_exception(data["__exception__"], registry)
    for tag, build in _SEQUENCE_TAGS.items():
        if tag in data:
            return build(load_value(item, registry) for item in data[tag])
    for tag, parse in _SCALAR_TAGS.items():
        if tag in data:
            return parse(data[tag])
    raise ValueError("unknown tag")  # unreachable while _TAGS and the branches agree


_SEQUENCE_TAGS: dict[str, Any] = {"__tuple__": tuple, "__set__": set, "__frozenset__": frozenset}
_SCALAR_TAGS: dict[str, Any] = {
    "__datetime__": datetime.fromisoformat,
    "__date__": date.fromisoformat,
    "__time__": time.fromisoformat,
    "__timedelta__": lambda parts: timedelta(
        days=parts[0], seconds=parts[1], microseconds=parts[2]
    ),
    "__bytes__": lambda text: base64.b64decode(text.encode("ascii")),
    "__decimal__": Decimal,
    "__uuid__": UUID,
}


def load_model_body(cls: type[BaseModel], body: dict[str, JSON], registry: TypeRegistry) -> Any:
    """Rebuild a ``cls`` instance from :func:`dump_model_body` output.

    Raises:
        ContextSerdeError: If the stored fields no longer validate against ``cls``.
    """
    try:
        model = cls.model_validate(
            body.get("value") or {}, strict=False, context={TYPE_RESOLVER_CONTEXT_KEY: registry}
        )
    except ValidationError as error:
        raise ContextSerdeError(
            f"Stored {qualified_name(cls)} no longer validates: {error}. Was the model changed "
            "since it was saved?"
        ) from error
    data = body.get("data")
    if data and isinstance(model, DictLikeModel):
        model._data.update({key: load_value(item, registry) for key, item in data.items()})
    if "result" in body and isinstance(model, StopEvent):
        model._result = load_value(body["result"], registry)
    return model


def dump_event(event: Event) -> dict[str, JSON]:
    """Dump an event as ``{"__model__": "module.QualName", "value": ..., ...}``.

    Raises:
        StateSerializationError: If a field or dynamic value cannot be dumped.
    """
    if not isinstance(event, Event):
        raise TypeError(f"dump_event takes an Event, got {type(event).__name__}")
    dumped: dict[str, JSON] = dump_value(event, path=type(event).__name__, label="event field")
    return dumped


def load_event(data: JSON, registry: TypeRegistry) -> Event:
    """Rebuild an event dumped by :func:`dump_event`.

    Raises:
        ContextSerdeError: If the data is not an event, or names a type outside ``registry``.
    """
    if not (isinstance(data, dict) and "__model__" in data):
        raise ContextSerdeError(f"Expected a dumped event, got {str(data)[:200]!r}.")
    event = load_value(data, registry)
    if not isinstance(event, Event):
        raise ContextSerdeError(f"{data['__model__']!r} is not an Event class.")
    return event
