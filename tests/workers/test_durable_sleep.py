"""``ctx.sleep`` is a durable, wall-clock wait: a worker releases the sleeping run, claims it
again when its timer falls due, and the step goes on from its sleep at the original time."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from stepwork import Context, StartEvent, StopEvent, Workflow, step
from stepwork._runtime.lease import LeaseSettings
from stepwork._runtime.worker import Worker, enqueue
from stepwork._stores.sqlite import SqliteStore

NAP = 0.4


class Naps(Workflow):
    @step
    async def nap(self, ctx: Context, ev: StartEvent) -> StopEvent:
        started = time.time()
        await ctx.sleep(NAP)
        await ctx.sleep(0)  # a second sleep is another wait (and a zero one ends at once)
        return StopEvent(result={"n": ev.n, "slept": time.time() - started})


async def test_a_sleeping_run_is_released_and_wakes_at_its_original_time(tmp_path: Path) -> None:
    db = tmp_path / "runs.db"
    flow = Naps(store=f"sqlite:///{db}", timeout=None, workflow_name="naps")
    enqueued = time.time()
    ids = [await enqueue(flow, StartEvent(n=n), f"nap-{n}") for n in range(3)]
    worker = Worker(
        [Naps(timeout=None, workflow_name="naps")],
        SqliteStore(db),
        settings=LeaseSettings(ttl=5, heartbeat=1),
        poll=0.05,
        idle_after=0.0,
    )
    stop = asyncio.Event()
    task = asyncio.ensure_future(worker.run(stop))
    store = SqliteStore(db)
    await store.open()
    try:
        deadline = time.monotonic() + 20
        while any(r.status != "completed" for r in await store.list_runs()):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)  # polling the store's state
        finished = time.time()
        assert worker.released_idle >= 3  # each slept outside the worker's memory
        for run_id in ids:
            record = await store.get_run(run_id)
            # Wall-clock: the step ran again from the top after its claim, and its sleep
            # ended at the time fixed when it began, not NAP after the claim.
            assert record.result["result"]["slept"] < NAP
            assert record.updated_at - enqueued >= NAP
            assert await store.next_timer(run_id) is None
        assert finished - enqueued < NAP + 5
    finally:
        stop.set()
        await task
        await store.close()
        await worker.store.close()
        assert flow.store is not None
        await flow.store.close()


async def test_sleep_works_in_a_run_without_a_worker_and_without_a_store() -> None:
    started = time.monotonic()
    result = await Naps(timeout=5).run(n=1)
    assert result["n"] == 1 and time.monotonic() - started >= NAP
