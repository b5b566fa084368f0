"""The asyncio driver: feeds ticks to the reducer and carries out the commands it returns.

Invariants:
- Every tick goes through :meth:`RunDriver.apply`, which records it before any of its
  commands take effect: the recorded ticks are the run.
- ``apply`` runs on the event loop's thread only; calls from sync steps (worker threads) hop
  onto the loop first.
- A step task is cancelled only by a ``CommandCancelStep``; a cancellation the driver did not
  ask for propagates untouched.
"""

from __future__ import annotations

import asyncio
import random
import sys
import threading
from collections.abc import Callable
from concurrent.futures import Future as ThreadFuture
from contextvars import ContextVar
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

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
from stepwork._core.errors import (
    JournalWriteError,
    StateSerializationError,
    StepTimeoutError,
    WorkflowRuntimeError,
)
from stepwork._core.events import WorkflowFailedEvent
from stepwork._core.retry import compute_retry_delay
from stepwork._core.state import Invocation, RunState
from stepwork._core.ticks import (
    Tick,
    TickEvent,
    TickStart,
    TickStepDone,
    TickStepFailed,
    TickTimer,
)
from stepwork._runtime.clock import Clock, TimerHandle
from stepwork._runtime.instrument_tags import caller_tags, tag_step
from stepwork._runtime.invoke import StepInvoker
from stepwork._runtime.observe import watch
from stepwork._runtime.stream import EventLog
from stepwork._runtime.tracebacks import format_traceback

if TYPE_CHECKING:
    from stepwork._runtime.definition import WorkflowDefinition
    from stepwork._runtime.journal import Journal

__all__ = ["RunDriver", "StepScope", "running_step"]

T = TypeVar("T")


class StepScope:
    """The run and invocation of the step running in a task, forgotten when the step ends.

    Everything scheduled from inside a step (``loop.call_later``, tasks it starts) copies the
    step's ``contextvars`` context and keeps it as long as it lives. The context var therefore
    holds this small box, emptied when the step returns, rather than the driver itself: a timer
    left behind by a step must not keep the run, its context and its workflow alive.
    """

    __slots__ = ("value",)

    def __init__(self, driver: RunDriver, invocation: Invocation) -> None:
        self.value: tuple[RunDriver, Invocation] | None = (driver, invocation)


_SCOPE: ContextVar[StepScope | None] = ContextVar("stepwork_current_step", default=None)


def running_step() -> tuple[RunDriver, Invocation] | None:
    """The driver and invocation of the step running in this task, or ``None`` outside steps."""
    scope = _SCOPE.get()
    return None if scope is None else scope.value


class RunDriver:
    """Executes one run: the reducer decides, the driver does.

    Args:
        definition: The workflow class's steps, spec and reducer.
        workflow: The workflow instance whose steps run.
        context: The ``Context`` handed to steps.
        run_id: The run's id.
        state: The state to start from (fresh, or restored from a snapshot).
        clock: Source of time and timers.
        on_finish: Called once with ``(stop_event, error)`` when the run ends.
        journal: For a durable run, where ticks are written before their effects.
    """

    def __init__(
        self,
        definition: WorkflowDefinition,
        workflow: Any,
        context: Any,
        run_id: str,
        state: RunState,
        clock: Clock,
        on_finish: Callable[[Any, BaseException | None], None],
        journal: Journal | None = None,
    ) -> None:
        self.definition = definition
        self.workflow = workflow
        self.context = context
        self.run_id = run_id
        self.state = state
        self.clock = clock
        self.reducer = definition.reducer
        self.ticks: list[Tick] = []
        self._caller_tags = caller_tags()
        self.log = EventLog()
        self.journal = journal
        if journal is not None:
            journal.on_failure = self._journal_failed
        self.observer = watch(self, journal)
        self.loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._on_finish = on_finish
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._timers: dict[str, TimerHandle] = {}
        self._waits: dict[tuple[int, str], asyncio.Future[Any]] = {}
        self._reply: Any = None
        self._invokers: dict[str, StepInvoker] = definition.invokers
        self._verbose = bool(getattr(workflow, "_verbose", False))
        self._execute = {
            CommandRunStep: self._run_step,
            CommandPublish: self._publish,
            CommandCancelStep: self._cancel_step,
            CommandSchedule: self._schedule,
            CommandCancelTimer: self._cancel_timer,
            CommandResolveWaiter: self._resolve_waiter,
            CommandCollected: self._collected,
            CommandFinish: self._finish,
        }

    # -- the one entry point for ticks -------------------------------------------------------

    def apply(self, tick: Tick) -> None:
        """Record ``tick``, reduce it, and carry out the resulting commands in order.

        With a journal, the commands run only once the tick is written to the store (an
        answer to ``collect_events`` excepted: it goes back to a step that is still running).

        Raises:
            StateSerializationError: With a journal, if something in the tick cannot be
                written as JSON (a step's returned event fails the step instead).
        """
        journal = self.journal
        if journal is None:
            self.ticks.append(tick)
            execute = self._execute
            for command in self.reducer.reduce(self.state, tick):
                execute[type(command)](command)  # type: ignore[operator]
            return
        try:
            record = journal.record(tick)
        except StateSerializationError as error:
            invocation = self.state.invocations.get(getattr(tick, "invocation", -1))
            if not isinstance(tick, TickStepDone) or invocation is None:
                raise
            self._failed(invocation, _returned_unjournalable(invocation, error, self.run_id))
            return
        self.ticks.append(tick)
        later: list[Command] = []
        for command in self.reducer.reduce(self.state, tick):
            if type(command) is CommandCollected:
                self._collected(command)
            else:
                later.append(command)
        journal.stage(record, later, self.state, self._execute_all, self.clock.now())

    def _execute_all(self, commands: list[Command]) -> None:
        execute = self._execute
        for command in commands:
            execute[type(command)](command)  # type: ignore[operator]

    def start(self, start_event: Any, timeout: float | None, base: RunState | None = None) -> None:
        """Begin the run (``start_event``) or resume it (``None``), from ``base`` if given."""
        if self.observer is not None:
            name = self.workflow.workflow_name
            self.observer.run_started(self.run_id, name, resumed=start_event is None)
        self.apply(TickStart(self.clock.now(), self.run_id, start_event, timeout, base))

    def call_soon(self, kind: Callable[..., Tick], *fields: Any) -> None:
        """Apply ``kind(now, *fields)`` on the loop's thread (hopping there from a sync step)."""
        if threading.get_ident() == self._thread:
            self.apply(kind(self.clock.now(), *fields))
        else:
            self.in_loop(lambda: self.apply(kind(self.clock.now(), *fields)))

    def in_loop(self, call: Callable[[], T]) -> T:
        """Run ``call`` on the loop's thread and return its result (for sync steps)."""
        if threading.get_ident() == self._thread:
            return call()
        done: ThreadFuture[T] = ThreadFuture()

        def run() -> None:
            try:
                done.set_result(call())
            except BaseException as error:  # handed back to the calling thread
                done.set_exception(error)

        self.loop.call_soon_threadsafe(run)
        return done.result()

    def now(self) -> float:
        """The run clock's time."""
        return self.clock.now()

    def _say(self, invocation: Invocation, what: str) -> None:
        # verbose=True writes progress lines to stdout, as LlamaIndex Workflows' print() does.
        sys.stdout.write(f"[{invocation.delivery.step}:{invocation.worker}] {what}\n")

    # -- commands ---------------------------------------------------------------------------

    def _run_step(self, command: CommandRunStep) -> None:
        invocation = command.invocation
        if self._verbose:
            self._say(invocation, f"started from {_payload_name(invocation.delivery.payload)}")
        task = self.loop.create_task(self._invoke(invocation))
        self._tasks[invocation.id] = task

    def _publish(self, command: CommandPublish) -> None:
        self.log.append(command.event)

    def _cancel_step(self, command: CommandCancelStep) -> None:
        task = self._tasks.pop(command.invocation, None)
        if task is not None:
            task.cancel()
        invocation = self.state.invocations.get(command.invocation)
        if command.timed_out and invocation is not None:
            # The task may not even have started, so its own code cannot report the timeout.
            self.loop.call_soon(self._step_timed_out, invocation)

    def _step_timed_out(self, invocation: Invocation) -> None:
        step_name = invocation.delivery.step
        error = StepTimeoutError(
            f"Step '{step_name}' did not finish within its timeout of "
            f"{self._invokers[step_name].timeout} seconds.",
            run_id=self.run_id,
            step_name=step_name,
        )
        self._failed(invocation, error)

    def _schedule(self, command: CommandSchedule) -> None:
        self._timers[command.timer_id] = self.clock.call_at(
            command.at, partial(self._fire, command.timer_id)
        )

    def _fire(self, timer_id: str) -> None:
        if self._timers.pop(timer_id, None) is not None:
            self.apply(TickTimer(self.clock.now(), timer_id))

    def _cancel_timer(self, command: CommandCancelTimer) -> None:
        handle = self._timers.pop(command.timer_id, None)
        if handle is not None:
            handle.cancel()

    def _resolve_waiter(self, command: CommandResolveWaiter) -> None:
        waiter = self._waits.pop((command.invocation, command.waiter_id), None)
        if waiter is None or waiter.done():
            return
        if self.observer is not None:
            answered = command.event is not None
            self.observer.wait_ended(self.run_id, command.invocation, command.waiter_id, answered)
        if command.event is None:
            waiter.set_exception(
                TimeoutError(f"Timed out waiting for event (waiter '{command.waiter_id}').")
            )
        else:
            waiter.set_result(command.event)

    def _collected(self, command: CommandCollected) -> None:
        self._reply = command.events

    def _journal_failed(self, error: BaseException) -> None:
        self._stop_work(steps=True)
        self._finish(CommandFinish(WorkflowFailedEvent(step_name="", exception=error), error))

    def _finish(self, command: CommandFinish) -> None:
        self._stop_work(steps=False)
        if self.observer is not None:
            status = self.state.status if self.state.done else "failed"
            self.observer.run_ended(self.run_id, status, command.error)
        self._on_finish(command.stop_event, command.error)

    def _stop_work(self, *, steps: bool) -> None:
        """Cancel timers and waits (and, if ``steps``, running steps) in memory; close the log."""
        if steps:
            # Popped before cancelling: a step cancelled from outside would fail the run.
            tasks = list(self._tasks.values())
            self._tasks.clear()
            for task in tasks:
                task.cancel()
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        for waiter in self._waits.values():
            waiter.cancel()
        self._waits.clear()
        self.log.close()

    def detach(self, reason: BaseException) -> None:
        """Let go of the run in this process without writing anything more to its journal.

        Steps, timers and waits stop in memory only; the journal keeps what was written, so the
        run resumes from there (in another process, or after a restart). The handler stays
        pending and the event log is closed, so readers stop. ``reason`` becomes the journal's
        failure, so nothing staged later is written.
        """
        if self.journal is not None and self.journal.failure is None:
            self.journal.failure = reason
        self._stop_work(steps=True)
        if self.observer is not None:
            self.observer.run_ended(self.run_id, "detached", reason)

    @property
    def writable(self) -> bool:
        """False once the journal has stopped writing (it failed, or the run was detached)."""
        return self.journal is None or self.journal.failure is None

    def check_writable(self) -> None:
        """Refuse outside input once the journal has stopped writing: it would never be stored.

        Raises:
            JournalWriteError: Naming the run, caused by the journal's failure.
        """
        failure = self.journal.failure if self.journal is not None else None
        if failure is not None:
            raise JournalWriteError(
                f"Run '{self.run_id}' stopped writing its journal, so nothing more can be sent "
                f"into it here: {failure}",
                run_id=self.run_id,
            ) from failure

    def has_sent(self, idempotency_key: str) -> bool:
        """True if an event sent with ``idempotency_key`` is among the run's ticks."""
        return any(
            type(tick) is TickEvent and tick.idempotency_key == idempotency_key
            for tick in self.ticks
        )

    @property
    def busy(self) -> bool:
        """True while a step is running (not merely waiting for an event) or the journal has
        a write in flight."""
        if self.journal is not None and self.journal.writing:
            return True
        state = self.state
        if state.done:
            return False
        waiting = {waiter.invocation for waiter in state.waiters.values()}
        return any(number not in waiting for number in state.invocations)

    # -- in-step services -------------------------------------------------------------------

    def collect(self, tick_factory: Callable[[], Tick]) -> Any:
        """Apply a ``TickCollect`` and return the reducer's answer."""
        return self.in_loop(lambda: self._apply_and_reply(tick_factory()))

    def _apply_and_reply(self, tick: Tick) -> Any:
        self._reply = None
        self.apply(tick)
        reply, self._reply = self._reply, None
        return reply

    def register_wait(self, invocation: int, waiter_id: str) -> asyncio.Future[Any]:
        """A future resolved when the reducer wakes waiter ``waiter_id`` of ``invocation``."""
        future: asyncio.Future[Any] = self.loop.create_future()
        self._waits[(invocation, waiter_id)] = future
        if self.observer is not None:
            self.observer.wait_started(self.run_id, invocation, waiter_id)
        return future

    # -- running a step ---------------------------------------------------------------------

    async def _invoke(self, invocation: Invocation) -> None:
        scope = StepScope(self, invocation)
        _SCOPE.set(scope)
        tag_step(self._caller_tags, self.run_id, invocation.delivery.payload)
        invoker = self._invokers[invocation.delivery.step]
        observer = self.observer
        seen = None
        if observer is not None:
            delivery = invocation.delivery
            seen = observer.step_attempt_started(
                self.run_id, delivery.step, invocation.id, delivery.attempts + 1
            )
        try:
            try:
                result = await invoker.call(self, invocation)
            finally:
                scope.value = None
                if observer is not None:
                    observer.step_code_left(seen)
        except asyncio.CancelledError:
            if self._tasks.pop(invocation.id, None) is not None:
                # Cancelled by someone other than the driver: end the run rather than hang.
                error = WorkflowRuntimeError(
                    f"Step '{invocation.delivery.step}' was cancelled from outside the run.",
                    run_id=self.run_id,
                    step_name=invocation.delivery.step,
                )
                tick = TickStepFailed(
                    self.clock.now(), invocation.id, error, None, True, invocation.delivery.step
                )
                self.loop.call_soon(self.apply, tick)
            raise
        except Exception as error:
            self._tasks.pop(invocation.id, None)
            if self._verbose:
                self._say(invocation, f"failed with {type(error).__name__}: {error}")
            self._failed(invocation, error)
            return
        self._tasks.pop(invocation.id, None)
        if self._verbose:
            self._say(invocation, f"complete with {type(result).__name__}")
        problem = invoker.check_result(result)
        if problem is not None:
            self._failed(invocation, problem)
        else:
            # Ended before a run without journal can finish in apply; with one, after apply,
            # which fails the attempt instead if the journal refuses the result.
            late = self.journal is not None
            if observer is not None and not late:
                observer.step_attempt_ended(self.run_id, invocation.id, None, None)
            self.apply(
                TickStepDone(self.clock.now(), invocation.id, result, invocation.delivery.step)
            )
            if observer is not None and late:
                observer.step_attempt_ended(self.run_id, invocation.id, None, None)

    def _failed(self, invocation: Invocation, error: BaseException) -> None:
        delivery = invocation.delivery
        now = self.clock.now()
        policy = self._invokers[delivery.step].retry_policy
        delay = None
        fatal = False
        if policy is not None and isinstance(error, Exception):
            try:
                delay = compute_retry_delay(
                    policy,
                    elapsed=now - (delivery.first_attempt_at or now),
                    attempts=delivery.attempts + 1,
                    error=error,
                    # A fresh seed per failure: each attempt and each invocation draws its own
                    # jittered delay. The delay is journaled with the tick, so replay needs no seed.
                    seed=random.getrandbits(32),
                )
            except Exception as policy_error:
                policy_error.__cause__ = error
                error, fatal = policy_error, True
        if self.observer is not None:
            retry = None if fatal else delay
            self.observer.step_attempt_ended(self.run_id, invocation.id, error, retry)
        self.apply(
            TickStepFailed(
                now, invocation.id, error, delay, fatal, delivery.step, format_traceback(error)
            )
        )


def _returned_unjournalable(
    invocation: Invocation, error: StateSerializationError, run_id: str
) -> StateSerializationError:
    step_name = invocation.delivery.step
    named = StateSerializationError(
        f"Step {step_name!r} returned what the journal cannot hold: {error}",
        run_id=run_id,
        step_name=step_name,
    )
    named.__cause__ = error
    return named


def _payload_name(payload: Any) -> str:
    if isinstance(payload, list):
        return f"list of {len(payload)}"
    if isinstance(payload, dict):
        return " + ".join(type(value).__name__ for value in payload.values())
    return type(payload).__name__
