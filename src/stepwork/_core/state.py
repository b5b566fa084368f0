"""The state of one run, owned by the reducer.

Invariants:
- Only the reducer changes a ``RunState``; it does so in place, deterministically, from ticks
  alone (no clock, no randomness, no I/O). Folding the same ticks into a fresh state gives the
  same state. Compare two states through ``dump_run_state``: ``RunState.__eq__`` compares
  every field, but the exceptions it holds compare by identity.
- A delivery is in exactly one place: a step's queue, its delayed retries, a running
  invocation, or a join/collect buffer.
- A ``collect_events`` call is folded once per (delivery, buffer, call number within the
  invocation): ``collected`` keeps its answer while the delivery is not done.
- ``Delivery.scope`` is the fan-out lineage of the payload: one ``(stream_id, index)`` pair per
  enclosing ``list[E]`` fan-out, outermost first; ``()`` at the top level.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Literal

from stepwork._core.timers import Timer

__all__ = [
    "Delivery",
    "FanOutStream",
    "Invocation",
    "RunState",
    "RunStatus",
    "StepRuntime",
    "Timer",
    "Waiter",
]

Scope = tuple[tuple[int, int], ...]

RunStatus = Literal["pending", "running", "completed", "failed", "timed_out", "cancelled"]
"""Where a run is: not started, in progress, or one of its four endings."""


@dataclass(slots=True)
class Delivery:
    """Work for one step: its payload plus lineage and retry bookkeeping.

    ``payload`` is an event, a ``{param: event}`` dict for a join, or a list for a fan-in.
    ``attempts`` counts failures so far; ``recoveries`` counts ``@catch_error`` recoveries per
    handler along this lineage.
    """

    step: str
    payload: Any
    scope: Scope = ()
    attempts: int = 0
    first_attempt_at: float | None = None
    last_error: BaseException | None = None
    last_failed_at: float | None = None
    recoveries: tuple[tuple[str, int], ...] = ()
    not_before: float | None = None
    key: int = -1
    """Stable number of this delivery within the run (kept across retries and restarts)."""


@dataclass(slots=True)
class Invocation:
    """One execution of a step: which delivery, which worker slot, since when (never changed
    after it is made; not frozen because it is built on every dispatch)."""

    id: int
    delivery: Delivery
    worker: int
    started_at: float


@dataclass(slots=True)
class StepRuntime:
    """Per-step scheduling state within a run."""

    queue: deque[Delivery] = field(default_factory=deque)
    running: dict[int, int] = field(default_factory=dict)
    """Invocation id -> worker slot."""
    delayed: dict[int, Delivery] = field(default_factory=dict)
    """Retry timer number -> delivery waiting for its delay."""
    buffers: dict[str, list[Any]] = field(default_factory=dict)
    """``ctx.collect_events`` buffers by buffer id."""
    joins: dict[Scope, dict[str, deque[Any]]] = field(default_factory=dict)
    """Join slots filled so far, per lineage scope."""


@dataclass(slots=True)
class Waiter:
    """A step suspended in ``ctx.wait_for_event``."""

    invocation: int
    step: str
    event_type: type
    requirements: tuple[tuple[str, Any], ...]
    accept_subclasses: bool
    resolved: Any = None
    """An answer that arrived while the step was being resumed; handed over when it re-waits."""


@dataclass(slots=True)
class FanOutStream:
    """One ``list[E]`` fan-out: its members' lineage and what its collectors gathered.

    ``live`` counts deliveries, invocations and child streams still carrying a member's lineage;
    the stream closes when it drops to zero.
    """

    parent: Scope
    producer: str
    collectors: tuple[str, ...]
    live: int = 0
    gathered: dict[str, list[Any]] = field(default_factory=dict)
    fired: set[str] = field(default_factory=set)
    recoveries: tuple[tuple[str, int], ...] = ()


@dataclass(slots=True)
class RunState:
    """Everything the reducer knows about one run."""

    run_id: str = ""
    status: RunStatus = "pending"
    started_at: float | None = None
    timeout: float | None = None
    steps: dict[str, StepRuntime] = field(default_factory=dict)
    invocations: dict[int, Invocation] = field(default_factory=dict)
    waiters: dict[str, Waiter] = field(default_factory=dict)
    waiter_events_sent: set[str] = field(default_factory=set)
    answers: dict[str, Any] = field(default_factory=dict)
    """``"<delivery key>:<waiter id>"`` -> the event that answered a wait of a running step."""
    collect_calls: dict[int, dict[str, int]] = field(default_factory=dict)
    """Invocation id -> buffer id -> ``collect_events`` calls that invocation made so far."""
    collected: dict[int, dict[tuple[str, int], list[Any] | None]] = field(default_factory=dict)
    """Delivery key -> ``(buffer id, call number)`` -> what that collect call was answered
    (the released events, or ``None`` for "not yet"), until the delivery is done: a re-run of
    the delivery (after a resume or a retry) gets the same answers instead of collecting again."""
    calls: dict[int, dict[int, tuple[str, Any]]] = field(default_factory=dict)
    """Delivery key -> call number -> ``(name, outcome JSON)`` of the journaled calls
    (``ctx.once``, child workflows) its running invocation made; dropped when it ends."""
    streams: dict[int, FanOutStream] = field(default_factory=dict)
    timers: dict[str, Timer] = field(default_factory=dict)
    next_invocation: int = 0
    next_stream: int = 0
    next_timer: int = 0
    next_delivery: int = 0
    last_at: float | None = None
    """Time of the last tick; a resumed run shifts its timers by the time it was down."""
    input_requested: bool = False
    idle_announced: bool = False
    dead_ends: list[tuple[str, str]] = field(default_factory=list)
    """Recent ``(step, what happened)`` that led nowhere, for the message when a run stalls."""
    stop_event: Any = None
    error: BaseException | None = None
    error_traceback: str | None = None
    """The formatted traceback of the step error that failed the run, when one did."""
    run_budget: float | None = None
    """Seconds left of the run timeout while it is paused (the run is idle, waiting for input
    from outside); ``None`` while the timeout runs, or when there is none."""
    state: Any = None
    """The last JSON committed by ``ctx.store``."""
    tick_count: int = 0

    @property
    def done(self) -> bool:
        """True once the run has ended, whatever the ending."""
        return self.status not in ("pending", "running")

    def active_steps(self) -> list[str]:
        """Names of steps with a running invocation, in step order."""
        return [name for name, rt in self.steps.items() if rt.running]

    def has_running_step(self) -> bool:
        """True while some invocation is running rather than suspended in ``wait_for_event``."""
        if not self.invocations:
            return False
        if len(self.waiters) < len(self.invocations):
            return True  # cheap test first: this runs after every tick
        waiting = {waiter.invocation for waiter in self.waiters.values()}
        return not all(number in waiting for number in self.invocations)

    def is_quiet(self) -> bool:
        """True when nothing is queued or delayed and every running step waits for an event."""
        if self.invocations:
            if self.has_running_step():
                return False
        elif self.streams:
            return False
        return not any(rt.queue or rt.delayed for rt in self.steps.values())
