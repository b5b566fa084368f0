"""The asyncio driver: feeds ticks to the reducer and carries out the commands it returns.

Invariants:
- Every tick goes through :meth:`RunDriver.apply`, which records it before any of its
  commands take effect: the recorded ticks are the run. The one answer that can go back before
  its tick is written is a ``collect_events`` result to a step on the loop's thread (a
  synchronous call cannot wait for the store); whatever that step does with it reaches the
  journal after the collect tick.
- Commands are dispatched by one ``match`` ending in ``assert_never`` (the two most frequent
  kinds are tested by identity first, for speed; the match still names every kind).
- Every ending goes through the reducer, a journal failure included, so the run's state, its
  context and its handler agree on whether it is over.
- ``apply`` runs on the event loop's thread only; calls from sync steps (worker threads) hop
  onto the loop first.
- A step task is cancelled only by a ``CommandCancelStep``; a cancellation the driver did not
  ask for propagates untouched.

The driver carries out commands; two jobs it hands on: running a step's attempt and turning
its outcome into a tick (``step_tasks.StepTasks``, ``driver.steps``), and the futures of steps
waiting for an event (``step_waits.StepWaits``, ``driver.waits``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future as ThreadFuture
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, assert_never

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
from stepwork._core.envelope import TickEnvelope, TickLog
from stepwork._core.errors import JournalWriteError, StateSerializationError
from stepwork._core.state import Invocation, RunState
from stepwork._core.ticks import (
    Tick,
    TickEvent,
    TickPublish,
    TickStart,
    TickStepDone,
    TickTimer,
)
from stepwork._runtime.clock import Clock, TimerHandle
from stepwork._runtime.collector import collect
from stepwork._runtime.envelopes import Stamper
from stepwork._runtime.observe import watch
from stepwork._runtime.run_view import RunView
from stepwork._runtime.step_failure import returned_unjournalable
from stepwork._runtime.step_owner import StepOwner
from stepwork._runtime.step_scope import StepScope, running_step
from stepwork._runtime.step_tasks import StepTasks
from stepwork._runtime.step_waits import StepWaits
from stepwork._runtime.stream import EventLog
from stepwork._runtime.trace_journal import open_segment

if TYPE_CHECKING:
    from stepwork._runtime.context import Context
    from stepwork._runtime.definition import WorkflowDefinition
    from stepwork._runtime.journal import Journal

__all__ = ["RunDriver", "StepOwner", "StepScope", "running_step"]  # scope names re-exported

T = TypeVar("T")


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

    Attributes:
        ticks: The run's tick log: its ticks in order, each in the envelope it was recorded
            in (``ticks.envelopes``). A run resumed from a checkpoint holds the ticks after
            it only (``ticks.start`` is the seq of the first).
        stamper: Puts each tick in its envelope (writer, lease epoch, metadata).
        steps: The tasks of the run's running steps (``StepTasks``).
        waits: The steps waiting for an event (``StepWaits``).
        sent_before: Idempotency keys of events sent in before ``ticks.start``.
        base_state: Builds a fresh copy of the state before ``ticks.start`` (the checkpoint
            the run was rebuilt from); ``None`` when the log starts at the run's first tick.
    """

    def __init__(
        self,
        definition: WorkflowDefinition,
        workflow: StepOwner,
        context: Context[Any],
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
        self.ticks = TickLog()
        self.sent_before: frozenset[str] = frozenset()
        self.base_state: Callable[[], RunState] | None = None
        self.stamper = Stamper()
        self.steps = StepTasks(self, definition.invokers, verbose=workflow.verbose)
        self.waits = StepWaits(self)
        self.log = EventLog()
        self.journal = journal
        if journal is not None:
            journal.on_failure = self._journal_failed
        self.observer = watch(self, journal)
        self.loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._on_finish = on_finish
        self._timers: dict[str, TimerHandle] = {}
        self._ended = False
        self._answers: set[asyncio.Task[Any]] = set()
        self.lease_check: Callable[[], BaseException | None] | None = None
        """Asked before each step's code starts (set by ``lease.hold_run``; ``None`` for a
        run without lease): an error when this process may no longer hold the run, which then
        stops here instead."""

    # -- the one entry point for ticks -------------------------------------------------------

    def apply(self, tick: Tick, consumed: Sequence[int] = ()) -> list[Command]:
        """Record ``tick``, reduce it, and carry out the resulting commands in order.

        With a journal, the commands run only once the tick is written to the store, with
        the deletion of the inbox messages it took in (``consumed``).

        Returns:
            The reducer's commands for the tick (``[]`` if the tick was turned into a failure
            of its step because the journal cannot hold it).

        Raises:
            StateSerializationError: With a journal, if something in the tick cannot be
                written as JSON (a step's returned event fails the step instead).
        """
        journal = self.journal
        stamp = self.stamper.stamp_of(tick)
        if journal is None:
            self.ticks.add(tick, stamp)
            commands = self.reducer.reduce(self.state, tick)
            self.execute(commands)
            return commands
        envelope = TickEnvelope(tick, *stamp)
        try:
            record = journal.record(envelope)
        except StateSerializationError as error:
            invocation = self.state.invocations.get(getattr(tick, "invocation", -1))
            if not isinstance(tick, TickStepDone) or invocation is None:
                raise
            self.steps.failed(invocation, returned_unjournalable(invocation, error, self.run_id))
            return []
        self.ticks.add(tick, stamp)
        commands = self.reducer.reduce(self.state, tick)
        journal.stage(record, commands, self.state, self.execute, self.clock.now(), consumed)
        return commands

    def execute(self, commands: list[Command]) -> None:
        """Carry out ``commands`` in order."""
        for command in commands:
            # The two most frequent kinds first, by identity: cheaper than match's class tests.
            if type(command) is CommandPublish:
                self._publish(command)
                continue
            if type(command) is CommandRunStep:
                self.steps.start(command.invocation)
                continue
            match command:
                case CommandPublish():
                    self._publish(command)
                case CommandRunStep():
                    self.steps.start(command.invocation)
                case CommandCancelStep():
                    self._cancel_step(command)
                case CommandSchedule():
                    self._schedule(command)
                case CommandCancelTimer():
                    self._cancel_timer(command)
                case CommandResolveWaiter():
                    self.waits.resolve(command)
                case CommandCollected():
                    pass  # answered by ``collect``, which reads it from ``apply``'s result
                case CommandFinish():
                    self._finish(command)
                case _:
                    assert_never(command)

    def start(self, start_event: Any, timeout: float | None, base: RunState | None = None) -> None:
        """Begin the run (``start_event``) or resume it (``None``), from ``base`` if given."""
        if self.observer is not None:  # under the journaled trace; the start tick carries it
            open_segment(self, self.observer, resumed=start_event is None)
        self.apply(TickStart(self.clock.now(), self.run_id, start_event, timeout, base))

    def call_soon(self, kind: Callable[..., Tick], *fields: Any) -> None:
        """Apply ``kind(now, *fields)`` on the loop's thread (hopping there from a sync step)."""
        if threading.get_ident() == self._thread:
            self.apply(kind(self.clock.now(), *fields))
        else:
            self.in_loop(lambda: self.apply(kind(self.clock.now(), *fields)))

    def publish(self, invocation: int, event: Any) -> None:
        """Apply the ``TickPublish`` of ``event`` written by ``invocation``: ``call_soon``
        without its generic call, as a step may write thousands of events."""
        if threading.get_ident() == self._thread:
            self.apply(TickPublish(self.clock.now(), invocation, event))
        else:
            self.call_soon(TickPublish, invocation, event)

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

    # -- commands ---------------------------------------------------------------------------

    def _publish(self, command: CommandPublish) -> None:
        if self.journal is not None and self.journal.failure is not None:
            return  # never show a reader following by offset an event the store does not have
        self.log.append(command.event)

    def _cancel_step(self, command: CommandCancelStep) -> None:
        self.steps.cancel(command.invocation)
        invocation = self.state.invocations.get(command.invocation)
        if command.timed_out and invocation is not None:
            # The task may not even have started, so its own code cannot report the timeout.
            self.loop.call_soon(self.steps.timed_out, invocation)

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

    def _journal_failed(self, error: BaseException) -> None:
        if self._ended:
            self._stop_work(steps=True)  # the ending was written; a later write failed
            return
        self.execute(self.reducer.stop_unwritable(self.state, error))

    def lease_lost(self, error: BaseException) -> None:
        """Another process holds the run now: stop its work here at once (steps, timers,
        waits) and end the handler with ``error``; the journal writes nothing more."""
        if self.journal is not None and self.journal.failure is None:
            self.journal.failure = error
        self._journal_failed(error)

    def _finish(self, command: CommandFinish) -> None:
        self._ended = True
        self._stop_work(steps=False)
        if self.observer is not None:
            status = self.state.status if self.state.done else "failed"
            self.observer.run_ended(self.run_id, status, command.error)
        self._on_finish(command.stop_event, command.error)

    def _stop_work(self, *, steps: bool) -> None:
        """Cancel timers and waits (and, if ``steps``, running steps) in memory; close the log."""
        if steps:
            self.steps.cancel_all()
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self.waits.cancel_all()
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
    def view(self) -> RunView:
        """Read-only questions about the run's state (is it over, how did it end)."""
        return RunView(self.state)

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
        return idempotency_key in self.sent_before or any(
            type(tick) is TickEvent and tick.idempotency_key == idempotency_key
            for tick in self.ticks
        )

    @property
    def busy(self) -> bool:
        """True while a step is running (not merely waiting for an event) or the journal has
        a write in flight."""
        if self.journal is not None and self.journal.writing:
            return True
        return self.state.has_running_step()

    # -- in-step services -------------------------------------------------------------------

    def collect(
        self, invocation: Invocation, buffer_id: str, event: Any, expected: list[type]
    ) -> list[Any] | None:
        """Apply a ``TickCollect`` and return what the reducer released (``None``: not yet);
        see :func:`~stepwork._runtime.collector.collect`."""
        return collect(self, invocation, buffer_id, event, expected)

    def on_loop_thread(self) -> bool:
        """True when called on the thread of the run's event loop."""
        return threading.get_ident() == self._thread

    def keep(self, task: asyncio.Task[Any]) -> None:
        """Hold a reference to ``task`` until it ends (the loop holds tasks weakly)."""
        self._answers.add(task)
        task.add_done_callback(self._answers.discard)
