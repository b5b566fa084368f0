"""The OpenAPI 3.1 document of the API, built from the request and response models.

Each operation is listed once here with its parameters, body model and responses; the
schemas under ``components`` come from the pydantic models' ``model_json_schema`` (JSON
Schema 2020-12, which OpenAPI 3.1 uses as is).
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from stepwork._server import schemas as s
from stepwork._server import schemas_inspect as si
from stepwork._server import schemas_schedules as ss
from stepwork._server.openapi_parts import Operation
from stepwork._server.openapi_parts import param as _param
from stepwork._server.openapi_schedules import SCHEDULE_OPERATIONS

__all__ = ["OPERATIONS", "Operation", "openapi_document"]

_REF = "#/components/schemas/{model}"
_ERRORS = {
    401: "Missing or wrong bearer token (with `WWW-Authenticate: Bearer`).",
    403: "Refused before the route: the `Host` is not one the server answers (a DNS "
    "rebinding guard; `field` is `Host`), or, on a server without a token, a state change "
    "from a foreign `Origin` (`field` is `Origin`).",
    404: "No such workflow or run.",
    409: "Conflict with the run's state (taken id, finished run), or code `journal_corrupt`: "
    "the run's journal is damaged (`run_id`, `record` and `seq` name the record).",
    413: "The request body is over the server's limit (`max_body_bytes`, 1 MB by default), "
    "whatever the method.",
    415: "On a server without a token, a state change whose body is not `application/json` "
    "(`field` is `Content-Type`): web pages of other sites could send it.",
    422: "The request does not validate; `field` names the culprit.",
    500: "An unexpected failure (code `internal`); the server logged it.",
    503: "Nothing was stored (code `unavailable`): the store could not write the journal "
    "(full disk, read-only database), or the server is shutting down. Retry later; the same "
    "`run_id`, or the same idempotency key for an event, makes the retry take effect once.",
}
_UNKNOWN_PARAMETER = "An unknown query parameter (`field` names it)."
_HEADERS = {
    401: {"WWW-Authenticate": {"description": "`Bearer`.", "required": True,
                               "schema": {"type": "string"}}},
}  # fmt: skip


_NAME = _param("name", "path", {"type": "string"}, "The workflow's served name.", required=True)
_RUN = _param("run_id", "path", {"type": "string"}, "The run's id.", required=True)
_STRINGS = {"type": "array", "items": {"type": "string", "minLength": 1}}
_INT64 = 2**63 - 1  # the largest integer query parameter the stores take
_STATUSES = {"type": "array", "items": {"type": "string", "enum": [
    "running", "completed", "failed", "timed_out", "cancelled"]}}  # fmt: skip
_EPOCH = "bound on the creation time, seconds since the epoch."
_NO_RUN = "No such run."
_KEY = _param(
    "Idempotency-Key",
    "header",
    {
        "type": "string",
        "minLength": 1,
        "maxLength": s.MAX_IDEMPOTENCY_KEY,
        "pattern": r"^[\x20-\x7e]+$",
    },
    "Your key for this send (or `idempotency_key` in the body; if both, they must be equal). "
    "A send whose key the run has already stored answers 202 again and journals nothing new.",
)
_STORED = (
    " The answer comes only once the journal write has committed; 503 `unavailable` when it "
    "could not (nothing was stored)."
)
_NOT_SERVED_404 = "No such run, or its workflow is not served here."
_RESUMED = (
    "A run `running` in the store but not executing here (its server stopped) is resumed here "
    "first."
)

_SSE_EVENT = {
    "description": "One SSE event; `: heartbeat` comments come on a quiet stream. A stream "
    "that meets a missing or unreadable event, or whose run cannot be resumed, ends with an "
    "`error` event (no `id`) whose data is the `journal_corrupt` ErrorBody: reconnecting would "
    "meet the same damage.",
    "oneOf": [
        {
            "type": "object",
            "required": ["id", "event", "data"],
            "properties": {
                "id": {"type": "string", "pattern": r"^\d+$", "description": "The offset."},
                "event": {"type": "string", "description": "The event's class name."},
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": {"$ref": _REF.format(model="EventEnvelope")},
                },
            },
        },
        {
            "type": "object",
            "required": ["event", "data"],
            "properties": {
                "event": {"const": "error"},
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "contentSchema": {"$ref": _REF.format(model="ErrorBody")},
                },
            },
        },
    ],
}
_CORRUPT = (
    "`journal_corrupt`: a record of the run's journal is missing or cannot be read "
    "(`run_id`, `record`, `seq` name it; the message says what to do)"
)

OPERATIONS: tuple[Operation, ...] = (
    Operation(
        "get", "/health", "health", "Liveness probe (never needs a token).",
        (200, s.Health, "The server is up."),
        "Answers `{\"status\": \"healthy\"}` while the server runs. It needs no token, even on a "
        "server that has one, so probes need no secret.",
        secured=False,
    ),
    Operation(
        "get", "/workflows", "listWorkflows", "The served workflows.",
        (200, s.WorkflowList, "The served workflows."),
        "`workflows` lists the names (the shape LlamaIndex Workflows' clients read); `details` "
        "has each workflow with the name it is served under, its docstring, the JSON schema of its "
        "start event (the fields `input` of `POST /workflows/{name}/runs` takes) and its graph.",
    ),
    Operation(
        "get", "/workflows/{name}", "getWorkflow", "One workflow.",
        (200, s.WorkflowInfo, "The workflow."),
        "The workflow served as `name`, as `GET /workflows` lists it.",
        (404,), parameters=(_NAME,), error_text={404: "No workflow is served as `name`."},
    ),
    Operation(
        "post", "/workflows/{name}/runs", "startRun",
        "Start a run: 202 at once, or 200 once it ended when `wait` is true.",
        (202, s.RunInfo, "The run started; it is journaled."),
        "`input` holds the fields of the workflow's start event and is validated by it (422 "
        "names `input.<field>`). With `wait` true the answer comes once the run has ended, "
        "however it ended (200), or is 503 if the server begins shutting down first (the run "
        "goes on after the restart). 409 when `run_id` is taken: after a 503 or a lost "
        "answer, retry with the same `run_id`, and a 409 then means the first attempt was "
        "stored." + _STORED,
        (404, 409, 422, 503), s.StartRunRequest, (_NAME,),
        also_ok={200: "The run ended (`wait` true); `status` says how."},
    ),
    Operation(
        "get", "/runs", "listRuns", "Runs matching every filter, newest first.",
        (200, s.RunList, "The matching runs, newest first."),
        "Every run in the store that matches all the filters given, newest first and at most "
        "`limit`; runs of workflows this server does not serve are listed too. A run whose "
        "row cannot be read, or whose journal could not be read back when resumed, is listed "
        "with an `error` of type `JournalCorruptError` naming the damage; the others as usual.",
        (422,), parameters=(
            _param("workflow", "query", _STRINGS,
                   "Served workflow names; repeat to match any. (A name this server does not "
                   "serve matches the runs journaled under it.)", explode=True),
            _param("status", "query", _STATUSES, "Run statuses; repeat to match any.",
                   explode=True),
            _param("created_after", "query", {"type": "number"}, f"Exclusive lower {_EPOCH}"),
            _param("created_before", "query", {"type": "number"}, f"Exclusive upper {_EPOCH}"),
            _param("limit", "query", {"type": "integer", "minimum": 0, "maximum": 10000,
                                      "default": 100}, "Most runs returned."),
            _param("offset", "query", {"type": "integer", "minimum": 0, "maximum": _INT64,
                                       "default": 0},
                   "Matching runs to skip (the next page starts at `offset` + `limit`)."),
            _param("q", "query", {"type": "string"},
                   "Text the run id or the run's error contains (ASCII case ignored)."),
            _param("parent", "query", {"type": "string"}, "Only the children of this run."),
        ),
        error_text={422: "A bad filter value or `limit`, or an unknown query parameter "
                         "(`field` names it)."},
    ),
    Operation(
        "get", "/runs/{run_id}", "getRun", "A run's status and outcome.",
        (200, s.RunDetail, "The run, with its trace id and its children."),
        "Read from the store, so runs executing in another process, or of workflows this "
        "server does not serve, are found too. 409 `journal_corrupt` when the run's row "
        "cannot be read, or its journal could not be read back when it was resumed here.",
        (404, 409), parameters=(_RUN,),
        error_text={404: _NO_RUN, 409: _CORRUPT + "."},
    ),
    Operation(
        "get", "/runs/{run_id}/events", "streamEvents",
        "A run's events from offset `after` + 1 as SSE or NDJSON, ending after the "
        "terminal event.",
        (200, None, "The stream (SSE or NDJSON); it ends after the terminal event."),
        "Sends the run's events with an offset greater than `after`, in order, each once; "
        "internal events are left out unless `internal` is true, so offsets may skip. A reader "
        "that loses the stream reconnects with `Last-Event-ID` (SSE) or `after`. At server "
        "shutdown a stream ends without a terminal event. A stream that meets a missing or "
        "unreadable event (after every event before it), or whose run cannot be resumed, ends "
        "with an error frame (`event: error` in SSE, an ErrorBody line in NDJSON) naming it.",
        (404, 422), parameters=(
            _RUN,
            _param("after", "query", {"type": "integer", "minimum": -1, "maximum": _INT64,
                                      "default": -1},
                   "Last offset already seen (-1: from the start)."),
            _param("format", "query", {"type": "string", "enum": ["sse", "ndjson"],
                                       "default": "sse"},
                   "Stream framing: `sse` (Server-Sent Events) or `ndjson` (one envelope per "
                   "line)."),
            _param("internal", "query", {"type": "boolean", "default": False},
                   "Include the engine's internal events."),
            _param("Last-Event-ID", "header", {"type": "string", "pattern": r"^-?\d+$"},
                   "Overrides `after` for SSE (browsers send it on reconnect); ignored for "
                   "NDJSON."),
        ), media={"text/event-stream": {"schema": _SSE_EVENT},
                  "application/x-ndjson": {"schema": {
                      "type": "string",
                      "description": "One EventEnvelope (JSON) per line; a last line "
                                     "holding an ErrorBody (`journal_corrupt`) when the "
                                     "run's journal cannot be read."}}},
        error_text={404: _NO_RUN, 422: "A bad `after`, `format`, `internal` or `Last-Event-ID`, "
                                       "or an unknown query parameter (`field` names it)."},
    ),
    Operation(
        "post", "/runs/{run_id}/events", "sendEvent", "Send an event into a running run.",
        (202, s.Sent, "The event is journaled and delivered to the run."),
        "`type` is the class name of one of the workflow's events; `data` is validated by it "
        "(422 names `data.<field>`); with `step`, only that step gets the event, and it must "
        "accept it. Events stepwork reserves (`StartEvent`, `StopEvent` and its subclasses, "
        "`StepFailedEvent`, `CollectionReleaseEvent`) are refused unless the workflow lists "
        "the class in `externally_sendable`. " + _RESUMED + " 409 once the run has finished "
        "(or when its workflow is not served here). With an idempotency key, a retried send is "
        "delivered at most once." + _STORED,
        (404, 409, 422, 503), s.SendEventRequest, (_RUN, _KEY),
        error_text={
            404: _NO_RUN,
            409: "The run has finished, or its workflow is not served here; or " + _CORRUPT
            + ", so it cannot be resumed.",
            422: "The body does not validate, `type` is not an event of the workflow or is one "
            "stepwork reserves (`field` is `type`), `data` does not validate (`field` is "
            "`data.<field>`), `step` does not accept the event, or the idempotency key is "
            "malformed.",
        },
    ),
    Operation(
        "post", "/runs/{run_id}/cancel", "cancelRun", "Cancel a running run.",
        (200, s.RunInfo, "The run, now cancelled."),
        "Cancels the run and answers once it is cancelled; it takes no body. " + _RESUMED
        + " 409 if it had already ended (or its workflow is not served here)." + _STORED,
        (404, 409, 503), parameters=(_RUN,),
        error_text={404: _NO_RUN,
                    409: "The run had already ended, or its workflow is not served here; or "
                    + _CORRUPT + ", so it cannot be resumed."},
    ),
    Operation(
        "get", "/runs/{run_id}/history", "runHistory", "One entry per journaled tick.",
        (200, s.HistoryOut, "The run's journaled ticks, oldest first."),
        "The run's journal as the workflow served here reads it, one entry per tick (404 for a "
        "run of a workflow this server does not serve). A fork with `at` = `seq` + 1 keeps the "
        "ticks up to that entry. 409 `journal_corrupt` names the first tick that is missing "
        "or cannot be read; a fork from before it still works.",
        (404, 409), parameters=(_RUN,), error_text={404: _NOT_SERVED_404, 409: _CORRUPT + "."},
    ),
    Operation(
        "get", "/runs/{run_id}/invocations", "runInvocations", "Every step invocation of a run.",
        (200, si.InvocationsOut, "The run's step invocations (attempts), in start order."),
        "Folds the run's journal (no step is called): each invocation's input, output or error "
        "and traceback, timing, and the writer (process) and lease epoch that ran it.",
        (404, 409), parameters=(_RUN,), error_text={404: _NOT_SERVED_404, 409: _CORRUPT + "."},
    ),
    Operation(
        "get", "/runs/{run_id}/state", "runState", "`ctx.store` as it was after a tick.",
        (200, si.StateOut, "The run's state after tick `at`."),
        "Folds the journal's first `at` + 1 ticks (time travel; no step is called). 422 when "
        "`at` is past the run's ticks; 404 also for a run with no journaled tick yet.",
        (404, 409, 422), parameters=(_RUN, _param(
            "at", "query", {"type": "integer", "minimum": 0, "maximum": _INT64},
            "The tick seq (a history entry's `seq`); the last tick when left out.")),
        error_text={404: _NOT_SERVED_404, 409: _CORRUPT + ".",
                    422: "A bad `at`, or an unknown query parameter."},
    ),
    Operation(
        "post", "/runs/{run_id}/fork", "forkRun",
        "Start a new run from the first `at` ticks of this one.",
        (202, s.RunInfo, "The new run started; it is journaled."),
        "Copies the first `at` ticks of the run's journal into a new run, applies `state_patch` "
        "(dotted `ctx.store` keys) and sends `events`, then continues it with the code served "
        "now. 422 when `at` is past the run's ticks; 404 also when the run's workflow is not "
        "served here; 409 when `run_id` is taken. The new run's row and its copied journal "
        "are stored together or not at all." + _STORED,
        (404, 409, 422, 503), s.ForkRequest, (_RUN,),
        error_text={
            404: _NOT_SERVED_404,
            409: "`run_id` is taken; or " + _CORRUPT + " among the ticks the fork copies "
            "(fork from before it).",
            422: "The body does not validate, `at` is past the run's ticks, an event is "
            "unknown, reserved (as for sending) or does not validate (`field` is "
            "`events.<i>.type` or `events.<i>.data.<field>`) or the fork could not start.",
        },
    ),
    *SCHEDULE_OPERATIONS,
    Operation(
        "get", "/openapi.json", "openapi", "This document.",
        (200, None, "The OpenAPI 3.1 document."),
        "The same whatever workflows the server serves; it lists the bearer requirement and "
        "401 answers only when the server has a token.",
        media={"application/json": {"schema": {"type": "object"}}},
    ),
    Operation(
        "get", "/", "page", "The web page (no token needed: it holds no data).",
        (200, None, "The web page (HTML)."),
        "A static page that lists the workflows and runs, starts runs, follows their events "
        "and answers their questions through this API. It asks for the token and sends it "
        "with each request; unlike the other routes it ignores query parameters.",
        media={"text/html": {"schema": {"type": "string"}}}, secured=False, checks_query=False,
    ),
)  # fmt: skip
"""Every operation of the API."""


def _json(model: type[BaseModel]) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}}


def _takes_input(op: Operation) -> bool:
    return op.body is not None or any(p["in"] != "path" for p in op.parameters)


def _guard_errors(op: Operation, token_required: bool, host_check: bool) -> set[int]:
    changes = op.method in ("post", "put", "patch", "delete")
    site = not token_required and changes
    return {*((403,) if host_check or site else ()), *((415,) if site else ())}


def _operation(op: Operation, token_required: bool, host_check: bool) -> dict[str, Any]:
    status, model, text = op.ok
    content = _json(model) if model is not None else op.media
    responses: dict[str, Any] = {str(status): {"description": text, "content": content}}
    for other, other_text in op.also_ok.items():
        responses[str(other)] = {"description": other_text, "content": copy.deepcopy(content)}
    secured = op.secured and token_required
    common = {413, 500, *((401,) if secured else ()), *((422,) if op.checks_query else ())}
    common |= _guard_errors(op, token_required, host_check)
    for code in sorted({*op.errors, *common}):
        generic = _UNKNOWN_PARAMETER if code == 422 and not _takes_input(op) else _ERRORS[code]
        response = {"description": op.error_text.get(code, generic), "content": _json(s.ErrorBody)}
        if code in _HEADERS:
            response["headers"] = copy.deepcopy(_HEADERS[code])
        responses[str(code)] = response
    result: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "description": op.description,
        "parameters": copy.deepcopy(list(op.parameters)),
        "responses": responses,
    }
    if op.body is not None:
        required = any(info.is_required() for info in op.body.model_fields.values())
        result["requestBody"] = {"required": required, "content": _json(op.body)}
    result["security"] = [{"bearer": []}] if secured else []
    return result


_DESCRIPTION = (
    "Serve stepwork workflows: start runs, stream their events, answer them, cancel, list, "
    "inspect and fork them. Every error answer is an `ErrorBody`. Every operation may answer "
    "413 (a request body over the server's limit, whatever the method) and 500 (`internal`, an "
    "unexpected failure, which the server logs). A server without a token answers 403 to a "
    "`Host` other than localhost, an IP address or a name it was told (a DNS rebinding guard), "
    "and refuses state changes from a foreign `Origin` (403) or with a body that is not "
    "`application/json` (415); a server with a token checks `Host` only when given names to "
    "allow. A path called with a method it does not list "
    "answers 405 with an `Allow` header naming the methods it takes (code `not_found`; "
    "`components.responses.MethodNotAllowed`), and an unknown path answers 404."
)
_METHOD_NOT_ALLOWED = {
    "description": "The path does not take this method (code `not_found`).",
    "headers": {
        "Allow": {
            "description": "The methods the path takes.",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    "content": _json(s.ErrorBody),
}


def openapi_document(
    version: str, *, token_required: bool = True, host_check: bool | None = None
) -> dict[str, Any]:
    """The OpenAPI 3.1 document of the API.

    Args:
        version: stepwork's version.
        token_required: Whether the server was given a token (operations then list the
            bearer security requirement and 401; without one, state changes list 403 and 415).
        host_check: Whether the server checks ``Host`` (every operation then lists 403);
            by default, when it has no token.
    """
    checks_host = not token_required if host_check is None else host_check
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
        paths.setdefault(op.path, {})[op.method] = _operation(op, token_required, checks_host)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "stepwork",
            "version": version,
            "description": _DESCRIPTION,
        },
        "paths": paths,
        "components": {
            "schemas": defs.get("$defs", {}),
            "responses": {"MethodNotAllowed": copy.deepcopy(_METHOD_NOT_ALLOWED)},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
    }


_REQUESTS = {s.StartRunRequest, s.SendEventRequest, s.ForkRequest, ss.ScheduleRequest}
