"""Leases, fenced appends, claiming and durable timers (``stepwork._stores.protocol``), on every
backend; races run between two store objects on one database (two "processes").

A lease of ``ttl=0`` has lapsed the moment it is granted, so expiry and takeover are tested
without waiting for a clock.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from stepwork._core.errors import JournalConflictError, LeaseLostError, RunNotFoundError
from stepwork._stores.protocol import DueTimer, JournalBatch, Lease, Store

from .conftest import BACKENDS

FAR = 1e12  # a time that never comes during a test


def tick(n: int) -> dict[str, Any]:
    return {"kind": "timer", "at": float(n), "timer_id": f"t{n}"}


async def new_run(
    store: Store, run_id: str, *, runnable: bool = True, workflow: str = "flow"
) -> None:
    """A run with one tick, runnable now (or waiting for something from outside)."""
    await store.append(
        JournalBatch(
            run_id,
            0,
            [tick(0)],
            workflow=workflow,
            created_at=time.time(),
            runnable_at=time.time() if runnable else None,
        )
    )


async def test_claiming_a_run_bumps_its_epoch_and_holds_it(store: Store) -> None:
    await new_run(store, "r1", runnable=False)
    assert (await store.get_run("r1")).epoch == 0
    lease = await store.claim_run("r1", "w1", ttl=30)
    assert lease is not None
    assert (lease.run_id, lease.owner, lease.epoch) == ("r1", "w1", 1)
    assert lease.expires > time.time() + 20
    assert await store.claim_run("r1", "w2", ttl=30) is None  # held: nobody else gets it
    record = await store.get_run("r1")
    assert (record.owner, record.epoch, record.lease_expires) == ("w1", 1, lease.expires)
    with pytest.raises(RunNotFoundError):
        await store.claim_run("nope", "w1", ttl=30)
    again = await store.claim_run("r1", "w1", ttl=30)  # its holder takes it again: a new epoch
    assert again is not None and again.epoch == 2
    with pytest.raises(LeaseLostError):  # ... and its earlier writer in that process is fenced
        await store.append(JournalBatch("r1", 1, [tick(1)], epoch=lease.epoch))


async def test_an_expired_lease_is_taken_over_and_the_old_holder_is_fenced(store: Store) -> None:
    await new_run(store, "r1")
    old = await store.claim_run("r1", "w1", ttl=0)  # lapses at once
    assert old is not None
    await store.append(JournalBatch("r1", 1, [tick(1)], epoch=old.epoch))  # not taken yet: fine
    new = await store.claim_run("r1", "w2", ttl=30)
    assert new is not None and new.epoch == old.epoch + 1
    stale = JournalBatch(
        "r1", 2, [tick(2)], 0, [{"n": 1}], epoch=old.epoch, timers=[("t", 5.0)], runnable_at=1.0
    )
    with pytest.raises(LeaseLostError, match=r"run 'r1' at lease epoch 1: the run is at epoch 2"):
        await store.append(stale)
    record = await store.get_run("r1")
    assert (record.ticks, record.events) == (2, 0)  # the stale writer stored nothing
    assert await store.next_timer("r1") is None
    assert record.runnable_at is not None and record.runnable_at > 1.0
    with pytest.raises(LeaseLostError):
        await store.renew(old, ttl=30)
    assert await store.release(old) is False  # a stale release changes nothing
    assert (await store.get_run("r1")).owner == "w2"
    await store.append(JournalBatch("r1", 2, [tick(2)], epoch=new.epoch))
    assert (await store.get_run("r1")).ticks == 3
    with pytest.raises(LeaseLostError, match="no longer exists"):
        await store.append(JournalBatch("gone", 0, [tick(0)], epoch=1))


async def test_a_lease_lost_error_is_a_conflict(store: Store) -> None:
    assert issubclass(LeaseLostError, JournalConflictError)
    await new_run(store, "r1")
    with pytest.raises(LeaseLostError):  # epoch 0: never claimed, so epoch 3 is stale
        await store.append(JournalBatch("r1", 1, [tick(1)], epoch=3))
    await store.append(JournalBatch("r1", 1, [tick(1)]))  # unfenced: today's one process


async def test_renew_extends_and_release_hands_back(store: Store) -> None:
    await new_run(store, "r1")
    lease = await store.claim_run("r1", "w1", ttl=0)
    assert lease is not None
    renewed = await store.renew(lease, ttl=60)
    assert renewed.epoch == lease.epoch and renewed.expires >= lease.expires + 59
    assert await store.claim_run("r1", "w2", ttl=30) is None  # renewed: no longer lapsed
    before = time.time()
    assert await store.release(renewed) is True
    record = await store.get_run("r1")
    assert (record.owner, record.lease_expires, record.epoch) == (None, None, 1)
    assert record.runnable_at is not None and record.runnable_at >= before  # claimable at once
    with pytest.raises(LeaseLostError, match="renew"):
        await store.renew(renewed, ttl=30)
    assert [c.run_id for c in await store.claim_runnable("w2", 30, 10)] == ["r1"]


async def test_a_run_created_under_a_lease_is_never_claimable_by_others(store: Store) -> None:
    lease = Lease("r1", "me", 1, time.time() + 30)
    batch = JournalBatch(
        "r1", 0, [tick(0)], workflow="flow", created_at=1.0, lease=lease, epoch=1,
        runnable_at=time.time(),
    )  # fmt: skip
    await store.append(batch)
    record = await store.get_run("r1")
    assert (record.owner, record.epoch) == ("me", 1)
    assert await store.claim_run("r1", "other", ttl=30) is None
    assert await store.claim_runnable("other", 30, 10) == []
    await store.append(JournalBatch("r1", 1, [tick(1)], epoch=1))


async def test_claim_runnable_takes_the_longest_waiting_runnable_runs(store: Store) -> None:
    for n in range(4):
        await new_run(store, f"r{n}")
    await new_run(store, "waiting", runnable=False)  # waits for a person: never claimed
    await new_run(store, "other", workflow="another")
    await store.append(JournalBatch("later", 0, [tick(0)], workflow="flow", runnable_at=FAR))
    await new_run(store, "done")
    await store.append(JournalBatch("done", 1, [tick(1)], status="completed", result={}))
    held = await store.claim_run("r0", "w0", ttl=30)
    assert held is not None
    first = await store.claim_runnable("w1", 30, 2, workflows=["flow"])
    assert [lease.run_id for lease in first] == ["r1", "r2"]
    assert all(lease.epoch == 1 and lease.owner == "w1" for lease in first)
    rest = await store.claim_runnable("w2", 30, 10, workflows=["flow"])
    assert [lease.run_id for lease in rest] == ["r3"]
    assert await store.claim_runnable("w3", 30, 10, workflows=[]) == []
    claimed = await store.claim_runnable("w3", 30, 10)
    assert [(c.run_id, c.workflow) for c in claimed] == [("other", "another")]  # named
    assert all(lease.workflow == "flow" for lease in first + rest)
    assert (await store.get_run("done")).runnable_at is None


async def test_the_append_that_ends_a_run_releases_its_lease(store: Store) -> None:
    await new_run(store, "r1")
    lease = await store.claim_run("r1", "w1", ttl=30)
    assert lease is not None
    await store.append(JournalBatch("r1", 1, [tick(1)], epoch=lease.epoch, timers=[("t", FAR)]))
    assert (await store.get_run("r1")).owner == "w1"  # a batch that does not end it keeps it
    await store.append(
        JournalBatch("r1", 2, [tick(2)], epoch=lease.epoch, status="failed", error={"e": 1})
    )
    record = await store.get_run("r1")
    assert (record.status, record.owner, record.lease_expires) == ("failed", None, None)
    assert (record.runnable_at, await store.next_timer("r1")) == (None, None)
    assert not await store.release(lease)  # nothing left to give back


async def test_an_event_from_outside_makes_an_idle_run_runnable(store: Store) -> None:
    await new_run(store, "r1", runnable=False)
    assert await store.claim_runnable("w1", 30, 10) == []
    await store.append(JournalBatch("r1", 1, [tick(1)], runnable_at=time.time()))
    assert [c.run_id for c in await store.claim_runnable("w1", 30, 10)] == ["r1"]


async def test_timers_are_rows_written_with_their_ticks(store: Store) -> None:
    await new_run(store, "r1", runnable=False)
    await new_run(store, "r2", runnable=False)
    lease = await store.claim_run("r1", "w1", ttl=30)
    assert lease is not None
    await store.append(
        JournalBatch(
            "r1", 1, [tick(1)], epoch=lease.epoch,
            timers=[("run", FAR), ("retry", 50.0), ("wait", 70.0), ("wait", None), ("x", None)],
        )
    )  # fmt: skip
    await store.append(JournalBatch("r2", 1, [tick(1)], timers=[("sleep", 60.0)]))
    assert await store.next_timer("r1") == 50.0
    assert await store.due_timers(now=65.0) == [
        DueTimer("r1", "retry", 50.0),
        DueTimer("r2", "sleep", 60.0),
    ]
    assert await store.due_timers(now=65.0, limit=1) == [DueTimer("r1", "retry", 50.0)]
    await store.append(JournalBatch("r1", 2, [tick(2)], timers=[("retry", None), ("run", 80.0)]))
    assert await store.next_timer("r1") == 80.0
    assert await store.release(lease, idle=True) is True  # idle: runnable at its next timer
    assert (await store.get_run("r1")).runnable_at == 80.0
    await store.append(JournalBatch("r2", 2, [tick(2)], status="cancelled", error={}))
    assert await store.next_timer("r2") is None  # an ended run keeps no timers
    assert await store.due_timers(now=FAR) == [DueTimer("r1", "run", 80.0)]
    assert [c.run_id for c in await store.claim_runnable("w2", 30, 10)] == ["r1"]


async def test_a_run_released_idle_without_timers_waits_for_outside(store: Store) -> None:
    await new_run(store, "r1")
    lease = (await store.claim_runnable("w1", 30, 1))[0]
    assert await store.release(lease, idle=True) is True
    assert (await store.get_run("r1")).runnable_at is None
    assert await store.claim_runnable("w1", 30, 1) == []


async def test_two_claimers_never_get_the_same_run(
    make_store: Callable[[], Store],
) -> None:
    one, two = make_store(), make_store()
    await one.open()
    await two.open()
    for n in range(30):
        await new_run(one, f"r{n:02}")
    claimed: list[list[Lease]] = [[], []]

    async def claim(store: Store, mine: list[Lease], owner: str) -> None:
        while got := await store.claim_runnable(owner, 30, 3):
            mine.extend(got)

    await asyncio.gather(claim(one, claimed[0], "w1"), claim(two, claimed[1], "w2"))
    ids = [lease.run_id for leases in claimed for lease in leases]
    assert sorted(ids) == [f"r{n:02}" for n in range(30)]  # each run exactly once
    results = await asyncio.gather(
        *(store.claim_run("r00", owner, 30) for store, owner in ((one, "x1"), (two, "x2")))
    )
    assert results == [None, None]  # held by whoever claimed it first
    await new_run(one, "solo", runnable=False)
    results = await asyncio.gather(
        *(store.claim_run("solo", owner, 30) for store, owner in ((one, "a"), (two, "b")))
    )
    assert sum(result is not None for result in results) == 1


@pytest.mark.skipif("postgres" not in BACKENDS, reason="PostgreSQL store not built")
async def test_postgres_notifies_appends_and_runnable_runs(postgres_dsn: str) -> None:
    from stepwork._stores.postgres import PostgresStore

    heard: asyncio.Queue[tuple[str, str]] = asyncio.Queue()
    async with PostgresStore(postgres_dsn) as store, PostgresStore(postgres_dsn) as other:
        async with store.listen(lambda kind, run_id: heard.put_nowait((kind, run_id))):
            await new_run(other, "r1")  # created runnable: an append that wakes workers
            assert {await heard.get(), await heard.get()} == {
                ("append", "r1"),
                ("runnable", "r1"),
            }
            await other.append(JournalBatch("r1", 1, [tick(1)]))
            assert await heard.get() == ("append", "r1")
            lease = await other.claim_run("r1", "w1", ttl=30)
            assert lease is not None
            await other.release(lease)  # handed back: runnable at once
            assert await heard.get() == ("runnable", "r1")
            lease = await other.claim_run("r1", "w1", ttl=30)
            assert lease is not None
            await other.release(lease, idle=True)  # idle, no timers: nobody needs waking
            await other.append(JournalBatch("r1", 2, [tick(2)]))
            assert await heard.get() == ("append", "r1")
            assert heard.empty()


async def test_sqlite_runs_from_before_leases_are_runnable_after_the_upgrade(
    tmp_path: Path,
) -> None:
    from stepwork._stores.migrate import SCHEMA_MIGRATIONS_DDL, load_migrations
    from stepwork._stores.sqlite import SqliteStore
    from stepwork._stores.sqlite_connect import split_statements

    path = tmp_path / "old.db"
    first = load_migrations("stepwork._stores.migrations.sqlite")[0]
    with sqlite3.connect(path) as db:
        for statement in [SCHEMA_MIGRATIONS_DDL, *split_statements(first.sql)]:
            db.execute(statement)
        db.execute("INSERT INTO schema_migrations VALUES (1, '0001_initial', 0)")
        db.execute("INSERT INTO runs (run_id, workflow, created_at, updated_at) VALUES "
                   "('old', 'flow', 1, 2), ('ended', 'flow', 1, 2)")  # fmt: skip
        db.execute("UPDATE runs SET status = 'completed' WHERE run_id = 'ended'")
    db.close()
    async with SqliteStore(path) as store:
        assert (await store.get_run("old")).runnable_at == 2.0
        assert [lease.run_id for lease in await store.claim_runnable("w", 30, 10)] == ["old"]


async def test_a_run_can_be_taken_from_a_named_dead_owner(store: Store) -> None:
    await new_run(store, "r1")
    assert await store.claim_run("r1", "dead", ttl=30) is not None
    assert await store.claim_run("r1", "me", ttl=30) is None
    assert await store.claim_run("r1", "me", ttl=30, take_from="other") is None
    taken = await store.claim_run("r1", "me", ttl=30, take_from="dead")
    assert taken is not None and (taken.owner, taken.epoch) == ("me", 2)


async def test_a_claim_says_who_held_the_run_before_it(store: Store) -> None:
    await new_run(store, "r1")
    first = await store.claim_run("r1", "w1", ttl=0)  # nobody held it; lapses at once
    assert first is not None and (first.previous_owner, first.taken_over) == (None, False)
    again = await store.claim_run("r1", "w1", ttl=0)  # its own holder again: no takeover
    assert again is not None and (again.previous_owner, again.taken_over) == ("w1", False)
    (lapsed,) = await store.claim_runnable("w2", 0, 10)  # w1's lease lapsed: a takeover
    assert (lapsed.previous_owner, lapsed.taken_over) == ("w1", True)
    dead = await store.claim_run("r1", "w3", ttl=30, take_from="w2")
    assert dead is not None and (dead.previous_owner, dead.taken_over) == ("w2", True)
    assert await store.release(dead) is True
    (released,) = await store.claim_runnable("w4", 30, 10)  # handed back: not taken over
    assert (released.previous_owner, released.taken_over) == (None, False)
