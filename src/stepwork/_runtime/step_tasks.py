"""The tasks of a run's steps: one per ``CommandRunStep``, each attempt's outcome as a tick.

The driver decides nothing here and neither does this module: the reducer chose the step and
its invocation; :class:`StepTasks` runs the step's code in an asyncio task (a sync step in a
worker thread, through its ``StepInvoker``), and turns what happened into the tick the reducer
folds next: ``TickStepDone`` for a return value, ``TickStepFailed`` (with the retry policy's
decision) for an error, a bad return value, a step timeout or a cancellation nobody asked for.

Invariants:
- A task is in the table from its start until its outcome is known; only the driver's
  :meth:`StepTasks.cancel` (a ``CommandCancelStep``) and :meth:`StepTasks.cancel_all` take it
  out before, so a task that finds itself cancelled while still in the table was cancelled
  from outside the run, which fails the run rather than leaving it hanging.
- A step does not start once this process may no longer hold the run (``lease_check``).
- Observers see an attempt start, leave the step's code and end; with a journal, the end comes
  after ``apply`` of the done tick, which fails the attempt instead if the journal refuses it.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING, Any

from stepwork._core.errors import StepTimeoutError, WorkflowRuntimeError
from stepwork._core.state import Invocation
from stepwork._core.ticks import TickStepDone, TickStepFailed
from stepwork._runtime.instrument_tags import DISPATCHER, caller_tags, tag_step
from stepwork._runtime.invoke import StepInvoker
from stepwork._runtime.step_failure import failure_tick
from stepwork._runtime.step_scope import SCOPE, StepScope

if TYPE_CHECKING:
    from stepwork._runtime.driver import RunDriver

__all__ = ["StepTasks"]


class StepTasks:
    """The running steps of ``driver``'s run.

    Args:
        driver: The run's driver: its clock, loop, journal, observer, lease check and
            ``apply``, and what steps are handed (``StepScope``, ``StepInvoker.call``).
        invokers: How to call each step, by step name.
        verbose: Write a progress line to stdout as each step starts and ends.
    """

    def __init__(
        self, driver: RunDriver, invokers: dict[str, StepInvoker], *, verbose: bool
    ) -> None:
        self.driver = driver
        self.invokers = invokers
        self.verbose = verbose
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._caller_tags = caller_tags()

    def start(self, invocation: Invocation) -> None:
        """Start ``invocation``'s attempt in a task of the run's loop."""
        if self.verbose:
            self._say(invocation, f"started from {_payload_name(invocation.delivery.payload)}")
        self._tasks[invocation.id] = self.driver.loop.create_task(self._invoke(invocation))

    def cancel(self, invocation_id: int) -> None:
        """Cancel the task of ``invocation_id``, if it is still running."""
        task = self._tasks.pop(invocation_id, None)
        if task is not None:
            task.cancel()

    def cancel_all(self) -> None:
        """Cancel every running step's task."""
        # Taken out before cancelling: a step cancelled from outside would fail the run.
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()

    def timed_out(self, invocation: Invocation) -> None:
        """Fail ``invocation`` with ``StepTimeoutError`` (its step timer fired)."""
        step_name = invocation.delivery.step
        error = StepTimeoutError(
            f"Step '{step_name}' did not finish within its timeout of "
            f"{self.invokers[step_name].timeout} seconds.",
            run_id=self.driver.run_id,
            step_name=step_name,
        )
        self.failed(invocation, error)

    def failed(self, invocation: Invocation, error: BaseException) -> None:
        """Apply ``invocation``'s failure with ``error``, retried as its step's policy says."""
        driver = self.driver
        policy = self.invokers[invocation.delivery.step].retry_policy
        tick = failure_tick(invocation, error, policy, driver.clock.now())
        if driver.observer is not None:
            retry = None if tick.fatal else tick.retry_delay
            driver.observer.step_attempt_ended(driver.run_id, invocation.id, tick.error, retry)
        driver.apply(tick)

    def _say(self, invocation: Invocation, what: str) -> None:
        # verbose=True writes progress lines to stdout, as LlamaIndex Workflows' print() does.
        sys.stdout.write(f"[{invocation.delivery.step}:{invocation.worker}] {what}\n")

    async def _invoke(self, invocation: Invocation) -> None:
        driver = self.driver
        if driver.lease_check is not None:
            lapsed = driver.lease_check()
            if lapsed is not None:  # never start a step another process may be running already
                driver.lease_lost(lapsed)
                return
        scope = StepScope(driver, invocation)
        SCOPE.set(scope)
        if DISPATCHER in sys.modules:
            tag_step(self._caller_tags, driver.run_id, invocation.delivery.payload)
        invoker = self.invokers[invocation.delivery.step]
        observer = driver.observer
        seen = None
        if observer is not None:
            delivery = invocation.delivery
            seen = observer.step_attempt_started(
                driver.run_id, delivery.step, invocation.id, delivery.attempts + 1
            )
        try:
            try:
                result = scope.output = await invoker.call(driver, invocation)
            finally:
                scope.value = None
                if observer is not None:
                    observer.step_code_left(seen)
        except asyncio.CancelledError:
            if self._tasks.pop(invocation.id, None) is not None:
                # Cancelled by someone other than the driver: end the run rather than hang.
                error = WorkflowRuntimeError(
                    f"Step '{invocation.delivery.step}' was cancelled from outside the run.",
                    run_id=driver.run_id,
                    step_name=invocation.delivery.step,
                )
                tick = TickStepFailed(
                    driver.clock.now(), invocation.id, error, None, True, invocation.delivery.step
                )
                driver.loop.call_soon(driver.apply, tick)
            raise
        except Exception as error:
            self._tasks.pop(invocation.id, None)
            if self.verbose:
                self._say(invocation, f"failed with {type(error).__name__}: {error}")
            self.failed(invocation, error)
            return
        self._tasks.pop(invocation.id, None)
        if self.verbose:
            self._say(invocation, f"complete with {type(result).__name__}")
        problem = invoker.check_result(result)
        if problem is not None:
            self.failed(invocation, problem)
        else:
            # Ended before a run without journal can finish in apply; with one, after apply,
            # which fails the attempt instead if the journal refuses the result.
            late = driver.journal is not None
            if observer is not None and not late:
                observer.step_attempt_ended(driver.run_id, invocation.id, None, None)
            driver.apply(
                TickStepDone(driver.clock.now(), invocation.id, result, invocation.delivery.step)
            )
            if observer is not None and late:
                observer.step_attempt_ended(driver.run_id, invocation.id, None, None)


def _payload_name(payload: Any) -> str:
    if isinstance(payload, list):
        return f"list of {len(payload)}"
    if isinstance(payload, dict):
        return " + ".join(type(value).__name__ for value in payload.values())
    return type(payload).__name__
