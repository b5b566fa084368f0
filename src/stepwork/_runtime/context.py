"""``Context``: a run's state store and the services steps and callers use during a run.

One ``Context`` serves a run's steps and its caller alike; whether a call comes from inside a
step is known from the current task (a context variable set when the step starts), so using a
step-only service from outside a step raises ``ContextStateError`` with a message saying where
it may be used.
"""

from __future__ import annotations

import warnings
import zlib
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Generic

from typing_extensions import TypeVar

from stepwork._core.errors import ContextStateError, WorkflowRuntimeError
from stepwork._core.events import Event, StartEvent, StopEvent, WaitTimedOut
from stepwork._core.retry import RetryInfo
from stepwork._core.ticks import TickWait
from stepwork._runtime.context_wiring import ContextWiring
from stepwork._runtime.driver import running_step
from stepwork._runtime.once import journaled_call
from stepwork._runtime.snapshot import dump_snapshot, load_snapshot, state_before_cancel
from stepwork._runtime.state_store import MODEL_T, InMemoryStateStore, infer_state_type
from stepwork._runtime.step_scope import SCOPE

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable

    from stepwork._core.state import RunState
    from stepwork._runtime.handler import WorkflowHandler

__all__ = ["Context"]

E = TypeVar("E", bound=Event)


class Context(Generic[MODEL_T]):
    """The run's context: state store, event sending, streaming, fan-in and human waits.

    Steps receive it through a parameter annotated ``Context`` (or ``Context[MyState]`` for a
    typed state); callers reach it as ``handler.ctx``.

    Args:
        workflow: The workflow this context runs.
        previous_context: A snapshot from :meth:`to_dict` to restore.
        serializer: How the snapshot's state values were written (default
            ``JsonSerializer()``; ``PickleSerializer()`` for a snapshot taken with it).

    Raises:
        ContextSerdeError: If ``previous_context`` is not a valid snapshot.

    Example:
        >>> ctx = Context(MyFlow())                      # doctest: +SKIP
        >>> handler = MyFlow().run(ctx=ctx)              # doctest: +SKIP
        >>> await ctx.store.get("count", default=0)      # doctest: +SKIP
    """

    __stepwork_context__: ClassVar[bool] = True

    def __init__(
        self, workflow: Any, previous_context: dict[str, Any] | None = None, serializer: Any = None
    ) -> None:
        self._workflow = workflow
        definition = workflow.definition()
        self._state_type = infer_state_type(definition.state_types)
        restored: RunState | None = None
        store: InMemoryStateStore[Any] = InMemoryStateStore(self._state_type())
        if previous_context is not None:
            restored, store = load_snapshot(workflow, previous_context, serializer)
        # A journaled run refuses, at the write, a value its journal could not hold; a run
        # without a store accepts any value (a snapshot must then serialise it).
        self._wiring = ContextWiring(
            store,
            restored,
            carry=previous_context is not None,
            strict=getattr(workflow, "store", None) is not None,
        )

    @property
    def wiring(self) -> ContextWiring:
        """How the engine attaches this context to a run (engine-internal, not for steps)."""
        return self._wiring

    # -- state --------------------------------------------------------------------------------

    @property
    def store(self) -> InMemoryStateStore[MODEL_T]:
        """The run's state store: ``await ctx.store.get("a.b", default=0)``, ``set``, ..."""
        store: InMemoryStateStore[MODEL_T] = self._wiring.store
        return store

    @property
    def is_running(self) -> bool:
        """True while a run of this context is in progress (or restored mid-run)."""
        driver = self._wiring.driver
        if driver is not None:  # a run whose journal stopped writing is not running
            return not driver.view.done and driver.writable
        return self._wiring.resumes_restored

    # -- services -----------------------------------------------------------------------------

    def send_event(self, message: Event, step: str | None = None) -> None:
        """Send ``message`` into the run, to every accepting step or only to ``step``.

        Raises:
            ContextStateError: If the context has not been run yet.
            WorkflowRuntimeError: If ``step`` does not exist or does not accept the event, or
                the run has already finished (called from outside a step).
        """
        self._wiring.send(message, step, None)

    def write_event_to_stream(self, ev: Event | None) -> None:
        """Publish ``ev`` to the run's event stream (``None`` is ignored).

        Raises:
            ContextStateError: If called outside a step of this context's run.
        """
        driver, invocation = self._wiring.inside("write_event_to_stream")
        if ev is not None:
            driver.publish(invocation.id, ev)

    def collect_events(
        self, ev: Event, expected: list[type[Event]], buffer_id: str | None = None
    ) -> list[Event] | None:
        """Buffer ``ev``; once one event per entry of ``expected`` is buffered, return them.

        The result is ordered as ``expected``; until then ``None`` is returned.

        Raises:
            ContextStateError: If called outside a step of this context's run.
        """
        driver, invocation = self._wiring.inside("collect_events")
        if not expected:
            return []
        result: list[Event] | None = driver.collect(
            invocation, buffer_id or "default", ev, list(expected)
        )
        return result

    async def wait_for_event(
        self,
        event_type: type[E],
        waiter_event: Event | None = None,
        waiter_id: str | None = None,
        requirements: dict[str, Any] | None = None,
        timeout: float | None = 2000,  # noqa: ASYNC109 - the anchor's signature
    ) -> E:
        """Suspend this step until an event of ``event_type`` matching ``requirements`` arrives.

        ``waiter_event`` (e.g. an ``InputRequiredEvent``) is published once per ``waiter_id``.
        Unlike LlamaIndex Workflows, the step is not re-run from the top: code before the wait
        runs exactly once.

        Raises:
            ContextStateError: If called outside a step of this context's run.
            TimeoutError: If nothing matching arrives within ``timeout`` seconds.
        """
        driver, invocation = self._wiring.inside("wait_for_event")
        pairs = tuple(sorted((requirements or {}).items()))
        key = waiter_id or (
            f"{invocation.delivery.step}:{event_type.__qualname__}:{pairs}:"
            f"{zlib.crc32(repr(invocation.delivery.payload).encode())}"
        )
        future = driver.in_loop(lambda: driver.waits.register(invocation.id, key))
        driver.call_soon(TickWait, invocation.id, key, event_type, pairs, waiter_event, timeout)
        event: E = await future
        if isinstance(event, WaitTimedOut) and event_type is not WaitTimedOut:
            # It timed out before this step ran again (after a resume): the same ending.
            raise TimeoutError(f"Timed out waiting for event (waiter '{key}').")
        return event

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` durably: a wait on a timer that is journaled with the run.

        The wake-up time is fixed when the sleep starts and is wall-clock: it survives a
        restart, and a worker releases the run from memory meanwhile (``docs/scale-out.md``).
        When the step runs again after a resume, a sleep that already ended returns at once
        and one still under way goes on until its original time. As after any resume, the
        step runs again from the top: keep its side effects idempotent (``ctx.step_key``).

        Raises:
            ContextStateError: If called outside a step of this context's run.
        """
        self._wiring.inside("sleep")
        scope = SCOPE.get()
        number = 0
        if scope is not None:
            number, scope.sleeps = scope.sleeps, scope.sleeps + 1
        try:
            await self.wait_for_event(
                WaitTimedOut, waiter_id=f"sleep:{number}", timeout=max(0.0, seconds)
            )
        except TimeoutError:
            return

    async def once(self, name: str, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        """Call ``fn(*args, **kwargs)`` once for this step's delivery and journal its outcome.

        ``fn`` may be async, or sync (it then runs in a worker thread). Its result (JSON, a
        pydantic model, or any value ``ctx.store`` accepts) or its error is journaled under
        this step's delivery (``ctx.step_key``), ``name`` and the call's place among the step's
        journaled calls. When the step runs again after a crash, a takeover or a restore, a
        journaled call returns its result (or raises its error) without calling ``fn``; the
        first call without a journaled outcome runs for real. A retry after the step failed
        calls again. See ``docs/durable-primitives.md``.

        Raises:
            ContextStateError: If called outside a step.
            JournaledCallMismatchError: If the step's journal holds another call at this
                place (its code changed while the run was in flight).
            JournaledResultTooLargeError: If the result is over 1 MiB as JSON.
            StateSerializationError: If the result cannot be written as JSON.
            JournaledCallError: On a re-run, for a journaled error whose class is neither
                a builtin nor stepwork's (it carries the class name and message).
        """
        return await journaled_call(name, fn, args, kwargs)

    async def run_workflow(
        self,
        workflow: Any,
        /,
        start_event: StartEvent | None = None,
        *,
        forward_events: bool = False,
        **start_kwargs: Any,
    ) -> Any:
        """Run ``workflow`` as a journaled child of this step and return its result.

        The child's run id derives from this step's delivery and the call's place among its
        journaled calls, so a step that runs again after a crash finds its child (resumes
        it, or returns its journaled ending) instead of starting another. The child journals
        to this run's store when it has none of its own. It is cancelled if this run ends
        first or this step is cancelled. See ``docs/durable-primitives.md``.

        Args:
            workflow: The child workflow (an instance).
            start_event: Its start event; or pass its fields as keyword arguments.
            forward_events: Also publish the child's stream events to this run's stream.
            **start_kwargs: Fields of the child's start event.

        Raises:
            ContextStateError: If called outside a step.
            JournaledCallMismatchError: If the step's journal holds another call here.
            Exception: The child's error, as awaiting its handler raises it.
        """
        from stepwork._runtime.children import run_child  # loaded by the first child run

        return await run_child(workflow, start_event, start_kwargs, forward_events=forward_events)

    async def start_workflow(
        self,
        workflow: Any,
        /,
        start_event: StartEvent | None = None,
        *,
        forward_events: bool = False,
        **start_kwargs: Any,
    ) -> WorkflowHandler:
        """Start ``workflow`` as a journaled child of this step and return its handler.

        As :meth:`run_workflow`, without waiting for the child: its ending is not journaled
        in this run (a re-run finds the child in the store and gets its handler again). A
        child still running when this run ends is cancelled.

        Raises:
            ContextStateError: If called outside a step.
            JournaledCallMismatchError: If the step's journal holds another call here.
        """
        from stepwork._runtime.children import start_child  # loaded by the first child run

        return await start_child(workflow, start_event, start_kwargs, forward_events=forward_events)

    def retry_info(self) -> RetryInfo:
        """How often the current step invocation has failed before, and the last error.

        Raises:
            ContextStateError: If called outside a step of this context's run.
        """
        driver, invocation = self._wiring.inside("retry_info")
        delivery = invocation.delivery
        if not delivery.attempts:
            return RetryInfo(
                retry_number=0, elapsed_seconds=0.0, last_exception=None, last_failed_at=None
            )
        failed_at = delivery.last_failed_at
        return RetryInfo(
            retry_number=delivery.attempts,
            elapsed_seconds=driver.now() - (delivery.first_attempt_at or driver.now()),
            last_exception=delivery.last_error,  # type: ignore[arg-type]
            last_failed_at=datetime.fromtimestamp(failed_at, UTC) if failed_at else None,
        )

    @staticmethod
    def get_step_context() -> Context[Any]:
        """The context of the step running in the current task.

        Raises:
            WorkflowRuntimeError: If no step is running in the current task.
        """
        current = running_step()
        if current is None:
            raise WorkflowRuntimeError("get_step_context() is only available from within a step.")
        context: Context[Any] = current[0].context
        return context

    async def running_steps(self) -> list[str]:
        """Names of the steps running right now."""
        driver = self._wiring.driver
        return driver.view.active_steps() if driver is not None else []

    async def stream_events(self) -> AsyncGenerator[Event, None]:
        """Every event published by the current run, internal ones included, until it ends.

        Raises:
            ContextStateError: If the context has not been run yet.
        """
        driver = self._wiring.driver
        if driver is None:
            raise ContextStateError("stream_events requires a running workflow. Call run() first.")
        async for _, event in driver.log.follow(0):
            yield event

    # -- snapshots ----------------------------------------------------------------------------

    def to_dict(self, serializer: Any = None, *, include_state: bool = True) -> dict[str, Any]:
        """A JSON-ready snapshot of this context: its state and, mid-run, the run's progress.

        Args:
            serializer: Writes the state's values (default ``JsonSerializer()``; pass
                ``PickleSerializer()`` to keep values JSON cannot hold, for trusted storage).
            include_state: Leave the state out when ``False``.

        Raises:
            StateSerializationError: If a state value cannot be written (the message names its
                key and type); a value under the key ``memory`` is left out with a warning.
        """
        driver = self._wiring.driver
        state = driver.state if driver is not None else self._wiring.restored
        if driver is not None and driver.view.cancelled:
            # A cancelled run's snapshot resumes it where it was, as in LlamaIndex Workflows.
            state = state_before_cancel(
                driver.definition.reducer, driver.run_id, driver.ticks, driver.base_state
            )
        return dump_snapshot(
            self._workflow, state, self._wiring.store if include_state else None, serializer
        )

    @classmethod
    def from_dict(cls, workflow: Any, data: dict[str, Any], serializer: Any = None) -> Context[Any]:
        """Restore a context from :meth:`to_dict`; running it resumes a mid-run snapshot.

        Raises:
            ContextSerdeError: If ``data`` is not a snapshot of this workflow.
        """
        return cls(workflow, previous_context=data, serializer=serializer)

    def get_result(self) -> Any:
        """The finished run's result (deprecated: await the handler instead).

        Raises:
            ContextStateError: If the context has not been run.
            WorkflowRuntimeError: If the run has not finished, or failed.
        """
        warnings.warn(
            "Context.get_result() is deprecated; await the handler returned by Workflow.run().",
            DeprecationWarning,
            stacklevel=2,
        )
        driver = self._wiring.driver
        if driver is None:
            raise ContextStateError("get_result requires a running workflow. Call run() first.")
        view = driver.view
        if not view.done or view.error is not None:
            raise WorkflowRuntimeError(
                "The workflow run has not completed yet: await the handler first."
                if not view.done
                else f"The workflow run failed: {view.error!r}",
                run_id=driver.run_id,
            )
        stop = view.stop_event
        return stop.result if type(stop) is StopEvent else stop

    # -- internals ----------------------------------------------------------------------------

    @property
    def step_key(self) -> str:
        """A key for the current step invocation that stays the same when it runs again.

        After a crash, a step that was running is run again; use this key to de-duplicate its
        side effects (e.g. as an idempotency key for a payment API). Retries of the same
        delivery share the key too.

        Raises:
            ContextStateError: If called outside a step of this context's run.
        """
        driver, invocation = self._wiring.inside("step_key")
        delivery = invocation.delivery
        return f"{driver.run_id}:{delivery.step}:{delivery.key}"
