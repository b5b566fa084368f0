"""Real runs through the driver: routing, workers, results, failures and the handler."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from stepwork import (
    Context,
    Event,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowCancelledByUser,
    WorkflowRuntimeError,
    WorkflowStalledError,
    step,
)
from stepwork.events import (
    InternalDispatchEvent,
    StepState,
    StepStateChanged,
    WorkflowCancelledEvent,
    WorkflowFailedEvent,
)


class Joke(Event):
    text: str


class Thinking(Event):
    pass


class JokeFlow(Workflow):
    @step
    async def write(self, ctx: Context, ev: StartEvent) -> Joke:
        ctx.write_event_to_stream(Thinking(msg="thinking"))
        return Joke(text=f"a joke about {ev.topic}")

    @step
    async def judge(self, ev: Joke) -> StopEvent:
        return StopEvent(result=ev.text.upper())


async def test_the_issue_example_streams_then_returns_the_result() -> None:
    handler = JokeFlow(timeout=60).run(topic="pirates")
    seen = [ev async for ev in handler.stream_events()]
    assert [type(e).__name__ for e in seen] == ["Thinking", "StopEvent"]
    assert seen[0].msg == "thinking"
    assert await handler == "A JOKE ABOUT PIRATES"
    assert handler.is_done() and handler.get_stop_event() is seen[-1]


async def test_a_stop_event_subclass_is_returned_whole() -> None:
    class Done(StopEvent):
        value: int

    class W(Workflow):
        @step
        async def s(self, ev: StartEvent) -> Done:
            return Done(value=3)

    result = await W().run()
    assert isinstance(result, Done) and result.value == 3


async def test_num_workers_caps_concurrency_within_a_run() -> None:
    running = 0
    peak = 0
    gate = asyncio.Event()

    class Item(Event):
        n: int

    class W(Workflow):
        @step
        async def fan(self, ctx: Context, ev: StartEvent) -> Item | None:
            for n in range(6):
                ctx.send_event(Item(n=n))

        @step(num_workers=2)
        async def work(self, ctx: Context, ev: Item) -> StopEvent | None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            if running == 2:
                gate.set()
            await gate.wait()
            running -= 1
            r = ctx.collect_events(ev, [Item] * 6)
            return StopEvent(result=[i.n for i in r]) if r else None

    assert sorted(await W().run()) == [0, 1, 2, 3, 4, 5]
    assert peak == 2


async def test_stop_event_cancels_other_running_steps() -> None:
    cancelled = asyncio.Event()

    class Slow(Event):
        pass

    class W(Workflow):
        @step
        async def start(self, ctx: Context, ev: StartEvent) -> StopEvent | Slow:
            ctx.send_event(Slow())
            await asyncio.sleep(0)
            return StopEvent(result="fast")

        @step
        async def slow(self, ev: Slow) -> StopEvent:
            try:
                await asyncio.Event().wait()
            finally:
                cancelled.set()
            raise AssertionError("unreachable")

    assert await W().run() == "fast"
    await asyncio.wait_for(cancelled.wait(), 5)


async def test_step_error_fails_the_run_with_the_original_exception() -> None:
    class Boom(Exception):
        pass

    class W(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            raise Boom("bad")

    handler = W().run()
    events = [ev async for ev in handler.stream_events()]
    failed = events[-1]
    assert isinstance(failed, WorkflowFailedEvent)
    assert failed.step_name == "s" and failed.attempts == 1 and isinstance(failed.exception, Boom)
    with pytest.raises(Boom, match="bad"):
        await handler
    assert handler.get_stop_event() is failed


async def test_returning_a_non_event_is_a_runtime_error_naming_the_step() -> None:
    class W(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            return "oops"  # type: ignore[return-value]

    with pytest.raises(
        WorkflowRuntimeError, match="Step function s returned str instead of an Event"
    ):
        await W().run()


async def test_a_run_that_can_never_finish_fails_promptly() -> None:
    class Next(Event):
        pass

    class W(Workflow):
        @step
        async def s(self, ev: StartEvent) -> Next | None:
            return None

        @step
        async def t(self, ev: Next) -> StopEvent:
            return StopEvent()

    handler = W(timeout=None).run()
    with pytest.raises(WorkflowStalledError, match="step 's' returned None"):
        await asyncio.wait_for(handler, 5)


async def test_sync_steps_run_in_a_worker_thread() -> None:
    threads: list[int] = []

    class W(Workflow):
        @step
        def s(self, ctx: Context, ev: StartEvent) -> StopEvent:
            threads.append(threading.get_ident())
            ctx.write_event_to_stream(Thinking())
            return StopEvent(result=ev.x * 2)

    handler = W().run(x=21)
    events = [ev async for ev in handler.stream_events()]
    assert await handler == 42
    assert threads and threads[0] != threading.get_ident()
    assert isinstance(events[0], Thinking)


async def test_steps_are_inherited_and_overridden_by_name() -> None:
    class Base(Workflow):
        @step
        async def s(self, ev: StartEvent) -> Joke:
            return Joke(text="base")

        @step
        async def t(self, ev: Joke) -> StopEvent:
            return StopEvent(result=ev.text)

    class Child(Base):
        @step
        async def s(self, ev: StartEvent) -> Joke:
            return Joke(text="child")

    assert await Base().run() == "base"
    assert await Child().run() == "child"


async def test_free_function_steps_join_their_workflow() -> None:
    class W(Workflow):
        @step
        async def s(self, ev: StartEvent) -> Joke:
            return Joke(text="free")

    @step(workflow=W)
    async def t(ev: Joke) -> StopEvent:
        return StopEvent(result=ev.text)

    assert await W().run() == "free"


async def test_internal_events_show_step_states_when_asked() -> None:
    handler = JokeFlow().run(topic="x")
    events = [ev async for ev in handler.stream_events(expose_internal=True)]
    states = [(e.name, e.step_state) for e in events if isinstance(e, StepStateChanged)]
    assert states[:2] == [("write", StepState.RUNNING), ("write", StepState.NOT_RUNNING)]
    assert any(isinstance(e, InternalDispatchEvent) for e in events)
    await handler


async def test_stream_events_twice_raises() -> None:
    handler = JokeFlow().run(topic="x")
    _ = [ev async for ev in handler.stream_events()]
    with pytest.raises(WorkflowRuntimeError, match="already been consumed"):
        async for _ev in handler.stream_events():
            pass


async def test_streaming_after_the_end_still_yields_everything() -> None:
    handler = JokeFlow().run(topic="x")
    await handler
    assert [type(e).__name__ for e in [e async for e in handler.stream_events()]] == [
        "Thinking",
        "StopEvent",
    ]


async def test_many_readers_follow_the_same_run_from_their_own_offsets() -> None:
    class W(Workflow):
        @step
        async def s(self, ctx: Context, ev: StartEvent) -> StopEvent:
            for n in range(5):
                ctx.write_event_to_stream(Event(n=n))
                await asyncio.sleep(0)
            return StopEvent(result="done")

    handler = W().run()

    async def read(start: int) -> list[Any]:
        return [(o, e.get("n")) async for o, e in handler.follow_events(start)]

    a, b, c = await asyncio.gather(read(0), read(0), read(3))
    assert a == b
    assert [n for _, n in a] == [0, 1, 2, 3, 4, None]
    assert c == [item for item in a if item[0] >= 3]
    assert await handler == "done"


async def test_cancel_run_ends_gracefully() -> None:
    started = asyncio.Event()

    class W(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            started.set()
            await asyncio.Event().wait()
            return StopEvent()

    handler = W().run()
    await started.wait()
    await handler.cancel_run()
    with pytest.raises(WorkflowCancelledByUser):
        await handler
    assert isinstance(handler.get_stop_event(), WorkflowCancelledEvent)
    events = [e async for e in handler.stream_events()]
    assert isinstance(events[-1], WorkflowCancelledEvent)


async def test_cancelling_an_awaiting_task_cancels_a_nested_run() -> None:
    child_cancelled = asyncio.Event()
    child_started = asyncio.Event()

    class Child(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            child_started.set()
            try:
                await asyncio.Event().wait()
            finally:
                child_cancelled.set()
            return StopEvent()

    class Parent(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            return StopEvent(result=await Child(timeout=None).run())

    handler = Parent(timeout=None).run()
    await child_started.wait()
    await handler.cancel_run()
    await asyncio.wait_for(child_cancelled.wait(), 5)
    with pytest.raises(WorkflowCancelledByUser):
        await handler


async def test_handler_send_event_and_str() -> None:
    handler = JokeFlow().run(topic="x")
    await handler
    assert str(handler).startswith("WorkflowHandler(workflow=")
    assert handler.run_id in str(handler)
    with pytest.raises(WorkflowRuntimeError, match="already finished"):
        await handler.send_event(Joke(text="late"))


async def test_run_id_can_be_chosen() -> None:
    handler = JokeFlow().run(run_id="order-42", topic="x")
    assert handler.run_id == "order-42"
    await handler


async def test_verbose_writes_step_progress_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    assert await JokeFlow(verbose=True).run(topic="x") == "A JOKE ABOUT X"
    captured = capsys.readouterr()
    assert captured.err == ""
    assert captured.out.splitlines() == [
        "[write:0] started from StartEvent",
        "[write:0] complete with Joke",
        "[judge:0] started from Joke",
        "[judge:0] complete with StopEvent",
    ]


async def test_stop_event_result_returns_the_event_or_raises_the_error() -> None:
    handler = JokeFlow().run(topic="x")
    stop = await handler.stop_event_result()
    assert isinstance(stop, StopEvent) and stop.result == "A JOKE ABOUT X"

    class W(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            raise ValueError("x")

    failing = W().run()
    with pytest.raises(ValueError, match="x"):
        await failing.stop_event_result()
    assert isinstance(failing.get_stop_event(), WorkflowFailedEvent)


async def test_a_step_cancelled_from_outside_ends_the_run_instead_of_hanging() -> None:
    class W(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            raise asyncio.CancelledError()

    with pytest.raises(WorkflowRuntimeError, match="Step 's' was cancelled from outside the run"):
        await asyncio.wait_for(W().run(), 5)
