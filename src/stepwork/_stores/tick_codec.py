"""Ticks as JSON records, and back: the format of journals and of the golden tick logs.

A record is ``{"kind": <tick kind>, <field>: <JSON>, ...}``. Events, exceptions and other
values go through the value codec; event types are written as qualified names. Loading looks
every class up in a :class:`TypeRegistry`, so a record can never import or run code.

Example:
    >>> from stepwork._core.ticks import TickTimer
    >>> dump_tick(TickTimer(1.5, "run"))
    {'kind': 'timer', 'at': 1.5, 'timer_id': 'run'}
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import fields
from math import isfinite
from typing import Any

from stepwork._core.errors import ContextSerdeError
from stepwork._core.event_fields import qualified_name
from stepwork._core.events import Event
from stepwork._core.ticks import (
    Tick,
    TickCancel,
    TickCollect,
    TickEvent,
    TickPublish,
    TickStart,
    TickStateWrite,
    TickStepDone,
    TickStepFailed,
    TickTimer,
    TickWait,
)
from stepwork._stores.codec import JSON, dump_value, load_value
from stepwork._stores.finite import non_finite_error, refuse_non_finite
from stepwork._stores.state_codec import dump_run_state, load_run_state
from stepwork._stores.type_registry import TypeRegistry

__all__ = ["TICK_KINDS", "dump_tick", "load_tick"]

TICK_KINDS: dict[str, type] = {
    cls.kind: cls
    for cls in (
        TickStart,
        TickEvent,
        TickStepDone,
        TickStepFailed,
        TickPublish,
        TickCollect,
        TickWait,
        TickStateWrite,
        TickTimer,
        TickCancel,
    )
}

# Fields whose values are events, lists of events or exceptions: through the value codec.
_VALUES = {"start_event", "event", "output", "error", "waiter_event"}
# Fields that may hold NaN or infinities deep inside (the rest are scalars, checked in place).
_CHECKED = _VALUES | {"requirements", "state"}


def dump_tick(tick: Tick) -> dict[str, JSON]:
    """``tick`` as a JSON-ready record.

    Raises:
        StateSerializationError: If an event or value in the tick cannot be written as JSON,
            NaN and infinities included (the message names the field).
    """
    kind = type(tick).kind
    record: dict[str, JSON] = {"kind": kind}
    for item in fields(tick):
        name = item.name
        value = getattr(tick, name)
        if isinstance(value, Event):  # named as people know it: ``Reading.value``
            refuse_non_finite(value, path=type(value).__name__, label="event field")
        elif name in _CHECKED:
            refuse_non_finite(value, path=f"{kind}.{name}", label="tick field")
        elif type(value) is float and not isfinite(value):  # ``at``, ``timeout``, ``delay``...
            raise non_finite_error(f"{kind}.{name}", value, "tick field")
        if name in _VALUES:
            record[name] = dump_value(value, path=f"{type(tick).kind}.{name}", label="tick field")
        elif name == "base":
            if value is not None:  # only runs that continue a context have one
                record[name] = dump_run_state(value)
                refuse_non_finite(record[name], path=f"{kind}.base", label="tick field")
        elif name == "event_type":
            record[name] = qualified_name(value)
        elif name == "expected":
            record[name] = None if value is None else [[qualified_name(t), n] for t, n in value]
        elif name == "requirements":
            record[name] = [[key, dump_value(v, path=key)] for key, v in value]
        elif name == "idempotency_key":
            if value is not None:  # only sends that carried a key have one
                record[name] = value
        else:
            record[name] = value
    return record


def load_tick(record: Any, registry: TypeRegistry, steps: Collection[str] | None = None) -> Tick:
    """Rebuild a tick from :func:`dump_tick` output; ``steps`` are the workflow's step names,
    against which a start tick's base state is checked.

    Raises:
        ContextSerdeError: If the record is malformed, of an unknown kind, or names a class
            outside ``registry``.
    """
    if not isinstance(record, dict):
        raise ContextSerdeError(f"A tick record must be a JSON object, got {str(record)[:100]!r}.")
    kind = record.get("kind")
    cls = TICK_KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ContextSerdeError(
            f"Unknown tick kind {kind!r}: the record was written by a newer or different "
            f"version. Known kinds: {', '.join(sorted(TICK_KINDS))}."
        )
    values: dict[str, Any] = {}
    try:
        for item in fields(cls):
            name = item.name
            if name not in record:
                continue
            raw = record[name]
            if name in _VALUES:
                values[name] = load_value(raw, registry)
            elif name == "event_type":
                values[name] = registry.lookup(raw)
            elif name == "base":
                values[name] = None if raw is None else load_run_state(raw, registry, steps)
            elif name == "expected":
                values[name] = (
                    None if raw is None else tuple((registry.lookup(t), n) for t, n in raw)
                )
            elif name == "requirements":
                values[name] = tuple((key, load_value(v, registry)) for key, v in raw)
            else:
                values[name] = raw
        tick: Tick = cls(**values)
    except (TypeError, ValueError) as error:
        if isinstance(error, ContextSerdeError):
            raise
        raise ContextSerdeError(f"Malformed {kind!r} tick record: {error}.") from error
    return tick
