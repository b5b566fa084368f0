"""The OpenAPI 3.1 document of the API, built from the request and response models.

Each operation is listed once here with its parameters, body model and responses; the
schemas under ``components`` come from the pydantic models' ``model_json_schema`` (JSON
Schema 2020-12, which OpenAPI 3.1 uses as is).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from stepwork._server import schemas as s

__all__ = ["OPERATIONS", "Operation", "openapi_document"]

_REF = "#/components/schemas/{model}"
_ERRORS = {
    401: "Missing or wrong bearer token.",
    404: "No such workflow, run or route.",
    409: "Conflict with the run's state (taken id, finished run).",
    413: "The request body is too large.",
    422: "The request does not validate; `field` names the culprit.",
    503: "The server is shutting down.",
}


@dataclass(frozen=True)
class Operation:
    """One route of the API as the document describes it.

    Attributes:
        method: HTTP method (lower case).
        path: Path template.
        operation_id: Unique id of the operation.
        summary: One line.
        ok: Success status and model (``None`` for a body that is not JSON).
        errors: Error statuses it may return (401 is added for secured operations).
        body: The request body model, if any.
        parameters: OpenAPI parameter objects.
        media: Media types of a non-JSON success body, each with its schema.
        secured: Whether the bearer token is needed (when the server has one).
    """

    method: str
    path: str
    operation_id: str
    summary: str
    ok: tuple[int, type[BaseModel] | None]
    errors: tuple[int, ...] = ()
    body: type[BaseModel] | None = None
    parameters: tuple[dict[str, Any], ...] = ()
    media: dict[str, dict[str, Any]] = field(default_factory=dict)
    secured: bool = True


def _param(name: str, where: str, schema: dict[str, Any], text: str, **more: Any) -> dict[str, Any]:
    return {"name": name, "in": where, "schema": schema, "description": text, **more}


_NAME = _param("name", "path", {"type": "string"}, "The workflow's served name.", required=True)
_RUN = _param("run_id", "path", {"type": "string"}, "The run's id.", required=True)
_STRINGS = {"type": "array", "items": {"type": "string"}}
_STATUSES = {"type": "array", "items": {"enum": ["running", "completed", "failed", "timed_out",
                                                  "cancelled"]}}  # fmt: skip

_SSE_EVENT = {
    "type": "object",
    "description": "One SSE event; `: heartbeat` comments come on a quiet stream.",
    "required": ["id", "event", "data"],
    "properties": {
        "id": {"type": "string", "pattern": r"^\d+$", "description": "The event's offset."},
        "event": {"type": "string", "description": "The event's class name."},
        "data": {
            "type": "string",
            "contentMediaType": "application/json",
            "contentSchema": {"$ref": _REF.format(model="EventEnvelope")},
        },
    },
}

OPERATIONS: tuple[Operation, ...] = (
    Operation("get", "/health", "health", "Liveness probe (never needs a token).",
              (200, s.Health), secured=False),
    Operation("get", "/workflows", "listWorkflows", "The served workflows.", (200, s.WorkflowList)),
    Operation("get", "/workflows/{name}", "getWorkflow", "One workflow.", (200, s.WorkflowInfo),
              (404,), parameters=(_NAME,)),
    Operation("post", "/workflows/{name}/runs", "startRun",
              "Start a run: 202 at once, or 200 once it ended when `wait` is true.",
              (202, s.RunInfo), (404, 409, 413, 422, 503), s.StartRunRequest, (_NAME,)),
    Operation("get", "/runs", "listRuns", "Runs matching every filter, newest first.",
              (200, s.RunList), (422,), parameters=(
                  _param("workflow", "query", _STRINGS, "Served workflow names.", explode=True),
                  _param("status", "query", _STATUSES, "Run statuses.", explode=True),
                  _param("created_after", "query", {"type": "number"}, "Exclusive lower bound."),
                  _param("created_before", "query", {"type": "number"}, "Exclusive upper bound."),
                  _param("limit", "query", {"type": "integer", "minimum": 0, "maximum": 10000,
                                            "default": 100}, "Most runs returned."),
              )),
    Operation("get", "/runs/{run_id}", "getRun", "A run's status and outcome.", (200, s.RunInfo),
              (404,), parameters=(_RUN,)),
    Operation("get", "/runs/{run_id}/events", "streamEvents",
              "A run's events from offset `after` + 1 as SSE or NDJSON, ending after the "
              "terminal event.", (200, None), (404, 422), parameters=(
                  _RUN,
                  _param("after", "query", {"type": "integer", "minimum": -1, "default": -1},
                         "Last offset already seen (-1: from the start)."),
                  _param("format", "query", {"enum": ["sse", "ndjson"], "default": "sse"},
                         "Stream framing."),
                  _param("internal", "query", {"type": "boolean", "default": False},
                         "Include the engine's internal events."),
                  _param("Last-Event-ID", "header", {"type": "string", "pattern": r"^-?\d+$"},
                         "Overrides `after` for SSE (browsers send it on reconnect)."),
              ), media={"text/event-stream": {"schema": _SSE_EVENT},
                        "application/x-ndjson": {"schema": {
                            "type": "string",
                            "description": "One EventEnvelope (JSON) per line."}}}),
    Operation("post", "/runs/{run_id}/events", "sendEvent", "Send an event into a running run.",
              (202, s.Sent), (404, 409, 413, 422, 503), s.SendEventRequest, (_RUN,)),
    Operation("post", "/runs/{run_id}/cancel", "cancelRun", "Cancel a running run.",
              (200, s.RunInfo), (404, 409, 413, 503), parameters=(_RUN,)),
    Operation("get", "/runs/{run_id}/history", "runHistory", "One entry per journaled tick.",
              (200, s.HistoryOut), (404,), parameters=(_RUN,)),
    Operation("post", "/runs/{run_id}/fork", "forkRun",
              "Start a new run from the first `at` ticks of this one.", (202, s.RunInfo),
              (404, 409, 413, 422, 503), s.ForkRequest, (_RUN,)),
    Operation("get", "/openapi.json", "openapi", "This document.", (200, None),
              media={"application/json": {"schema": {"type": "object"}}}),
    Operation("get", "/", "page", "The web page (no token needed: it holds no data).",
              (200, None), media={"text/html": {"schema": {"type": "string"}}}, secured=False),
)  # fmt: skip
"""Every operation of the API."""


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}}


def _operation(op: Operation, token_required: bool) -> dict[str, Any]:
    status, model = op.ok
    responses: dict[str, Any] = {
        str(status): {
            "description": "Success.",
            "content": _json(model) if model is not None else op.media,
        }
    }
    if op.operation_id == "startRun" and model is not None:
        responses["200"] = {"description": "The run ended (`wait` true).", "content": _json(model)}
    secured = op.secured and token_required
    codes = sorted({*op.errors, *((401,) if secured else ())})
    for code in codes:
        responses[str(code)] = {"description": _ERRORS[code], "content": _json(s.ErrorBody)}
    result: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "parameters": copy.deepcopy(list(op.parameters)),
        "responses": responses,
    }
    if op.body is not None:
        required = any(info.is_required() for info in op.body.model_fields.values())
        result["requestBody"] = {"required": required, "content": _json(op.body)}
    result["security"] = [{"bearer": []}] if secured else []
    return result


def openapi_document(version: str, *, token_required: bool = True) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API.

    Args:
        version: stepwork's version.
        token_required: Whether the server was given a token (operations then list the
            bearer security requirement and 401).
    """
    models = {m for op in OPERATIONS for m in (op.ok[1], op.body) if m is not None}
    models |= {s.ErrorBody, s.EventEnvelope}  # envelopes are what the streams carry
    pairs: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (m, "validation" if m in _REQUESTS else "serialization") for m in models
    ]
    _, defs = models_json_schema(
        sorted(pairs, key=lambda pair: pair[0].__name__), ref_template=_REF
    )
    paths: dict[str, dict[str, Any]] = {}
    for op in OPERATIONS:
        paths.setdefault(op.path, {})[op.method] = _operation(op, token_required)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "stepwork",
            "version": version,
            "description": "Serve stepwork workflows: start runs, stream their events, answer "
            "them, cancel, list, inspect and fork them.",
        },
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


_REQUESTS = {s.StartRunRequest, s.SendEventRequest, s.ForkRequest}
