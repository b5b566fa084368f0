"""Ticks as JSON records, and back: the format of journals and of the golden tick logs.

A record is ``{"kind": <tick kind>, <field>: <JSON>, ..., "env": {"v": 2, ...}}``. Events,
exceptions and other values go through the value codec; event types are written as qualified
names. Loading looks every class up in a :class:`TypeRegistry`, so a record can never import or
run code.

``env`` is the tick's envelope (:class:`TickEnvelope`): ``v`` the record schema (always
written), then ``writer``, ``epoch`` and ``meta`` when they are not their defaults. A record
without ``env`` was written before envelopes existed and loads as schema 1; a record of a newer
schema than :data:`TICK_SCHEMA` is refused, never guessed at.

Example:
    >>> from stepwork._core.ticks import TickTimer
    >>> dump_tick(TickTimer(1.5, "run"))
    {'kind': 'timer', 'at': 1.5, 'timer_id': 'run'}
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import fields
from math import isfinite
from typing import Any, Literal, assert_never, cast, get_args

from stepwork._core.envelope import EMPTY_META, LEGACY_TICK_SCHEMA, TICK_SCHEMA, TickEnvelope
from stepwork._core.errors import ContextSerdeError, JournalCorruptError
from stepwork._core.event_fields import qualified_name
from stepwork._core.events import Event
from stepwork._core.ticks import Tick, TickKind
from stepwork._stores.codec import JSON, dump_value, load_value
from stepwork._stores.finite import non_finite_error, refuse_non_finite
from stepwork._stores.state_codec import dump_run_state, load_run_state
from stepwork._stores.type_registry import TypeRegistry

__all__ = [
    "TICK_KINDS",
    "FieldCodec",
    "dump_envelope",
    "dump_tick",
    "field_codecs",
    "load_envelope",
    "load_tick",
    "record_kind",
]

TICK_KINDS: dict[str, type] = {cls.kind: cls for cls in get_args(Tick)}
"""Every tick class by the ``kind`` its records carry."""

FieldCodec = Literal["value", "base", "type", "expected", "requirements", "json", "optional"]
"""How a tick field is written: ``value`` through the value codec (events, lists of events,
exceptions); ``base`` as a run state; ``type`` as a qualified name; ``expected`` as
``[[name, count], ...]``; ``requirements`` as ``[[key, value], ...]``; ``json`` as is, checked
for NaN deep inside; ``optional`` as is, left out when ``None``. Other fields are scalars."""


def field_codecs(kind: TickKind) -> dict[str, FieldCodec]:
    """The fields of ticks of ``kind`` that are not plain scalars, and how each is written.

    Example:
        >>> field_codecs("collect")
        {'event': 'value', 'expected': 'expected'}
    """
    match kind:
        case "start":
            return {"start_event": "value", "base": "base"}
        case "event":
            return {"event": "value", "idempotency_key": "optional"}
        case "step_done":
            return {"output": "value"}
        case "step_failed":
            return {"error": "value"}
        case "publish":
            return {"event": "value"}
        case "collect":
            return {"event": "value", "expected": "expected"}
        case "wait":
            return {
                "event_type": "type",
                "requirements": "requirements",
                "waiter_event": "value",
            }
        case "state":
            return {"state": "json"}
        case "once":
            return {"outcome": "json"}
        case "timer" | "cancel":
            return {}
        case _:
            assert_never(kind)


_CODECS: dict[str, dict[str, FieldCodec]] = {
    cls.kind: field_codecs(cls.kind) for cls in get_args(Tick)
}

# The envelope's key in a record; a tick field of that name would be shadowed, so none may have it.
_ENV = "env"


def dump_tick(tick: Tick) -> dict[str, JSON]:
    """``tick`` as a JSON-ready record.

    Raises:
        StateSerializationError: If an event or value in the tick cannot be written as JSON,
            NaN and infinities included (the message names the field).
    """
    kind = type(tick).kind
    codecs = _CODECS[kind]
    record: dict[str, JSON] = {"kind": kind}
    for item in fields(tick):
        name = item.name
        value = getattr(tick, name)
        codec = codecs.get(name)
        path = f"{kind}.{name}"
        if isinstance(value, Event):  # named as people know it: ``Reading.value``
            refuse_non_finite(value, path=type(value).__name__, label="event field")
        elif codec in ("value", "json", "requirements"):
            refuse_non_finite(value, path=path, label="tick field")
        elif type(value) is float and not isfinite(value):  # ``at``, ``timeout``, ``delay``...
            raise non_finite_error(path, value, "tick field")
        match codec:
            case None | "json":
                record[name] = value
            case "value":
                record[name] = dump_value(value, path=path, label="tick field")
            case "base":
                if value is not None:  # only runs that continue a context have one
                    record[name] = dump_run_state(value)
                    refuse_non_finite(record[name], path=path, label="tick field")
            case "type":
                record[name] = qualified_name(value)
            case "expected":
                record[name] = None if value is None else [[qualified_name(t), n] for t, n in value]
            case "requirements":
                record[name] = [[key, dump_value(v, path=key)] for key, v in value]
            case "optional":
                if value is not None:
                    record[name] = value
            case _:
                assert_never(codec)
    return record


def record_kind(record: Mapping[str, Any]) -> TickKind:
    """The tick kind a record names.

    Raises:
        ContextSerdeError: If it names none this version knows.
    """
    kind = record.get("kind")
    if not isinstance(kind, str) or kind not in TICK_KINDS:
        raise ContextSerdeError(
            f"Unknown tick kind {kind!r}: the record was written by a newer or different "
            f"version. Known kinds: {', '.join(sorted(TICK_KINDS))}."
        )
    return cast(TickKind, kind)


def load_tick(record: Any, registry: TypeRegistry, steps: Collection[str] | None = None) -> Tick:
    """Rebuild a tick from :func:`dump_tick` output; ``steps`` are the workflow's step names,
    against which a start tick's base state is checked.

    Raises:
        ContextSerdeError: If the record is malformed, of an unknown kind, or names a class
            outside ``registry``.
    """
    if not isinstance(record, dict):
        raise ContextSerdeError(f"A tick record must be a JSON object, got {str(record)[:100]!r}.")
    kind = record_kind(record)
    cls = TICK_KINDS[kind]
    codecs = _CODECS[kind]
    values: dict[str, Any] = {}
    try:
        for item in fields(cls):
            name = item.name
            if name not in record:
                continue
            raw = record[name]
            codec = codecs.get(name)
            match codec:
                case None | "json" | "optional":
                    values[name] = raw
                case "value":
                    values[name] = load_value(raw, registry)
                case "base":
                    values[name] = None if raw is None else load_run_state(raw, registry, steps)
                case "type":
                    values[name] = registry.lookup(raw)
                case "expected":
                    values[name] = (
                        None if raw is None else tuple((registry.lookup(t), n) for t, n in raw)
                    )
                case "requirements":
                    values[name] = tuple((key, load_value(v, registry)) for key, v in raw)
                case _:
                    assert_never(codec)
        tick: Tick = cls(**values)
    except (TypeError, ValueError) as error:
        if isinstance(error, ContextSerdeError):
            raise
        raise ContextSerdeError(f"Malformed {kind!r} tick record: {error}.") from error
    return tick


def dump_envelope(envelope: TickEnvelope) -> dict[str, JSON]:
    """``envelope`` as a JSON-ready record: its tick's record plus an ``env`` key.

    Example:
        >>> from stepwork._core.ticks import TickTimer
        >>> record = dump_envelope(TickEnvelope(TickTimer(1.5, "run"), writer="h:1:ab", epoch=3))
        >>> record["kind"], record["env"]
        ('timer', {'v': 2, 'writer': 'h:1:ab', 'epoch': 3})

    Raises:
        StateSerializationError: As :func:`dump_tick`.
    """
    record = dump_tick(envelope.tick)
    env: dict[str, JSON] = {"v": TICK_SCHEMA}
    if envelope.writer:
        env["writer"] = envelope.writer
    if envelope.epoch:
        env["epoch"] = envelope.epoch
    if envelope.meta:
        env["meta"] = dict(envelope.meta)
    record[_ENV] = env
    return record


def load_envelope(
    record: Any, registry: TypeRegistry, steps: Collection[str] | None = None
) -> TickEnvelope:
    """Rebuild an envelope (and its tick) from :func:`dump_envelope` output; a record written
    before envelopes existed (no ``env``) loads as schema 1 with default writer, epoch and meta.

    Raises:
        JournalCorruptError: If the record was written by a newer stepwork (its schema is above
            :data:`TICK_SCHEMA`): upgrade to read it.
        ContextSerdeError: If the record or its envelope is malformed (see :func:`load_tick`).
    """
    env = record.get(_ENV) if isinstance(record, dict) else None
    if env is None:
        return TickEnvelope(load_tick(record, registry, steps), schema=LEGACY_TICK_SCHEMA)
    if not isinstance(env, dict) or type(env.get("v")) is not int:
        raise ContextSerdeError(
            f"A tick record's envelope must be an object with an integer 'v', got {env!r:.100}."
        )
    schema: int = env["v"]
    if schema > TICK_SCHEMA:
        raise JournalCorruptError(
            f"The tick record was written by a newer stepwork (tick schema {schema}; this "
            f"version reads schemas up to {TICK_SCHEMA}): upgrade stepwork to read this run.",
            record="tick",
        )
    writer = env.get("writer", "")
    epoch = env.get("epoch", 0)
    meta = env.get("meta")
    if (
        not isinstance(writer, str)
        or type(epoch) is not int
        or not (
            meta is None
            or (isinstance(meta, dict) and all(isinstance(v, str) for v in meta.values()))
        )
    ):
        raise ContextSerdeError(
            "A tick record's envelope needs a string 'writer', an integer 'epoch' and a 'meta' "
            f"object of strings, got {env!r:.200}."
        )
    return TickEnvelope(
        load_tick(record, registry, steps),
        schema=schema,
        writer=writer,
        epoch=epoch,
        meta=EMPTY_META if not meta else meta,
    )
