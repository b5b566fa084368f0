"""Commands: what the reducer asks the driver to do.

Invariants: commands are data; executing one never feeds a tick back synchronously, so the
driver can run them in order right after the reducer returns. Their outcomes come back later
as ticks (a finished step is a ``TickStepDone``, a fired timer a ``TickTimer``). Commands live
for one ``reduce`` call and are never changed after it; they are plain (not frozen) dataclasses
because building frozen ones costs three times as much on the dispatch path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from stepwork._core.state import Invocation

__all__ = [
    "Command",
    "CommandCancelStep",
    "CommandCancelTimer",
    "CommandCollected",
    "CommandFinish",
    "CommandPublish",
    "CommandResolveWaiter",
    "CommandRunStep",
    "CommandSchedule",
]


@dataclass(slots=True)
class CommandRunStep:
    """Start ``invocation``: call the step with its payload."""

    invocation: Invocation


@dataclass(slots=True)
class CommandCancelStep:
    """Cancel a running invocation (the run ended, or the step hit its time limit)."""

    invocation: int
    timed_out: bool = False


@dataclass(slots=True)
class CommandPublish:
    """Append ``event`` to the run's stream."""

    event: Any


@dataclass(slots=True)
class CommandSchedule:
    """Fire ``TickTimer(timer_id)`` at time ``at``."""

    timer_id: str
    at: float


@dataclass(slots=True)
class CommandCancelTimer:
    """Forget a scheduled timer."""

    timer_id: str


@dataclass(slots=True)
class CommandResolveWaiter:
    """Wake a step suspended in ``wait_for_event`` with ``event`` (``None``: it timed out)."""

    invocation: int
    waiter_id: str
    event: Any


@dataclass(slots=True)
class CommandCollected:
    """The answer to a ``TickCollect``: the released events, or ``None`` while incomplete.

    The driver reads it from the commands ``apply`` returns and hands it to the collecting
    step; executing it does nothing.
    """

    invocation: int
    events: list[Any] | None


@dataclass(slots=True)
class CommandFinish:
    """The run is over: ``stop_event`` ends the stream; ``error`` goes to the awaiting caller."""

    stop_event: Any
    error: BaseException | None


Command = (
    CommandRunStep
    | CommandCancelStep
    | CommandPublish
    | CommandSchedule
    | CommandCancelTimer
    | CommandResolveWaiter
    | CommandCollected
    | CommandFinish
)
