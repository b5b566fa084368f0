"""Each API call as data: what to send and how to read the answer, shared by both clients.

The async and sync clients differ only in how they move bytes; everything else, the paths, the
bodies, the status checks and the parsing of the contract's shapes, lives here once.

Example:
    >>> call = get_run("run 1")
    >>> call.method, call.path
    ('GET', '/runs/run%201')
    >>> call.finish(200, b'{"run_id": "run 1", "workflow": "w", "status": "running",'
    ...             b' "created_at": 1, "updated_at": 1}').status
    'running'
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import quote

from pydantic import TypeAdapter, ValidationError

from stepwork._client.errors import StepworkClientError, error_from_response
from stepwork._client.models import HistoryEntry, RunInfo, RunStatus, WorkflowInfo

__all__ = [
    "Call",
    "Params",
    "cancel",
    "error_for",
    "fork",
    "get_run",
    "get_workflow",
    "health",
    "history",
    "list_runs",
    "list_workflows",
    "run_path",
    "send",
    "start",
]

T = TypeVar("T")

Params = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Call(Generic[T]):
    """One request and how to turn its answer into ``T``.

    Attributes:
        method: The HTTP method.
        path: The path under the base URL, already quoted.
        parse: Builds the result from the decoded JSON body.
        params: Query parameters (a key may repeat).
        body: The JSON body, or ``None`` for none.
        run_id: The run concerned, put on errors.
    """

    method: str
    path: str
    parse: Callable[[Any], T]
    params: Params = ()
    body: Any = None
    run_id: str | None = None

    def finish(self, status: int, content: bytes) -> T:
        """The call's result from the response's status and body.

        Raises:
            StepworkClientError: The subclass for an error status, carrying the server's
                message; the base class when a success body is not the contract's shape.
        """
        if status >= 400:
            raise error_for(status, content, run_id=self.run_id)
        try:
            decoded: Any = json.loads(content) if content else None
        except ValueError:
            raise self._unexpected(status, "a body that is not JSON") from None
        try:
            return self.parse(decoded)
        except (ValidationError, KeyError, TypeError) as error:
            raise self._unexpected(status, f"a body that does not fit: {error}") from error

    def _unexpected(self, status: int, what: str) -> StepworkClientError:
        return StepworkClientError(
            f"{self.method} {self.path} answered {status} with {what}",
            status=status,
            run_id=self.run_id,
        )


def error_for(status: int, content: bytes, *, run_id: str | None = None) -> StepworkClientError:
    """The client error for an error response's status and raw body.

    Example:
        >>> error_for(502, b"Bad Gateway")
        ServerError('Bad Gateway')
    """
    try:
        decoded: Any = json.loads(content)
    except ValueError:
        decoded = None
    text = content.decode("utf-8", "replace")
    return error_from_response(status, decoded, text=text, run_id=run_id)


_RUN = TypeAdapter(RunInfo)
_RUNS = TypeAdapter(list[RunInfo])
_WORKFLOW = TypeAdapter(WorkflowInfo)
_WORKFLOWS = TypeAdapter(list[WorkflowInfo])
_ENTRIES = TypeAdapter(list[HistoryEntry])


def _nothing(body: Any) -> None:
    return None


def _segment(value: str) -> str:
    return quote(value, safe="")


def run_path(run_id: str, *rest: str) -> str:
    """The quoted path of a run, with more segments appended.

    Example:
        >>> run_path("a/b", "events")
        '/runs/a%2Fb/events'
    """
    return "/".join(["/runs", _segment(run_id), *rest])


def health() -> Call[dict[str, Any]]:
    """``GET /health``."""
    return Call("GET", "/health", parse=lambda body: dict(body))


def list_workflows() -> Call[list[WorkflowInfo]]:
    """``GET /workflows``."""
    # "details" holds the descriptions; "workflows" holds only names (the shape LlamaIndex
    # Workflows' clients read), except on servers older than that change.
    return Call(
        "GET",
        "/workflows",
        parse=lambda body: _WORKFLOWS.validate_python(body.get("details", body["workflows"])),
    )


def get_workflow(name: str) -> Call[WorkflowInfo]:
    """``GET /workflows/{name}``."""
    return Call("GET", f"/workflows/{_segment(name)}", parse=_WORKFLOW.validate_python)


def start(
    workflow: str,
    input: Mapping[str, Any] | None,
    run_id: str | None,
    continue_from: str | None = None,
) -> Call[RunInfo]:
    """``POST /workflows/{name}/runs`` without waiting for the run to end."""
    body: dict[str, Any] = {"input": dict(input or {}), "wait": False}
    if run_id is not None:
        body["run_id"] = run_id
    if continue_from is not None:
        body["continue_from"] = continue_from
    return Call(
        "POST",
        f"/workflows/{_segment(workflow)}/runs",
        parse=_RUN.validate_python,
        body=body,
        run_id=run_id,
    )


def get_run(run_id: str) -> Call[RunInfo]:
    """``GET /runs/{run_id}``."""
    return Call("GET", run_path(run_id), parse=_RUN.validate_python, run_id=run_id)


def send(
    run_id: str,
    type: str,
    data: Mapping[str, Any] | None,
    step: str | None,
    idempotency_key: str | None = None,
) -> Call[None]:
    """``POST /runs/{run_id}/events``."""
    body: dict[str, Any] = {"type": type, "data": dict(data or {})}
    if step is not None:
        body["step"] = step
    if idempotency_key is not None:
        body["idempotency_key"] = idempotency_key
    return Call("POST", run_path(run_id, "events"), parse=_nothing, body=body, run_id=run_id)


def cancel(run_id: str) -> Call[RunInfo]:
    """``POST /runs/{run_id}/cancel``."""
    return Call("POST", run_path(run_id, "cancel"), parse=_RUN.validate_python, run_id=run_id)


def list_runs(
    workflow: str | Sequence[str] | None,
    status: RunStatus | Sequence[RunStatus] | None,
    created_after: float | datetime | None,
    created_before: float | datetime | None,
    limit: int | None,
    parent: str | None = None,
) -> Call[list[RunInfo]]:
    """``GET /runs`` with its filters (``workflow`` and ``status`` may repeat)."""
    params: list[tuple[str, str]] = []
    for name, values in (("workflow", workflow), ("status", status)):
        for value in [values] if isinstance(values, str) else values or ():
            params.append((name, value))
    for name, moment in (("created_after", created_after), ("created_before", created_before)):
        if moment is not None:
            seconds = moment.timestamp() if isinstance(moment, datetime) else float(moment)
            params.append((name, repr(seconds)))
    if limit is not None:
        params.append(("limit", str(limit)))
    if parent is not None:
        params.append(("parent", parent))
    return Call(
        "GET", "/runs", parse=lambda body: _RUNS.validate_python(body["runs"]), params=tuple(params)
    )


def history(run_id: str) -> Call[list[HistoryEntry]]:
    """``GET /runs/{run_id}/history``."""
    return Call(
        "GET",
        run_path(run_id, "history"),
        parse=lambda body: _ENTRIES.validate_python(body["entries"]),
        run_id=run_id,
    )


def fork(
    run_id: str,
    at: int,
    state_patch: Mapping[str, Any] | None,
    events: Sequence[Mapping[str, Any]] | None,
    new_run_id: str | None,
) -> Call[RunInfo]:
    """``POST /runs/{run_id}/fork``."""
    body: dict[str, Any] = {"at": at}
    if state_patch is not None:
        body["state_patch"] = dict(state_patch)
    if events is not None:
        body["events"] = [
            {"type": event["type"], "data": dict(event.get("data") or {})} for event in events
        ]
    if new_run_id is not None:
        body["run_id"] = new_run_id
    return Call(
        "POST", run_path(run_id, "fork"), parse=_RUN.validate_python, body=body, run_id=run_id
    )
