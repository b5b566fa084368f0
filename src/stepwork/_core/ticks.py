"""Ticks: everything that happens to a run, as plain data.

Invariants:
- A tick is immutable and carries its own timestamp ``at`` (seconds since the epoch, from the
  driver's clock); the reducer never reads a clock.
- A tick holds only data: events, event types, exceptions and JSON values. The journal codec
  turns them into JSON and back through an allow-list of types.
- Folding a run's ticks in order through the reducer rebuilds the run's state exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal, assert_never

if TYPE_CHECKING:
    from stepwork._core.state import RunState

__all__ = [
    "Tick",
    "TickCancel",
    "TickCollect",
    "TickEvent",
    "TickPublish",
    "TickStart",
    "TickStateWrite",
    "TickStepDone",
    "TickStepFailed",
    "TickTimer",
    "TickKind",
    "TickOnce",
    "TickWait",
    "tick_invocation",
]

TickKind = Literal[
    "start",
    "event",
    "step_done",
    "step_failed",
    "publish",
    "collect",
    "wait",
    "state",
    "timer",
    "cancel",
    "once",
]
"""The ``kind`` of each tick class: the tag journals write (``tests/test_dispatch.py`` checks
that it names every member of ``Tick``)."""


@dataclass(frozen=True, slots=True)
class TickStart:
    """The run starts (``start_event``) or resumes (``start_event is None``).

    ``base`` is the state a run starts from when it does not start afresh: a context restored
    from a snapshot, or one whose ``ctx.store`` state carries over from an earlier run. It makes
    the run's ticks self-contained: folding them from a fresh state rebuilds the run.
    """

    kind: ClassVar[Literal["start"]] = "start"
    at: float
    run_id: str
    start_event: Any
    timeout: float | None
    base: RunState | None = None


@dataclass(frozen=True, slots=True)
class TickEvent:
    """An event is sent into the run: by the caller, or by a step through ``ctx.send_event``.

    ``step`` targets one step; ``source`` is the sending invocation (its lineage is inherited).
    ``idempotency_key`` is the caller's key for this send, if it gave one: journaled with the
    tick, so a retried send with the same key is recognised (and not delivered twice) even
    after a restart.
    """

    kind: ClassVar[Literal["event"]] = "event"
    at: float
    event: Any
    step: str | None = None
    source: int | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True, slots=True)
class TickStepDone:
    """An invocation returned ``output``: an event, a list of events (fan-out) or ``None``."""

    kind: ClassVar[Literal["step_done"]] = "step_done"
    at: float
    invocation: int
    output: Any
    step: str = ""
    """The step that ran (kept so a replay can tell when today's code routes differently)."""


@dataclass(frozen=True, slots=True)
class TickStepFailed:
    """An invocation raised ``error``.

    The driver asked the step's retry policy already: ``retry_delay`` is the delay before the
    next attempt, ``None`` when the policy gave up. ``fatal`` fails the run outright (the retry
    policy itself raised), skipping retries and error handlers. ``traceback`` is the error's
    formatted traceback, as text (``None`` in journals written before it was kept, and for
    errors that were never raised, such as a step timeout).
    """

    kind: ClassVar[Literal["step_failed"]] = "step_failed"
    at: float
    invocation: int
    error: BaseException
    retry_delay: float | None = None
    fatal: bool = False
    step: str = ""
    traceback: str | None = None


@dataclass(frozen=True, slots=True)
class TickPublish:
    """A step wrote ``event`` to the run's stream (``ctx.write_event_to_stream``)."""

    kind: ClassVar[Literal["publish"]] = "publish"
    at: float
    invocation: int | None
    event: Any


@dataclass(frozen=True, slots=True)
class TickCollect:
    """A step called ``ctx.collect_events(event, expected, buffer_id)``."""

    kind: ClassVar[Literal["collect"]] = "collect"
    at: float
    invocation: int
    buffer_id: str
    event: Any
    expected_count: int
    expected: tuple[tuple[type, int], ...] | None
    """Run-length encoded expected types; left out while the buffer is too short to release."""


@dataclass(frozen=True, slots=True)
class TickWait:
    """A step suspended in ``ctx.wait_for_event`` until an event of ``event_type`` arrives."""

    kind: ClassVar[Literal["wait"]] = "wait"
    at: float
    invocation: int
    waiter_id: str
    event_type: type
    requirements: tuple[tuple[str, Any], ...] = ()
    waiter_event: Any = None
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class TickStateWrite:
    """``ctx.store`` committed a write; ``state`` is the whole state as JSON."""

    kind: ClassVar[Literal["state"]] = "state"
    at: float
    state: Any


@dataclass(frozen=True, slots=True)
class TickTimer:
    """A timer the reducer scheduled has fired."""

    kind: ClassVar[Literal["timer"]] = "timer"
    at: float
    timer_id: str


@dataclass(frozen=True, slots=True)
class TickCancel:
    """The caller cancelled the run."""

    kind: ClassVar[Literal["cancel"]] = "cancel"
    at: float


@dataclass(frozen=True, slots=True)
class TickOnce:
    """A step's journaled call (``ctx.once``, or a child workflow it started) has an outcome.

    ``number`` is the call's place among its invocation's journaled calls (0 for the first),
    ``name`` the name the step gave it. ``outcome`` is JSON the runtime wrote: ``{"value": ...}``
    (a value in the value codec's form), ``{"error": {"exception_type", "exception_message"}}``,
    or, for a child workflow, ``{"child": run_id}`` plus the child's value or error once it has
    ended. The reducer keeps it under the invocation's delivery until that delivery's invocation
    ends, so a re-run after a crash, a takeover or a restore finds it.
    """

    kind: ClassVar[Literal["once"]] = "once"
    at: float
    invocation: int
    number: int
    name: str
    outcome: Any


Tick = (
    TickStart
    | TickEvent
    | TickStepDone
    | TickStepFailed
    | TickPublish
    | TickCollect
    | TickWait
    | TickStateWrite
    | TickTimer
    | TickCancel
    | TickOnce
)


def tick_invocation(tick: Tick) -> int | None:
    """The invocation ``tick`` comes from, for ticks that only a running step produces
    (``None`` for the others).

    Example:
        >>> tick_invocation(TickWait(1.0, 3, "answer", int)), tick_invocation(TickCancel(1.0))
        (3, None)
    """
    match tick:
        case TickStepDone() | TickStepFailed() | TickCollect() | TickWait() | TickOnce():
            return tick.invocation
        case TickPublish():
            return tick.invocation  # ``None`` when published from outside a step
        case TickStart() | TickEvent() | TickStateWrite() | TickTimer() | TickCancel():
            return None
        case _:
            assert_never(tick)
