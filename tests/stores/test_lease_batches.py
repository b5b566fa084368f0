"""Renewing and releasing many leases in one call (``Store.renew_many``, ``release_many``), on
every backend: each lease gets the answer ``renew``/``release`` would give it alone."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from stepwork._stores.protocol import JournalBatch, Lease, Store

from .conftest import BACKENDS
from .test_leases import new_run, tick


async def claimed(store: Store, run_id: str, owner: str = "w1", ttl: float = 30) -> Lease:
    lease = await store.claim_run(run_id, owner, ttl=ttl)
    assert lease is not None
    return lease


async def test_renew_many_renews_the_held_and_names_the_lost(store: Store) -> None:
    for run_id in ("kept", "taken", "released", "ended"):
        await new_run(store, run_id, runnable=False)
    kept = await claimed(store, "kept", ttl=0)
    taken = await claimed(store, "taken", ttl=0)
    thief = await claimed(store, "taken", "w2")  # lapsed, so taken over: the epoch moved on
    released = await claimed(store, "released")
    await store.release(released)
    ended = await claimed(store, "ended")
    await store.append(JournalBatch("ended", 1, [tick(1)], status="completed", epoch=ended.epoch))
    ghost = Lease("ghost", "w1", 1, time.time() + 30)  # no such run
    assert await store.renew_many([], ttl=60) == []

    before = time.time()
    renewed = await store.renew_many([kept, taken, released, ended, ghost], ttl=60)

    first, *lost = renewed
    assert lost == [None, None, None, None]
    assert first is not None
    assert (first.run_id, first.owner, first.epoch) == ("kept", "w1", kept.epoch)
    assert first.expires >= before + 59
    assert (await store.get_run("kept")).lease_expires == first.expires
    assert await store.claim_run("kept", "w2", ttl=30) is None  # no longer lapsed
    record = await store.get_run("taken")  # the thief's lease is untouched
    assert (record.owner, record.epoch, record.lease_expires) == ("w2", 2, thief.expires)
    assert (await store.get_run("released")).owner is None


async def test_renew_many_tells_two_epochs_of_one_run_apart(store: Store) -> None:
    await new_run(store, "r1", runnable=False)
    old = await claimed(store, "r1")
    new = await claimed(store, "r1")  # its holder claims it again: a new epoch
    renewed = await store.renew_many([old, new], ttl=60)
    assert renewed[0] is None
    assert renewed[1] is not None and renewed[1].epoch == new.epoch == old.epoch + 1


async def test_release_many_releases_each_as_release_would(store: Store) -> None:
    for run_id in ("waits", "timer", "message", "stale"):
        await new_run(store, run_id, runnable=False)
    waits = await claimed(store, "waits")
    timer = await claimed(store, "timer")
    at = time.time() + 600
    await store.append(JournalBatch("timer", 1, [tick(1)], timers=[("t", at)], epoch=timer.epoch))
    message = await claimed(store, "message")
    await store.deliver("message", "cancel", None, None, time.time())
    stale = await claimed(store, "stale")
    await claimed(store, "stale")  # claimed again: `stale` is no longer the run's
    assert await store.release_many([], idle=True) == []

    released = await store.release_many([waits, timer, message, stale], idle=True)

    assert released == [True, True, True, False]
    runs = {run_id: await store.get_run(run_id) for run_id in ("waits", "timer", "message")}
    assert all(run.owner is None and run.lease_expires is None for run in runs.values())
    assert runs["waits"].runnable_at is None  # waits only for outside input
    assert runs["timer"].runnable_at == at  # runnable at its earliest timer
    runnable = runs["message"].runnable_at  # a message waits: runnable at once
    assert runnable is not None and runnable <= time.time()
    assert (await store.get_run("stale")).owner == "w1"  # the newer lease still holds it
    claims = await store.claim_runnable("w2", 30, 10)
    assert [lease.run_id for lease in claims] == ["message"]


async def test_release_many_not_idle_leaves_every_run_runnable_at_once(store: Store) -> None:
    for run_id in ("a", "b"):
        await new_run(store, run_id, runnable=False)
    leases = [await claimed(store, "a"), await claimed(store, "b")]
    assert await store.release_many(leases) == [True, True]
    claims = await store.claim_runnable("w2", 30, 10)
    assert sorted(lease.run_id for lease in claims) == ["a", "b"]


@pytest.mark.skipif("postgres" not in BACKENDS, reason="PostgreSQL store not built")
async def test_postgres_renews_a_run_whose_row_an_append_holds_after_it(
    postgres_dsn: str,
) -> None:
    import asyncpg  # type: ignore[import-untyped]

    from stepwork._stores import postgres_leases
    from stepwork._stores.postgres import PostgresStore

    async with PostgresStore(postgres_dsn) as store:
        for run_id in ("free", "locked"):
            await new_run(store, run_id, runnable=False)
        leases = [await claimed(store, "free"), await claimed(store, "locked")]
        answers: list[Any] = []
        first_done = asyncio.Event()

        async def call(operation: Any) -> Any:
            answers.append(await store._call(operation))
            first_done.set()
            return answers[-1]

        locker = await asyncpg.connect(postgres_dsn)
        try:
            holding = locker.transaction()
            await holding.start()
            await locker.execute("SELECT 1 FROM runs WHERE run_id = 'locked' FOR UPDATE")
            expires = time.time() + 60
            renewing = asyncio.ensure_future(postgres_leases.renew_many(call, leases, expires))
            await first_done.wait()
            # The one statement renewed the free run without waiting for the locked one.
            assert sorted(tuple(row) for row in answers[0]) == [(1, True, True), (2, False, True)]
            await holding.commit()  # the "append" ends; the locked run is renewed alone
            renewed = await renewing
        finally:
            await locker.close()
        assert [lease and lease.expires for lease in renewed] == [expires, expires]
        assert (await store.get_run("locked")).lease_expires == expires


async def test_with_messages_names_the_runs_whose_inbox_holds_some(store: Store) -> None:
    for run_id in ("quiet", "asked", "told"):
        await new_run(store, run_id, runnable=False)
    await store.deliver("asked", "cancel", None, None, time.time())
    await store.deliver("told", "cancel", None, "k", time.time())
    assert await store.with_messages([]) == set()
    assert await store.with_messages(["quiet", "asked", "told", "ghost"]) == {"asked", "told"}


@pytest.mark.skipif("postgres" not in BACKENDS, reason="PostgreSQL store not built")
async def test_postgres_releases_in_one_statement(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncpg

    from stepwork._stores.postgres import PostgresStore

    sent: list[str] = []
    for name in ("execute", "fetch", "fetchrow", "fetchval"):  # every way a statement goes

        def counted(original: Any) -> Any:
            async def send(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
                sent.append(query)
                return await original(self, query, *args, **kwargs)

            return send

        monkeypatch.setattr(asyncpg.Connection, name, counted(getattr(asyncpg.Connection, name)))

    async with PostgresStore(postgres_dsn) as store:
        for run_id in ("r1", "r2"):
            await new_run(store, run_id, runnable=False)
        leases = [await claimed(store, "r1"), await claimed(store, "r2")]
        sent.clear()

        assert await store.release(leases[0], idle=True)
        assert await store.release_many([leases[1]]) == [True]

        assert len(sent) == 2  # no BEGIN, no separate lock, no COMMIT: one round trip each
