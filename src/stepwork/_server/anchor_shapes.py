"""The JSON shapes of LlamaIndex Workflows' server (``llama-agents-server``), built from
stepwork's runs and events, and the anchor's request bodies read into stepwork's.

``HandlerData`` describes a run (its ``handler_id`` is stepwork's ``run_id``), an
``EventEnvelopeWithMetadata`` an event (``{"value", "qualified_name", "type", "types"}``).
Events a client sends are read from the anchor's envelope (``{"type" | "qualified_name",
"value" | "data"}``, or that object as a JSON string) and built from the served workflow's own
classes by name: its bare class name, or the last part of a qualified name. A module named
by the request is never imported.

Example:
    >>> from stepwork import InputRequiredEvent
    >>> class Ask(InputRequiredEvent):
    ...     prompt: str
    >>> anchor_envelope(Ask, "Ask", "app.Ask", {"prompt": "Name?"})["types"]
    ['InputRequiredEvent']
    >>> event_reference({"type": "Ask", "value": {"prompt": "Name?"}})
    ('Ask', {'prompt': 'Name?'})
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from stepwork._core.event_fields import qualified_name
from stepwork._core.events import Event, StartEvent
from stepwork._server.errors import ApiError
from stepwork._server.served import ServedWorkflow
from stepwork._server.shapes import event_fields, stored_result_event
from stepwork._stores.protocol import TERMINAL_STATUSES, RunRecord
from stepwork._stores.type_registry import TypeRegistry

__all__ = [
    "ANCHOR_STATUS",
    "anchor_envelope",
    "anchor_status",
    "event_reference",
    "event_types",
    "handler_data",
    "handler_statuses",
    "iso_time",
    "start_event_fields",
]

ANCHOR_STATUS = {"timed_out": "failed"}
"""stepwork run statuses the anchor does not have, as the anchor names them."""

_FAILED = ("failed", "timed_out")


def anchor_status(status: str) -> str:
    """The anchor's handler status for a stepwork run status (``timed_out`` is ``failed``)."""
    return ANCHOR_STATUS.get(status, status)


def handler_statuses(statuses: list[str]) -> list[str]:
    """The stepwork run statuses matching the anchor's ``statuses`` (``failed`` also means
    ``timed_out``; an unknown status matches nothing, as on the anchor)."""
    found: list[str] = []
    for status in statuses:
        found.extend(_FAILED if status == "failed" else (status,))
    return found


def iso_time(seconds: float) -> str:
    """Seconds since the epoch as ISO 8601 in UTC (``2026-12-06T18:36:17.087401+00:00``)."""
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat()


def event_types(cls: type | None) -> list[str] | None:
    """The names of the event classes between ``cls`` and ``Event``, nearest first, or
    ``None`` when there are none (``Ask(InputRequiredEvent)`` gives ``["InputRequiredEvent"]``)."""
    if cls is None:
        return None
    names = [
        base.__name__
        for base in cls.__mro__[1:]
        if isinstance(base, type) and issubclass(base, Event) and base is not Event
    ]
    return names or None


def anchor_envelope(
    cls: type | None, type_name: str, qualified: str | None, value: Any
) -> dict[str, Any]:
    """An ``EventEnvelopeWithMetadata``: the event's fields, names and ancestor classes."""
    return {
        "value": value if isinstance(value, dict) else {},
        "qualified_name": qualified,
        "type": type_name,
        "types": event_types(cls),
    }


def _result_envelope(record: RunRecord, registry: TypeRegistry | None) -> dict[str, Any] | None:
    stored = record.result
    if stored is None or record.status != "completed":
        return None
    stop = stored_result_event(record, registry)
    if stop is not None:
        cls = type(stop)
        return anchor_envelope(cls, cls.__name__, qualified_name(cls), event_fields(stop))
    name = str(stored.get("__model__", "StopEvent")) if isinstance(stored, dict) else "StopEvent"
    fields = stored.get("value") if isinstance(stored, dict) else None
    return anchor_envelope(None, name.rpartition(".")[2], name, fields)


def handler_data(record: RunRecord, entry: ServedWorkflow | None) -> dict[str, Any]:
    """The ``HandlerData`` of a stored run (``entry`` is its served workflow, if served here).

    The handler id and the run id are both stepwork's run id; ``error`` is the message of
    the run's error; a timed-out run is ``failed``.
    """
    error = record.error
    finished = record.status in TERMINAL_STATUSES
    return {
        "handler_id": record.run_id,
        "workflow_name": entry.name if entry is not None else record.workflow,
        "run_id": record.run_id,
        "error": None if error is None else str(error.get("message", "")),
        "result": _result_envelope(record, entry.registry if entry is not None else None),
        "result_unreadable": False,
        "status": anchor_status(record.status),
        "started_at": iso_time(record.created_at),
        "updated_at": iso_time(record.updated_at),
        "completed_at": iso_time(record.updated_at) if finished else None,
    }


def _decoded(raw: Any, what: str) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except json.JSONDecodeError as error:
            message = f"{what} is a string that is not JSON: {error.msg}."
            raise ApiError("invalid", message, what) from None
    return raw


def event_reference(raw: Any, what: str = "event") -> tuple[str, dict[str, Any]]:
    """The class name and fields of an event envelope sent by an anchor client.

    ``raw`` is ``{"type": "Name" | "qualified_name": "module.Name", "value" | "data": {...}}``
    or that object as a JSON string. The type is the name's last part.

    Raises:
        ApiError: 400 (``invalid``) if ``raw`` is not such an envelope.
    """
    envelope = _decoded(raw, what)
    if not isinstance(envelope, dict):
        raise ApiError("invalid", f"{what} must be an object {{type, value}}.", what)
    name = envelope.get("type") or envelope.get("qualified_name")
    value = envelope.get("value", envelope.get("data"))
    if not isinstance(name, str) or not name:
        raise ApiError(
            "invalid",
            f'{what} names no event type: send {{"type": "ClassName", "value": {{...}}}}.',
            f"{what}.type",
        )
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ApiError("invalid", f"{what}.value must be an object of fields.", f"{what}.value")
    return name.rpartition(".")[2], value


def _unwrap(fields: dict[str, Any]) -> dict[str, Any]:
    inner = fields.get("_data")
    if set(fields) == {"_data"} and isinstance(inner, dict):
        return inner  # a StartEvent dumped by the anchor's client: its fields under "_data"
    return fields


def start_event_fields(body: dict[str, Any], entry: ServedWorkflow) -> dict[str, Any]:
    """The start event's fields from an anchor run body (``start_event`` or ``kwargs``).

    ``start_event`` may be the fields themselves, a typed envelope naming the workflow's
    start event class (or ``StartEvent``), or either as a JSON string.

    Raises:
        ApiError: 400 if it is malformed or names another event class.
    """
    raw = _decoded(body.get("start_event"), "start_event")
    if raw is None:
        kwargs = body.get("kwargs") or {}
        if not isinstance(kwargs, dict):
            raise ApiError("invalid", "kwargs must be an object of fields.", "kwargs")
        return _unwrap(kwargs)
    if not isinstance(raw, dict):
        raise ApiError("invalid", "start_event must be an object.", "start_event")
    typed = ("type" in raw or "qualified_name" in raw) and ("value" in raw or "data" in raw)
    if not typed:
        return _unwrap(raw)
    name, value = event_reference(raw, "start_event")
    start_class = entry.workflow.start_event_class
    if name not in (start_class.__name__, StartEvent.__name__):
        raise ApiError(
            "invalid",
            f"Invalid event type: {name}. Workflow '{entry.name}' starts with "
            f"{start_class.__name__}.",
            "start_event.type",
        )
    return _unwrap(value)
