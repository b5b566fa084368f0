"""The data of a run's trace: events that arrived, step invocations, the ending.

Built by ``stepwork._drawing.trace.build_trace``; drawn by the Mermaid and HTML renderers.
Invariants: plain data; ``RunTrace.to_dict()`` is JSON-ready; event indices and invocation
ids refer to entries of the same trace. A trace of a run still going has invocations with
outcome ``running`` and no ``ending``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = [
    "EventOrigin",
    "Outcome",
    "RunTrace",
    "TraceEnding",
    "TraceEvent",
    "TraceInvocation",
]

EventOrigin = Literal["start", "caller", "step", "output", "stream", "error", "engine"]
Outcome = Literal["done", "failed", "timed_out", "cancelled", "interrupted", "running"]


@dataclass(slots=True)
class TraceEvent:
    """An event that arrived in the run, or that a step wrote to the stream for the caller.

    Attributes:
        index: Position in ``RunTrace.events``.
        type: The event's class name.
        role: ``start``, ``stop``, ``input_required``, ``human_response`` or ``event``.
        at: When it arrived.
        origin: ``start`` (the run's start event), ``caller`` (``handler.send_event``),
            ``step`` (``ctx.send_event`` by ``source``), ``output`` (returned by ``source``),
            ``stream`` (written to the stream by ``source``; not routed to steps), ``error``
            (the ``StepFailedEvent`` a ``@catch_error`` step got after ``source`` failed) or
            ``engine`` (made by the engine otherwise).
        source: The invocation that emitted it, if any.
        target: The one step it was sent to, if it was sent to one step.
        consumed_by: Invocations it started or woke, in order.
        data: Its fields as JSON-ready data.
    """

    index: int
    type: str
    role: str
    at: float
    origin: EventOrigin
    source: int | None = None
    target: str | None = None
    consumed_by: list[int] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class TraceInvocation:
    """One execution of a step.

    Attributes:
        id: The invocation number the reducer gave it.
        step: The step's name.
        worker: The worker slot it ran in.
        attempt: 1 for a first try, 2 for the first retry, and so on.
        started_at: When it started.
        ended_at: When it ended; ``None`` while running.
        outcome: ``done``, ``failed``, ``timed_out``, ``cancelled`` (the run ended first),
            ``interrupted`` (the process stopped; a resumed run ran it again) or ``running``.
        inputs: Events that started it (several for a join or a fan-in).
        woken_by: Events handed to it while it waited (``ctx.wait_for_event``).
        emitted: Events it returned or sent, and events it wrote to the stream.
        waits_for: Event types it waited for.
        waiting: True if it is suspended in a wait as the trace ends.
        calls: Its journaled calls in the order they were recorded: the name given to
            ``ctx.once``, or ``child <run id>`` for a child workflow it started.
        children: The child runs it started (``ctx.run_workflow`` / ``ctx.start_workflow``),
            by run id, with what its journal says of each: ``running`` (started, no ending
            journaled: still running, or started without waiting for it), ``ended`` (it
            returned a result) or ``failed`` (it raised, was cancelled or timed out).
        error_type: The exception's class name, for a failure.
        error_message: The exception's message, for a failure.
        retry_delay: Seconds until the next attempt, when a failure was retried.
        previous_attempt: The invocation this one retries, if it is a retry.
    """

    id: int
    step: str
    worker: int
    attempt: int
    started_at: float
    ended_at: float | None = None
    outcome: Outcome = "running"
    inputs: list[int] = field(default_factory=list)
    woken_by: list[int] = field(default_factory=list)
    emitted: list[int] = field(default_factory=list)
    waits_for: list[str] = field(default_factory=list)
    waiting: bool = False
    calls: list[str] = field(default_factory=list)
    children: dict[str, str] = field(default_factory=dict)
    error_type: str | None = None
    error_message: str | None = None
    retry_delay: float | None = None
    previous_attempt: int | None = None

    @property
    def duration(self) -> float | None:
        """Seconds it ran, or ``None`` while it is running."""
        return None if self.ended_at is None else self.ended_at - self.started_at

    def to_dict(self) -> dict[str, Any]:
        """The invocation as JSON-ready data, ``duration`` included."""
        return {**asdict(self), "duration": self.duration}


@dataclass(slots=True)
class TraceEnding:
    """How and where the run ended.

    Attributes:
        status: ``completed``, ``failed``, ``timed_out`` or ``cancelled``.
        at: When it ended.
        event_type: The terminal event's class name (``StopEvent``, ``WorkflowFailedEvent``...).
        event: Index of the terminal event in ``RunTrace.events`` when it arrived as an event
            (a step returned it, or the caller sent it).
        step: The step that ended the run, if one did.
        invocation: The invocation that ended the run, if one did.
        error_type: The run's error class name, if it did not complete.
        error_message: The run's error message.
        result: A short ``repr`` of the ``StopEvent`` result of a completed run.
    """

    status: str
    at: float
    event_type: str
    event: int | None = None
    step: str | None = None
    invocation: int | None = None
    error_type: str | None = None
    error_message: str | None = None
    result: str | None = None


@dataclass(slots=True)
class RunTrace:
    """What happened in one run: the events that arrived, the invocations, the ending.

    Attributes:
        run_id: The run's id.
        workflow: The workflow's name.
        status: ``pending``, ``running``, ``completed``, ``failed``, ``timed_out`` or
            ``cancelled``.
        started_at: When the run started.
        last_at: The time of the last tick (what "now" is for a run still going).
        events: Events in arrival order.
        invocations: Step invocations in start order.
        ending: How the run ended; ``None`` while it runs.
    """

    run_id: str
    workflow: str
    status: str
    started_at: float
    last_at: float
    events: list[TraceEvent]
    invocations: list[TraceInvocation]
    ending: TraceEnding | None = None

    def invocation(self, invocation_id: int) -> TraceInvocation:
        """The invocation numbered ``invocation_id``.

        Raises:
            KeyError: If the run had no such invocation.
        """
        for record in self.invocations:
            if record.id == invocation_id:
                return record
        raise KeyError(invocation_id)

    def runs_per_step(self) -> dict[str, int]:
        """How many invocations each step had, in order of first run."""
        counts: dict[str, int] = {}
        for record in self.invocations:
            counts[record.step] = counts.get(record.step, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """The trace as JSON-ready data."""
        return {
            "run_id": self.run_id,
            "workflow": self.workflow,
            "status": self.status,
            "started_at": self.started_at,
            "last_at": self.last_at,
            "events": [asdict(event) for event in self.events],
            "invocations": [record.to_dict() for record in self.invocations],
            "ending": asdict(self.ending) if self.ending is not None else None,
        }
