"""The reducer: ``reduce(state, tick) -> commands``, the one place a run's behaviour is decided.

Invariants:
- Pure: the outcome depends only on the spec, the state and the tick. No clock, no I/O.
- Once the run is done, ticks still arriving (a cancelled step finishing late, a state write)
  change nothing but the store's JSON and the tick count.
- Every path that ends the run goes through ``endings.finish``, which cancels running
  invocations and timers and emits exactly one ``CommandFinish``.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import fields
from datetime import UTC, datetime
from typing import Any, assert_never

from stepwork._core.commands import (
    Command,
    CommandPublish,
    CommandSchedule,
)
from stepwork._core.endings import dead_end, finish, not_running
from stepwork._core.errors import (
    WorkflowCancelledByUser,
    WorkflowStalledError,
)
from stepwork._core.events import (
    InputRequiredEvent,
    StepFailedEvent,
    StopEvent,
    UnhandledEvent,
    WorkflowCancelledEvent,
    WorkflowFailedEvent,
    WorkflowIdleEvent,
)
from stepwork._core.fanin import FanIn, forget_collects
from stepwork._core.journaled_calls import record_call
from stepwork._core.routing import Router
from stepwork._core.run_timeout import pace_run_timeout
from stepwork._core.scheduling import trigger_event
from stepwork._core.specs import WorkflowSpec
from stepwork._core.state import Delivery, RunState, Scope, StepRuntime
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
from stepwork._core.timers import (
    RUN_TIMER,
    RetryTimer,
    RunTimer,
    counts_working_time,
    retry_timer_id,
)
from stepwork._core.waits import Waits

__all__ = ["Reducer", "fold"]


class Reducer(FanIn, Waits):
    """Decides what follows each tick of a run of one workflow.

    Args:
        spec: The workflow's steps, as the definition layer read them.

    Example:
        >>> reducer = Reducer(spec)                      # doctest: +SKIP
        >>> state = reducer.new_state("run-1")           # doctest: +SKIP
        >>> commands = reducer.reduce(state, TickStart(0.0, "run-1", StartEvent(), None))
        ... # doctest: +SKIP
    """

    def __init__(self, spec: WorkflowSpec) -> None:
        self.spec = spec
        self.router = Router(spec)

    def new_state(self, run_id: str, store: Any = None) -> RunState:
        """A fresh state for run ``run_id``; ``store`` is the ``ctx.store`` JSON carried over."""
        return RunState(
            run_id=run_id, steps={name: StepRuntime() for name in self.spec.steps}, state=store
        )

    def reduce(self, state: RunState, tick: Tick) -> list[Command]:
        """Apply ``tick`` to ``state`` in place and return the commands that follow from it."""
        state.tick_count += 1
        previous_at, state.last_at = state.last_at, tick.at
        if type(tick) is TickPublish:  # the most frequent tick, first
            if state.done:
                return []
            # Publishing changes no queue, so it cannot make the run idle or busy.
            if isinstance(tick.event, InputRequiredEvent):
                state.input_requested = True
            return [CommandPublish(tick.event)]
        out: list[Command] = []
        if isinstance(tick, TickStateWrite):
            state.state = tick.state
            return out
        if state.done:
            return out
        if isinstance(tick, TickOnce):
            record_call(state, tick)  # changes no queue either
            return out
        match tick:
            case TickStart():
                self._start(state, tick, out, previous_at)
            case TickEvent():
                # An arriving event ends an idle spell; if the run is still quiet afterwards,
                # it is announced idle again.
                was_idle, state.idle_announced = state.idle_announced, False
                self._event(state, tick, out, was_idle)
            case TickStepDone():
                self._step_done(state, tick, out)
            case TickStepFailed():
                self._step_failed(state, tick, out)
            case TickPublish() | TickOnce():  # handled above, before the idle check
                pass
            case TickCollect():
                self.collect(state, tick, out)
            case TickWait():
                self.wait(state, tick, out)
            case TickTimer():
                self.timer(state, tick, out)
            case TickCancel():
                finish(
                    state,
                    "cancelled",
                    WorkflowCancelledEvent(),
                    WorkflowCancelledByUser(
                        "The run was cancelled by its caller.", run_id=state.run_id
                    ),
                    out,
                )
            case _:
                assert_never(tick)
        if state.status == "running":
            if state.is_quiet():
                if not state.idle_announced:
                    self._idle(state, out)
            else:
                state.idle_announced = False
            pace_run_timeout(state, tick.at, out)
        return out

    def stop_unwritable(self, state: RunState, error: BaseException) -> list[Command]:
        """End the run in memory because its journal cannot be written (``error`` says why).

        Not a tick: nothing more reaches the journal, so the store still holds the run as it
        was last written and can resume it. Whatever the in-memory state said, an ending that
        was never written did not happen: the run ends ``failed`` with ``error`` here.
        """
        out: list[Command] = []
        finish(state, "failed", WorkflowFailedEvent(step_name="", exception=error), error, out)
        return out

    # -- ticks ------------------------------------------------------------------------------

    def _start(
        self, state: RunState, tick: TickStart, out: list[Command], previous_at: float | None
    ) -> None:
        if tick.base is not None:
            previous_at = self._adopt(state, tick.base)
        resuming = state.status != "pending"
        state.run_id = tick.run_id
        state.status = "running"
        state.timeout = tick.timeout
        if state.started_at is None:
            state.started_at = tick.at
        if resuming and previous_at is not None:
            # Working time stands still while a run is down (its timeout budget, retry delays,
            # step time limits); waits and sleeps are wall-clock (see ``timers``).
            downtime = max(0.0, tick.at - previous_at)
            for timer in state.timers.values():
                if counts_working_time(timer):
                    timer.at += downtime
        elif tick.timeout is not None:
            state.timers[RUN_TIMER] = RunTimer(tick.at + tick.timeout)
        for timer_id, timer in state.timers.items():
            out.append(CommandSchedule(timer_id, timer.at))
        if resuming:
            # Invocations caught mid-flight by a snapshot run again from the top.
            for number, invocation in sorted(state.invocations.items(), reverse=True):
                runtime = state.steps[invocation.delivery.step]
                del runtime.running[number]
                runtime.queue.appendleft(invocation.delivery)
            state.invocations.clear()
            state.collect_calls.clear()  # each re-run counts its collect calls from the top
            for waiter in state.waiters.values():
                waiter.invocation = -1
            for name in self.spec.steps:
                self.fill(state, name, tick.at, out)
        if tick.start_event is not None:
            self.route(state, tick.start_event, (), (), tick.at, out)

    def _adopt(self, state: RunState, base: RunState) -> float | None:
        """Make ``state`` a copy of ``base`` (the tick keeps its own, unchanged, for replays);
        return the time of the base's last tick."""
        copied = copy.deepcopy(base)
        tick_count, now = state.tick_count, state.last_at
        for item in fields(RunState):
            setattr(state, item.name, getattr(copied, item.name))
        state.tick_count, state.last_at = tick_count, now
        for name in self.spec.steps:
            state.steps.setdefault(name, StepRuntime())
        return copied.last_at

    def _event(self, state: RunState, tick: TickEvent, out: list[Command], idle: bool) -> None:
        recoveries: tuple[tuple[str, int], ...] = ()
        if tick.source is not None:
            source = state.invocations.get(tick.source)
            if source is not None:
                recoveries = source.delivery.recoveries
        self.route(state, tick.event, (), recoveries, tick.at, out, target=tick.step, idle=idle)

    def _step_done(self, state: RunState, tick: TickStepDone, out: list[Command]) -> None:
        invocation = self.release(state, tick.invocation, out)
        if invocation is None:
            return
        delivery = invocation.delivery
        forget_collects(state, delivery)
        output = tick.output
        out.append(CommandPublish(not_running(delivery, invocation.worker, output)))
        if output is None:
            dead_end(state, delivery.step, f"step '{delivery.step}' returned None")
        elif isinstance(output, list):
            self.open_stream(
                state, delivery.step, output, delivery.scope, delivery.recoveries, tick.at, out
            )
        else:
            self.route(state, output, delivery.scope, delivery.recoveries, tick.at, out)
        self._settle(state, delivery, tick.at, out)

    def _step_failed(self, state: RunState, tick: TickStepFailed, out: list[Command]) -> None:
        invocation = self.release(state, tick.invocation, out)
        if invocation is None:
            return
        delivery = invocation.delivery
        delivery.attempts += 1
        delivery.last_error = tick.error
        delivery.last_failed_at = tick.at
        out.append(CommandPublish(not_running(delivery, invocation.worker, None, failed=True)))
        if tick.retry_delay is not None and not tick.fatal:
            number = state.next_timer
            state.next_timer = number + 1
            timer_id = retry_timer_id(number)
            delivery.not_before = tick.at + tick.retry_delay
            state.steps[delivery.step].delayed[number] = delivery
            state.timers[timer_id] = RetryTimer(delivery.not_before, delivery.step, number)
            out.append(CommandSchedule(timer_id, delivery.not_before))
            self.fill(state, delivery.step, tick.at, out)
            return  # the retry gets the answers this attempt's collects got
        forget_collects(state, delivery)
        elapsed = tick.at - (delivery.first_attempt_at or tick.at)
        handler = None if tick.fatal else self.spec.handlers.get(delivery.step)
        if handler is not None:
            used = dict(delivery.recoveries).get(handler, 0)
            if used < self.spec.steps[handler].max_recoveries:
                failed = StepFailedEvent(
                    step_name=delivery.step,
                    input_event=trigger_event(delivery.payload),
                    exception=tick.error,
                    attempts=delivery.attempts,
                    elapsed_seconds=elapsed,
                    failed_at=datetime.fromtimestamp(tick.at, UTC),
                )
                recoveries = (
                    *[r for r in delivery.recoveries if r[0] != handler],
                    (handler, used + 1),
                )
                self.enqueue(
                    state,
                    Delivery(handler, failed, delivery.scope, recoveries=recoveries),
                    tick.at,
                    out,
                )
                self._settle(state, delivery, tick.at, out)
                return
        failed_event = WorkflowFailedEvent(
            step_name=delivery.step,
            exception=tick.error,
            attempts=delivery.attempts,
            elapsed_seconds=elapsed,
        )
        state.error_traceback = tick.traceback
        finish(state, "failed", failed_event, tick.error, out)

    # -- routing ----------------------------------------------------------------------------

    def route(
        self,
        state: RunState,
        event: Any,
        scope: Scope,
        recoveries: tuple[tuple[str, int], ...],
        at: float,
        out: list[Command],
        target: str | None = None,
        idle: bool = False,
    ) -> None:
        """Deliver ``event`` to waiters and accepting steps, or report it unhandled.

        ``idle`` says the run was idle when the event arrived (reported on ``UnhandledEvent``).
        """
        if isinstance(event, StopEvent):
            finish(state, "completed", event, None, out)
            return
        human = isinstance(event, InputRequiredEvent)
        if human:
            state.input_requested = True
            out.append(CommandPublish(event))
        skip = self.resolve_waiters(state, event, out) if state.waiters and target is None else ()
        names = (target,) if target is not None else self.router.targets(type(event))
        delivered = bool(skip)
        for name in names:
            if name in skip:
                continue
            step = self.spec.steps[name]
            if step.collect is not None:
                delivered = self.gather(state, name, event, scope, at, out) or delivered
            elif step.slots:
                self.join(state, name, event, scope, recoveries, at, out)
                delivered = True
            else:
                self.enqueue(state, Delivery(name, event, scope, recoveries=recoveries), at, out)
                delivered = True
        if not delivered and not human:
            event_type = type(event)
            out.append(
                CommandPublish(
                    UnhandledEvent(
                        event_type=event_type.__name__,
                        qualified_name=f"{event_type.__module__}.{event_type.__qualname__}",
                        step_name=target,
                        idle=idle,
                    )
                )
            )
            dead_end(state, target or "", f"no step accepts {event_type.__name__}")

    # -- endings ----------------------------------------------------------------------------

    def _settle(self, state: RunState, delivery: Delivery, at: float, out: list[Command]) -> None:
        """The invocation of ``delivery`` is over: drop its lineage hold and refill workers."""
        if state.done:
            return
        if delivery.scope:
            self.hold(state, delivery.scope, -1)
            self.maybe_close(state, delivery.scope[-1][0], at, out)
        self.fill(state, delivery.step, at, out)

    def _idle(self, state: RunState, out: list[Command]) -> None:
        if state.invocations or state.input_requested or self.spec.human_input:
            # Quiet but not stuck: every running step waits for an event, or people may answer.
            state.idle_announced = True
            out.append(CommandPublish(WorkflowIdleEvent()))
            return
        reasons = "; ".join(reason for _, reason in state.dead_ends) or "nothing was produced"
        error = WorkflowStalledError(
            f"Run '{state.run_id}' of workflow '{self.spec.name}' can never finish: no step is "
            f"running or queued and nothing waits for input (last: {reasons}). Make the last step "
            "return a StopEvent, or add a step that accepts the event that went nowhere.",
            run_id=state.run_id,
        )
        step_name = state.dead_ends[-1][0] if state.dead_ends else ""
        failed = WorkflowFailedEvent(step_name=step_name, exception=error)
        finish(state, "failed", failed, error, out)


def fold(reducer: Reducer, ticks: Iterable[Tick], state: RunState | None = None) -> RunState:
    """Rebuild a run's state by reducing ``ticks`` in order (commands are discarded).

    Example:
        >>> state = fold(Reducer(spec), recorded_ticks)  # doctest: +SKIP
    """
    current = state if state is not None else reducer.new_state("")
    for tick in ticks:
        reducer.reduce(current, tick)
    return current
