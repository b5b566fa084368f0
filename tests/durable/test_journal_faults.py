"""A journal write that fails ends the run's handler with a ``StoreError`` naming the run, and
leaves the store as it was: no run row without its start tick, no event half-stored. Once the
store is writable the run starts (or resumes) again, and an idempotency key delivers a retried
send once. Real faults: a full disk under SQLite, a read-only PostgreSQL database."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stepwork import Context, Event, StartEvent, StopEvent, Workflow, step
from stepwork.errors import JournalWriteError, RunNotFoundError, StoreError
from stepwork.events import WorkflowIdleEvent
from stepwork.handler import WorkflowHandler
from stores.store_faults import FullDisk, ReadOnlyDatabase, full_disk

Fault = FullDisk | ReadOnlyDatabase


class Reply(Event):
    text: str


class Asks(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        reply = await ctx.wait_for_event(Reply, waiter_id="reply", timeout=None)
        return StopEvent(result=f"got {reply.text}")


@pytest.fixture(params=["sqlite-full-disk", "postgres-read-only"])
def fault(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fault]:
    """A store that can be made unwritable (``fill``) and writable again (``free``)."""
    if request.param == "postgres-read-only":
        dsn = request.getfixturevalue("postgres_dsn")
        yield ReadOnlyDatabase(request.getfixturevalue("postgres_server"), dsn)
        return
    with full_disk(tmp_path) as disk:
        yield disk


async def _idle(handler: WorkflowHandler) -> None:
    async for event in handler.stream_events(expose_internal=True):
        if isinstance(event, WorkflowIdleEvent):  # published once journaled
            return


async def _kinds(workflow: Workflow, run_id: str) -> list[Any]:
    assert workflow.store is not None
    return [(r["kind"], r.get("idempotency_key")) for r in await workflow.store.load_ticks(run_id)]


async def test_a_failed_first_write_leaves_no_run_and_names_it(fault: Fault) -> None:
    workflow = Asks(store=fault.store_url, timeout=None)
    assert workflow.store is not None
    await workflow.store.open()
    try:
        fault.fill()
        with pytest.raises(JournalWriteError) as caught:
            await workflow.run(run_id="a1")
        assert caught.value.run_id == "a1"
        assert "a1" in str(caught.value)
        assert isinstance(caught.value.__cause__, StoreError)
        fault.free()
        with pytest.raises(RunNotFoundError):
            await workflow.store.get_run("a1")
        handler = workflow.run(run_id="a1")
        await _idle(handler)
        await handler.send_event(Reply(text="yes"))
        assert await handler == "got yes"
    finally:
        await workflow.store.close()


async def test_a_failed_send_ends_the_handler_and_a_keyed_retry_counts_once(fault: Fault) -> None:
    workflow = Asks(store=fault.store_url, timeout=None)
    assert workflow.store is not None
    try:
        handler = workflow.run(run_id="s1")
        await _idle(handler)
        stored = await _kinds(workflow, "s1")
        fault.fill()
        await handler.send_event(Reply(text="lost"), idempotency_key="k1")
        with pytest.raises(JournalWriteError) as caught:
            await asyncio.wait_for(handler, 30)
        assert caught.value.run_id == "s1"
        # The run ended through the reducer: its state, its context and its handler agree.
        driver: Any = handler._driver
        assert driver.state.status == "failed" and driver.state.error is caught.value
        assert handler.ctx is not None and not handler.ctx.is_running
        assert handler.cancel() is False
        with pytest.raises(JournalWriteError):  # nothing sent now would be stored
            await handler.send_event(Reply(text="later"))
        fault.free()

        assert (await workflow.store.get_run("s1")).status == "running"
        assert await _kinds(workflow, "s1") == stored  # the lost send left nothing
        resumed = workflow.resume("s1")
        await _idle(resumed)
        await resumed.send_event(Reply(text="kept"), idempotency_key="k1")
        await resumed.send_event(Reply(text="again"), idempotency_key="k1")  # not delivered
        assert await resumed == "got kept"
        sent = [item for item in await _kinds(workflow, "s1") if item[0] == "event"]
        assert sent == [("event", "k1")]
    finally:
        await workflow.store.close()
