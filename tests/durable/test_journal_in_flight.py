"""``Journal.staged`` counts the batch being written, so ``written(staged)`` waits for it.

A collect answer handed to a worker thread waits for ``written(journal.staged)``: if the batch
in flight were not counted, a tick staged just before a write began would be answered before
it is stored (seen as a flaky ``test_collect_durable`` before the fix).
"""

from __future__ import annotations

import asyncio

from stepwork._core.state import RunState
from stepwork._runtime.journal import Journal
from stepwork._stores.memory import MemoryStore
from stepwork._stores.protocol import JournalBatch


class GatedStore(MemoryStore):
    """A memory store whose appends wait at a gate, so a write can be held in flight."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()
        self.gate = asyncio.Event()

    async def append(self, batch: JournalBatch) -> None:
        self.entered.set()
        await self.gate.wait()
        await super().append(batch)


async def test_a_tick_in_flight_is_counted_until_it_is_stored() -> None:
    store = GatedStore()
    journal = Journal(store, "r", "flow")
    executed: list[int] = []
    record = {"kind": "cancel", "at": 1.0}
    state = RunState("r")  # read only by a batch that ends the run; this one does not
    journal.stage(record, [], state, lambda commands: executed.append(len(commands)), 1.0)
    await store.entered.wait()  # the write has taken the tick and is waiting at the gate
    assert journal.next_seq == 0
    assert journal.staged == 1
    stored_when_answered: list[list[str]] = []

    async def answer() -> None:
        await journal.written(journal.staged)
        stored_when_answered.append([r["kind"] for r in await store.load_ticks("r")])

    answering = asyncio.ensure_future(answer())
    store.gate.set()
    await answering
    assert stored_when_answered == [["cancel"]]
    assert journal.next_seq == 1 and journal.staged == 1 and executed == [0]
    assert [r["kind"] for r in await store.load_ticks("r")] == ["cancel"]
