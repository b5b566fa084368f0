"""Worker pools: queue deliveries per step and start invocations within ``num_workers``.

Invariants: a step never has more running invocations than its ``num_workers``; queued
deliveries start in FIFO order (a retry re-enters at the front); worker slots are the smallest
free integers; every delivery inside a fan-out keeps its stream's ``live`` count up to date.
"""

from __future__ import annotations

from typing import Any

from stepwork._core.commands import (
    Command,
    CommandCancelTimer,
    CommandPublish,
    CommandRunStep,
    CommandSchedule,
)
from stepwork._core.events import CollectionReleaseEvent, StepState
from stepwork._core.notices import StepNotice
from stepwork._core.specs import WorkflowSpec
from stepwork._core.state import Delivery, Invocation, RunState, Scope
from stepwork._core.timers import StepTimer, step_timer_id, wait_timer_id

__all__ = ["Scheduler", "cancel_timer", "trigger_event"]


class Scheduler:
    """Per-step queues and worker slots, shared by the reducer's tick handlers."""

    spec: WorkflowSpec

    def enqueue(
        self,
        state: RunState,
        delivery: Delivery,
        at: float,
        out: list[Command],
        *,
        front: bool = False,
    ) -> None:
        """Queue ``delivery`` for its step and start it at once if a worker is free."""
        name = delivery.step
        runtime = state.steps[name]
        if delivery.key < 0:
            delivery.key = state.next_delivery
            state.next_delivery += 1
        if front:
            runtime.queue.appendleft(delivery)
        else:
            runtime.queue.append(delivery)
            self.hold(state, delivery.scope, 1)
        if len(runtime.running) >= self.spec.steps[name].num_workers:
            out.append(
                CommandPublish(
                    StepNotice(
                        name, StepState.PREPARING, "<enqueued>", _event_name(delivery.payload)
                    )
                )
            )
        self.fill(state, name, at, out)

    def fill(self, state: RunState, name: str, at: float, out: list[Command]) -> None:
        """Start queued deliveries of step ``name`` while it has free workers."""
        runtime = state.steps[name]
        step = self.spec.steps[name]
        queue = runtime.queue
        while queue and len(runtime.running) < step.num_workers:
            delivery = queue.popleft()
            worker = 0
            busy = runtime.running.values()
            while worker in busy:
                worker += 1
            number = state.next_invocation
            state.next_invocation = number + 1
            if delivery.first_attempt_at is None:
                delivery.first_attempt_at = at
            invocation = Invocation(number, delivery, worker, at)
            state.invocations[number] = invocation
            runtime.running[number] = worker
            out.append(
                CommandPublish(
                    StepNotice(name, StepState.RUNNING, str(worker), _event_name(delivery.payload))
                )
            )
            out.append(CommandRunStep(invocation))
            if step.timeout is not None:
                timer_id = step_timer_id(number)
                state.timers[timer_id] = StepTimer(at + step.timeout, number)
                out.append(CommandSchedule(timer_id, at + step.timeout))

    def release(self, state: RunState, number: int, out: list[Command]) -> Invocation | None:
        """Forget a finished invocation and free its worker; ``None`` if it was unknown."""
        invocation = state.invocations.pop(number, None)
        if invocation is None:
            return None
        runtime = state.steps[invocation.delivery.step]
        del runtime.running[number]
        if self.spec.steps[invocation.delivery.step].timeout is not None:
            cancel_timer(state, step_timer_id(number), out)
        if state.collect_calls:
            state.collect_calls.pop(number, None)
        if state.calls:
            state.calls.pop(invocation.delivery.key, None)
        if state.answers:
            prefix = f"{invocation.delivery.key}:"
            for key in [k for k in state.answers if k.startswith(prefix)]:
                del state.answers[key]
        if state.waiters:
            # A waiter lives only as long as the invocation suspended in it.
            for key in [k for k, w in state.waiters.items() if w.invocation == number]:
                del state.waiters[key]
                cancel_timer(state, wait_timer_id(key), out)
        return invocation

    def hold(self, state: RunState, scope: Scope, delta: int) -> None:
        """Count ``delta`` more (or fewer) live carriers of the innermost stream of ``scope``."""
        if scope:
            stream = state.streams.get(scope[-1][0])
            if stream is not None:
                stream.live += delta


def cancel_timer(state: RunState, name: str, out: list[Command]) -> None:
    """Forget timer ``name`` if it is scheduled, and tell the driver to drop it."""
    if state.timers.pop(name, None) is not None:
        out.append(CommandCancelTimer(name))


def _event_name(payload: object) -> str:
    return type(trigger_event(payload)).__name__


def trigger_event(payload: Any) -> Any:
    """The event that started an invocation: the event itself, the event that completed a
    join, or a ``CollectionReleaseEvent`` holding a fan-in's list."""
    if isinstance(payload, list):
        return CollectionReleaseEvent(events=payload)
    if isinstance(payload, dict):
        return next(reversed(payload.values()))
    return payload
