"""OpenTelemetry spans and metrics for runs, on the application's global providers.

Imported only once the program has imported ``opentelemetry.trace`` (see
:func:`stepwork._runtime.observe.active_observer`), so it may import OpenTelemetry at the top.

Spans (every one carries ``stepwork.run_id`` and ``stepwork.workflow``):

- ``run <workflow>``: from the run's start (or resume) in this process to its end here; its
  parent is whatever span is current when ``run()`` is called (see ``stepwork.observe.run_parent``);
  a resumed segment's parent is the run's journaled span, with a ``resumed`` event.
- ``step <step>``: one attempt of one step invocation (``stepwork.step``, ``stepwork.attempt``,
  ``stepwork.invocation``), current while the step's code runs. A failure records the exception
  and sets status ERROR; a retry adds a ``retry scheduled`` event, a timeout a ``timeout`` event.
- ``wait for event``: a step waiting in ``ctx.wait_for_event`` (child of the step's span).
- ``journal write``: one batch of ticks written to the store (``stepwork.seq``,
  ``stepwork.ticks``).

Metrics (meter ``stepwork``): ``stepwork.runs.started``, ``stepwork.runs.ended`` (by
``stepwork.status``), ``stepwork.step.duration`` (s, by step and ``stepwork.outcome``),
``stepwork.journal.write.duration`` (s), ``stepwork.leases.takeovers`` and the observable gauge
``stepwork.steps.queued``.

A run resumed or taken over in another process continues the same trace: see
:mod:`stepwork._runtime.trace_journal`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace import Span, SpanContext, Status, StatusCode

from stepwork._core.errors import StepTimeoutError
from stepwork._runtime.observe import queue_depths

__all__ = ["OtelObserver"]

_SCOPE = "stepwork"
_REMEMBERED = 1024  # ended runs whose span context stays known, for logs written just after


@dataclass
class _Run:
    """What the observer holds for one run while it runs in this process."""

    workflow: str
    span: Span
    recording: bool
    """False when no SDK records the run's span (no provider set, or sampled out): then its
    steps, waits and writes make no spans either, and cost little more than their metrics."""
    context: otel_context.Context
    """The context whose current span is the run's: the parent of its step and write spans,
    built once per run instead of once per step."""
    attributes: dict[str, str]
    """``stepwork.run_id`` and ``stepwork.workflow``, the attributes every span carries."""
    quiet: bool
    """Neither recording nor metered (no SDK provider of either kind when the run started):
    its steps and writes cost one check each."""
    outcomes: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    """(step, outcome) -> the step duration's metric attributes, built once per pair."""
    steps: dict[int, tuple[Span | None, str, float]] = field(default_factory=dict)
    """Invocation -> (attempt span, step name, monotonic start)."""
    waits: dict[tuple[int, str], Span] = field(default_factory=dict)


class OtelObserver:
    """Spans and metrics for every observed run, through OpenTelemetry's global providers."""

    def __init__(self) -> None:
        self._tracer = trace.get_tracer(_SCOPE)
        meter = metrics.get_meter(_SCOPE)
        self._started = meter.create_counter(
            "stepwork.runs.started", unit="{run}", description="Runs started or resumed."
        )
        self._ended = meter.create_counter(
            "stepwork.runs.ended", unit="{run}", description="Runs ended, by status."
        )
        self._step_duration = meter.create_histogram(
            "stepwork.step.duration", unit="s", description="Duration of step attempts."
        )
        self._write_duration = meter.create_histogram(
            "stepwork.journal.write.duration",
            unit="s",
            description="Latency of journal batch writes.",
        )
        self._takeovers = meter.create_counter(
            "stepwork.leases.takeovers",
            unit="{run}",
            description="Runs claimed after their previous holder's lease lapsed.",
        )
        meter.create_observable_gauge(
            "stepwork.steps.queued",
            callbacks=[_queued],
            unit="{delivery}",
            description="Step deliveries waiting for a free worker, in live runs.",
        )
        self._runs: dict[str, _Run] = {}
        self._ended_runs: OrderedDict[str, SpanContext] = OrderedDict()

    def traceparent(self, run_id: str) -> str | None:
        """The W3C ``traceparent`` of run ``run_id``'s span here, or ``None`` if it has none."""
        run = self._runs.get(run_id)
        if run is None:
            return None
        from stepwork._runtime.observe_context import traceparent_of_span

        return traceparent_of_span(run.span)

    def trace_meta(self, run_id: str) -> dict[str, str]:
        """The W3C ``traceparent`` (and ``tracestate``) of run ``run_id``'s span here, to
        journal with its start tick; empty when the span names no trace (no SDK set)."""
        run = self._runs.get(run_id)
        if run is None:
            return {}
        context = run.span.get_span_context()
        if not context.is_valid:
            return {}
        # W3C trace context, as the propagator writes it (formatted here: once per run).
        flags = int(context.trace_flags)
        meta = {"traceparent": f"00-{context.trace_id:032x}-{context.span_id:016x}-{flags:02x}"}
        if context.trace_state:
            meta["tracestate"] = context.trace_state.to_header()
        return meta

    def segment_resumed(self, run_id: str, writer: str, epoch: int, seq: int) -> None:
        """Mark on run ``run_id``'s span that it continues a journal last written by
        ``writer`` at lease ``epoch``, ``seq`` ticks long (the previous segment stopped there:
        it crashed, was handed back, or lost its lease)."""
        run = self._runs.get(run_id)
        if run is not None and run.recording:
            run.span.add_event(
                "resumed",
                {"stepwork.previous_writer": writer, "stepwork.previous_epoch": epoch,
                 "stepwork.seq": seq},
            )  # fmt: skip

    def lease_taken_over(self, run_id: str, workflow: str, previous_owner: str) -> None:
        """Count a claim of run ``run_id`` whose previous holder's lease lapsed (or whose
        holder died), and mark it on the run's span here if it has one."""
        self._takeovers.add(1, {"stepwork.workflow": workflow})
        run = self._runs.get(run_id)
        if run is not None and run.recording:
            run.span.add_event("lease taken over", {"stepwork.previous_owner": previous_owner})

    def span_context(self, run_id: str) -> SpanContext | None:
        """The span context of run ``run_id`` while it runs here, or shortly after it ended."""
        run = self._runs.get(run_id)
        return run.span.get_span_context() if run is not None else self._ended_runs.get(run_id)

    def run_started(self, run_id: str, workflow: str, *, resumed: bool) -> None:
        attributes = {"stepwork.run_id": run_id, "stepwork.workflow": workflow}
        span = self._tracer.start_span(
            f"run {workflow}", attributes={**attributes, "stepwork.resumed": resumed}
        )
        recording = span.is_recording()
        context = trace.set_span_in_context(span) if recording else otel_context.Context()
        quiet = not recording and not _metered()
        self._runs[run_id] = _Run(workflow, span, recording, context, attributes, quiet)
        self._started.add(1, {"stepwork.workflow": workflow, "stepwork.resumed": resumed})

    def run_ended(self, run_id: str, status: str, error: BaseException | None) -> None:
        run = self._runs.pop(run_id, None)
        if run is None:
            return
        for span in run.waits.values():
            span.add_event("run ended")
            span.end()
        for step_span, _, _ in run.steps.values():
            if step_span is not None:
                step_span.add_event("cancelled", {"stepwork.reason": f"run {status}"})
                step_span.end()
        span = run.span
        span.set_attribute("stepwork.status", status)
        if status in ("failed", "timed_out"):
            if error is not None:
                span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, _describe(error) or status))
        elif status == "detached":
            span.add_event("detached", {"stepwork.reason": _describe(error)})
        span.end()
        self._ended_runs[run_id] = span.get_span_context()
        if len(self._ended_runs) > _REMEMBERED:
            self._ended_runs.popitem(last=False)
        self._ended.add(1, {"stepwork.workflow": run.workflow, "stepwork.status": status})

    def step_attempt_started(self, run_id: str, step: str, invocation: int, attempt: int) -> object:
        run = self._runs.get(run_id)
        if run is None or run.quiet:
            return None
        if not run.recording:
            run.steps[invocation] = (None, step, time.monotonic())
            return None
        attributes: dict[str, str | int] = {
            **run.attributes,
            "stepwork.step": step,
            "stepwork.attempt": attempt,
            "stepwork.invocation": invocation,
        }
        span = self._tracer.start_span(f"step {step}", run.context, attributes=attributes)
        run.steps[invocation] = (span, step, time.monotonic())
        # Current only in the step's own task (and the thread a sync step runs in): the one
        # context switch of the step, undone by step_code_left.
        return otel_context.attach(trace.set_span_in_context(span, run.context))

    def step_code_left(self, token: object) -> None:
        if token is not None:
            otel_context.detach(token)  # type: ignore[arg-type]

    def step_attempt_ended(
        self,
        run_id: str,
        invocation: int,
        error: BaseException | None,
        retry_delay: float | None,
    ) -> None:
        run = self._runs.get(run_id)
        entry = run.steps.pop(invocation, None) if run is not None else None
        if run is None or entry is None:
            return
        span, step, started = entry
        if span is not None:
            if error is not None:
                if isinstance(error, StepTimeoutError):
                    span.add_event("timeout")
                span.record_exception(error)
                span.set_status(Status(StatusCode.ERROR, _describe(error)))
                if retry_delay is not None:
                    span.add_event("retry scheduled", {"stepwork.retry_delay": retry_delay})
            span.end()
        outcome = "ok" if error is None else "retried" if retry_delay is not None else "failed"
        labels = run.outcomes.get((step, outcome))
        if labels is None:
            labels = run.outcomes[(step, outcome)] = {
                "stepwork.workflow": run.workflow,
                "stepwork.step": step,
                "stepwork.outcome": outcome,
            }
        self._step_duration.record(time.monotonic() - started, labels)

    def wait_started(self, run_id: str, invocation: int, waiter_id: str) -> None:
        run = self._runs.get(run_id)
        if run is None or not run.recording:
            return
        step = run.steps.get(invocation)
        parent = step[0] if step is not None and step[0] is not None else run.span
        run.waits[(invocation, waiter_id)] = self._tracer.start_span(
            "wait for event",
            context=trace.set_span_in_context(parent, run.context),
            attributes={
                **run.attributes,
                "stepwork.waiter_id": waiter_id,
                "stepwork.invocation": invocation,
                **({"stepwork.step": step[1]} if step is not None else {}),
            },
        )

    def wait_ended(self, run_id: str, invocation: int, waiter_id: str, answered: bool) -> None:
        run = self._runs.get(run_id)
        span = run.waits.pop((invocation, waiter_id), None) if run is not None else None
        if span is None:
            return
        if not answered:
            span.add_event("timeout")
            span.set_status(Status(StatusCode.ERROR, "timed out waiting for the event"))
        span.end()

    def journal_batch_written(
        self,
        run_id: str,
        first_seq: int,
        ticks: int,
        start_ns: int,
        end_ns: int,
        error: BaseException | None,
    ) -> None:
        run = self._runs.get(run_id)
        if run is not None and run.quiet:
            return
        workflow = run.workflow if run is not None else ""
        self._write_duration.record((end_ns - start_ns) / 1e9, {"stepwork.workflow": workflow})
        if run is None or not run.recording:
            return
        span = self._tracer.start_span(
            "journal write",
            run.context,
            start_time=start_ns,
            attributes={**run.attributes, "stepwork.seq": first_seq, "stepwork.ticks": ticks},
        )
        if error is not None:
            span.record_exception(error)
            span.set_status(Status(StatusCode.ERROR, _describe(error)))
        span.end(end_time=end_ns)


def _metered() -> bool:
    """Whether the program set a meter provider (then metrics are recorded somewhere).

    OpenTelemetry's API hands out a proxy provider until one is set; its class is private, so
    it is recognised by name: should that name change, every run counts as metered, which
    costs time, not correctness."""
    provider = metrics.get_meter_provider()
    if isinstance(provider, metrics.NoOpMeterProvider):
        return False
    return type(provider).__name__ != "_ProxyMeterProvider"


def _describe(error: BaseException | None) -> str:
    return "" if error is None else f"{type(error).__name__}: {error}"


def _queued(options: CallbackOptions) -> Iterable[Observation]:
    depths = queue_depths()
    return [Observation(count, {"stepwork.workflow": name}) for name, count in depths.items()]
