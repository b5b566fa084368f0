"""Three durable runs that wait for a reply; run as a script, it starts them against the
SQLite file given as argument, prints "ready" once all three are journaled waiting, and then
waits forever (the test kills it)."""

from __future__ import annotations

import asyncio
import sys

from stepwork import Context, Event, StartEvent, StopEvent, Workflow, step
from stepwork.events import WorkflowIdleEvent


class Reply(Event):
    n: int


class Waits(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        reply = await ctx.wait_for_event(Reply, waiter_id="reply", timeout=None)
        return StopEvent(result=reply.n)


async def main(db: str) -> None:
    workflow = Waits(store=f"sqlite:///{db}", timeout=None, workflow_name="waits")
    handlers = [workflow.run(run_id=f"w{i}") for i in range(3)]
    for handler in handlers:
        async for ev in handler.stream_events(expose_internal=True):
            if isinstance(ev, WorkflowIdleEvent):  # published only once journaled
                break
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
