"""PostgreSQL specifics, on a real server (``pg_server.py``): what the conformance suite cannot
say for every backend — pools, several processes' worth of stores, schemas, damage by hand."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from stepwork._core.errors import JournalConflictError, JournalCorruptError, StoreError
from stepwork._stores.migrate import load_migrations
from stepwork._stores.postgres import PostgresStore
from stepwork._stores.postgres_sql import APPEND, CREATE_RUN
from stepwork._stores.protocol import JournalBatch


def tick(n: int) -> dict[str, Any]:
    return {"kind": "timer", "at": float(n), "name": f"t{n}", "nested": {"z": [1, "é", None]}}


@pytest.fixture
async def sql(postgres_dsn: str) -> AsyncIterator[Any]:
    """A raw connection to the test database, to look at or damage what the store wrote."""
    connection = await asyncpg.connect(postgres_dsn)
    yield connection
    await connection.close()


async def test_a_second_pool_sees_everything_after_the_first_closes(postgres_dsn: str) -> None:
    first = PostgresStore(postgres_dsn, min_size=2, max_size=4)
    async with first:
        await first.create_run("r1", "flow", created_at=10.0)
        await first.append(JournalBatch("r1", 0, [tick(0), tick(1)], 0, [{"e": 1}]))
        await first.append(
            JournalBatch("r1", 2, [tick(2)], status="completed", result={"value": [1, 2.5]})
        )
    second = PostgresStore(postgres_dsn)
    async with second:
        assert await second.load_ticks("r1") == [tick(0), tick(1), tick(2)]
        assert await second.load_events("r1") == [(0, {"e": 1})]
        run = await second.get_run("r1")
        assert (run.status, run.result, run.ticks, run.events) == (
            "completed",
            {"value": [1, 2.5]},
            3,
            1,
        )
        assert [r.run_id for r in await second.list_runs(status=["completed"])] == ["r1"]


async def test_a_corrupt_record_names_run_and_seq_and_other_runs_keep_working(
    postgres_dsn: str, sql: Any
) -> None:
    async with PostgresStore(postgres_dsn) as store:
        for run_id in ("good", "bad"):
            await store.create_run(run_id, "flow", created_at=1.0)
            await store.append(JournalBatch(run_id, 0, [tick(0), tick(1), tick(2)]))
        await sql.execute(
            "UPDATE ticks SET record = '{\"kind\": \"tim' WHERE run_id = 'bad' AND seq = 1"
        )
        with pytest.raises(JournalCorruptError, match=r"run 'bad', tick record seq 1\b") as caught:
            await store.load_ticks("bad")
        assert caught.value.run_id == "bad"
        assert await store.load_ticks("bad", after_seq=1) == [tick(2)]
        await sql.execute("UPDATE ticks SET record = '[1, 2]' WHERE run_id = 'bad' AND seq = 2")
        with pytest.raises(JournalCorruptError, match=r"run 'bad', tick record seq 2\b"):
            await store.load_ticks("bad", after_seq=1)

        assert await store.load_ticks("good") == [tick(0), tick(1), tick(2)]
        await store.append(JournalBatch("good", 3, [tick(3)], status="completed"))
        assert (await store.get_run("good")).ticks == 4


async def test_a_newer_schema_is_refused_and_left_untouched(postgres_dsn: str, sql: Any) -> None:
    async with PostgresStore(postgres_dsn) as store:
        await store.create_run("r1", "flow", created_at=1.0)
    await sql.execute("INSERT INTO schema_migrations VALUES (99, '0099_future', 0)")
    store = PostgresStore(postgres_dsn)
    with pytest.raises(StoreError, match=r"version 99, newer than this stepwork knows"):
        await store.open()
    with pytest.raises(StoreError, match="is not open"):
        await store.get_run("r1")
    assert await sql.fetchval("SELECT count(*) FROM runs") == 1
    assert await sql.fetchval("SELECT max(version) FROM schema_migrations") == 99


async def test_concurrent_appends_over_one_pool_across_50_runs(postgres_dsn: str) -> None:
    async with PostgresStore(postgres_dsn, max_size=8) as store:
        run_ids = [f"run-{i}" for i in range(50)]
        await asyncio.gather(*(store.create_run(r, "flow", created_at=1.0) for r in run_ids))

        async def drive(run_id: str) -> None:
            for n in range(10):
                ticks = [tick(2 * n), tick(2 * n + 1)]
                await store.append(JournalBatch(run_id, 2 * n, ticks, n, [{"n": n}]))

        await asyncio.gather(*(drive(r) for r in run_ids))
        for run_id in run_ids:
            assert await store.load_ticks(run_id) == [tick(n) for n in range(20)]
            assert [o for o, _ in await store.load_events(run_id)] == list(range(10))
        assert await store.size() == {
            "runs": 50, "ticks": 1000, "events": 500, "bytes": (await store.size())["bytes"]
        }  # fmt: skip
        assert (await store.size())["bytes"] > 0


async def test_racing_appends_at_one_seq_store_exactly_one(postgres_dsn: str) -> None:
    async with PostgresStore(postgres_dsn, max_size=10) as store:
        await store.create_run("r1", "flow", created_at=1.0)
        outcomes = await asyncio.gather(
            *(store.append(JournalBatch("r1", 0, [tick(n)], 0, [{"n": n}])) for n in range(10)),
            return_exceptions=True,
        )
        winners = [n for n, outcome in enumerate(outcomes) if outcome is None]
        assert len(winners) == 1
        assert all(isinstance(o, JournalConflictError) for o in outcomes if o is not None)
        assert await store.load_ticks("r1") == [tick(winners[0])]
        assert await store.load_events("r1") == [(0, {"n": winners[0]})]


async def test_rows_out_of_step_with_the_counters_conflict_and_store_nothing(
    postgres_dsn: str, sql: Any
) -> None:
    async with PostgresStore(postgres_dsn) as store:
        await store.create_run("r1", "flow", created_at=1.0)
        await store.append(JournalBatch("r1", 0, [tick(0)]))
        await sql.execute("INSERT INTO ticks VALUES ('r1', 2, '{\"kind\": \"timer\"}')")
        with pytest.raises(JournalConflictError, match="nothing was stored"):
            await store.append(JournalBatch("r1", 1, [tick(1), tick(2)], 0, [{"e": 1}]))
        run = await store.get_run("r1")
        assert (run.ticks, run.events) == (1, 0)
        assert await store.load_events("r1") == []


async def test_database_errors_are_store_errors_and_dropped_connections_are_replaced(
    postgres_dsn: str, sql: Any
) -> None:
    async with PostgresStore(postgres_dsn, min_size=3) as store:
        with pytest.raises(StoreError, match="failed"):
            await store.create_run("nul\x00", "flow", created_at=1.0)  # text cannot hold NUL
        await store.create_run("r1", "flow", created_at=1.0)
        for n in range(3):  # as if the server restarted: every pooled connection is cut
            await sql.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            await store.append(JournalBatch("r1", n, [tick(n)]))
            assert len(await store.load_ticks("r1")) == n + 1
            assert (await store.get_run("r1")).ticks == n + 1


def break_connection(monkeypatch: pytest.MonkeyPatch, sql: str, *, after: bool) -> list[str]:
    """Make the next ``fetchval(sql)`` cut its connection, before or after it ran (committed)."""
    original = asyncpg.Connection.fetchval
    broken: list[str] = []

    async def fetchval(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
        if query != sql or broken:
            return await original(self, query, *args, **kwargs)
        broken.append(query)
        if after:
            await original(self, query, *args, **kwargs)
        self.terminate()
        raise asyncpg.ConnectionDoesNotExistError(
            "connection was closed in the middle of operation"
        )

    monkeypatch.setattr(asyncpg.Connection, "fetchval", fetchval)
    return broken


@pytest.mark.parametrize("after", [False, True], ids=["before-commit", "after-commit"])
async def test_a_write_whose_connection_breaks_happens_exactly_once(
    postgres_dsn: str, monkeypatch: pytest.MonkeyPatch, after: bool
) -> None:
    async with PostgresStore(postgres_dsn) as store:
        broken_create = break_connection(monkeypatch, CREATE_RUN, after=after)
        await store.create_run("r1", "flow", created_at=1.0)
        broken_append = break_connection(monkeypatch, APPEND, after=after)
        await store.append(JournalBatch("r1", 0, [tick(0), tick(1)], 0, [{"e": 1}]))
        assert broken_create + broken_append == [CREATE_RUN, APPEND]
        assert await store.load_ticks("r1") == [tick(0), tick(1)]
        assert await store.load_events("r1") == [(0, {"e": 1})]
        with pytest.raises(JournalConflictError, match="already exists"):
            await store.create_run("r1", "flow", created_at=1.0)
        with pytest.raises(JournalConflictError, match="seq 0 overlaps"):
            await store.append(JournalBatch("r1", 0, [tick(0), tick(1)], 0, [{"e": 1}]))


async def test_schemas_keep_stores_apart_and_opening_at_once_migrates_once(
    postgres_dsn: str, sql: Any
) -> None:
    stores = [PostgresStore(postgres_dsn, schema=name) for name in ('team "a"', "team_b") * 2]
    await asyncio.gather(*(store.open() for store in stores))
    try:
        await stores[0].create_run("r1", "flow", created_at=1.0)
        assert [r.run_id for r in await stores[2].list_runs()] == ["r1"]
        assert await stores[1].list_runs() == []
        for schema in ('"team ""a"""', "team_b"):
            versions = await sql.fetch(f"SELECT version FROM {schema}.schema_migrations")
            shipped = load_migrations("stepwork._stores.migrations.postgres")
            assert [row[0] for row in versions] == [m.version for m in shipped]
    finally:
        await asyncio.gather(*(store.close() for store in stores))


async def test_failures_are_store_errors_without_the_password(postgres_dsn: str) -> None:
    store = PostgresStore(postgres_dsn)
    with pytest.raises(StoreError, match="is not open"):
        await store.load_ticks("r1")
    dsn = "postgresql://stepwork:hunter2@127.0.0.1:9/nowhere"
    with pytest.raises(StoreError, match=r"Cannot connect") as caught:
        await PostgresStore(dsn).open()
    assert "hunter2" not in str(caught.value) and "***" in str(caught.value)


async def test_without_asyncpg_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "asyncpg", None)
    with pytest.raises(StoreError, match=r"pip install 'stepwork\[postgres\]'"):
        await PostgresStore("postgresql://localhost/x").open()


def test_asyncpg_is_imported_only_when_a_store_opens() -> None:
    code = (
        "import sys, stepwork, stepwork._stores.postgres\n"
        "assert 'asyncpg' not in sys.modules, 'asyncpg imported eagerly'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)
