"""Engine objects as the API's JSON shapes: workflows, runs (``RunInfo``) and event envelopes.

Example:
    >>> from stepwork import StopEvent
    >>> envelope(3, StopEvent(result="done"))["terminal"]
    True
"""

from __future__ import annotations

import inspect
import json
from typing import Any

from pydantic_core import to_jsonable_python

from stepwork._core.errors import ContextSerdeError
from stepwork._core.event_fields import qualified_name
from stepwork._core.events import Event, InternalDispatchEvent, StopEvent
from stepwork._runtime.graph_view import workflow_graph
from stepwork._runtime.workflow import Workflow
from stepwork._stores.codec import load_event
from stepwork._stores.protocol import RunRecord
from stepwork._stores.type_registry import TypeRegistry

__all__ = [
    "dumps",
    "envelope",
    "envelope_from_record",
    "event_fields",
    "jsonable",
    "run_info",
    "stored_result_event",
    "workflow_info",
]


def jsonable(value: Any) -> Any:
    """``value`` as JSON-ready data; what JSON cannot hold becomes its ``repr``."""
    return to_jsonable_python(value, fallback=repr)


def event_fields(event: Event) -> dict[str, Any]:
    """``event``'s fields as JSON (a field pydantic cannot serialise becomes its repr)."""
    try:
        data: dict[str, Any] = event.model_dump(mode="json")
    except Exception:  # a field pydantic cannot serialise: that field becomes its repr
        data = jsonable(event.model_dump())
    return data


def workflow_info(name: str, workflow: Workflow) -> dict[str, Any]:
    """``WorkflowInfo`` of ``workflow`` served as ``name``."""
    return {
        "name": name,
        "description": inspect.cleandoc(type(workflow).__doc__ or ""),
        "start_schema": workflow.start_event_class.model_json_schema(),
        "graph": jsonable(workflow_graph(workflow).to_dict()),
    }


def envelope(offset: int, event: Event) -> dict[str, Any]:
    """The ``EventEnvelope`` of ``event`` at ``offset``."""
    return {
        "offset": offset,
        "type": type(event).__name__,
        "qualified_name": qualified_name(type(event)),
        "data": event_fields(event),
        "internal": isinstance(event, InternalDispatchEvent),
        "terminal": isinstance(event, StopEvent),
    }


def envelope_from_record(
    offset: int, record: dict[str, Any], registry: TypeRegistry
) -> dict[str, Any]:
    """The envelope of a stored event record; its class is looked up in ``registry``.

    A record whose class is not allowed (a workflow this server does not serve) keeps its
    stored fields and is neither internal nor terminal.
    """
    try:
        return envelope(offset, load_event(record, registry))
    except ContextSerdeError:
        name = str(record.get("__model__", "Event"))
        value = record.get("value")
        return {
            "offset": offset,
            "type": name.rpartition(".")[2],
            "qualified_name": name,
            "data": value if isinstance(value, dict) else {},
            "internal": False,
            "terminal": False,  # the stream marks the last event of a finished run
        }


def stored_result_event(record: RunRecord, registry: TypeRegistry | None) -> Event | None:
    """The event a completed run ended with, loaded from its stored result through
    ``registry`` (its workflow's classes); ``None`` if there is none or it cannot be loaded."""
    if record.result is None or record.status != "completed" or registry is None:
        return None
    try:
        stop = load_event(record.result, registry)
    except ContextSerdeError:
        return None
    return stop if isinstance(stop, Event) else None


def _result(record: RunRecord, registry: TypeRegistry | None) -> Any:
    stored = record.result
    if stored is None or record.status != "completed":
        return None
    stop = stored_result_event(record, registry)
    if isinstance(stop, StopEvent):
        if type(stop) is StopEvent:
            return jsonable(stop.result)
        return event_fields(stop)
    if isinstance(stored, dict) and str(stored.get("__model__", "")).endswith(".StopEvent"):
        return stored.get("result")
    return stored.get("value") if isinstance(stored, dict) else stored


def run_info(record: RunRecord, name: str, registry: TypeRegistry | None) -> dict[str, Any]:
    """``RunInfo`` of a stored run, served as workflow ``name`` (``registry`` decodes its
    result; ``None`` when the workflow is not served here)."""
    error = record.error
    trace = error.get("traceback") if error is not None else None
    return {
        "run_id": record.run_id,
        "workflow": name,
        "status": record.status,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
        "result": _result(record, registry),
        "error": None
        if error is None
        else {
            "type": str(error.get("type", "")),
            "message": str(error.get("message", "")),
            "step": error.get("step") if isinstance(error.get("step"), str) else None,
            "traceback": trace if isinstance(trace, str) else None,
        },
        "version": record.version,
        "not_continued": None,
        "parent_run_id": record.parent_run_id,
    }


def dumps(value: Any) -> str:
    """Compact JSON text, as the streams send it: one line, even for readers that also break
    lines at U+0085, U+2028 and U+2029 (``str.splitlines``, httpx's ``iter_lines``), which
    are written as ``\\u`` escapes."""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=repr)
    if text.isascii():
        return text
    return text.replace("\x85", "\\u0085").replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
