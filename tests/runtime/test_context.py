"""Context services: sends, collects, human waits, state, snapshots and misuse."""

from __future__ import annotations

import asyncio
import json

import pytest
from pydantic import BaseModel

from stepwork import (
    Context,
    ContextSerdeError,
    ContextStateError,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowRuntimeError,
    step,
)
from stepwork.errors import StateSerializationError


class Ask(InputRequiredEvent):
    question: str


class Answer(HumanResponseEvent):
    text: str


class Ping(Event):
    n: int = 0


class HumanFlow(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> Ask:
        await ctx.store.set("asked", True)
        return Ask(question="name?")

    @step
    async def answer(self, ctx: Context, ev: Answer) -> StopEvent:
        return StopEvent(result=f"hello {ev.text} (asked={await ctx.store.get('asked')})")


async def test_human_in_the_loop_through_the_stream() -> None:
    handler = HumanFlow().run()
    async for ev in handler.stream_events():
        if isinstance(ev, Ask):
            await handler.send_event(Answer(text="ada"))
    assert await handler == "hello ada (asked=True)"


async def test_wait_for_event_suspends_without_rerunning_the_step() -> None:
    before = 0

    class W(Workflow):
        @step
        async def s(self, ctx: Context, ev: StartEvent) -> StopEvent:
            nonlocal before
            before += 1
            reply = await ctx.wait_for_event(
                Answer, waiter_event=Ask(question="ok?"), requirements={"text": "yes"}
            )
            return StopEvent(result=reply.text)

    handler = W().run()
    async for ev in handler.stream_events():
        if isinstance(ev, Ask):
            handler.ctx.send_event(Answer(text="no"))
            handler.ctx.send_event(Answer(text="yes"))
    assert await handler == "yes"
    assert before == 1


async def test_wait_for_event_timeout_raises_inside_the_step() -> None:
    class W(Workflow):
        @step
        async def s(self, ctx: Context, ev: StartEvent) -> StopEvent:
            try:
                await ctx.wait_for_event(Answer, timeout=0.01)
            except TimeoutError:
                return StopEvent(result="timed out")
            return StopEvent(result="answered")

    assert await W().run() == "timed out"


async def test_targeted_send_is_checked_at_once() -> None:
    class W(Workflow):
        @step
        async def s(self, ctx: Context, ev: StartEvent) -> Ping | None:
            with pytest.raises(WorkflowRuntimeError, match="Step nope does not exist"):
                ctx.send_event(Ping(), step="nope")
            with pytest.raises(WorkflowRuntimeError, match="Step s does not accept event of type"):
                ctx.send_event(Ping(), step="s")
            ctx.send_event(Ping(n=7), step="t")
            return None

        @step
        async def t(self, ev: Ping) -> StopEvent:
            return StopEvent(result=ev.n)

    assert await W().run() == 7


async def test_step_only_services_refuse_outside_steps() -> None:
    wf = HumanFlow()
    ctx: Context = Context(wf)
    with pytest.raises(ContextStateError, match="requires a running workflow"):
        ctx.send_event(Answer(text="x"))
    handler = wf.run(ctx=ctx)
    with pytest.raises(ContextStateError, match="only available from within step functions"):
        ctx.write_event_to_stream(Ping())
    with pytest.raises(ContextStateError, match="only available from within step functions"):
        ctx.collect_events(Ping(), [Ping])
    with pytest.raises(ContextStateError, match="already running"):
        wf.run(ctx=ctx)
    await handler.cancel_run()


async def test_state_persists_across_runs_that_share_a_context() -> None:
    class Counter(Workflow):
        @step
        async def s(self, ctx: Context, ev: StartEvent) -> StopEvent:
            count = await ctx.store.get("count", default=0) + 1
            await ctx.store.set("count", count)
            return StopEvent(result=count)

    wf = Counter()
    ctx: Context = Context(wf)
    assert await wf.run(ctx=ctx) == 1
    assert await wf.run(ctx=ctx) == 2
    assert await ctx.store.get("count") == 2


async def test_typed_state() -> None:
    class Totals(BaseModel):
        seen: int = 0

    class W(Workflow):
        @step
        async def s(self, ctx: Context[Totals], ev: StartEvent) -> StopEvent:
            async with ctx.store.edit_state() as state:
                state.seen += 5
            return StopEvent(result=(await ctx.store.get_state()).seen)

    assert await W().run() == 5


class _HoldsALock(Workflow):
    @step
    async def s(self, ctx: Context, ev: StartEvent) -> StopEvent:
        await ctx.store.set("lock", asyncio.Lock())
        return StopEvent(result=type(await ctx.store.get("lock")).__name__)


async def test_unserialisable_state_fails_a_journaled_step_naming_the_key() -> None:
    with pytest.raises(StateSerializationError, match="lock"):
        await _HoldsALock(store="memory://").run()


async def test_unserialisable_state_is_kept_without_a_store_until_a_snapshot() -> None:
    handler = _HoldsALock().run()
    assert await handler == "Lock"
    with pytest.raises(StateSerializationError, match="key lock: Lock"):
        handler.ctx.to_dict()


async def test_mid_run_snapshot_resumes_a_human_wait_without_a_new_start_event() -> None:
    starts = 0

    class W(Workflow):
        @step
        async def ask(self, ctx: Context, ev: StartEvent) -> Ask:
            nonlocal starts
            starts += 1
            await ctx.store.set("who", "asker")
            return Ask(question="name?")

        @step
        async def answer(self, ctx: Context, ev: Answer) -> StopEvent:
            return StopEvent(result=f"{ev.text} via {await ctx.store.get('who')}")

    wf = W()
    handler = wf.run()
    async for ev in handler.stream_events():
        if isinstance(ev, Ask):
            break
    snapshot = json.loads(json.dumps(handler.ctx.to_dict()))
    await handler.cancel_run()

    restored = Context.from_dict(wf, snapshot)
    assert restored.is_running
    resumed = wf.run(ctx=restored)
    resumed.ctx.send_event(Answer(text="grace"))
    assert await resumed == "grace via asker"
    assert starts == 1


async def test_snapshot_of_a_waiting_step_resumes_and_delivers_the_answer() -> None:
    class W(Workflow):
        @step
        async def s(self, ctx: Context, ev: StartEvent) -> StopEvent:
            reply = await ctx.wait_for_event(Answer, waiter_event=Ask(question="?"), waiter_id="q")
            return StopEvent(result=reply.text)

    wf = W()
    handler = wf.run()
    async for ev in handler.stream_events():
        if isinstance(ev, Ask):
            break
    snapshot = handler.ctx.to_dict()
    await handler.cancel_run()

    resumed = wf.run(ctx=Context.from_dict(wf, snapshot))
    resumed.ctx.send_event(Answer(text="late but kept"))
    events = [ev async for ev in resumed.stream_events()]
    assert await resumed == "late but kept"
    assert not any(isinstance(ev, Ask) for ev in events), "waiter event is published once"


async def test_from_dict_rejects_data_that_is_not_a_snapshot() -> None:
    with pytest.raises(ContextSerdeError, match="invalid format"):
        Context.from_dict(HumanFlow(), {"garbage": 1})


async def test_get_step_context_outside_a_step_raises() -> None:
    with pytest.raises(WorkflowRuntimeError, match="only available from within a step"):
        Context.get_step_context()
