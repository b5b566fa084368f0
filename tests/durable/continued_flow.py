"""Durable runs that start from state made elsewhere, then wait for a reply.

Run as a script against the SQLite file given as argument, it starts ``carried`` (a run given
the context of a finished run, whose ``ctx.store`` holds ``base``) and ``restored`` (a run of
a context restored from a mid-run snapshot of an in-memory run), prints "ready" once both are
journaled waiting, and then waits forever (the test kills it).
"""

from __future__ import annotations

import asyncio
import sys

from stepwork import Context, Event, StartEvent, StopEvent, Workflow, step
from stepwork.events import WorkflowIdleEvent


class Reply(Event):
    n: int


class Adds(Workflow):
    @step
    async def add(self, ctx: Context, ev: StartEvent) -> StopEvent:
        if getattr(ev, "base", None) is not None:
            await ctx.store.set("base", ev.base)
            return StopEvent(result="stored")
        reply = await ctx.wait_for_event(Reply, waiter_id="reply", timeout=None)
        return StopEvent(result=await ctx.store.get("base") + reply.n)


async def idle(handler: object) -> None:
    async for ev in handler.stream_events(expose_internal=True):  # type: ignore[attr-defined]
        if isinstance(ev, WorkflowIdleEvent):  # published only once journaled
            return


async def main(db: str) -> None:
    workflow = Adds(store=f"sqlite:///{db}", timeout=None, workflow_name="adds")
    first = workflow.run(run_id="first", base=100)
    assert await first == "stored"
    carried = workflow.run(ctx=first.ctx, run_id="carried")

    in_memory = Adds(timeout=None)
    elsewhere = in_memory.run(base=None)
    await elsewhere.ctx.store.set("base", 200)
    await idle(elsewhere)
    snapshot = elsewhere.ctx.to_dict()
    await elsewhere.cancel_run()
    restored = workflow.run(ctx=Context.from_dict(workflow, snapshot), run_id="restored")

    await asyncio.gather(idle(carried), idle(restored))
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
