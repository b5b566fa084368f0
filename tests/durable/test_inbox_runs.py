"""Outside input through the store's inbox reaches a run held by another process exactly once.

The "other process" is a second store object on the same database; the holder looks in its
inbox after every lease renewal (a 50 ms heartbeat here).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from stepwork import Context, Event, StartEvent, StopEvent, Workflow, step
from stepwork._core.errors import LeaseLostError, WorkflowCancelledByUser
from stepwork._runtime.lease import PROCESS_OWNER
from stepwork._stores.codec import dump_event
from stepwork._stores.protocol import Store
from stepwork._stores.url import store_from_url
from stepwork.events import WorkflowIdleEvent


class Reply(Event):
    n: int


class TwoReplies(Workflow):
    @step
    async def ask(self, ctx: Context, ev: StartEvent) -> StopEvent:
        first = await ctx.wait_for_event(Reply, waiter_id="first", timeout=None)
        second = await ctx.wait_for_event(Reply, waiter_id="second", timeout=None)
        return StopEvent(result=first.n + second.n)


@pytest.fixture(autouse=True)
def quick_leases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STEPWORK_LEASE_TTL", "3")
    monkeypatch.setenv("STEPWORK_LEASE_HEARTBEAT", "0.05")


@pytest.fixture
async def flow(store_url: str) -> AsyncIterator[TwoReplies]:
    """The workflow on each backend; its store is closed after the test."""
    workflow = TwoReplies(store=store_url, timeout=None)
    yield workflow
    assert workflow.store is not None
    await workflow.store.close()


async def idle(handler: Any) -> None:
    async for event in handler.stream_events(expose_internal=True):
        if isinstance(event, WorkflowIdleEvent):
            return


async def until(check: Callable[[], Any], what: str) -> None:
    """Poll a stored state until ``check()`` is true (a state, not a guess)."""
    deadline = time.monotonic() + 10
    while not await check():
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)


async def keyed_events(store: Store, run_id: str) -> list[str | None]:
    return [
        t.get("idempotency_key") for t in await store.load_ticks(run_id) if t["kind"] == "event"
    ]


async def test_delivered_events_reach_the_holder_once_each(
    flow: TwoReplies, store_url: str
) -> None:
    handler = flow.run()
    await idle(handler)
    other = store_from_url(store_url)
    await other.open()
    try:
        run_id = handler.run_id
        await other.deliver(run_id, "event", dump_event(Reply(n=1)), "k1", time.time())

        async def consumed() -> bool:
            return await other.load_inbox(run_id) == []

        await until(consumed, "the holder took the first reply in")
        assert await keyed_events(other, run_id) == ["k1"]
        # The same key again is dropped by the holder: no tick, and it leaves the inbox.
        await other.deliver(run_id, "event", dump_event(Reply(n=100)), "k1", time.time())
        await until(consumed, "the holder dropped the duplicate")
        await other.deliver(run_id, "event", dump_event(Reply(n=2)), "k2", time.time())
        assert await handler == 3
        assert await keyed_events(other, run_id) == ["k1", "k2"]
        assert await other.load_inbox(run_id) == []
    finally:
        await other.close()


async def test_a_delivered_cancel_ends_the_held_run(flow: TwoReplies, store_url: str) -> None:
    handler = flow.run()
    await idle(handler)
    other = store_from_url(store_url)
    await other.open()
    try:
        await other.deliver(handler.run_id, "cancel", None, None, time.time())
        with pytest.raises(WorkflowCancelledByUser):
            await handler
        assert (await other.get_run(handler.run_id)).status == "cancelled"
        assert await other.load_inbox(handler.run_id) == []
    finally:
        await other.close()


async def test_a_handler_whose_run_went_elsewhere_sends_through_the_inbox(
    flow: TwoReplies, store_url: str
) -> None:
    handler = flow.run()
    await idle(handler)
    other = store_from_url(store_url)
    await other.open()
    try:
        taken = await other.claim_run(handler.run_id, "other", 30, take_from=PROCESS_OWNER)
        assert taken is not None
        with pytest.raises(LeaseLostError):
            await handler
        await handler.send_event(Reply(n=5), idempotency_key="k5")
        await handler.cancel_run()
        inbox = await other.load_inbox(handler.run_id)
        assert [(m.kind, m.idempotency_key) for m in inbox] == [("event", "k5"), ("cancel", None)]
        assert inbox[0].record == dump_event(Reply(n=5))
    finally:
        await other.close()
