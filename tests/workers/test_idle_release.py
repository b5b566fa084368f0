"""A worker releases runs that only wait: they cost it no memory, and each continues, in
whichever worker claims it, once it is answered through the store's inbox."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from stepwork import Context, Event, StartEvent, StopEvent, Workflow, step
from stepwork._runtime.driver import RunDriver
from stepwork._runtime.handler import WorkflowHandler
from stepwork._runtime.lease import LeaseSettings
from stepwork._runtime.worker import Worker, enqueue
from stepwork._stores.codec import dump_event
from stepwork._stores.protocol import RunRecord
from stepwork._stores.sqlite import SqliteStore
from stepwork.events import InputRequiredEvent

SETTINGS = LeaseSettings(ttl=30, heartbeat=10)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]  # a thousand runs: ~15 s alone


class Reply(Event):
    n: int


class Asks(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        reply = await ctx.wait_for_event(
            Reply, waiter_event=InputRequiredEvent(prefix="n?"), waiter_id="reply", timeout=None
        )
        return StopEvent(result=ev.n * 1000 + reply.n)


async def until(store: SqliteStore, check: Callable[[list[RunRecord]], bool], what: str) -> None:
    """Poll the store (a state, not a guess) until ``check(runs)`` holds."""
    deadline = time.monotonic() + 60
    while not check(runs := await store.list_runs()):
        assert time.monotonic() < deadline, f"{what}: {runs[:3]}"
        await asyncio.sleep(0.05)


def _run_of(thing: object) -> str | None:
    """The run id of a driver, handler or context, else ``None``."""
    if isinstance(thing, RunDriver | WorkflowHandler):
        return thing.run_id
    if isinstance(thing, Context):
        driver = thing.wiring.driver
        return None if driver is None else driver.run_id
    return None


async def test_runs_waiting_for_a_person_cost_a_worker_no_memory(tmp_path: Path) -> None:
    count = int(os.environ.get("IDLE_RUNS", "1000"))  # fewer, to try it quickly
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    flow = Asks(store=url, timeout=None, workflow_name="asks")
    for n in range(count):
        await enqueue(flow, StartEvent(n=n), f"r{n:04}")
    store = SqliteStore(tmp_path / "runs.db")
    await store.open()
    worker = Worker(
        [Asks(timeout=None, workflow_name="asks")],
        SqliteStore(tmp_path / "runs.db"),
        concurrency=count,
        settings=SETTINGS,
        poll=0.05,
        idle_after=0.0,
    )
    stop = asyncio.Event()
    task = asyncio.ensure_future(worker.run(stop))

    def all_released(runs: list[RunRecord]) -> bool:
        return worker.released_idle == count and all(r.owner is None for r in runs)

    await until(store, all_released, "every waiting run is released")
    assert not worker.running
    gc.collect()
    # Nothing of a released run stays in memory: no driver, handler or context of it.
    # (Measured with tracemalloc: 18.1 MiB while 1,000 such runs are held, 0.7 MiB after
    # their release, most of it dictionary capacity; see docs/scale-out.md.)
    # (Other tests of the session may leave their own objects about: only this worker's count.)
    ours = {f"r{n:04}" for n in range(count)}
    alive = [o for o in gc.get_objects() if _run_of(o) in ours]
    assert alive == []
    runs = await store.list_runs()
    assert all(r.status == "running" and r.runnable_at is None for r in runs)

    for n in range(count):  # answered from "another process": the store's inbox
        await store.deliver(f"r{n:04}", "event", dump_event(Reply(n=7)), f"a{n}", time.time())
    await until(store, lambda runs: all(r.status == "completed" for r in runs), "all answered")
    stop.set()
    await task
    results = {r.run_id: r.result["result"] for r in await store.list_runs()}
    assert results == {f"r{n:04}": n * 1000 + 7 for n in range(count)}
    for n in range(0, count, 97):
        assert await store.load_inbox(f"r{n:04}") == []
    await store.close()
    await worker.store.close()
    assert flow.store is not None
    await flow.store.close()
