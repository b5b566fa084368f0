"""A run's trace: what actually happened, rebuilt from its tick log without running user code.

The ticks are folded through a fresh state of the workflow's reducer and the commands it
returns are watched: a ``CommandRunStep`` is an invocation starting (its delivery says which
step, which events, which attempt), ``CommandResolveWaiter`` hands an event to a waiting step,
``CommandCancelStep`` ends one early and ``CommandFinish`` ends the run. Events are linked to
the invocations that consumed them by identity, which folding preserves.

Invariants: pure (no clock, no I/O); building a trace never changes the ticks or calls user
code; a tick the reducer ignores (one arriving after the run ended) adds nothing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, assert_never

from stepwork._core.commands import (
    Command,
    CommandCancelStep,
    CommandCancelTimer,
    CommandCollected,
    CommandFinish,
    CommandPublish,
    CommandResolveWaiter,
    CommandRunStep,
    CommandSchedule,
)
from stepwork._core.events import (
    StepFailedEvent,
    StopEvent,
)
from stepwork._core.reducer import Reducer
from stepwork._core.state import Invocation
from stepwork._core.ticks import (
    Tick,
    TickCancel,
    TickCollect,
    TickEvent,
    TickOnce,
    TickPublish,
    TickStart,
    TickStateWrite,
    TickStepDone,
    TickStepFailed,
    TickTimer,
    TickWait,
)
from stepwork._drawing.model import event_role
from stepwork._drawing.trace_model import (
    EventOrigin,
    Outcome,
    RunTrace,
    TraceEnding,
    TraceEvent,
    TraceInvocation,
)

__all__ = [
    "EventOrigin",
    "Outcome",
    "RunTrace",
    "TraceEnding",
    "TraceEvent",
    "TraceInvocation",
    "build_trace",
]

_RESULT_REPR_LIMIT = 200


def build_trace(reducer: Reducer, ticks: Iterable[Tick]) -> RunTrace:
    """Fold ``ticks`` through a fresh state of ``reducer`` and report what happened.

    Args:
        reducer: The reducer of the run's workflow (``handler.driver.reducer``).
        ticks: The run's ticks in order, from its ``TickStart`` (``handler.ticks``). A prefix
            of a run's ticks gives the trace of the run as it was then.

    Example:
        >>> trace = build_trace(handler.driver.reducer, handler.ticks)  # doctest: +SKIP
        >>> [(i.step, i.attempt, i.outcome) for i in trace.invocations]  # doctest: +SKIP
        [('flaky', 1, 'failed'), ('flaky', 2, 'done')]
    """
    folder = _TraceFolder(reducer)
    for tick in ticks:
        folder.add(tick)
    return folder.finish()


class _TraceFolder:
    def __init__(self, reducer: Reducer) -> None:
        self.reducer = reducer
        self.state = reducer.new_state("")
        self.events: list[TraceEvent] = []
        self.invocations: dict[int, TraceInvocation] = {}
        self.ending: TraceEnding | None = None
        self.first_at: float | None = None
        self.last_at = 0.0
        self._by_identity: dict[int, int] = {}
        self._alive: list[Any] = []  # keeps objects alive so their id() stays theirs
        self._last_attempt: dict[int, int] = {}  # id(delivery) -> its latest invocation
        self._given_up: dict[str, int] = {}  # step -> its latest invocation that failed for good

    def add(self, tick: Tick) -> None:
        state = self.state
        if self.first_at is None:
            self.first_at = tick.at
        if isinstance(tick, TickStart) and state.status != "pending":
            # A resume: whatever was running died with the old process and runs again.
            for record in self.invocations.values():
                if record.outcome == "running":
                    record.outcome, record.ended_at = "interrupted", self.last_at
        self.last_at = max(self.last_at, tick.at)
        if not state.done:
            # Judged against the state the reducer is about to see, so ignored ticks add nothing.
            self._before(tick)
        commands = self.reducer.reduce(state, tick)
        self._after(tick, commands)

    def _before(self, tick: Tick) -> None:
        live = self.state.invocations
        match tick:
            case TickStart():
                if tick.start_event is not None:
                    self._arrive(tick.start_event, tick.at, "start", None)
            case TickEvent():
                origin: EventOrigin = "caller" if tick.source is None else "step"
                self._arrive(tick.event, tick.at, origin, tick.source, tick.step)
            case TickStepDone():
                if tick.invocation in live:
                    record = self.invocations[tick.invocation]
                    record.outcome, record.ended_at = "done", tick.at
                    outputs = tick.output if isinstance(tick.output, list) else [tick.output]
                    for event in outputs:
                        if event is not None:
                            self._arrive(event, tick.at, "output", tick.invocation)
            case TickStepFailed():
                if tick.invocation in live:
                    self._failed(tick)
            case TickPublish():
                self._arrive(tick.event, tick.at, "stream", tick.invocation)
            case TickWait():
                if tick.invocation in live:
                    self.invocations[tick.invocation].waits_for.append(tick.event_type.__name__)
                    sent = self.state.waiter_events_sent
                    if tick.waiter_event is not None and tick.waiter_id not in sent:
                        self._arrive(tick.waiter_event, tick.at, "stream", tick.invocation)
            case TickOnce():
                if tick.invocation in live:
                    calls = self.invocations[tick.invocation].calls
                    child = tick.outcome.get("child") if isinstance(tick.outcome, dict) else None
                    label = f"child {child}" if isinstance(child, str) else tick.name
                    if label not in calls:  # a child journals its start, then its ending
                        calls.append(label)
                    if isinstance(child, str):
                        self.invocations[tick.invocation].children[child] = _child_status(
                            tick.outcome
                        )
            case TickCollect() | TickStateWrite() | TickTimer() | TickCancel():
                pass  # their consequences show up as commands
            case _:
                assert_never(tick)

    def _after(self, tick: Tick, commands: list[Command]) -> None:
        for command in commands:
            match command:
                case CommandRunStep():
                    self._run(command.invocation)
                case CommandResolveWaiter():
                    record = self.invocations.get(command.invocation)
                    if command.event is not None and record is not None:
                        index = self._index(command.event, tick.at)
                        record.woken_by.append(index)
                        self.events[index].consumed_by.append(record.id)
                case CommandCancelStep():
                    record = self.invocations.get(command.invocation)
                    if record is not None and record.outcome == "running":
                        record.outcome = "timed_out" if command.timed_out else "cancelled"
                        record.ended_at = tick.at
                case CommandFinish():
                    self._finish(tick, command)
                case (
                    CommandPublish() | CommandSchedule() | CommandCancelTimer() | CommandCollected()
                ):
                    pass  # the events that matter arrive through ticks
                case _:
                    assert_never(command)

    def _arrive(
        self,
        event: Any,
        at: float,
        origin: EventOrigin,
        source: int | None,
        target: str | None = None,
    ) -> int:
        index = len(self.events)
        self.events.append(
            TraceEvent(index, type(event).__name__, _role(event), at, origin, source, target)
        )
        self.events[index].data = _data(event)
        if source is not None and source in self.invocations:
            self.invocations[source].emitted.append(index)
        self._by_identity[id(event)] = index
        self._alive.append(event)
        return index

    def _index(self, event: Any, at: float) -> int:
        """The trace index of ``event``; one the engine made itself is added on first sight."""
        index = self._by_identity.get(id(event))
        if index is not None:
            return index
        if isinstance(event, StepFailedEvent):
            return self._arrive(event, at, "error", self._given_up.get(event.step_name))
        return self._arrive(event, at, "engine", None)

    def _run(self, invocation: Invocation) -> None:
        delivery = invocation.delivery
        previous = self._last_attempt.get(id(delivery))
        self._last_attempt[id(delivery)] = invocation.id
        self._alive.append(delivery)
        record = TraceInvocation(
            invocation.id,
            delivery.step,
            invocation.worker,
            delivery.attempts + 1,
            invocation.started_at,
            previous_attempt=previous,
        )
        self.invocations[invocation.id] = record
        for event in _payload_events(delivery.payload):
            index = self._index(event, invocation.started_at)
            record.inputs.append(index)
            self.events[index].consumed_by.append(invocation.id)

    def _failed(self, tick: TickStepFailed) -> None:
        record = self.invocations[tick.invocation]
        if record.outcome == "running":
            record.outcome, record.ended_at = "failed", tick.at
        record.error_type = type(tick.error).__name__
        record.error_message = str(tick.error)
        if tick.retry_delay is not None and not tick.fatal:
            record.retry_delay = tick.retry_delay
        else:
            self._given_up[record.step] = record.id

    def _finish(self, tick: Tick, command: CommandFinish) -> None:
        stop, error = command.stop_event, command.error
        invocation: int | None = None
        if isinstance(tick, TickStepDone | TickStepFailed):
            invocation = tick.invocation
        elif isinstance(tick, TickEvent):
            invocation = tick.source
        record = self.invocations.get(invocation) if invocation is not None else None
        step = getattr(stop, "step_name", None) or (record.step if record is not None else None)
        result = None
        if error is None and isinstance(stop, StopEvent):
            result = _short_repr(stop.result)
        self.ending = TraceEnding(
            self.state.status,
            tick.at,
            type(stop).__name__,
            self._by_identity.get(id(stop)),
            step,
            invocation,
            type(error).__name__ if error is not None else None,
            str(error) if error is not None else None,
            result,
        )

    def finish(self) -> RunTrace:
        waiting = {waiter.invocation for waiter in self.state.waiters.values()}
        for record in self.invocations.values():
            record.waiting = record.outcome == "running" and record.id in waiting
        started = self.state.started_at
        if started is None:
            started = self.first_at if self.first_at is not None else 0.0
        return RunTrace(
            run_id=self.state.run_id,
            workflow=self.reducer.spec.name,
            status=self.state.status,
            started_at=started,
            last_at=max(self.last_at, started),
            events=self.events,
            invocations=sorted(self.invocations.values(), key=lambda record: record.id),
            ending=self.ending,
        )


def _payload_events(payload: Any) -> list[Any]:
    """The events inside a delivery: itself, a join's events, or a fan-in's members."""
    if isinstance(payload, list):
        return list(payload)
    if isinstance(payload, dict):
        return list(payload.values())
    return [payload]


def _role(event: Any) -> str:
    return event_role(type(event))


def _data(event: Any) -> dict[str, Any]:
    """The event's fields as JSON-ready data; a short ``repr`` if they do not dump to JSON."""
    try:
        dumped = event.model_dump(mode="json", warnings=False)
    except Exception:  # an exotic field value: the trace still shows something
        return {"repr": _short_repr(event)}
    return dumped if isinstance(dumped, dict) else {"value": dumped}


def _short_repr(value: Any) -> str:
    try:
        text = repr(value)
    except Exception:  # a broken __repr__ must not break the trace
        text = f"<{type(value).__name__}>"
    if len(text) > _RESULT_REPR_LIMIT:
        text = text[: _RESULT_REPR_LIMIT - 1] + "…"
    return text


def _child_status(outcome: dict[str, object]) -> str:
    """What a child's journaled outcome in its parent says of it."""
    if "error" in outcome:
        return "failed"
    return "ended" if "value" in outcome else "running"
