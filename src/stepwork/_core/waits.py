"""Waiting: steps suspended in ``ctx.wait_for_event``, and the run's timers firing.

Invariants:
- A waiter is answered at most once: by the first matching event (one waiter per step per
  event), by its timeout, or, for a step run again after a resume, by the answer kept for its
  delivery (``state.answers``), so a re-run step is never made to wait twice for one answer.
- A timer fires at most once: ``timer`` pops it before acting, and a timer already cancelled
  or fired is ignored.
"""

from __future__ import annotations

from typing import Any, assert_never

from stepwork._core.commands import (
    Command,
    CommandCancelStep,
    CommandPublish,
    CommandResolveWaiter,
    CommandSchedule,
)
from stepwork._core.endings import finish
from stepwork._core.errors import WorkflowTimeoutError
from stepwork._core.events import InputRequiredEvent, WaitTimedOut, WorkflowTimedOutEvent
from stepwork._core.scheduling import Scheduler, cancel_timer
from stepwork._core.state import RunState, Waiter
from stepwork._core.ticks import TickTimer, TickWait
from stepwork._core.timers import RetryTimer, RunTimer, StepTimer, WaitTimer, wait_timer_id

__all__ = ["Waits"]


class Waits(Scheduler):
    """Waiters and timers, shared by the reducer's tick handlers."""

    def wait(self, state: RunState, tick: TickWait, out: list[Command]) -> None:
        invocation = state.invocations.get(tick.invocation)
        if invocation is None:
            return
        key = tick.waiter_id
        answered = state.answers.get(f"{invocation.delivery.key}:{key}")
        if answered is not None:
            # This delivery was answered before it ran again (a resume): hand the answer over.
            out.append(CommandResolveWaiter(tick.invocation, key, answered))
            return
        previous = state.waiters.get(key)
        if previous is not None and previous.resolved is not None:
            del state.waiters[key]
            out.append(CommandResolveWaiter(tick.invocation, key, previous.resolved))
            return
        step = self.spec.steps[invocation.delivery.step]
        state.waiters[key] = Waiter(
            tick.invocation, step.name, tick.event_type, tick.requirements, step.accept_subclasses
        )
        if tick.waiter_event is not None and key not in state.waiter_events_sent:
            state.waiter_events_sent.add(key)
            if isinstance(tick.waiter_event, InputRequiredEvent):
                state.input_requested = True
            out.append(CommandPublish(tick.waiter_event))
        timer_id = wait_timer_id(key)
        if tick.timeout is not None and timer_id not in state.timers:
            state.timers[timer_id] = WaitTimer(tick.at + tick.timeout, key)
            out.append(CommandSchedule(timer_id, tick.at + tick.timeout))

    def timer(self, state: RunState, tick: TickTimer, out: list[Command]) -> None:
        timer = state.timers.pop(tick.timer_id, None)
        if timer is None:
            return
        match timer:
            case RunTimer():
                active = state.active_steps()
                detail = (
                    f"Currently active steps: {', '.join(active)}" if active else "No steps active"
                )
                error = WorkflowTimeoutError(
                    f"Operation timed out after {float(state.timeout or 0.0)} seconds. {detail}",
                    run_id=state.run_id,
                )
                timed_out = WorkflowTimedOutEvent(timeout=state.timeout or 0.0, active_steps=active)
                finish(state, "timed_out", timed_out, error, out)
            case RetryTimer(step=step_name, number=number):
                delivery = state.steps[step_name].delayed.pop(number)
                self.enqueue(state, delivery, tick.at, out, front=True)
            case WaitTimer(waiter=key):
                waiter = state.waiters.get(key)
                if waiter is not None and waiter.invocation < 0:
                    # Its step is being run again (a resume): it gets the timeout on re-waiting.
                    waiter.resolved = WaitTimedOut()
                elif waiter is not None:
                    del state.waiters[key]
                    # Kept like an answer: if the step has to run again, it is not made to wait.
                    delivery = state.invocations[waiter.invocation].delivery
                    state.answers[f"{delivery.key}:{key}"] = WaitTimedOut()
                    out.append(CommandResolveWaiter(waiter.invocation, key, None))
            case StepTimer(invocation=number):
                out.append(CommandCancelStep(number, timed_out=True))
            case _:
                assert_never(timer)

    def resolve_waiters(self, state: RunState, event: Any, out: list[Command]) -> set[str]:
        woken: set[str] = set()
        for key, waiter in list(state.waiters.items()):
            if waiter.step in woken or not _waiter_matches(waiter, event):
                continue
            woken.add(waiter.step)
            if waiter.invocation < 0:
                waiter.resolved = event  # the step re-registers after a resume and gets it then
                continue
            del state.waiters[key]
            cancel_timer(state, wait_timer_id(key), out)
            # Kept until the invocation ends: if it has to run again, its wait is answered.
            delivery = state.invocations[waiter.invocation].delivery
            state.answers[f"{delivery.key}:{key}"] = event
            out.append(CommandResolveWaiter(waiter.invocation, key, event))
        return woken


def _waiter_matches(waiter: Waiter, event: Any) -> bool:
    if type(event) is not waiter.event_type and not (
        waiter.accept_subclasses and isinstance(event, waiter.event_type)
    ):
        return False
    return all(getattr(event, key, None) == value for key, value in waiter.requirements)
