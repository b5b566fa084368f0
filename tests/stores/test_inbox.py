"""The inbox (``Store.deliver``, ``load_inbox``, ``JournalBatch.consumed``) on every backend:
outside input to a run, stored durably and taken in exactly once with the tick it becomes."""

from __future__ import annotations

import time

import pytest

from stepwork._core.errors import LeaseLostError, RunNotFoundError, WorkflowRuntimeError
from stepwork._stores.protocol import InboxNotice, JournalBatch, Store

from .test_leases import FAR, new_run, tick

ANSWER = {"type": "Answer", "data": {"text": "yes"}}


async def test_a_delivered_message_is_stored_and_wakes_a_waiting_run(store: Store) -> None:
    await new_run(store, "r1", runnable=False)
    assert (await store.get_run("r1")).runnable_at is None
    assert await store.claim_runnable("w1", ttl=30, limit=5) == []
    now = time.time()
    await store.deliver("r1", "event", ANSWER, "k1", now, step="ask")
    await store.deliver("r1", "cancel", None, None, now + 1)
    messages = await store.load_inbox("r1")
    assert [(m.kind, m.record, m.idempotency_key, m.step) for m in messages] == [
        ("event", ANSWER, "k1", "ask"),
        ("cancel", None, None, None),
    ]
    assert messages[0].id < messages[1].id and messages[0].at == now
    assert (await store.get_run("r1")).runnable_at == now
    claimed = await store.claim_runnable("w1", ttl=30, limit=5)
    assert [lease.run_id for lease in claimed] == ["r1"]


async def test_a_pending_message_with_a_seen_key_is_stored_once(store: Store) -> None:
    await new_run(store, "r1", runnable=False)
    for _ in range(3):
        await store.deliver("r1", "event", ANSWER, "same", time.time())
    await store.deliver("r1", "event", ANSWER, None, time.time())
    await store.deliver("r1", "event", ANSWER, None, time.time())  # unkeyed: every one counts
    assert [m.idempotency_key for m in await store.load_inbox("r1")] == ["same", None, None]
    await new_run(store, "r2", runnable=False)
    await store.deliver("r2", "event", ANSWER, "same", time.time())  # keys are per run
    assert len(await store.load_inbox("r2")) == 1


async def test_messages_go_with_the_ticks_that_took_them_in(store: Store) -> None:
    await new_run(store, "r1", runnable=False)
    lease = await store.claim_run("r1", "w1", ttl=30)
    assert lease is not None
    await store.deliver("r1", "event", ANSWER, "k1", time.time())
    await store.deliver("r1", "event", ANSWER, "k2", time.time())
    first, second = await store.load_inbox("r1")
    await store.append(JournalBatch("r1", 1, [tick(1)], epoch=lease.epoch, consumed=[first.id]))
    assert await store.load_inbox("r1") == [second]
    # A stale holder's batch stores nothing: its message stays for the new holder.
    newer = await store.claim_run("r1", "w1", ttl=30)
    assert newer is not None
    with pytest.raises(LeaseLostError):
        await store.append(
            JournalBatch("r1", 2, [tick(2)], epoch=lease.epoch, consumed=[second.id])
        )
    assert await store.load_inbox("r1") == [second]
    # A batch without ticks may only drop messages (a duplicate by key).
    await store.append(JournalBatch("r1", 2, [], epoch=newer.epoch, consumed=[second.id]))
    assert await store.load_inbox("r1") == []
    assert (await store.get_run("r1")).ticks == 2


async def test_unknown_and_ended_runs_refuse_messages_and_an_ending_empties_the_inbox(
    store: Store,
) -> None:
    with pytest.raises(RunNotFoundError, match="'nope'"):
        await store.deliver("nope", "event", ANSWER, None, time.time())
    await new_run(store, "r1", runnable=False)
    await store.deliver("r1", "event", ANSWER, None, time.time())
    await store.append(JournalBatch("r1", 1, [tick(1)], status="cancelled"))
    assert await store.load_inbox("r1") == []
    with pytest.raises(WorkflowRuntimeError, match=r"'r1' has already finished \(cancelled\)"):
        await store.deliver("r1", "cancel", None, None, time.time())
    assert await store.load_inbox("r1") == []
    assert await store.claim_runnable("w1", ttl=30, limit=5) == []


async def test_an_idle_release_with_a_pending_message_leaves_the_run_runnable(
    store: Store,
) -> None:
    await new_run(store, "r1", runnable=False)
    lease = await store.claim_run("r1", "w1", ttl=30)
    assert lease is not None
    await store.append(JournalBatch("r1", 1, [tick(1)], epoch=lease.epoch, timers=[("t", FAR)]))
    await store.deliver("r1", "event", ANSWER, None, time.time())  # while held
    assert await store.release(lease, idle=True)
    record = await store.get_run("r1")
    assert record.runnable_at is not None and record.runnable_at <= time.time()
    again = await store.claim_run("r1", "w2", ttl=30)
    assert again is not None
    (message,) = await store.load_inbox("r1")
    await store.append(JournalBatch("r1", 2, [tick(2)], epoch=again.epoch, consumed=[message.id]))
    assert await store.release(again, idle=True)
    assert (await store.get_run("r1")).runnable_at == FAR  # only its timer wakes it now


async def test_an_append_delivers_its_notice_in_its_own_transaction(store: Store) -> None:
    await new_run(store, "parent", runnable=False)
    await new_run(store, "child", runnable=False)
    lease = await store.claim_run("child", "w1", ttl=30)
    assert lease is not None
    notice = InboxNotice("parent", ANSWER, "ended:child")
    # A refused append (a stale epoch) delivers nothing.
    with pytest.raises(LeaseLostError):
        await store.append(
            JournalBatch("child", 1, [tick(1)], epoch=lease.epoch + 1, notify=notice)
        )
    assert await store.load_inbox("parent") == []
    assert (await store.get_run("parent")).runnable_at is None
    ending = JournalBatch(
        "child", 1, [tick(1)], epoch=lease.epoch, status="failed", error={}, notify=notice
    )
    await store.append(ending)
    [message] = await store.load_inbox("parent")
    assert (message.kind, message.record, message.idempotency_key) == (
        "event",
        ANSWER,
        "ended:child",
    )
    assert (await store.get_run("parent")).runnable_at is not None
    claimed = await store.claim_runnable("w2", ttl=30, limit=5)
    assert [each.run_id for each in claimed] == ["parent"]
    # Another notice with the key while the first is pending stores nothing; an ended or
    # unknown target is skipped without failing the append.
    await new_run(store, "again", runnable=False)
    await store.append(JournalBatch("again", 1, [tick(1)], notify=notice))
    assert len(await store.load_inbox("parent")) == 1
    await store.append(JournalBatch("parent", 1, [tick(1)], status="cancelled", error={}))
    gone = InboxNotice("nobody", ANSWER, "k")
    await store.append(JournalBatch("again", 2, [tick(2)], notify=notice))
    await store.append(JournalBatch("again", 3, [tick(3)], notify=gone))
    assert (await store.get_run("again")).ticks == 4
