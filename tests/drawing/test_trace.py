"""A run's trace, rebuilt from its ticks, and the trace drawn as Mermaid."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from mermaid_syntax import parse_flowchart

from stepwork import (
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StepFailedEvent,
    StepTimeoutError,
    StopEvent,
    Workflow,
    WorkflowCancelledByUser,
    WorkflowHandler,
    WorkflowRuntimeError,
    catch_error,
    retry_policy,
    step,
    stop_after_attempt,
    wait_fixed,
)
from stepwork._core.ticks import TickStart, TickStepDone
from stepwork._drawing.trace import RunTrace, build_trace
from stepwork._drawing.trace_mermaid import trace_to_mermaid
from stepwork._drawing.trace_model import TraceEnding, TraceEvent, TraceInvocation
from stepwork._runtime.trace_source import run_trace
from stepwork.errors import WorkflowTimeoutError
from stepwork.testing import ManualClock


class Item(Event):
    n: int


class Done(Event):
    n: int


class Ask(InputRequiredEvent):
    pass


class Reply(HumanResponseEvent):
    text: str


class FlakyFanOut(Workflow):
    """Fan out three items; the worker fails twice on item 1 before it succeeds."""

    failures = 0

    @step
    async def fan(self, ev: StartEvent) -> list[Item]:
        return [Item(n=n) for n in range(3)]

    @step(num_workers=2, retry_policy=retry_policy(wait=wait_fixed(0), stop=stop_after_attempt(3)))
    async def work(self, ev: Item) -> Done:
        if ev.n == 1 and FlakyFanOut.failures < 2:
            FlakyFanOut.failures += 1
            raise ValueError(f"flaky {FlakyFanOut.failures}")
        return Done(n=ev.n)

    @step
    async def gather(self, items: list[Done]) -> StopEvent:
        return StopEvent(result=sorted(item.n for item in items))


class WaitsForPerson(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        reply = await ctx.wait_for_event(Reply, waiter_event=Ask())
        return StopEvent(result=reply.text)


class Slow(Workflow):
    @step(timeout=5)
    async def think(self, ev: StartEvent) -> StopEvent:
        await asyncio.Event().wait()
        return StopEvent()


class SendsAndRecovers(Workflow):
    @step
    async def send(self, ctx: Context, ev: StartEvent) -> Item | None:
        ctx.send_event(Item(n=7))

    @step
    async def boom(self, ev: Item) -> StopEvent:
        raise KeyError("no such item")

    @catch_error
    async def recover(self, ev: StepFailedEvent) -> StopEvent:
        return StopEvent(result="recovered")


def trace_of(handler: WorkflowHandler) -> RunTrace:
    trace = run_trace(handler)
    json.dumps(trace.to_dict())  # always JSON-ready
    return trace


def check_mermaid(text: str) -> None:
    parse_flowchart(text)


async def answer_questions(handler: WorkflowHandler, text: str) -> Any:
    async for event in handler.stream_events():
        if isinstance(event, Ask):
            await handler.send_event(Reply(text=text))
    return await handler


async def test_fan_out_with_a_failed_and_retried_step() -> None:
    FlakyFanOut.failures = 0
    handler = FlakyFanOut(timeout=10).run()
    assert await handler == [0, 1, 2]
    trace = trace_of(handler)

    assert trace.status == "completed"
    assert trace.workflow == "FlakyFanOut"
    assert trace.run_id == handler.run_id
    assert trace.runs_per_step() == {"fan": 1, "work": 5, "gather": 1}
    start = trace.events[0]
    assert (start.type, start.origin, start.role) == ("StartEvent", "start", "start")

    fan = next(i for i in trace.invocations if i.step == "fan")
    items = [trace.events[index] for index in fan.emitted]
    assert [(e.type, e.origin, e.source, e.data) for e in items] == [
        ("Item", "output", fan.id, {"n": n}) for n in range(3)
    ]
    assert fan.inputs == [start.index] and start.consumed_by == [fan.id]

    item_one = items[1]
    attempts = [trace.invocation(number) for number in item_one.consumed_by]
    assert [(a.attempt, a.outcome, a.error_message) for a in attempts] == [
        (1, "failed", "flaky 1"),
        (2, "failed", "flaky 2"),
        (3, "done", None),
    ]
    assert all(a.error_type == "ValueError" and a.retry_delay == 0.0 for a in attempts[:2])
    assert [a.previous_attempt for a in attempts] == [None, attempts[0].id, attempts[1].id]
    assert all(a.duration is not None and a.duration >= 0 for a in trace.invocations)
    assert {a.worker for a in trace.invocations if a.step == "work"} <= {0, 1}

    gather = next(i for i in trace.invocations if i.step == "gather")
    assert sorted(trace.events[index].data["n"] for index in gather.inputs) == [0, 1, 2]
    ending = trace.ending
    assert ending is not None
    assert (ending.status, ending.event_type, ending.step, ending.invocation) == (
        "completed",
        "StopEvent",
        "gather",
        gather.id,
    )
    assert ending.event == gather.emitted[0] and ending.result == "[0, 1, 2]"

    text = trace_to_mermaid(trace)
    check_mermaid(text)
    assert text.count('-.->|"retry"|') == 2
    assert "attempt 3" in text and "FAILED ValueError: flaky 1" in text
    assert f"work#35;{attempts[2].id}<br/>" in text


async def test_a_human_answer_wakes_the_waiting_step_and_a_running_run_has_a_trace() -> None:
    handler = WaitsForPerson(timeout=10).run()
    async for event in handler.stream_events():
        if isinstance(event, Ask):
            waiting = trace_of(handler)
            await handler.send_event(Reply(text="hi"))
    assert await handler == "hi"

    assert waiting.status == "running" and waiting.ending is None
    (asking,) = waiting.invocations
    assert (asking.outcome, asking.waiting, asking.waits_for) == ("running", True, ["Reply"])
    assert asking.duration is None
    check_mermaid(trace_to_mermaid(waiting))
    assert "waiting for Reply" in trace_to_mermaid(waiting)

    trace = trace_of(handler)
    (asking,) = trace.invocations
    ask, reply, stop = trace.events[1:]
    assert (ask.type, ask.origin, ask.source, ask.role) == (
        "Ask",
        "stream",
        asking.id,
        "input_required",
    )
    assert (reply.type, reply.origin, reply.source) == ("Reply", "caller", None)
    assert reply.consumed_by == [asking.id] and asking.woken_by == [reply.index]
    assert (stop.origin, stop.source) == ("output", asking.id)
    assert (asking.outcome, asking.waiting) == ("done", False)

    text = trace_to_mermaid(trace)
    check_mermaid(text)
    assert '-->|"wakes"|' in text and '-.->|"asks"|' in text and 'n0(("caller"))' in text


async def test_a_step_timeout_is_a_timed_out_invocation() -> None:
    clock = ManualClock()
    handler = Slow(timeout=None, clock=clock).run()
    await clock.advance(5)
    with pytest.raises(StepTimeoutError):
        await handler
    trace = trace_of(handler)

    (think,) = trace.invocations
    assert (think.outcome, think.error_type, think.duration) == (
        "timed_out",
        "StepTimeoutError",
        5.0,
    )
    assert trace.status == "failed" and trace.last_at - trace.started_at == 5.0
    ending = trace.ending
    assert ending is not None
    assert (ending.status, ending.step, ending.invocation, ending.error_type) == (
        "failed",
        "think",
        think.id,
        "StepTimeoutError",
    )
    text = trace_to_mermaid(trace)
    check_mermaid(text)
    assert "TIMED OUT StepTimeoutError" in text and "attempt 1 · 5 s" in text


async def test_run_timeout_and_cancellation_end_running_invocations() -> None:
    clock = ManualClock()
    handler = Slow(timeout=2, clock=clock).run()
    await clock.advance(2)
    with pytest.raises(WorkflowTimeoutError):
        await handler
    trace = trace_of(handler)
    assert trace.status == "timed_out"
    assert [(i.outcome, i.duration) for i in trace.invocations] == [("cancelled", 2.0)]
    assert trace.ending is not None and trace.ending.error_type == "WorkflowTimeoutError"
    check_mermaid(trace_to_mermaid(trace))

    handler = Slow(timeout=None, clock=clock).run()
    await clock.advance(1)
    await handler.cancel_run()
    with pytest.raises(WorkflowCancelledByUser):
        await handler
    trace = trace_of(handler)
    assert trace.status == "cancelled"
    assert [i.outcome for i in trace.invocations] == ["cancelled"]
    text = trace_to_mermaid(trace)
    check_mermaid(text)
    assert '-->|"cancel"|' in text


async def test_sent_events_and_recoveries_name_their_source() -> None:
    handler = SendsAndRecovers(timeout=10).run()
    assert await handler == "recovered"
    trace = trace_of(handler)
    send, boom, recover = trace.invocations
    sent = trace.events[send.emitted[0]]
    assert (sent.type, sent.origin, sent.source, sent.consumed_by) == (
        "Item",
        "step",
        send.id,
        [boom.id],
    )
    assert (boom.outcome, boom.error_type, boom.retry_delay) == ("failed", "KeyError", None)
    failure = trace.events[recover.inputs[0]]
    assert (failure.type, failure.origin, failure.source) == ("StepFailedEvent", "error", boom.id)
    text = trace_to_mermaid(trace)
    check_mermaid(text)
    assert '-->|"sent"|' in text and '-->|"error"|' in text


async def test_a_prefix_of_the_ticks_is_the_run_as_it_was_then() -> None:
    FlakyFanOut.failures = 0
    handler = FlakyFanOut(timeout=10).run()
    await handler
    driver: Any = handler.driver
    for length in range(len(handler.ticks) + 1):
        trace = build_trace(driver.reducer, handler.ticks[:length])
        assert trace.ending is None or length == len(handler.ticks)
        check_mermaid(trace_to_mermaid(trace))
    assert build_trace(driver.reducer, []).status == "pending"


async def test_run_trace_needs_a_started_run() -> None:
    handler = WaitsForPerson(timeout=10, num_concurrent_runs=1).run()
    with pytest.raises(WorkflowRuntimeError, match="not started"):
        run_trace(handler)
    assert await answer_questions(handler, "ok") == "ok"


def handmade_trace(message: str = "boom") -> RunTrace:
    events = [
        TraceEvent(0, "StartEvent", "start", 10.0, "start", consumed_by=[0]),
        TraceEvent(1, "Page", "event", 10.5, "output", source=0, consumed_by=[1, 2]),
    ]
    invocations = [
        TraceInvocation(0, "split", 0, 1, 10.0, 10.5, "done", inputs=[0], emitted=[1]),
        TraceInvocation(
            1,
            "fetch",
            0,
            1,
            10.5,
            11.0,
            "failed",
            inputs=[1],
            error_type="OSError",
            error_message=message,
            retry_delay=1.0,
        ),
        TraceInvocation(
            2,
            "fetch",
            0,
            2,
            12.0,
            12.25,
            "failed",
            inputs=[1],
            error_type="OSError",
            error_message=message,
            previous_attempt=1,
        ),
    ]
    ending = TraceEnding(
        "failed",
        12.25,
        "WorkflowFailedEvent",
        step="fetch",
        invocation=2,
        error_type="OSError",
        error_message=message,
    )
    return RunTrace("run-1", "W", "failed", 10.0, 12.25, events, invocations, ending)


def test_trace_mermaid_text_is_exact_and_stable() -> None:
    text = trace_to_mermaid(handmade_trace())
    assert text.splitlines()[:9] == [
        "flowchart TD",
        '    n0(("caller"))',
        '    n1(["StartEvent<br/>+0 ms"])',
        '    n2(["Page<br/>+500 ms"])',
        '    n3["split#35;0<br/>attempt 1 · 500 ms"]',
        '    n4["fetch#35;1<br/>attempt 1 · 500 ms<br/>FAILED OSError: boom<br/>retry in 1 s"]',
        '    n5["fetch#35;2<br/>attempt 2 · 250 ms<br/>FAILED OSError: boom"]',
        '    n6(["failed<br/>OSError: boom · +2.25 s"])',
        '    n0 -->|"start"| n1',
    ]
    assert '    n4 -.->|"retry"| n5' in text and "    n5 --> n6" in text
    assert "    class n4,n5,n6 failed" in text
    assert text == trace_to_mermaid(handmade_trace())
    check_mermaid(text)


def test_trace_mermaid_escapes_and_shortens_labels() -> None:
    nasty = 'quote " pipe | <br/> #35; & `tick` $$ %% ]) end\nnext line'
    text = trace_to_mermaid(handmade_trace(nasty))
    check_mermaid(text)
    assert "<br/> #" not in text and "\nnext" not in text
    short = trace_to_mermaid(handmade_trace("x" * 500), max_label_length=20)
    check_mermaid(short)
    assert "FAILED OSError: xxx…" in short and "x" * 30 not in short
    with pytest.raises(ValueError):
        trace_to_mermaid(handmade_trace(), max_label_length=0)


def test_a_resumed_run_marks_the_invocations_the_old_process_lost() -> None:
    reducer = Slow.definition().reducer
    ticks = [
        TickStart(100.0, "r", StartEvent(), None),
        TickStart(107.0, "r", None, None),  # the process died; the run resumes from its journal
        TickStepDone(108.0, 1, StopEvent(result="late")),
    ]
    trace = build_trace(reducer, ticks)
    lost, again = trace.invocations
    assert (lost.outcome, lost.ended_at, lost.attempt) == ("interrupted", 100.0, 1)
    assert (again.outcome, again.previous_attempt, again.inputs) == ("done", lost.id, [0])
    assert trace.status == "completed" and trace.ending is not None
    text = trace_to_mermaid(trace)
    check_mermaid(text)
    assert "interrupted" in text


class Opaque:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


class ReturnsOpaque(Workflow):
    @step
    async def make(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=Opaque())


async def test_values_that_do_not_dump_to_json_are_shown_by_their_repr() -> None:
    handler = ReturnsOpaque(timeout=10).run()
    await handler
    trace = trace_of(handler)
    assert trace.events[-1].data == {"repr": "<StopEvent>"}
    assert trace.ending is not None and trace.ending.result == "<Opaque>"
