"""Dotted paths into a run's state: ``"user.tags.0"`` read and written in place.

A path walks dicts by key, ``DictLikeModel``s by dynamic key and then by declared field or
attribute, sequences by integer index (negative counts from the end), and any other object by
attribute. Writes create missing intermediate containers as empty dicts and return an undo
function, so a write whose consequences cannot be committed (say, the state no longer
serialises) is rolled back and leaves the state as it was.
"""

from __future__ import annotations

from collections.abc import Callable, MutableSequence, Sequence
from typing import Any, Final

from pydantic import BaseModel

from stepwork._core.dict_like import DictLikeModel
from stepwork._core.errors import StateStoreError

__all__ = ["MAX_PATH_SEGMENTS", "MISSING", "assign_path", "read_path", "split_path"]

#: Longest path accepted, in segments.
MAX_PATH_SEGMENTS: Final = 1000

#: Returned by :func:`read_path` when the path does not exist.
MISSING: Final = object()

Undo = Callable[[], None]


def split_path(path: str, *, allow_empty: bool) -> list[str]:
    """Split ``path`` on dots, enforcing the length limit.

    Raises:
        StateStoreError: If the path is empty (and not allowed) or too long.
    """
    if not path:
        if allow_empty:
            return []
        raise StateStoreError("Path cannot be empty: pass a key like 'count' or 'user.name'.")
    segments = path.split(".")
    if len(segments) > MAX_PATH_SEGMENTS:
        raise StateStoreError(
            f"Path length exceeds {MAX_PATH_SEGMENTS} segments ({len(segments)} given)."
        )
    return segments


def _step(current: Any, segment: str) -> Any:
    if isinstance(current, dict):
        if segment in current:
            return current[segment]
        if segment.lstrip("-").isdigit() and int(segment) in current:
            return current[int(segment)]
        return MISSING
    if isinstance(current, DictLikeModel):
        data = current._data
        if segment in data:
            return data[segment]
        return getattr(current, segment, MISSING)
    if isinstance(current, Sequence) and not isinstance(current, str | bytes):
        try:
            return current[int(segment)]
        except (ValueError, IndexError):
            return MISSING
    return getattr(current, segment, MISSING)


def read_path(root: Any, segments: list[str]) -> Any:
    """Return the value at ``segments`` below ``root``, or :data:`MISSING`."""
    current = root
    for segment in segments:
        current = _step(current, segment)
        if current is MISSING:
            return MISSING
    return current


def assign_path(root: Any, segments: list[str], value: Any) -> Undo:
    """Write ``value`` at ``segments`` below ``root``, creating missing dicts on the way.

    Returns:
        A function that puts back what the write changed.

    Raises:
        StateStoreError: If the path runs into a value that cannot hold keys, or names a
            field the state model does not declare.
    """
    current = root
    for depth, segment in enumerate(segments[:-1]):
        child = _step(current, segment)
        if child is MISSING:
            # Everything below is new: undoing the first creation undoes the whole write.
            fresh: dict[str, Any] = {}
            undo = _put(current, segment, fresh, segments, depth)
            target = fresh
            for inner in segments[depth + 1 : -1]:
                target[inner] = {}
                target = target[inner]
            target[segments[-1]] = value
            return undo
        if not _is_container(child):
            where = ".".join(segments[: depth + 1])
            raise StateStoreError(
                f"Cannot set {'.'.join(segments)!r}: {where!r} holds a "
                f"{type(child).__name__}, which has no keys. Set {where!r} to a dict first."
            )
        current = child
    return _put(current, segments[-1], value, segments, len(segments) - 1)


def _is_container(value: Any) -> bool:
    return isinstance(value, dict | BaseModel | MutableSequence)


def _put(container: Any, key: str, value: Any, segments: list[str], depth: int) -> Undo:
    if isinstance(container, dict):
        return _put_item(container, key, value)
    if isinstance(container, BaseModel):
        if key in type(container).model_fields:
            return _put_field(container, key, value)
        extra = container.__pydantic_extra__  # a DictLikeModel's dynamic fields, for one
        if extra is not None:
            return _put_item(extra, key, value)
        owner = ".".join(segments[:depth]) or "the state"
        raise StateStoreError(
            f"Cannot set {'.'.join(segments)!r}: {type(container).__name__} ({owner}) has no "
            f"field {key!r}. Declare the field on the model, or keep free-form keys in a dict "
            "field."
        )
    if isinstance(container, MutableSequence):
        return _put_index(container, key, value, segments, depth)
    raise StateStoreError(f"Cannot set {'.'.join(segments)!r}: unsupported container.")


def _put_item(container: dict[Any, Any], key: str, value: Any) -> Undo:
    had = key in container
    old = container.get(key)
    container[key] = value

    def undo() -> None:
        if had:
            container[key] = old
        else:
            container.pop(key, None)

    return undo


def _put_field(model: BaseModel, key: str, value: Any) -> Undo:
    old = model.__dict__.get(key, MISSING)
    setattr(model, key, value)

    def undo() -> None:
        if old is MISSING:
            model.__dict__.pop(key, None)
        else:
            model.__dict__[key] = old

    return undo


def _put_index(
    items: MutableSequence[Any], key: str, value: Any, segments: list[str], depth: int
) -> Undo:
    try:
        index = int(key)
        old = items[index]
    except (ValueError, IndexError):
        owner = ".".join(segments[:depth])
        raise StateStoreError(
            f"Cannot set {'.'.join(segments)!r}: {key!r} is not an index of the "
            f"{len(items)}-item list at {owner!r}. Lists can only be updated in place."
        ) from None
    items[index] = value

    def undo() -> None:
        items[index] = old

    return undo
