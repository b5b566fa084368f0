"""The three-step workflow of ``make bench-scale`` on stepwork's side (the same steps as
``scale_dbos_child.py`` gives the anchor on DBOS): served by ``stepwork worker``."""

from __future__ import annotations

from stepwork import Context, Event, InputRequiredEvent, StartEvent, StopEvent, Workflow, step


class One(Event):
    n: int


class Two(Event):
    n: int


class ThreeSteps(Workflow):
    """``n`` -> ``n + 2`` in three steps."""

    @step
    async def first(self, ev: StartEvent) -> One:
        return One(n=ev.get("n", 0))

    @step
    async def second(self, ev: One) -> Two:
        return Two(n=ev.n + 1)

    @step
    async def third(self, ev: Two) -> StopEvent:
        return StopEvent(result=ev.n + 1)


class Slow(Workflow):
    """One step that takes a while, so runs are in flight when a worker is killed."""

    @step
    async def work(self, ev: StartEvent) -> StopEvent:
        import asyncio

        await asyncio.sleep(30)  # work that is still going on when its worker dies
        return StopEvent(result=ev.get("n", 0))


class Reply(Event):
    n: int


class Asks(Workflow):
    """Asks a person for a number and waits for the answer (the memory of waiting runs)."""

    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        reply = await ctx.wait_for_event(
            Reply, waiter_event=InputRequiredEvent(prefix="n?"), waiter_id="reply", timeout=None
        )
        return StopEvent(result=ev.get("n", 0) + reply.n)


workflows = {
    "three": ThreeSteps(timeout=None, workflow_name="three"),
    "slow": Slow(timeout=None, workflow_name="slow"),
    "asks": Asks(timeout=None, workflow_name="asks"),
}
