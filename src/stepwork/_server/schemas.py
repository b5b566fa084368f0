"""Request and response models of the HTTP API; the OpenAPI document is built from them.

Request models forbid unknown keys and do not coerce types, so a typo is a 422 naming the
field rather than a silent default. Response models describe what the routes send; the routes
build plain dicts of the same shape (validated against these models in the tests).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "MAX_CHILDREN",
    "MAX_IDEMPOTENCY_KEY",
    "RUN_ID_PATTERN",
    "ChildRun",
    "ErrorBody",
    "ErrorCode",
    "ErrorDetail",
    "EventEnvelope",
    "EventInput",
    "ForkRequest",
    "Health",
    "HistoryEntryOut",
    "HistoryOut",
    "RunError",
    "RunInfo",
    "RunDetail",
    "RunList",
    "RunStatusName",
    "SendEventRequest",
    "Sent",
    "StartRunRequest",
    "WorkflowInfo",
    "WorkflowList",
]

RUN_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$"
"""Run ids chosen by callers: letters, digits, ``.``, ``_``, ``:``, ``-``; at most 128."""

MAX_IDEMPOTENCY_KEY = 200
"""The longest idempotency key a sent event may carry (printable ASCII)."""

MAX_CHILDREN = 1000
"""The most children ``GET /runs/{run_id}`` lists (the newest); ``GET /runs?parent=`` pages."""

RunStatusName = Literal["running", "completed", "failed", "timed_out", "cancelled"]
"""A run's status: ``running`` until it ends, then how it ended."""


#: Every error code the API answers with (one HTTP status each; see ``_server.errors``).
ErrorCode = Literal[
    "not_found",
    "conflict",
    "journal_corrupt",
    "invalid",
    "unauthorized",
    "forbidden",
    "too_large",
    "unsupported_media_type",
    "unavailable",
    "internal",
]


class _Request(BaseModel):
    # Strict: ``"wait": 0`` or ``"at": "3"`` are errors, not guesses.
    model_config = ConfigDict(extra="forbid", strict=True)


class StartRunRequest(_Request):
    """Body of `POST /workflows/{name}/runs`."""

    input: dict[str, Any] = Field(
        default_factory=dict, description="Fields of the workflow's start event."
    )
    run_id: str | None = Field(
        default=None, pattern=RUN_ID_PATTERN, description="The new run's id (default: random)."
    )
    wait: bool = Field(
        default=False, description="Answer when the run has ended (200) rather than at once (202)."
    )
    continue_from: str | None = Field(
        default=None,
        pattern=RUN_ID_PATTERN,
        description=(
            "Continue from this finished run of the same workflow: the new run starts with its "
            "final `ctx.store` state (404 if there is no such run, 409 if it has not finished "
            "or is another workflow's)."
        ),
    )


class EventInput(_Request):
    """An event named by its class: `{"type": "Answer", "data": {"text": "yes"}}`."""

    type: str = Field(
        min_length=1,
        max_length=200,
        description="The class name of one of the workflow's events (not an internal one).",
    )
    data: dict[str, Any] = Field(
        default_factory=dict, description="The event's fields, validated by its class."
    )


class SendEventRequest(EventInput):
    """Body of `POST /runs/{run_id}/events`."""

    step: str | None = Field(
        default=None, min_length=1, description="Deliver only to this step (it must accept it)."
    )
    idempotency_key: str | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_IDEMPOTENCY_KEY,
        pattern=r"^[\x20-\x7e]+$",
        description=(
            "Your key for this send (or the `Idempotency-Key` header): journaled with the "
            "event, so a retried send with the same key to the same run answers 202 again and "
            "journals nothing new."
        ),
    )


class ForkRequest(_Request):
    """Body of `POST /runs/{run_id}/fork`."""

    at: int = Field(
        ge=1,
        description="How many of the run's ticks the new run starts from (at most the run's "
        "tick count; see `GET /runs/{run_id}/history`).",
    )
    state_patch: dict[str, Any] | None = Field(
        default=None, description="`ctx.store` keys (dotted paths) to set in the new run."
    )
    events: list[EventInput] | None = Field(
        default=None, description="Events sent into the new run before it continues."
    )
    run_id: str | None = Field(
        default=None, pattern=RUN_ID_PATTERN, description="The new run's id (default: derived)."
    )


class Health(BaseModel):
    """Body of `GET /health`."""

    status: Literal["healthy"] = Field(description="Always `healthy`: the server answers.")


class WorkflowInfo(BaseModel):
    """A served workflow."""

    name: str = Field(description="The name it is served under.")
    description: str = Field(description="The workflow class's docstring (may be empty).")
    start_schema: dict[str, Any] = Field(description="JSON schema of its start event.")
    graph: dict[str, Any] = Field(description="Its graph (`WorkflowGraph.to_dict()`).")


class WorkflowList(BaseModel):
    """Body of `GET /workflows`."""

    workflows: list[str] = Field(
        description="The served workflows' names (as LlamaIndex Workflows' server lists them)."
    )
    details: list[WorkflowInfo] = Field(description="Every workflow the server serves.")


class RunError(BaseModel):
    """Why a run failed, timed out or was cancelled."""

    type: str = Field(description="The exception's class name.")
    message: str = Field(description="The exception's message.")
    step: str | None = Field(description="The step that raised, if any.")
    traceback: str | None = Field(
        default=None,
        description="The formatted Python traceback of the step's error (causes included; "
        "long ones keep their last 32,000 characters), when a step raised; null otherwise, "
        "and for runs journaled before tracebacks were kept.",
    )


class RunInfo(BaseModel):
    """A run's status, times and outcome."""

    run_id: str = Field(description="The run's id.")
    workflow: str = Field(
        description="The name its workflow is served under (for a workflow this server does "
        "not serve, the name its runs are journaled under)."
    )
    status: RunStatusName = Field(description="`running` until the run ends, then how it ended.")
    created_at: float = Field(description="When the run was created, in seconds since the epoch.")
    updated_at: float = Field(description="When the run last changed, in seconds since the epoch.")
    result: Any = Field(
        description="A plain StopEvent's result, or the fields of a StopEvent subclass; null "
        "unless the run completed."
    )
    error: RunError | None = Field(
        description="Why the run failed, timed out or was cancelled; null otherwise."
    )
    version: str | None = Field(
        None,
        description="The version of the workflow that started the run (declared, or a hash "
        "of its definition); null for runs stored before versions were recorded.",
    )
    not_continued: str | None = Field(
        None,
        description="Why this server does not continue the run, when it is running and was "
        "started by another version of the workflow than this server serves; else null.",
    )
    parent_run_id: str | None = Field(
        None,
        description="The run whose step started this one (`ctx.run_workflow`, "
        "`ctx.start_workflow`); null for a top-level run, and for runs stored before parents "
        "were recorded.",
    )


class ChildRun(BaseModel):
    """A run another run's step started (a child workflow)."""

    run_id: str = Field(description="The child run's id.")
    workflow: str = Field(description="The name its workflow is served (or journaled) under.")
    status: RunStatusName = Field(description="`running` until it ends, then how it ended.")


class RunDetail(RunInfo):
    """Body of `GET /runs/{run_id}`: a run's status and outcome, its trace and its children."""

    children: list[ChildRun] = Field(
        default_factory=list,
        description="The runs this run's steps started, oldest first (the newest "
        f"{MAX_CHILDREN} when there are more; `GET /runs?parent=` lists them all).",
    )

    trace_id: str | None = Field(
        description="The OpenTelemetry trace id (32 hex digits) every process that ran the run "
        "added its spans to, from the run's journal; null when it was never traced."
    )
    trace_url: str | None = Field(
        description="The server's `--trace-url` template with the trace id filled in; null "
        "without a template or a trace id."
    )


class RunList(BaseModel):
    """Body of `GET /runs`."""

    runs: list[RunInfo] = Field(description="The matching runs, newest first.")


class EventEnvelope(BaseModel):
    """One event of a run's stream."""

    offset: int = Field(ge=0, description="Position in the run's stream; 0 is the first event.")
    type: str = Field(description="The event's class name.")
    qualified_name: str = Field(description="`module.ClassName` of the event's class.")
    data: dict[str, Any] = Field(description="The event's fields (`model_dump(mode='json')`).")
    internal: bool = Field(description="An engine bookkeeping event (hidden unless asked for).")
    terminal: bool = Field(description="The event that ends the run (and the stream).")


class Sent(BaseModel):
    """Body of a `POST /runs/{run_id}/events` answer."""

    status: Literal["sent"] = Field(description="Always `sent`: the event is journaled.")


class HistoryEntryOut(BaseModel):
    """One journaled tick of a run and what it changed."""

    seq: int = Field(description="The tick's position in the run's journal, from 0.")
    at: float = Field(description="When the tick happened, in seconds since the epoch.")
    kind: str = Field(
        description="The tick kind: `start`, `event`, `step_done`, `step_failed`, `publish`, "
        "`collect`, `wait`, `state`, `timer` or `cancel`."
    )
    summary: str = Field(description="What the tick was, in words.")
    effects: list[str] = Field(
        description="What followed from it, in words: steps started, events published, timers "
        "scheduled, invocations cancelled, the ending."
    )
    status: str = Field(
        description="The run's status after the tick (`running` until the tick that ends it)."
    )
    writer: str = Field(description='Id of the process that wrote the tick (`""`: unknown).')
    epoch: int = Field(description="Lease epoch the tick was written under (0: no lease).")


class HistoryOut(BaseModel):
    """Body of `GET /runs/{run_id}/history`."""

    trace_id: str | None = Field(description="The run's trace id, as in `GET /runs/{run_id}`.")
    trace_url: str | None = Field(description="Its link, as in `GET /runs/{run_id}`.")
    entries: list[HistoryEntryOut] = Field(description="One entry per journaled tick, in order.")


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: ErrorCode = Field(
        description="Machine-readable kind of error, one per HTTP status: `not_found` 404 (and "
        "405), `conflict` 409, `journal_corrupt` 409 (the run's journal is damaged: a record "
        "is missing or cannot be read, or the run's row cannot be), `invalid` 422, "
        "`unauthorized` 401, `forbidden` 403, `too_large` 413, `unsupported_media_type` 415, "
        "`unavailable` 503, `internal` 500."
    )
    message: str = Field(description="What went wrong, for people.")
    field: str | None = Field(
        description="The request field at fault, dotted (`input.count`, `events.0.data.text`, "
        "`run_id`, a query parameter, or a header: `Last-Event-ID`, `Host`, `Origin`, "
        "`Content-Type`), if one is."
    )
    run_id: str | None = Field(default=None, description="With `journal_corrupt`: the damaged run.")
    record: Literal["tick", "event", "run"] | None = Field(
        default=None,
        description="With `journal_corrupt`: which record is damaged: a `tick` (numbered by "
        "seq), an `event` (by offset) or the `run`'s own row.",
    )
    seq: int | None = Field(
        default=None,
        description="With `journal_corrupt`: the seq of the damaged tick or the offset of the "
        "damaged event; null for a run row.",
    )


class ErrorBody(BaseModel):
    """Every error response."""

    error: ErrorDetail = Field(description="What went wrong.")
