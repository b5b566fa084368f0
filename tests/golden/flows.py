"""Workflows whose tick logs are kept as golden files (see test_golden.py)."""

from __future__ import annotations

import asyncio
from typing import Any

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
from stepwork.testing import ManualClock


class Item(Event):
    n: int


class Done(Event):
    n: int


class Ask(InputRequiredEvent):
    question: str


class Reply(HumanResponseEvent):
    text: str


class FanOut(Workflow):
    @step
    async def fan(self, ctx: Context, ev: StartEvent) -> list[Item]:
        await ctx.store.set("planned", ev.count)
        return [Item(n=n) for n in range(ev.count)]

    @step(num_workers=2)
    async def work(self, ctx: Context, ev: Item) -> Done | None:
        ctx.write_event_to_stream(Event(progress=ev.n))
        return None if ev.n == 2 else Done(n=ev.n)

    @step
    async def gather(self, items: list[Done]) -> StopEvent:
        return StopEvent(result=sorted(i.n for i in items))


class Flaky(Workflow):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.calls = 0

    @step(retry_policy=retry_policy(wait=wait_fixed(2), stop=stop_after_attempt(3)))
    async def flaky(self, ev: StartEvent) -> StopEvent:
        self.calls += 1
        if self.calls < 3:
            raise ConnectionError(f"attempt {self.calls}")
        return StopEvent(result=self.calls)


class Human(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        reply = await ctx.wait_for_event(Reply, waiter_event=Ask(question="name?"), waiter_id="q")
        return StopEvent(result=f"hello {reply.text}")


class Failing(Workflow):
    @step
    async def first(self, ctx: Context, ev: StartEvent) -> Item:
        ctx.send_event(Item(n=1))
        return Item(n=2)

    @step
    async def second(self, ev: Item) -> StopEvent | None:
        if ev.n == 2:
            raise KeyError("bad item")
        return None


async def _advance(clock: ManualClock, handler: WorkflowHandler, step: float) -> None:
    while not handler.done():
        await clock.advance(step)


async def record(name: str) -> WorkflowHandler:
    """Run golden flow ``name`` deterministically (manual clock, fixed run id)."""
    clock = ManualClock(start=1_000.0)
    if name == "fan_out":
        handler = FanOut(clock=clock, timeout=None).run(run_id=name, count=4)
    elif name == "retries":
        handler = Flaky(clock=clock, timeout=None).run(run_id=name)
        await _advance(clock, handler, 1.0)
    elif name == "human":
        handler = Human(clock=clock, timeout=None).run(run_id=name)
        async for ev in handler.stream_events():
            if isinstance(ev, Ask):
                await clock.advance(5.0)
                handler.ctx.send_event(Reply(text="ada"))
    else:
        handler = Failing(clock=clock, timeout=None).run(run_id=name)
    await asyncio.wait([handler])
    return handler


FLOWS = {"fan_out": FanOut, "retries": Flaky, "human": Human, "failing": Failing}
