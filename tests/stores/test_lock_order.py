"""Row-lock order on PostgreSQL: every statement that locks several ``runs`` rows takes them in
run id order, so no two of them deadlock (PostgreSQL would abort one with ``deadlock
detected``, 40P01).

Each test stages the interleaving that deadlocked before the order was fixed, without sleeps:
a raw connection holds one row, the store's statements start, and the test waits until
``pg_stat_activity`` shows them blocked on a lock before it lets go.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from stepwork._stores.postgres import PostgresStore
from stepwork._stores.protocol import InboxNotice, JournalBatch, Lease

OWNER = "worker-a"


def tick(n: int) -> dict[str, Any]:
    return {"kind": "timer", "at": float(n), "name": f"t{n}"}


@pytest.fixture
async def store(postgres_dsn: str) -> AsyncIterator[PostgresStore]:
    async with PostgresStore(postgres_dsn) as opened:
        yield opened


@pytest.fixture
async def sql(postgres_dsn: str) -> AsyncIterator[Any]:
    """A raw connection, to hold row locks in an explicit transaction."""
    connection = await asyncpg.connect(postgres_dsn)
    yield connection
    await connection.close()


@pytest.fixture
async def watch(postgres_dsn: str) -> AsyncIterator[Any]:
    """A raw connection outside any transaction, to watch the others: a transaction reads
    ``pg_stat_activity`` once and keeps that view until it ends."""
    connection = await asyncpg.connect(postgres_dsn)
    yield connection
    await connection.close()


async def held(store: PostgresStore, *run_ids: str) -> dict[str, Lease]:
    """New runs, each created with one tick and held by :data:`OWNER`, in the order given
    (which is their order in the table's heap, and so in a sequential scan)."""
    leases = {}
    for run_id in run_ids:
        lease = Lease(run_id, OWNER, 1, time.time() + 60)
        batch = JournalBatch(run_id, 0, [tick(0)], workflow="flow", created_at=1.0, lease=lease)
        await store.append(batch)
        leases[run_id] = lease
    return leases


async def lock_row(sql: Any, run_id: str) -> Any:
    """Start a transaction on ``sql`` holding ``run_id``'s row; commit it to let go."""
    holding = sql.transaction()
    await holding.start()
    await sql.execute("SELECT 1 FROM runs WHERE run_id = $1 FOR UPDATE", run_id)
    return holding


async def blocked(watch: Any, count: int) -> None:
    """Return once ``count`` other backends of this database wait for a lock."""
    query = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND wait_event_type = 'Lock'"
    )
    while await watch.fetchval(query) < count:
        pass  # each look is a round trip to the server: this waits on its state, not a timer


def ahead(batch: JournalBatch) -> JournalBatch:
    """The same run's next batch: one more tick, fenced by epoch 1."""
    return JournalBatch(batch.run_id, 1, [tick(1)], epoch=1)


async def test_a_group_append_and_a_release_of_the_same_runs_do_not_deadlock(
    store: PostgresStore, sql: Any, watch: Any
) -> None:
    # Heap order b, c, a: a scan-ordered group would take b, then wait for c; the release
    # takes a, then waits for b; once c is free the group would wait for a: a cycle.
    leases = await held(store, "b", "c", "a")
    holding = await lock_row(sql, "c")
    batches = [JournalBatch(run_id, 1, [tick(1)], epoch=1) for run_id in ("b", "c", "a")]
    group = asyncio.gather(*(store.append(batch) for batch in batches))
    await blocked(watch, 1)  # the group waits for c
    release = asyncio.ensure_future(store.release_many([leases["a"], leases["b"]], idle=True))
    await blocked(watch, 2)  # and the release for a row the group holds
    await holding.commit()

    await group  # neither is aborted as a deadlock victim
    assert await release == [True, True]
    for run_id in ("a", "b", "c"):
        assert (await store.get_run(run_id)).ticks == 2
    assert (await store.get_run("a")).owner is None


async def test_a_child_ending_and_a_group_holding_its_parent_do_not_deadlock(
    store: PostgresStore, sql: Any, watch: Any
) -> None:
    # The ending child's transaction appends to the child ("c-child"), then delivers to its
    # parent ("a-parent"). A group holding the parent, then waiting for the child (a stale
    # writer of both: its child batch, with nothing in it, fits whenever it comes) closes a
    # cycle unless both take the parent, the lower id, first.
    await held(store, "a-parent", "b", "c-child")
    holding = await lock_row(sql, "b")
    group = asyncio.gather(
        store.append(JournalBatch("a-parent", 1, [tick(1)], epoch=1)),
        store.append(JournalBatch("b", 1, [tick(1)], epoch=1)),
        store.append(JournalBatch("c-child", 1, [], epoch=1)),
    )
    await blocked(watch, 1)  # the group holds a-parent, and waits for b
    notice = InboxNotice("a-parent", {"type": "ChildEnded"}, "child:c-child")
    ending = JournalBatch("c-child", 1, [tick(1)], status="completed", epoch=1, notify=notice)
    ended = asyncio.ensure_future(store.append(ending))
    await blocked(watch, 2)
    await holding.commit()

    await group
    await ended
    assert (await store.get_run("c-child")).status == "completed"
    assert [m.idempotency_key for m in await store.load_inbox("a-parent")] == ["child:c-child"]
    assert (await store.get_run("a-parent")).ticks == 2


async def test_a_release_sees_a_message_delivered_while_it_waited_for_the_row(
    store: PostgresStore, sql: Any, watch: Any
) -> None:
    leases = await held(store, "r")
    holding = sql.transaction()
    await holding.start()  # a deliver in flight: the row locked, its message not committed
    await sql.execute(
        "WITH run AS (UPDATE runs SET runnable_at = $2 WHERE run_id = $1 RETURNING run_id) "
        "INSERT INTO inbox (run_id, kind, record, idempotency_key, step, at) "
        "SELECT run_id, 'cancel', NULL, NULL, NULL, $2 FROM run",
        "r",
        time.time(),
    )
    release = asyncio.ensure_future(store.release_many([leases["r"]], idle=True))
    await blocked(watch, 1)  # it began before the message was committed
    await holding.commit()

    assert await release == [True]
    runnable = (await store.get_run("r")).runnable_at
    assert runnable is not None and runnable <= time.time()  # woken, not left waiting
    assert [lease.run_id for lease in await store.claim_runnable("worker-b", 30, 10)] == ["r"]


async def test_the_statements_take_every_lock_in_run_id_order_before_they_change_a_row(
    store: PostgresStore, sql: Any
) -> None:
    # What the order rests on, whatever plan the table's size leads to: the locks are taken
    # by a sorted LockRows that runs once (a one-time filter) before the UPDATE reads a row.
    from stepwork._stores.postgres_append import append_args, many_args
    from stepwork._stores.postgres_lease_sql import RELEASE_MANY
    from stepwork._stores.postgres_sql import APPEND_MANY

    ids = [f"r{n:05}" for n in range(2000)]
    await sql.execute(
        "INSERT INTO runs (run_id, workflow, created_at, updated_at) "
        "SELECT id, 'flow', 1, 1 FROM unnest($1::text[]) AS id",
        ids,
    )
    await sql.execute("ANALYZE runs")
    batches = [append_args(JournalBatch(i, 0, [tick(0)]), 1.0, "a", "b") for i in ids]
    release = (ids, [OWNER] * len(ids), [1] * len(ids), True, 1.0, "b")
    for statement, args in ((APPEND_MANY, many_args(batches, 1.0)), (RELEASE_MANY, release)):
        plan = "\n".join(row[0] for row in await sql.fetch(f"EXPLAIN {statement}", *args))
        lock = plan.index("LockRows")
        assert "Sort Key: runs.run_id" in plan[lock : plan.index("Update on runs")]
        assert "One-Time Filter" in plan
