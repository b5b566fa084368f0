"""Request and response models of the HTTP API; the OpenAPI document is built from them.

Request models forbid unknown keys and do not coerce types, so a typo is a 422 naming the
field rather than a silent default. Response models describe what the routes send; the routes
build plain dicts of the same shape (validated against these models in the tests).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "RUN_ID_PATTERN",
    "ErrorBody",
    "ErrorDetail",
    "EventEnvelope",
    "EventInput",
    "ForkRequest",
    "Health",
    "HistoryEntryOut",
    "HistoryOut",
    "RunError",
    "RunInfo",
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

RunStatusName = Literal["running", "completed", "failed", "timed_out", "cancelled"]
"""A run's status: ``running`` until it ends, then how it ended."""


class _Request(BaseModel):
    # Strict: ``"wait": 0`` or ``"at": "3"`` are errors, not guesses.
    model_config = ConfigDict(extra="forbid", strict=True)


class StartRunRequest(_Request):
    """Body of ``POST /workflows/{name}/runs``."""

    input: dict[str, Any] = Field(
        default_factory=dict, description="Fields of the workflow's start event."
    )
    run_id: str | None = Field(
        default=None, pattern=RUN_ID_PATTERN, description="The new run's id (default: random)."
    )
    wait: bool = Field(
        default=False, description="Answer when the run has ended (200) rather than at once (202)."
    )


class EventInput(_Request):
    """An event named by its class: ``{"type": "Answer", "data": {"text": "yes"}}``."""

    type: str = Field(min_length=1, max_length=200, description="The event class's name.")
    data: dict[str, Any] = Field(default_factory=dict, description="The event's fields.")


class SendEventRequest(EventInput):
    """Body of ``POST /runs/{run_id}/events``."""

    step: str | None = Field(
        default=None, min_length=1, description="Deliver only to this step (it must accept it)."
    )


class ForkRequest(_Request):
    """Body of ``POST /runs/{run_id}/fork``."""

    at: int = Field(ge=1, description="How many of the run's ticks the new run starts from.")
    state_patch: dict[str, Any] | None = Field(
        default=None, description="``ctx.store`` keys (dotted paths) to set in the new run."
    )
    events: list[EventInput] | None = Field(
        default=None, description="Events sent into the new run before it continues."
    )
    run_id: str | None = Field(
        default=None, pattern=RUN_ID_PATTERN, description="The new run's id (default: derived)."
    )


class Health(BaseModel):
    """``GET /health``."""

    status: Literal["ok"]


class WorkflowInfo(BaseModel):
    """A served workflow."""

    name: str = Field(description="The name it is served under.")
    description: str = Field(description="The workflow class's docstring.")
    start_schema: dict[str, Any] = Field(description="JSON schema of its start event.")
    graph: dict[str, Any] = Field(description="Its graph (``WorkflowGraph.to_dict()``).")


class WorkflowList(BaseModel):
    """``GET /workflows``."""

    workflows: list[WorkflowInfo]


class RunError(BaseModel):
    """Why a run failed, timed out or was cancelled."""

    type: str
    message: str
    step: str | None


class RunInfo(BaseModel):
    """A run's status, times and outcome."""

    run_id: str
    workflow: str
    status: RunStatusName
    created_at: float
    updated_at: float
    result: Any = Field(
        description="A plain StopEvent's result, or the fields of a StopEvent subclass."
    )
    error: RunError | None


class RunList(BaseModel):
    """``GET /runs``: newest first."""

    runs: list[RunInfo]


class EventEnvelope(BaseModel):
    """One event of a run's stream."""

    offset: int = Field(ge=0, description="Position in the run's stream; 0 is the first event.")
    type: str = Field(description="The event's class name.")
    qualified_name: str = Field(description="``module.ClassName`` of the event's class.")
    data: dict[str, Any] = Field(description="The event's fields (``model_dump(mode='json')``).")
    internal: bool = Field(description="An engine bookkeeping event (hidden unless asked for).")
    terminal: bool = Field(description="The event that ends the run (and the stream).")


class Sent(BaseModel):
    """``POST /runs/{run_id}/events``."""

    status: Literal["sent"]


class HistoryEntryOut(BaseModel):
    """One journaled tick of a run and what it changed."""

    seq: int
    at: float
    kind: str
    summary: str
    effects: list[str]
    status: str


class HistoryOut(BaseModel):
    """``GET /runs/{run_id}/history``."""

    entries: list[HistoryEntryOut]


class ErrorDetail(BaseModel):
    """What went wrong."""

    code: Literal[
        "not_found", "conflict", "invalid", "unauthorized", "too_large", "unavailable", "internal"
    ]
    message: str
    field: str | None = Field(description="The request field at fault, dotted, if one is.")


class ErrorBody(BaseModel):
    """Every error response."""

    error: ErrorDetail
