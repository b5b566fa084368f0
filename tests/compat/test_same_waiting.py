"""Runs that wait: people answering ``InputRequiredEvent``, ``wait_for_event`` with its
requirements and timeout, run timeouts, cancellation, and resuming from a mid-run snapshot.
"""

import asyncio
import json

import pytest
from both_libs import ANCHOR, Lib, both, drain, names

import stepwork.testing


@both()
async def test_input_required_and_human_response_through_the_stream(lib: Lib) -> None:
    class Ask(lib.InputRequiredEvent):
        question: str

    class Reply(lib.HumanResponseEvent):
        text: str

    class W(lib.Workflow):
        @lib.step
        async def ask(self, ev: lib.StartEvent) -> Ask:
            return Ask(question="name?")

        @lib.step
        async def answer(self, ev: Reply) -> lib.StopEvent:
            return lib.StopEvent(result=f"hello {ev.text}")

    handler = W().run()
    seen = []
    async for ev in handler.stream_events():
        seen.append(type(ev).__name__)
        if isinstance(ev, Ask):
            assert ev.question == "name?"
            await handler.send_event(Reply(text="ada"))
    assert seen == ["Ask", "StopEvent"]
    assert await handler == "hello ada"


@both()
async def test_human_response_through_the_handler_context(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def ask(self, ev: lib.StartEvent) -> lib.InputRequiredEvent:
            return lib.InputRequiredEvent(prefix="> ")

        @lib.step
        async def answer(self, ev: lib.HumanResponseEvent) -> lib.StopEvent:
            return lib.StopEvent(result=ev.response)

    handler = W().run()
    async for ev in handler.stream_events():
        if isinstance(ev, lib.InputRequiredEvent):
            handler.ctx.send_event(lib.HumanResponseEvent(response=ev.prefix + "yes"))
    assert await handler == "> yes"


@both()
async def test_run_timeout_raises_and_names_the_active_steps(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def hang(self, ev: lib.StartEvent) -> lib.StopEvent:
            await asyncio.Event().wait()
            return lib.StopEvent()

    handler = W(timeout=0.2).run()
    events = await drain(handler)
    with pytest.raises(lib.WorkflowTimeoutError) as info:
        await handler
    assert str(info.value) == "Operation timed out after 0.2 seconds. Currently active steps: hang"
    assert names(events) == ["WorkflowTimedOutEvent"]
    assert events[0].timeout == 0.2 and events[0].active_steps == ["hang"]


@both()
async def test_cancel_run_ends_the_stream_and_raises_cancelled_by_user(lib: Lib) -> None:
    class Started(lib.Event):
        pass

    cancelled: list[bool] = []

    class W(lib.Workflow):
        @lib.step
        async def hang(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            ctx.write_event_to_stream(Started())
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                cancelled.append(True)
                raise
            return lib.StopEvent()

    handler = W(timeout=None).run()
    seen = []
    async for ev in handler.stream_events():
        seen.append(type(ev).__name__)
        if isinstance(ev, Started):
            await handler.cancel_run()
    assert seen == ["Started", "WorkflowCancelledEvent"]
    with pytest.raises(lib.WorkflowCancelledByUser):
        await handler
    assert cancelled == [True]


@both()
async def test_stop_event_cancels_sibling_workers(lib: Lib) -> None:
    class A(lib.Event):
        pass

    slow_started = asyncio.Event()
    slow_cancelled = asyncio.get_running_loop().create_future()

    class W(lib.Workflow):
        @lib.step
        async def start(self, ev: lib.StartEvent) -> A:
            return A()

        @lib.step
        async def slow(self, ev: A) -> lib.StopEvent:
            slow_started.set()
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                slow_cancelled.set_result("slow")
                raise
            return lib.StopEvent(result="slow")

        @lib.step
        async def fast(self, ev: A) -> lib.StopEvent:
            await slow_started.wait()
            return lib.StopEvent(result="fast")

    assert await W(timeout=5).run() == "fast"
    assert await asyncio.wait_for(slow_cancelled, 5) == "slow"


@both()
async def test_wait_for_event_honours_requirements_and_publishes_the_waiter_event_once(
    lib: Lib,
) -> None:
    class Ask(lib.InputRequiredEvent):
        question: str

    class Reply(lib.HumanResponseEvent):
        text: str
        who: str = ""

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            reply = await ctx.wait_for_event(
                Reply, waiter_event=Ask(question="?"), requirements={"who": "me"}
            )
            return lib.StopEvent(result=reply.text)

    handler = W(timeout=5).run()
    seen = []
    async for ev in handler.stream_events():
        seen.append(type(ev).__name__)
        if isinstance(ev, Ask):
            handler.ctx.send_event(Reply(text="not for you", who="other"))
            handler.ctx.send_event(Reply(text="yes", who="me"))
    assert seen == ["Ask", "StopEvent"]
    assert await handler == "yes"


@both()
async def test_wait_for_event_timeout_raises_inside_the_step(lib: Lib) -> None:
    class Reply(lib.HumanResponseEvent):
        text: str

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> lib.StopEvent:
            try:
                await ctx.wait_for_event(Reply, timeout=0.05)
            except TimeoutError as error:
                return lib.StopEvent(result=type(error).__name__)
            return lib.StopEvent(result="answered")

    assert await W(timeout=5).run() == "TimeoutError"


@both()
async def test_a_run_waiting_for_people_times_out_with_no_steps_active(lib: Lib) -> None:
    """Anchor: the run timeout counts the time spent waiting for a person. stepwork: it does
    not (docs/porting.md); the run waits for the answer however long it takes."""

    class W(lib.Workflow):
        @lib.step
        async def ask(self, ev: lib.StartEvent) -> lib.InputRequiredEvent:
            return lib.InputRequiredEvent(prefix="?")

        @lib.step
        async def answer(self, ev: lib.HumanResponseEvent) -> lib.StopEvent:
            return lib.StopEvent(result=ev.response)

    if lib is not ANCHOR:
        clock = stepwork.testing.ManualClock()
        handler = W(timeout=0.2, clock=clock).run()
        async for ev in handler.stream_events(expose_internal=True):
            if isinstance(ev, lib.WorkflowIdleEvent):
                break
        await clock.advance(3_600)
        assert not handler.done()
        handler.ctx.send_event(lib.HumanResponseEvent(response="an hour later"))
        assert await handler == "an hour later"
        return
    handler = W(timeout=0.2).run()
    events = await drain(handler, expose_internal=True)
    public = [n for n in names(events) if n != "StepStateChanged"]
    assert public == ["InputRequiredEvent", "WorkflowIdleEvent", "WorkflowTimedOutEvent"]
    with pytest.raises(lib.WorkflowTimeoutError) as info:
        await handler
    assert str(info.value) == "Operation timed out after 0.2 seconds. No steps active"
    assert events[-1].active_steps == []


@both()
async def test_a_mid_run_snapshot_resumes_without_a_new_start_event(lib: Lib) -> None:
    class Ask(lib.InputRequiredEvent):
        pass

    class Reply(lib.HumanResponseEvent):
        text: str

    starts: list[int] = []

    class W(lib.Workflow):
        @lib.step
        async def s(self, ctx: lib.Context, ev: lib.StartEvent) -> Ask:
            starts.append(1)
            await ctx.store.set("topic", ev.topic)
            return Ask()

        @lib.step
        async def t(self, ctx: lib.Context, ev: Reply) -> lib.StopEvent:
            return lib.StopEvent(result=(await ctx.store.get("topic"), ev.text))

    wf = W(timeout=5)
    handler = wf.run(topic="t")
    async for ev in handler.stream_events():
        if isinstance(ev, Ask):
            snapshot = json.loads(json.dumps(handler.ctx.to_dict()))
            await handler.cancel_run()
    with pytest.raises(lib.WorkflowCancelledByUser):
        await handler
    restored = lib.Context.from_dict(wf, snapshot)
    assert restored.is_running
    resumed = wf.run(ctx=restored)
    await resumed.send_event(Reply(text="hi"))
    assert await resumed == ("t", "hi")
    assert starts == [1]


@both()
async def test_an_int_timeout_is_reported_as_a_float(lib: Lib) -> None:
    class W(lib.Workflow):
        @lib.step
        async def hang(self, ev: lib.StartEvent) -> lib.StopEvent:
            await asyncio.Event().wait()
            return lib.StopEvent()

    handler = W(timeout=1).run()
    with pytest.raises(lib.WorkflowTimeoutError, match=r"after 1\.0 seconds"):
        await handler
