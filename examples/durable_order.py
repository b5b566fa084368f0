"""A durable run you can kill and resume by hand.

    python examples/durable_order.py            # starts run "order-42", or resumes it
    (press Ctrl-C, or kill -9 the process, while a step is waiting)
    python examples/durable_order.py            # resumes it: finished steps do not run again

The run is journaled in ``runs.db`` (SQLite, next to where you run it). Each step waits a
moment so there is time to interrupt it; set ORDER_FAST=1 to skip the waits.
"""

from __future__ import annotations

import asyncio
import os

from stepwork import Context, Event, RunNotFoundError, StartEvent, StopEvent, Workflow, step

DELAY = 0.0 if os.environ.get("ORDER_FAST") else 2.0
DATABASE = os.environ.get("ORDER_DB", "runs.db")


class Reserved(Event):
    item: str


class Charged(Event):
    item: str
    receipt: str


class OrderFlow(Workflow):
    @step
    async def reserve(self, ev: StartEvent) -> Reserved:
        print(f"reserving {ev.item}")
        await asyncio.sleep(DELAY)
        return Reserved(item=ev.item)

    @step
    async def charge(self, ctx: Context, ev: Reserved) -> Charged:
        # A payment API would get ctx.step_key as its idempotency key: if the process dies
        # while this step runs, the step runs again after the resume, with the same key.
        print(f"charging for {ev.item} (idempotency key {ctx.step_key})")
        await asyncio.sleep(DELAY)
        return Charged(item=ev.item, receipt=f"receipt-for-{ctx.step_key}")

    @step
    async def ship(self, ev: Charged) -> StopEvent:
        print(f"shipping {ev.item}")
        await asyncio.sleep(DELAY)
        return StopEvent(result=f"shipped {ev.item} ({ev.receipt})")


async def main() -> None:
    workflow = OrderFlow(store=f"sqlite:///{DATABASE}", timeout=None)
    try:
        result = await workflow.resume("order-42")
        print(f"run order-42 (resumed from {DATABASE}): {result}")
    except RunNotFoundError:
        print("starting run order-42, journaled in", DATABASE)
        print(await workflow.run(run_id="order-42", item="a book"))


if __name__ == "__main__":
    asyncio.run(main())
