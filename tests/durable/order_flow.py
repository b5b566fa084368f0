"""A durable workflow for kill-and-resume tests: every step appends its name to a log file.

Run as a script (``python order_flow.py STORE_URL LOG BLOCK_AT [KILL_AFTER]``) it starts run
``order-42`` and blocks forever inside step ``BLOCK_AT`` after logging it, so the parent can kill
it there; with ``KILL_AFTER`` = N it kills itself (SIGKILL) as soon as the journal holds N ticks,
so every tick boundary can be a crash point.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

from stepwork import Context, Event, StartEvent, StopEvent, Workflow, step
from stepwork.stores import JournalBatch, Store, store_from_url


class Reserved(Event):
    item: str


class Charged(Event):
    item: str
    amount: int


def log(step_name: str) -> None:
    with Path(os.environ["ORDER_LOG"]).open("a") as file:
        file.write(step_name + "\n")
        file.flush()
        os.fsync(file.fileno())


async def maybe_block(step_name: str) -> None:
    if os.environ.get("ORDER_BLOCK_AT") == step_name:
        await asyncio.Event().wait()


class OrderFlow(Workflow):
    @step
    async def reserve(self, ctx: Context, ev: StartEvent) -> Reserved:
        log("reserve")
        ctx.write_event_to_stream(Event(progress="reserved"))
        await maybe_block("reserve")
        return Reserved(item=ev.item)

    @step
    async def charge(self, ctx: Context, ev: Reserved) -> Charged:
        log(f"charge {ctx.step_key}")
        await ctx.store.set("charged", True)
        ctx.write_event_to_stream(Event(progress="charged"))
        await maybe_block("charge")
        return Charged(item=ev.item, amount=42)

    @step
    async def ship(self, ctx: Context, ev: Charged) -> StopEvent:
        log("ship")
        await maybe_block("ship")
        charged = await ctx.store.get("charged")
        return StopEvent(result=f"shipped {ev.item} for {ev.amount} (charged={charged})")


class KillAfter:
    """A store that SIGKILLs this process once it has journaled ``limit`` ticks of a run."""

    def __init__(self, store: Store, limit: int) -> None:
        self.store = store
        self.limit = limit

    async def append(self, batch: JournalBatch) -> None:
        await self.store.append(batch)
        if batch.first_seq + len(batch.ticks) >= self.limit:
            os.kill(os.getpid(), signal.SIGKILL)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


async def main(url: str, kill_after: int | None) -> None:
    store: Any = store_from_url(url)
    if kill_after is not None:
        store = KillAfter(store, kill_after)
    handler = OrderFlow(store=store, timeout=None).run(run_id="order-42", item="book")
    sys.stdout.write(f"{await handler}\n")


if __name__ == "__main__":
    os.environ["ORDER_LOG"] = sys.argv[2]
    os.environ["ORDER_BLOCK_AT"] = sys.argv[3]
    asyncio.run(main(sys.argv[1], int(sys.argv[4]) if len(sys.argv) > 4 else None))
