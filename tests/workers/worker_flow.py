"""A three-step workflow for worker tests: each step takes a moment, so runs are in flight
when a worker is killed."""

from __future__ import annotations

import asyncio

from stepwork import Context, Event, StartEvent, StopEvent, Workflow, step


class Doubled(Event):
    n: int


class Tripled(Event):
    n: int


class Work(Workflow):
    """``n`` -> ``n * 6``, through three steps of ~200 ms each."""

    @step
    async def double(self, ev: StartEvent) -> Doubled:
        await asyncio.sleep(0.2)  # work, not synchronisation
        return Doubled(n=ev.n * 2)

    @step
    async def triple(self, ev: Doubled) -> Tripled:
        await asyncio.sleep(0.2)
        return Tripled(n=ev.n * 3)

    @step
    async def finish(self, ev: Tripled) -> StopEvent:
        await asyncio.sleep(0.2)
        return StopEvent(result=ev.n)


workflows = {"work": Work(timeout=None, workflow_name="work")}


class Reply(Event):
    n: int


class Asks(Workflow):
    """Waits for a person's ``Reply``: ``n * 1000 + reply``."""

    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        reply = await ctx.wait_for_event(Reply, waiter_id="reply", timeout=None)
        return StopEvent(result=ev.n * 1000 + reply.n)


class Naps(Workflow):
    """Sleeps ``ev.nap`` seconds durably, then answers ``n``."""

    @step
    async def nap(self, ctx: Context, ev: StartEvent) -> StopEvent:
        await ctx.sleep(ev.nap)
        return StopEvent(result=ev.n)


workflows["asks"] = Asks(timeout=None, workflow_name="asks")
workflows["naps"] = Naps(timeout=None, workflow_name="naps")
