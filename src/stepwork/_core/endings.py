"""How a run ends, and the notices that say a step stopped: shared by the reducer's handlers.

Invariants: :func:`finish` is the only place a run's status becomes an ending. It cancels
every running invocation and timer, empties every queue, and emits exactly one
``CommandFinish``, right after the ``CommandPublish`` of the stop event.
"""

from __future__ import annotations

from typing import Any

from stepwork._core.commands import (
    Command,
    CommandCancelStep,
    CommandCancelTimer,
    CommandFinish,
    CommandPublish,
)
from stepwork._core.events import StepState
from stepwork._core.notices import StepNotice
from stepwork._core.scheduling import trigger_event
from stepwork._core.state import Delivery, RunState, RunStatus

__all__ = ["dead_end", "finish", "not_running"]

_DEAD_ENDS_KEPT = 5


def finish(
    state: RunState,
    status: RunStatus,
    stop: Any,
    error: BaseException | None,
    out: list[Command],
) -> None:
    """End the run with ``status``: ``stop`` ends the stream, ``error`` goes to the caller."""
    state.status = status
    state.stop_event = stop
    state.error = error
    for number in list(state.invocations):
        out.append(CommandCancelStep(number))
    for timer_id in state.timers:
        out.append(CommandCancelTimer(timer_id))
    state.invocations.clear()
    state.timers.clear()
    state.waiters.clear()
    state.streams.clear()
    for runtime in state.steps.values():
        runtime.queue.clear()
        runtime.running.clear()
        runtime.delayed.clear()
        runtime.joins.clear()
    out.append(CommandPublish(stop))
    out.append(CommandFinish(stop, error))


def dead_end(state: RunState, step: str, reason: str) -> None:
    """Remember that ``step`` led nowhere (kept short: only the latest few)."""
    state.dead_ends.append((step, reason))
    del state.dead_ends[:-_DEAD_ENDS_KEPT]


def not_running(delivery: Delivery, worker: int, output: Any, failed: bool = False) -> StepNotice:
    """The notice that an invocation of ``delivery`` on ``worker`` stopped."""
    # A step that raised has no output at all (``None``); one that returned None, NoneType.
    name = str(type(output[-1] if output else None) if isinstance(output, list) else type(output))
    return StepNotice(
        delivery.step,
        StepState.NOT_RUNNING,
        str(worker),
        str(type(trigger_event(delivery.payload))),
        None if failed else name,
    )
