"""LlamaIndex instrumentation for runs: the spans and events LlamaIndex Workflows emits.

Handlers written for LlamaIndex Workflows (``openinference-instrumentation-llama-index``,
Langfuse's, any ``BaseSpanHandler`` / ``BaseEventHandler`` on the root dispatcher) see stepwork
runs as they saw the anchor's. What is emitted was found black-box, by attaching handlers to the
root dispatcher and running programs on the anchor:

- a run span ``<Workflow>.run-<uuid>``, parented to the span active when ``run()`` is called,
  ``instance`` the workflow, no tags; it ends with a ``WorkflowRunOutputEvent`` (class name
  ``workflow.output``) and exit with the ``StopEvent``, or a ``SpanDropEvent`` and drop with the
  error, or a ``SpanCancelledEvent`` (``workflow cancelled by user``) and exit with ``None``;
- a span per step attempt ``<step's __qualname__>-<uuid>``, child of the run span, tagged with
  ``llamaindex.run_id``, ``llamaindex.step.input_event`` and ``llamaindex.step.input_summary``
  (plus the caller's tags), active while the step's code runs so spans opened inside it nest;
  it ends with a ``WorkflowStepOutputEvent`` (``step.output``) when the step returned an event,
  then exit with the output; a failed attempt with ``SpanDropEvent`` and drop (each retry gets
  a span of its own); a step stopped by the run's end with ``SpanCancelledEvent``
  (``step cancelled``) and exit with ``None``;
- ``ctx.wait_for_event``: the anchor ends the step's span with ``None`` and runs the step again
  from the top when the answer arrives; stepwork suspends the step instead, but emits the same
  shape (the span exits at the wait and a new one starts at the answer).

Imported only once the program has imported ``llama_index_instrumentation`` and a run starts
while some dispatcher handler other than the null ones listens (see :func:`llama_observer`), so
a program that attached no handler pays one check per run start. The event classes are
stepwork's own with the anchor's class names and ``class_name()``: handlers that match on those
see them, ``isinstance`` against the anchor's classes does not.
"""

from __future__ import annotations

import inspect
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from llama_index_instrumentation import get_dispatcher
from llama_index_instrumentation.base import BaseEvent
from llama_index_instrumentation.dispatcher import Dispatcher, active_instrument_tags
from llama_index_instrumentation.event_handlers.null import NullEventHandler
from llama_index_instrumentation.events.span import SpanDropEvent
from llama_index_instrumentation.span import active_span_id
from llama_index_instrumentation.span_handlers.null import NullSpanHandler

from stepwork._core.events import Event, StopEvent
from stepwork._runtime.instrument_tags import summary
from stepwork._runtime.step_scope import NOT_RETURNED, SCOPE, running_step

if TYPE_CHECKING:
    from stepwork._runtime.driver import RunDriver

__all__ = [
    "LlamaObserver",
    "SpanCancelledEvent",
    "WorkflowRunOutputEvent",
    "WorkflowStepOutputEvent",
    "listening",
]

DISPATCHER_NAME = "workflows.workflow"
"""The anchor's dispatcher name, so handlers attached to it (not only to the root) see runs."""


class WorkflowStepOutputEvent(BaseEvent):
    """A step returned an event: ``output`` is its summary (``Name(field=value, ...)``)."""

    output: str

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex Workflows gives this event."""
        return "step.output"


class WorkflowRunOutputEvent(BaseEvent):
    """A run ended with a ``StopEvent``: ``output`` is its summary."""

    output: str

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex Workflows gives this event."""
        return "workflow.output"


class SpanCancelledEvent(BaseEvent):
    """A span ended because its work was cancelled (``reason`` says why)."""

    reason: str

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex Workflows gives this event."""
        return "SpanCancelledEvent"


def listening(dispatcher: Dispatcher | None = None) -> bool:
    """Whether any handler but the null ones would receive what ``dispatcher`` emits."""
    current: Dispatcher | None = dispatcher or get_dispatcher(DISPATCHER_NAME)
    while current is not None:
        for handler in current.span_handlers:
            if not isinstance(handler, NullSpanHandler):
                return True
        for event_handler in current.event_handlers:
            if not isinstance(event_handler, NullEventHandler):
                return True
        current = current.parent if current.propagate else None
    return False


@dataclass
class _Step:
    """The open span of one step invocation."""

    step: str
    span_id: str
    bound: inspect.BoundArguments
    tags: dict[str, Any]
    token: Any = None


@dataclass
class _Run:
    span_id: str
    tags: dict[str, Any]
    stop: Any = None
    steps: dict[int, _Step] = field(default_factory=dict)


class LlamaObserver:
    """Emits one run's spans and events through the anchor's dispatcher (a RunObserver)."""

    def __init__(self, driver: RunDriver) -> None:
        self._driver = driver
        self._dispatcher = get_dispatcher(DISPATCHER_NAME)
        self._prefix = type(driver.workflow).__name__  # the anchor's: not the __qualname__
        self._run: _Run | None = None

    def run_started(self, run_id: str, workflow: str, *, resumed: bool) -> None:
        tags = {**active_instrument_tags.get(), "llamaindex.run_id": run_id}
        span_id = f"{self._prefix}.run-{uuid.uuid4()}"
        self._run = _Run(span_id, tags)
        bound = _RUN_SIGNATURE.bind(
            init_state=None, start_event=None, tags={"instrument_tags": tags}
        )
        self._dispatcher.span_enter(
            span_id, bound, instance=self._driver.workflow, parent_id=active_span_id.get()
        )

    def run_ended(self, run_id: str, status: str, error: BaseException | None) -> None:
        run, self._run = self._run, None
        if run is None:
            return
        for invocation in list(run.steps):
            self._cancel_step(run, invocation, "step cancelled")
        bound = _RUN_SIGNATURE.bind(
            init_state=None, start_event=None, tags={"instrument_tags": run.tags}
        )
        instance = self._driver.workflow
        emit = self._dispatcher
        if status == "completed":
            output = summary(run.stop) if run.stop is not None else ""
            self._event(WorkflowRunOutputEvent(output=output, span_id=run.span_id), run.tags)
            emit.span_exit(run.span_id, bound, instance=instance, result=run.stop)
        elif status in ("failed", "timed_out") and error is not None:
            self._event(SpanDropEvent(err_str=str(error), span_id=run.span_id), run.tags)
            emit.span_drop(run.span_id, bound, instance=instance, err=error)
        else:
            reason = "workflow cancelled by user" if status == "cancelled" else f"run {status}"
            self._event(SpanCancelledEvent(reason=reason, span_id=run.span_id), run.tags)
            emit.span_exit(run.span_id, bound, instance=instance, result=None)

    def step_attempt_started(self, run_id: str, step: str, invocation: int, attempt: int) -> object:
        run = self._run
        found = running_step()
        if run is None or found is None:
            return None
        delivery = found[1].delivery
        bound = _step_arguments(self._driver, step, delivery.payload)
        opened = self._open_step(run, invocation, step, bound, dict(active_instrument_tags.get()))
        opened.token = active_span_id.set(opened.span_id)
        return invocation

    def step_code_left(self, token: object) -> None:
        run = self._run
        if run is None or not isinstance(token, int):
            return
        opened = run.steps.get(token)
        if opened is not None and opened.token is not None:
            active_span_id.reset(opened.token)
            opened.token = None
        found = SCOPE.get()
        output = NOT_RETURNED if found is None else found.output
        if found is not None:
            found.output = NOT_RETURNED  # the scope box outlives the step in leftover timers
        if output is NOT_RETURNED or not (output is None or isinstance(output, Event)):
            return  # raised, or returned something invalid: ended as a failure
        run.steps.pop(token, None)
        if opened is None:
            return  # already ended (the step waited and the run ended meanwhile)
        if isinstance(output, StopEvent):
            run.stop = output
        if output is not None:
            self._event(
                WorkflowStepOutputEvent(output=summary(output), span_id=opened.span_id),
                opened.tags,
            )
        self._dispatcher.span_exit(opened.span_id, opened.bound, result=output)

    def step_attempt_ended(
        self,
        run_id: str,
        invocation: int,
        error: BaseException | None,
        retry_delay: float | None,
    ) -> None:
        run = self._run
        opened = run.steps.pop(invocation, None) if run is not None else None
        if opened is None or error is None:
            return
        self._event(SpanDropEvent(err_str=str(error), span_id=opened.span_id), opened.tags)
        self._dispatcher.span_drop(opened.span_id, opened.bound, err=error)

    def wait_started(self, run_id: str, invocation: int, waiter_id: str) -> None:
        run = self._run
        opened = run.steps.get(invocation) if run is not None else None
        if run is None or opened is None:
            return
        # The anchor's step returns None here and runs again when the answer comes.
        self._dispatcher.span_exit(opened.span_id, opened.bound, result=None)
        run.steps[invocation] = _Step(opened.step, "", opened.bound, opened.tags, opened.token)

    def wait_ended(self, run_id: str, invocation: int, waiter_id: str, answered: bool) -> None:
        run = self._run
        waiting = run.steps.pop(invocation, None) if run is not None else None
        if run is None or waiting is None:
            return
        again = self._open_step(run, invocation, waiting.step, waiting.bound, waiting.tags)
        again.token = waiting.token

    def journal_batch_written(
        self,
        run_id: str,
        first_seq: int,
        ticks: int,
        start_ns: int,
        end_ns: int,
        error: BaseException | None,
    ) -> None:
        pass  # the anchor has no journal

    def _event(self, event: BaseEvent, tags: dict[str, Any]) -> None:
        """Emit ``event`` with exactly ``tags``: the dispatcher adds the active tags to an
        event, and the code calling an observer may run with another step's tags."""
        token = active_instrument_tags.set(tags)
        try:
            self._dispatcher.event(event)
        finally:
            active_instrument_tags.reset(token)

    def _open_step(
        self,
        run: _Run,
        invocation: int,
        step: str,
        bound: inspect.BoundArguments,
        tags: dict[str, Any],
    ) -> _Step:
        func = self._driver.definition.configs[step].func
        span_id = f"{getattr(func, '__qualname__', step)}-{uuid.uuid4()}"
        opened = _Step(step, span_id, bound, tags)
        run.steps[invocation] = opened
        self._dispatcher.span_enter(span_id, bound, parent_id=run.span_id, tags=tags)
        return opened

    def _cancel_step(self, run: _Run, invocation: int, reason: str) -> None:
        opened = run.steps.pop(invocation)
        if not opened.span_id:
            return  # waiting: its span already ended
        self._event(SpanCancelledEvent(reason=reason, span_id=opened.span_id), opened.tags)
        self._dispatcher.span_exit(opened.span_id, opened.bound, result=None)


def _run_signature(init_state: Any, start_event: Any, tags: dict[str, Any]) -> None:
    """The arguments handlers see on a run span (``bound_args``)."""


_RUN_SIGNATURE = inspect.signature(_run_signature)


def _step_arguments(driver: RunDriver, step: str, payload: Any) -> inspect.BoundArguments:
    """The step function's arguments as the anchor binds them (without ``self``)."""
    config = driver.definition.configs[step]
    parsed = config.parsed
    values: dict[str, Any] = {}
    if parsed.context_param is not None:
        values[parsed.context_param] = driver.context
    if len(parsed.event_params) == 1:
        values[parsed.event_params[0][0]] = payload
    elif isinstance(payload, dict):
        values.update(payload)
    elif parsed.collect is not None:
        values[parsed.collect[0]] = payload
    return _signature(config.func).bind_partial(**values)


@lru_cache(maxsize=256)
def _signature(func: Any) -> inspect.Signature:
    signature = inspect.signature(func)
    params = [p for name, p in signature.parameters.items() if name != "self"]
    return signature.replace(parameters=params)
