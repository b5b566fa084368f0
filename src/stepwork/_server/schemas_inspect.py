"""Response models of the routes that look inside one run (``routes_inspect``): its step
invocations and its ``ctx.store`` after a tick. Kept apart from ``schemas`` (small modules)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = ["InvocationOut", "InvocationsOut", "StateOut"]


class InvocationOut(BaseModel):
    """One execution (attempt) of a step, as the run's journal tells it."""

    id: int = Field(description="The invocation number within the run.")
    step: str = Field(description="The step's name.")
    delivery: int = Field(description="Number of the work item; its attempts (retries) share it.")
    attempt: int = Field(description="1 for a first attempt, 2 for the first retry, ...")
    input: Any = Field(
        description="What the step was handed (an event, a join's dict, a fan-in's list), as "
        'the journal stores it: an event is `{"__model__": "module.Name", ...fields}`.'
    )
    started_at: float = Field(description="When it started, in seconds since the epoch.")
    started_seq: int = Field(description="The history entry (tick seq) that started it.")
    started_by: str = Field(description="Writer id of that tick: the process that ran it.")
    epoch: int = Field(description="Lease epoch of that tick (0: run without a lease).")
    outcome: Literal["running", "done", "failed", "cancelled"] = Field(
        description="How it ended, or `running`."
    )
    ended_at: float | None = Field(description="When it ended; null while running.")
    ended_seq: int | None = Field(description="The tick seq that ended it; null while running.")
    ended_by: str = Field(description='Writer id of the tick that ended it (`""` if none).')
    output: Any = Field(description="What a `done` invocation returned, as stored; else null.")
    error_type: str | None = Field(description="The exception's class name, when `failed`.")
    error_message: str | None = Field(description="The exception's message, when `failed`.")
    traceback: str | None = Field(description="The failure's traceback, when it was kept.")
    retry_delay: float | None = Field(description="Seconds until the retry, when retried.")


class InvocationsOut(BaseModel):
    """Body of `GET /runs/{run_id}/invocations`."""

    invocations: list[InvocationOut] = Field(description="Every invocation, in start order.")


class StateOut(BaseModel):
    """Body of `GET /runs/{run_id}/state`."""

    seq: int = Field(description="The tick the state is given after.")
    ticks: int = Field(description="How many ticks the run's journal holds.")
    at: float = Field(description="When that tick happened, in seconds since the epoch.")
    status: str = Field(description="The run's status after that tick.")
    state: Any = Field(description="`ctx.store` as JSON after that tick (null: never written).")
