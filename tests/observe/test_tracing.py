"""OpenTelemetry spans for runs, steps, waits and journal writes (the SDK's in-memory exporter)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode

from stepwork import (
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StepTimeoutError,
    StopEvent,
    Workflow,
    step,
)
from stepwork.errors import MissingExtraError
from stepwork.observe import current_traceparent, run_parent, run_traceparent
from stepwork.retry_policy import retry_policy, stop_after_attempt, wait_fixed
from stepwork.testing import ManualClock


class Middle(Event):
    value: int


class Two(Workflow):
    @step
    async def first(self, ev: StartEvent) -> Middle:
        return Middle(value=1)

    @step
    async def second(self, ev: Middle) -> StopEvent:
        return StopEvent(result=ev.value)


def named(finished: tuple[ReadableSpan, ...], name: str) -> list[ReadableSpan]:
    """Spans called ``name`` (``"run"``: run spans, named ``run <workflow name>``)."""
    if name == "run":
        return [span for span in finished if span.name.startswith("run ")]
    return [span for span in finished if span.name == name]


def parent_of(span: ReadableSpan) -> int | None:
    return span.parent.span_id if span.parent is not None else None


async def test_a_run_is_one_trace_with_a_span_per_step(spans: InMemorySpanExporter) -> None:
    assert await Two().run(run_id="two") == 1
    finished = spans.get_finished_spans()
    (run,) = named(finished, "run")
    (first,) = named(finished, "step first")
    (second,) = named(finished, "step second")
    assert run.attributes is not None
    assert dict(run.attributes) == {
        "stepwork.run_id": "two",
        "stepwork.workflow": Two().workflow_name,
        "stepwork.resumed": False,
        "stepwork.status": "completed",
    }
    assert first.attributes is not None
    assert first.attributes["stepwork.step"] == "first"
    assert first.attributes["stepwork.attempt"] == 1
    assert first.attributes["stepwork.run_id"] == "two"
    assert first.attributes["stepwork.workflow"] == Two().workflow_name
    assert run.name == f"run {Two().workflow_name}"
    assert run.context is not None
    for child in (first, second):
        assert child.context is not None
        assert child.context.trace_id == run.context.trace_id
        assert parent_of(child) == run.context.span_id
    assert run.status.status_code is StatusCode.UNSET
    assert second.events == ()  # the step that ended the run was not "cancelled" by it


async def test_a_step_runs_with_its_span_current(spans: InMemorySpanExporter) -> None:
    seen: dict[str, object] = {}

    class Current(Workflow):
        @step
        async def async_step(self, ev: StartEvent) -> Middle:
            seen["async"] = trace.get_current_span().get_span_context().span_id
            seen["traceparent"] = current_traceparent()
            return Middle(value=1)

        @step
        def sync_step(self, ev: Middle) -> StopEvent:
            seen["sync"] = trace.get_current_span().get_span_context().span_id
            return StopEvent()

    await Current().run()
    finished = spans.get_finished_spans()
    (async_span,) = named(finished, "step async_step")
    (sync_span,) = named(finished, "step sync_step")
    assert async_span.context is not None and sync_span.context is not None
    assert seen["async"] == async_span.context.span_id
    assert seen["sync"] == sync_span.context.span_id
    # What an instrumented HTTP client would send from inside the step.
    trace_id = f"{async_span.context.trace_id:032x}"
    span_id = f"{async_span.context.span_id:016x}"
    assert str(seen["traceparent"]).startswith(f"00-{trace_id}-{span_id}-")
    # Outside any step nothing of the run is current.
    assert not trace.get_current_span().get_span_context().is_valid


async def test_retries_are_attempt_spans_with_events(spans: InMemorySpanExporter) -> None:
    clock = ManualClock()

    class Flaky(Workflow):
        @step(retry_policy=retry_policy(wait=wait_fixed(5), stop=stop_after_attempt(3)))
        async def flaky(self, ctx: Context, ev: StartEvent) -> StopEvent:
            if ctx.retry_info().retry_number == 0:
                raise ValueError("first try fails")
            return StopEvent(result="ok")

    handler = Flaky(timeout=None, clock=clock).run()
    await clock.advance(0)
    await clock.advance(5)
    assert await handler == "ok"
    attempts = sorted(
        named(spans.get_finished_spans(), "step flaky"),
        key=lambda span: span.attributes["stepwork.attempt"] if span.attributes else 0,
    )
    assert [span.attributes["stepwork.attempt"] for span in attempts if span.attributes] == [1, 2]
    failed, succeeded = attempts
    assert failed.status.status_code is StatusCode.ERROR
    assert failed.status.description == "ValueError: first try fails"
    events = {event.name: event for event in failed.events}
    assert events["exception"].attributes is not None
    assert events["exception"].attributes["exception.type"] == "ValueError"
    assert events["retry scheduled"].attributes == {"stepwork.retry_delay": 5.0}
    assert succeeded.status.status_code is StatusCode.UNSET


async def test_a_failed_run_and_a_timed_out_step_are_errors(spans: InMemorySpanExporter) -> None:
    clock = ManualClock()
    started = asyncio.Event()

    class Slow(Workflow):
        @step(timeout=2.0)
        async def slow(self, ev: StartEvent) -> StopEvent:
            started.set()
            await asyncio.Event().wait()
            return StopEvent()

    handler = Slow(timeout=None, clock=clock).run()
    await started.wait()
    await clock.advance(2.0)
    with pytest.raises(StepTimeoutError):
        await handler
    finished = spans.get_finished_spans()
    (attempt,) = named(finished, "step slow")
    assert [event.name for event in attempt.events] == ["timeout", "exception"]
    assert attempt.status.status_code is StatusCode.ERROR
    (run,) = named(finished, "run")
    assert run.status.status_code is StatusCode.ERROR
    assert run.attributes is not None and run.attributes["stepwork.status"] == "failed"
    assert any(event.name == "exception" for event in run.events)


class Ask(InputRequiredEvent):
    pass


class Answer(HumanResponseEvent):
    text: str


class Asks(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        reply = await ctx.wait_for_event(Answer, waiter_event=Ask(), waiter_id="q")
        return StopEvent(result=reply.text)


async def test_a_wait_for_a_person_is_a_span_inside_the_step(
    spans: InMemorySpanExporter,
) -> None:
    handler = Asks().run()
    async for event in handler.stream_events():
        if isinstance(event, Ask):
            handler.ctx.send_event(Answer(text="yes"))
    assert await handler == "yes"
    finished = spans.get_finished_spans()
    (wait,) = named(finished, "wait for event")
    (attempt,) = named(finished, "step ask")
    assert attempt.context is not None
    assert parent_of(wait) == attempt.context.span_id
    assert wait.attributes is not None and wait.attributes["stepwork.waiter_id"] == "q"
    assert wait.status.status_code is StatusCode.UNSET


async def test_a_cancelled_run_leaves_no_span_open(spans: InMemorySpanExporter) -> None:
    handler = Asks().run()
    async for event in handler.stream_events():
        if isinstance(event, Ask):
            await handler.cancel_run()
    finished = spans.get_finished_spans()
    assert sorted(span.name for span in finished) == [
        f"run {Asks().workflow_name}",
        "step ask",
        "wait for event",
    ]
    (run,) = named(finished, "run")
    assert run.attributes is not None and run.attributes["stepwork.status"] == "cancelled"


async def test_journal_writes_are_spans_of_the_run(
    spans: InMemorySpanExporter, tmp_path: Path
) -> None:
    workflow = Two(store=f"sqlite:///{tmp_path / 'runs.db'}")
    assert await workflow.run(run_id="journaled") == 1
    finished = spans.get_finished_spans()
    (run,) = named(finished, "run")
    writes = named(finished, "journal write")
    assert writes and run.context is not None
    assert all(parent_of(write) == run.context.span_id for write in writes)
    assert writes[0].attributes is not None and writes[0].attributes["stepwork.seq"] == 0
    total = sum(int(w.attributes["stepwork.ticks"]) for w in writes if w.attributes)
    assert total == len(await workflow.history("journaled"))
    assert all(w.start_time is not None and w.end_time is not None for w in writes)


async def test_a_traceparent_parents_the_run_and_names_it(spans: InMemorySpanExporter) -> None:
    incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    seen: list[str | None] = []

    class Reads(Workflow):
        @step
        async def only(self, ev: StartEvent) -> StopEvent:
            seen.append(run_traceparent("parented"))
            return StopEvent()

    with run_parent(incoming):
        handler = Reads().run(run_id="parented")
    await handler
    (run,) = named(spans.get_finished_spans(), "run")
    assert run.context is not None
    assert run.context.trace_id == 0x0AF7651916CD43DD8448EB211C80319C
    assert parent_of(run) == 0xB7AD6B7169203331
    (traceparent,) = seen
    names = f"00-{run.context.trace_id:032x}-{run.context.span_id:016x}-"
    assert str(traceparent).startswith(names)
    assert run_traceparent("parented") is None  # the run is no longer live here


def test_without_opentelemetry_imported_nothing_is_imported() -> None:
    program = (
        "import asyncio, sys\n"
        "from stepwork import StartEvent, StopEvent, Workflow, step\n"
        "class W(Workflow):\n"
        "    @step\n"
        "    async def s(self, ev: StartEvent) -> StopEvent:\n"
        "        return StopEvent(result=1)\n"
        "async def main():\n"
        "    assert await W().run() == 1\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.startswith('opentelemetry')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=True, timeout=30
    )
    assert done.stdout.strip() == "[]"


def test_without_the_otel_extra_run_parent_names_the_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A None entry makes the import fail as if opentelemetry-api were not installed.
    monkeypatch.setitem(sys.modules, "opentelemetry.trace.propagation", None)
    monkeypatch.setitem(sys.modules, "opentelemetry.trace.propagation.tracecontext", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'stepwork\[otel\]'"):
        with run_parent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"):
            pass
    assert issubclass(MissingExtraError, ImportError)
