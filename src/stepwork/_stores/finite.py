"""Finding NaN and infinities in values bound for a journal, so they are refused by name.

JSON has no NaN or Infinity. ``json.dumps(allow_nan=False)`` refuses a bare one without saying
where it sat, and pydantic's JSON dump silently writes ``null`` for a float field holding one,
which the run could not load back. A journaled run therefore checks what it writes first.

Invariants:
- :func:`find_non_finite` looks where the value codec writes: lists, tuples, sets, dicts (keys
  and values), pydantic models (declared fields, dynamic fields, a ``StopEvent``'s result),
  enum values; anything else (strings, ints, ``Decimal``, datetimes, exceptions) holds none.
- The path it returns uses the codec's dotted form (``"readings.1"``), so messages agree.

Example:
    >>> find_non_finite({"a": [1.0, float("inf")]})
    ('a.1', inf)
    >>> find_non_finite({"a": "inf"}) is None
    True
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum
from math import isfinite
from typing import Any

from pydantic import BaseModel

from stepwork._core.errors import StateSerializationError
from stepwork._core.events import StopEvent

__all__ = ["find_non_finite", "non_finite_error", "refuse_non_finite"]

_LEAVES = frozenset({str, int, bool, type(None), bytes})


def find_non_finite(value: Any) -> tuple[str, float] | None:
    """The first NaN or infinity inside ``value``: its dotted path (``""`` for ``value``
    itself) and the number; ``None`` when there is none."""
    found = _find(value)
    if found is None:
        return None
    parts, number = found
    return ".".join(reversed(parts)), number


def _find(value: Any) -> tuple[list[str], float] | None:
    kind = type(value)
    if kind in _LEAVES:
        return None
    if kind is float:
        return None if isfinite(value) else ([], value)
    if kind is list or kind is tuple:
        return _in_pairs(enumerate(value))
    if kind is dict:
        return _in_dict(value)
    if isinstance(value, BaseModel):
        return _in_model(value)
    if isinstance(value, float):
        return None if isfinite(value) else ([], float(value))
    if isinstance(value, dict):
        return _in_dict(value)
    if isinstance(value, list | tuple | set | frozenset):
        return _in_pairs(enumerate(value))
    if isinstance(value, Enum):
        return _find(value.value)
    return None


def _in_pairs(pairs: Iterable[tuple[Any, Any]]) -> tuple[list[str], float] | None:
    for key, item in pairs:
        kind = type(item)
        if kind in _LEAVES or (kind is float and isfinite(item)):
            continue  # the common cases, without a call
        found = _find(item)
        if found is not None:
            found[0].append(str(key))
            return found
    return None


def _in_dict(value: dict[Any, Any]) -> tuple[list[str], float] | None:
    if type(next(iter(value), "")) is not str:  # keys may hold numbers too
        for key in value:
            found = _find(key)
            if found is not None:
                return [str(key)], found[1]
    return _in_pairs(value.items())


def _in_model(model: BaseModel) -> tuple[list[str], float] | None:
    values = model.__dict__  # declared fields; not a cached_property's value, never dumped
    for name in type(model).__pydantic_fields__:
        item: Any = values.get(name)
        kind = type(item)
        if kind in _LEAVES or (kind is float and isfinite(item)):
            continue
        found = _find(item)
        if found is not None:
            found[0].append(name)
            return found
    extra = model.__pydantic_extra__
    if extra and (found := _in_pairs(extra.items())) is not None:
        return found
    private = model.__pydantic_private__
    if private and isinstance(model, StopEvent):
        return _in_pairs([("result", private.get("_result"))])
    return None


def non_finite_error(path: str, number: float, label: str) -> StateSerializationError:
    """The error for ``number`` found at ``path`` (what ``label`` names: ``"state key"``...)."""
    where = f"{label} {path!r}" if path else "value"
    return StateSerializationError(
        f"Cannot serialise {where}: {number!r} is not a finite number, and JSON (so the "
        "journal) has no NaN or Infinity; it would be stored as null and the run could not be "
        "read back. Use a finite number, or None (or a string such as 'inf') to mark a "
        "missing or unbounded value."
    )


def refuse_non_finite(value: Any, *, path: str = "", label: str = "state key") -> None:
    """Raise if ``value`` holds NaN or an infinity.

    Args:
        value: What is about to be journaled.
        path: Where ``value`` sits (prefixed to the path found inside it).
        label: What ``path`` names, for the message.

    Raises:
        StateSerializationError: Naming the full dotted path and the number.
    """
    found = find_non_finite(value)
    if found is not None:
        inner, number = found
        full = f"{path}.{inner}" if path and inner else path or inner
        raise non_finite_error(full, number, label)
