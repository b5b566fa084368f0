"""The property the journal stands on: folding a run's recorded ticks rebuilds its final state."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from stepwork import (
    Context,
    Event,
    HumanResponseEvent,
    InputRequiredEvent,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowHandler,
    retry_policy,
    step,
    stop_after_attempt,
    wait_fixed,
)
from stepwork._core.reducer import fold
from stepwork._runtime.snapshot import dump_run_state
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


class FanOut(Workflow):
    @step
    async def fan(self, ctx: Context, ev: StartEvent) -> list[Item]:
        await ctx.store.set("planned", 5)
        return [Item(n=n) for n in range(5)]

    @step(num_workers=2)
    async def work(self, ctx: Context, ev: Item) -> Done | None:
        ctx.write_event_to_stream(Event(progress=ev.n))
        await asyncio.sleep(0)
        return None if ev.n == 3 else Done(n=ev.n)

    @step
    async def gather(self, items: list[Done]) -> StopEvent:
        return StopEvent(result=sorted(i.n for i in items))


class Flaky(Workflow):
    attempts = 0

    @step(retry_policy=retry_policy(wait=wait_fixed(1), stop=stop_after_attempt(3)))
    async def flaky(self, ev: StartEvent) -> StopEvent:
        Flaky.attempts += 1
        if Flaky.attempts % 3:
            raise ValueError("not yet")
        return StopEvent(result="ok")


class Human(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        reply = await ctx.wait_for_event(Reply, waiter_event=Ask())
        return StopEvent(result=reply.text)


class Failing(Workflow):
    @step
    async def first(self, ctx: Context, ev: StartEvent) -> Item:
        for n in range(3):
            ctx.send_event(Item(n=n))
        return Item(n=99)

    @step
    async def second(self, ctx: Context, ev: Item) -> StopEvent | None:
        if ev.n == 99:
            raise KeyError("bad item")
        ctx.collect_events(ev, [Item] * 10)
        return None


def assert_replay_equals_live(handler: WorkflowHandler) -> None:
    driver = handler.driver
    assert driver is not None
    folded = fold(driver.reducer, handler.ticks, driver.reducer.new_state(""))
    assert dump_run_state(folded) == dump_run_state(driver.state)
    assert folded.tick_count == len(handler.ticks)


async def test_fan_out_replays() -> None:
    handler = FanOut().run()
    assert await handler == [0, 1, 2, 4]
    assert_replay_equals_live(handler)


async def test_retries_replay() -> None:
    clock = ManualClock()
    handler = Flaky(timeout=None, clock=clock).run()
    for _ in range(3):
        await clock.advance(1)
    assert await handler == "ok"
    assert_replay_equals_live(handler)


async def test_human_wait_replays() -> None:
    handler = Human().run()
    async for ev in handler.stream_events():
        if isinstance(ev, Ask):
            await handler.send_event(Reply(text="hi"))
    assert await handler == "hi"
    assert_replay_equals_live(handler)


async def test_failure_replays() -> None:
    handler = Failing().run()
    with pytest.raises(KeyError):
        await handler
    assert_replay_equals_live(handler)


async def test_timeout_replays_and_a_prefix_folds_to_a_mid_run_state() -> None:
    clock = ManualClock()

    class Slow(Workflow):
        @step
        async def s(self, ev: StartEvent) -> StopEvent:
            await asyncio.Event().wait()
            return StopEvent()

    handler = Slow(timeout=5, clock=clock).run()
    await clock.advance(5)
    with pytest.raises(WorkflowTimeoutError):
        await handler
    assert_replay_equals_live(handler)
    driver: Any = handler.driver
    mid = fold(driver.reducer, handler.ticks[:1], driver.reducer.new_state(""))
    assert mid.status == "running" and list(mid.invocations) == [0]


async def test_state_writes_are_ticks_and_replay_into_the_state() -> None:
    handler = FanOut().run()
    await handler
    writes = [t for t in handler.ticks if type(t).__name__ == "TickStateWrite"]
    assert len(writes) == 1
    driver: Any = handler.driver
    assert driver.state.state == writes[0].state == handler.ctx.store.to_json()


class Counter(Workflow):
    @step
    async def count(self, ctx: Context, ev: StartEvent) -> StopEvent:
        n = await ctx.store.get("n", default=0) + 1
        await ctx.store.set("n", n)
        return StopEvent(result=n)


async def test_a_run_given_a_used_context_records_the_state_it_starts_from() -> None:
    workflow = Counter()
    first = workflow.run()
    assert await first == 1
    second = workflow.run(ctx=first.ctx)
    assert await second == 2
    assert_replay_equals_live(second)
    start = second.ticks[0]
    assert start.kind == "start" and start.base is not None
    assert start.base.state["state_data"]["data"] == {"n": 1}  # the tick's own copy, unchanged
    assert first.ticks[0].base is None  # a fresh context needs none


async def test_a_run_restored_mid_way_replays_from_its_first_tick() -> None:
    handler = Human().run()
    async for ev in handler.stream_events():
        if isinstance(ev, Ask):
            break
    snapshot = handler.ctx.to_dict()
    await handler.cancel_run()
    workflow = Human()
    restored = workflow.run(ctx=Context.from_dict(workflow, snapshot))
    await restored.send_event(Reply(text="again"))  # the question was asked before the snapshot
    assert await restored == "again"
    assert_replay_equals_live(restored)
