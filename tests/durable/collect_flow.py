"""A durable fan-in for kill-and-resume tests: ``gather`` logs every collect answer to a file.

Run as a script (``python collect_flow.py STORE_URL LOG KILL_AT``) it starts run ``fan-in-1``
and SIGKILLs itself once the journal holds ``KILL_AT`` collect ticks. The ``gather`` invocation
that made the last of them blocks after logging its answer, so the kill lands after its collect
tick is durable and before its ``step_done``.
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

RUN_ID = "fan-in-1"


class Part(Event):
    n: int


def log(line: str) -> None:
    """Append ``line`` to the log outside the engine (fsync'd: it survives the SIGKILL)."""
    with Path(os.environ["COLLECT_LOG"]).open("a") as file:
        file.write(line + "\n")
        file.flush()
        os.fsync(file.fileno())


class FanInFlow(Workflow):
    """Three parts fan out; ``gather`` (one at a time, in order) collects them."""

    collects = 0

    @step
    async def fan(self, ev: StartEvent) -> list[Part]:
        return [Part(n=1), Part(n=2), Part(n=3)]

    @step(num_workers=1)
    async def gather(self, ctx: Context, ev: Part) -> StopEvent | None:
        got = ctx.collect_events(ev, [Part, Part, Part])
        numbers = None if got is None else [part.n for part in got]
        log(f"gather {ev.n} {numbers}")
        FanInFlow.collects += 1
        if os.environ.get("COLLECT_BLOCK_AT") == str(FanInFlow.collects):
            await asyncio.Event().wait()  # the parent's kill lands here
        return None if numbers is None else StopEvent(result=numbers)


class KillAtCollect:
    """A store that SIGKILLs this process once it has journaled ``limit`` collect ticks."""

    def __init__(self, store: Store, limit: int) -> None:
        self.store = store
        self.limit = limit
        self.collects = 0

    async def append(self, batch: JournalBatch) -> None:
        await self.store.append(batch)
        self.collects += sum(record["kind"] == "collect" for record in batch.ticks)
        if self.collects >= self.limit:
            os.kill(os.getpid(), signal.SIGKILL)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


async def main(url: str, kill_at: int) -> None:
    store: Any = KillAtCollect(store_from_url(url), kill_at)
    handler = FanInFlow(store=store, timeout=None).run(run_id=RUN_ID)
    sys.stdout.write(f"{await handler}\n")


if __name__ == "__main__":
    os.environ["COLLECT_LOG"] = sys.argv[2]
    os.environ["COLLECT_BLOCK_AT"] = sys.argv[3]
    asyncio.run(main(sys.argv[1], int(sys.argv[3])))
