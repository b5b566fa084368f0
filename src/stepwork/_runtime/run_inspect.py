"""A journaled run looked at closely: each step invocation and ``ctx.store`` after any tick.

Both fold the run's journal through the reducer, as :mod:`time_travel` does, and call no step.
The server's debugging page reads them through ``GET /runs/{id}/invocations`` and
``GET /runs/{id}/state?at=SEQ``. Values are given as the journal stores them (tagged JSON:
an event is ``{"__model__": "module.Name", ...fields}``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stepwork._core.commands import CommandCancelStep, CommandRunStep
from stepwork._core.reducer import Reducer
from stepwork._core.ticks import TickStepDone, TickStepFailed
from stepwork._runtime.durable import DurableWorkflow
from stepwork._runtime.snapshot import registry_for
from stepwork._runtime.time_travel import _envelope, _records
from stepwork._stores.codec import dump_value

__all__ = ["InvocationDetail", "StateAt", "run_invocations", "state_at"]


@dataclass
class InvocationDetail:
    """One execution (attempt) of a step, as the journal tells it.

    Attributes:
        id: The invocation number within the run.
        step: The step's name.
        delivery: Number of the work item; every attempt (retry) of one item shares it.
        attempt: 1 for the first attempt of a delivery, 2 for its first retry, ...
        input: The event (or join dict / fan-in list) the step was handed, as stored JSON.
        started_at: When it started (seconds since the epoch).
        started_seq: The tick whose folding started it.
        started_by: Writer id of that tick (the process that ran it), ``""`` if unknown.
        epoch: Lease epoch of that tick (0: without a lease).
        outcome: ``running``, ``done``, ``failed`` or ``cancelled``.
        ended_at: When it ended, or ``None`` while running.
        ended_seq: The tick that ended it, or ``None``.
        ended_by: Writer id of that tick.
        output: What a ``done`` invocation returned, as stored JSON.
        error_type: The exception's class name, for ``failed``.
        error_message: The exception's message, for ``failed``.
        traceback: The formatted traceback, when the journal kept it.
        retry_delay: Seconds until the retry, when the failure was retried.
    """

    id: int
    step: str
    delivery: int
    attempt: int
    input: Any
    started_at: float
    started_seq: int
    started_by: str = ""
    epoch: int = 0
    outcome: str = "running"
    ended_at: float | None = None
    ended_seq: int | None = None
    ended_by: str = ""
    output: Any = None
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    retry_delay: float | None = None


@dataclass(frozen=True)
class StateAt:
    """``ctx.store`` of a run right after tick ``seq`` (of ``ticks`` in its journal)."""

    seq: int
    ticks: int
    at: float
    status: str
    state: Any


def _json(value: Any) -> Any:
    try:
        return dump_value(value, path="input", label="step input")
    except Exception:  # shown, not stored: a value the codec refuses is described instead
        return {"__repr__": repr(value)[:2000]}


async def run_invocations(workflow: DurableWorkflow, run_id: str) -> list[InvocationDetail]:
    """Every step invocation of run ``run_id`` in start order, with input, output and errors.

    Raises:
        RunNotFoundError: If the store has no such run.
        JournalCorruptError: If a tick record is missing or cannot be read.
    """
    _, records = await _records(workflow, run_id)
    registry = registry_for(workflow)
    definition = workflow.definition()
    reducer: Reducer = definition.reducer
    state = reducer.new_state(run_id)
    found: dict[int, InvocationDetail] = {}
    for seq, record in enumerate(records):
        envelope = _envelope(record, registry, definition.specs, run_id, seq)
        tick = envelope.tick
        if isinstance(tick, TickStepDone | TickStepFailed):
            _end(found.get(tick.invocation), tick, record, seq, envelope.writer)
        for command in reducer.reduce(state, tick):
            if isinstance(command, CommandRunStep):
                invocation = command.invocation
                delivery = invocation.delivery
                found[invocation.id] = InvocationDetail(
                    invocation.id,
                    delivery.step,
                    delivery.key,
                    delivery.attempts + 1,
                    _json(delivery.payload),
                    tick.at,
                    seq,
                    envelope.writer,
                    envelope.epoch,
                )
            elif isinstance(command, CommandCancelStep):
                cancelled = found.get(command.invocation)
                if cancelled is not None and cancelled.outcome == "running":
                    cancelled.outcome = "cancelled"
                    cancelled.ended_at, cancelled.ended_seq = tick.at, seq
                    cancelled.ended_by = envelope.writer
    return list(found.values())


def _end(
    ended: InvocationDetail | None,
    tick: TickStepDone | TickStepFailed,
    record: dict[str, Any],
    seq: int,
    writer: str,
) -> None:
    if ended is None or ended.outcome != "running":
        return
    ended.ended_at, ended.ended_seq, ended.ended_by = tick.at, seq, writer
    if isinstance(tick, TickStepDone):
        ended.outcome = "done"
        ended.output = record.get("output")
        return
    ended.outcome = "failed"
    ended.error_type = type(tick.error).__name__
    ended.error_message = str(tick.error)
    ended.traceback = tick.traceback
    ended.retry_delay = tick.retry_delay


async def state_at(workflow: DurableWorkflow, run_id: str, at: int | None = None) -> StateAt:
    """``ctx.store`` of run ``run_id`` as it was right after tick ``at`` (the last by default).

    Raises:
        RunNotFoundError: If the store has no such run.
        ValueError: If ``at`` is not the seq of one of the run's ticks.
        JournalCorruptError: If a tick record up to ``at`` is missing or cannot be read.
    """
    store, records = await _records(workflow, run_id, limit=None if at is None else at + 1)
    total = (await store.get_run(run_id)).ticks
    seq = total - 1 if at is None else at
    if not 0 <= seq < len(records):
        raise ValueError(f"at must be between 0 and {total - 1} (the run's tick seqs), got {at}.")
    registry = registry_for(workflow)
    definition = workflow.definition()
    reducer: Reducer = definition.reducer
    state = reducer.new_state(run_id)
    when = 0.0
    for index, record in enumerate(records[: seq + 1]):
        tick = _envelope(record, registry, definition.specs, run_id, index).tick
        reducer.reduce(state, tick)
        when = tick.at
    return StateAt(seq, total, when, state.status, state.state)
