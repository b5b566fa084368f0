"""Group commit on PostgreSQL (``postgres_group.py``): the appends of many runs that wait at
the same moment go in one statement, and each batch is still checked, stored or refused on its
own — fencing by epoch included — as if it had been sent alone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from stepwork._core.errors import JournalConflictError, LeaseLostError
from stepwork._stores.postgres import PostgresStore
from stepwork._stores.postgres_sql import APPEND_MANY
from stepwork._stores.protocol import InboxNotice, JournalBatch


def tick(n: int) -> dict[str, Any]:
    return {"kind": "timer", "at": float(n), "name": f"t{n}"}


@pytest.fixture
async def sql(postgres_dsn: str) -> AsyncIterator[Any]:
    """A raw connection to the test database, to look at or damage what the store wrote."""
    connection = await asyncpg.connect(postgres_dsn)
    yield connection
    await connection.close()


def record_fetches(monkeypatch: pytest.MonkeyPatch, *, break_after: bool = False) -> list[int]:
    """Count ``APPEND_MANY`` statements (how many batches each carried); with ``break_after``,
    the first one commits and then its connection is cut, as a server restart would."""
    original = asyncpg.Connection.fetch
    groups: list[int] = []

    async def fetch(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        if query != APPEND_MANY:
            return await original(self, query, *args, **kwargs)
        groups.append(len(args[0]))
        rows = await original(self, query, *args, **kwargs)
        if break_after and len(groups) == 1:
            self.terminate()
            raise asyncpg.ConnectionDoesNotExistError(
                "connection was closed in the middle of operation"
            )
        return rows

    monkeypatch.setattr(asyncpg.Connection, "fetch", fetch)
    return groups


async def held_runs(store: PostgresStore, count: int) -> list[int]:
    """``count`` runs r0, r1, ... with one tick each, claimed by one owner; their epochs."""
    epochs = []
    for n in range(count):
        await store.append(JournalBatch(f"r{n}", 0, [tick(0)], workflow="flow", created_at=1.0))
        lease = await store.claim_run(f"r{n}", "worker-a", ttl=60)
        assert lease is not None
        epochs.append(lease.epoch)
    return epochs


async def test_a_group_stores_each_fitting_batch_and_refuses_each_other_alone(
    postgres_dsn: str, sql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with PostgresStore(postgres_dsn) as store:
        epochs = await held_runs(store, 6)
        await sql.execute("UPDATE runs SET epoch = epoch + 1 WHERE run_id = 'r5'")  # taken over
        groups = record_fetches(monkeypatch)
        batches = [
            JournalBatch("r0", 1, [tick(1), tick(2)], 0, [{"e": 0}], epoch=epochs[0]),
            JournalBatch("r1", 1, [tick(1)], 0, [], epoch=epochs[1], timers=[("t", 50.0)]),
            JournalBatch(
                "r2",
                1,
                [tick(1)],
                0,
                [{"e": 2}],
                epoch=epochs[2],
                status="completed",
                result={"value": 2},
            ),
            JournalBatch("r3", 1, [tick(1)], epoch=None),  # unfenced
            JournalBatch("r4", 5, [tick(5)], epoch=epochs[4]),  # leaves a gap
            JournalBatch("r5", 1, [tick(1)], epoch=epochs[5]),  # a stale holder
        ]
        outcomes = await asyncio.gather(
            *(store.append(batch) for batch in batches), return_exceptions=True
        )
        assert groups == [6]  # one statement carried them all
        assert outcomes[:4] == [None] * 4
        assert isinstance(outcomes[4], JournalConflictError) and "seq" in str(outcomes[4])
        assert isinstance(outcomes[5], LeaseLostError)
        assert await store.load_ticks("r0") == [tick(0), tick(1), tick(2)]
        assert await store.load_events("r0") == [(0, {"e": 0})]
        assert await store.next_timer("r1") == 50.0
        ended = await store.get_run("r2")
        assert (ended.status, ended.result, ended.owner) == ("completed", {"value": 2}, None)
        assert (await store.get_run("r0")).owner == "worker-a"  # still held
        assert len(await store.load_ticks("r3")) == 2
        for refused in ("r4", "r5"):  # stored nothing
            assert await store.load_ticks(refused) == [tick(0)]


async def test_a_group_failing_as_a_whole_is_tried_batch_by_batch(
    postgres_dsn: str, sql: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with PostgresStore(postgres_dsn) as store:
        epochs = await held_runs(store, 4)
        # A tick row the counters do not know: r2's next append hits a duplicate key.
        await sql.execute("INSERT INTO ticks VALUES ('r2', 1, '{\"kind\": \"timer\"}')")
        groups = record_fetches(monkeypatch)
        outcomes = await asyncio.gather(
            *(store.append(JournalBatch(f"r{n}", 1, [tick(1)], epoch=epochs[n])) for n in range(4)),
            return_exceptions=True,
        )
        assert groups == [4]
        assert [outcome is None for outcome in outcomes] == [True, True, False, True]
        assert isinstance(outcomes[2], JournalConflictError)
        assert "nothing was stored" in str(outcomes[2])
        for n in (0, 1, 3):
            assert await store.load_ticks(f"r{n}") == [tick(0), tick(1)]
        assert (await store.get_run("r2")).ticks == 1


async def test_a_group_whose_connection_breaks_after_commit_is_stored_exactly_once(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with PostgresStore(postgres_dsn) as store:
        epochs = await held_runs(store, 3)
        groups = record_fetches(monkeypatch, break_after=True)
        batches = [
            JournalBatch(f"r{n}", 1, [tick(1)], 0, [{"n": n}], epoch=epochs[n]) for n in range(3)
        ]
        assert await asyncio.gather(*(store.append(batch) for batch in batches)) == [None] * 3
        assert groups == [3, 3]  # committed, cut, sent again: stored already, nothing matched
        for n in range(3):
            assert await store.load_ticks(f"r{n}") == [tick(0), tick(1)]
            assert await store.load_events(f"r{n}") == [(0, {"n": n})]


async def test_two_batches_of_one_run_never_share_a_group(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with PostgresStore(postgres_dsn) as store:
        await held_runs(store, 2)
        groups = record_fetches(monkeypatch)
        outcomes = await asyncio.gather(
            store.append(JournalBatch("r0", 1, [tick(1)])),
            store.append(JournalBatch("r0", 2, [tick(2)])),
            store.append(JournalBatch("r1", 1, [tick(1)])),
        )
        assert outcomes == [None] * 3
        assert groups == [2]  # r0's second batch went alone, after the first
        assert await store.load_ticks("r0") == [tick(0), tick(1), tick(2)]


async def test_callers_of_a_cancelled_group_are_cancelled_not_left_waiting(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with PostgresStore(postgres_dsn) as store:
        await held_runs(store, 3)
        original = asyncpg.Connection.fetch

        async def fetch(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
            if query == APPEND_MANY:  # the sender is cancelled mid-statement (loop shutdown)
                raise asyncio.CancelledError
            return await original(self, query, *args, **kwargs)

        monkeypatch.setattr(asyncpg.Connection, "fetch", fetch)
        outcomes = await asyncio.gather(
            *(store.append(JournalBatch(f"r{n}", 1, [tick(1)])) for n in range(3)),
            return_exceptions=True,
        )
        assert all(isinstance(o, asyncio.CancelledError) for o in outcomes)
        monkeypatch.setattr(asyncpg.Connection, "fetch", original)
        await store.append(JournalBatch("r0", 1, [tick(1)]))  # a new sender serves the next
        assert await store.load_ticks("r0") == [tick(0), tick(1)]


async def test_an_ending_with_a_notice_reads_the_clock_once(postgres_dsn: str) -> None:
    readings: list[float] = []

    def clock() -> float:  # a later reading is a later time
        readings.append(100.0 + len(readings))
        return readings[-1]

    async with PostgresStore(postgres_dsn, clock=clock) as store:
        for run_id in ("parent", "child"):
            await store.create_run(run_id, "flow", created_at=1.0)
        before = len(readings)
        notice = InboxNotice("parent", {"type": "ChildEnded"}, "child:child")
        await store.append(JournalBatch("child", 0, [tick(0)], status="completed", notify=notice))

        assert len(readings) == before + 1
        (message,) = await store.load_inbox("parent")
        assert message.at == (await store.get_run("child")).updated_at == readings[-1]
