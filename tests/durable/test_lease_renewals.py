"""The leases a process holds on one store are renewed together: one ``renew_many`` per
heartbeat for all of them, and a lease lost among them stops its own run only."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from stepwork import Context, StartEvent, StopEvent, Workflow, step
from stepwork._core.errors import LeaseLostError
from stepwork._runtime.lease import PROCESS_OWNER
from stepwork._stores.protocol import Lease
from stepwork._stores.sqlite import SqliteStore

gate = asyncio.Event()
entered: list[int] = []
all_entered = asyncio.Event()


class Gated(Workflow):
    @step
    async def wait(self, ctx: Context, ev: StartEvent) -> StopEvent:
        entered.append(ev.n)
        if len(entered) == 3:
            all_entered.set()
        await gate.wait()
        return StopEvent(result=ev.n)


class CountingStore(SqliteStore):
    """Records every renewal call; ``beat`` is set after each ``renew_many``."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.batches: list[list[str]] = []
        self.single = 0
        self.beat = asyncio.Event()

    async def renew_many(self, leases: Sequence[Lease], ttl: float) -> list[Lease | None]:
        renewed = await super().renew_many(leases, ttl)
        self.batches.append([lease.run_id for lease in leases])
        self.beat.set()
        return renewed

    async def renew(self, lease: Lease, ttl: float) -> Lease:
        self.single += 1
        return await super().renew(lease, ttl)


async def test_held_runs_renew_together_and_a_lost_one_stops_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STEPWORK_LEASE_TTL", "5")
    monkeypatch.setenv("STEPWORK_LEASE_HEARTBEAT", "0.05")
    gate.clear()
    all_entered.clear()
    entered.clear()
    store = CountingStore(tmp_path / "runs.db")
    flow = Gated(store=store, timeout=None)
    handlers = [flow.run(start_event=StartEvent(n=n)) for n in range(3)]
    await all_entered.wait()
    keep, lose, keep_too = (handler.run_id for handler in handlers)
    async with SqliteStore(tmp_path / "runs.db") as other:  # another process takes one over
        taken = await other.claim_run(lose, "other", 30, take_from=PROCESS_OWNER)
        assert taken is not None
        with pytest.raises(LeaseLostError):
            await handlers[1]  # the next heartbeat found that lease gone
        store.beat.clear()
        await store.beat.wait()  # a heartbeat after the loss: the other two, in one call
        assert sorted(store.batches[-1]) == sorted([keep, keep_too])
        gate.set()
        assert [await handlers[0], await handlers[2]] == [0, 2]  # their work went on
        assert (await other.get_run(lose)).owner == "other"
    assert store.single == 0  # never one statement per run
    await store.close()
