"""Runs record the run that started them (a child's parent) on every backend, listings filter
by it, and a database written before the column existed reads its runs as having no parent."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from stepwork._stores import sqlite_connect
from stepwork._stores.migrate import SCHEMA_MIGRATIONS_DDL, load_migrations
from stepwork._stores.protocol import JournalBatch, Lease, Store
from stepwork._stores.sqlite import SqliteStore

START = {"kind": "start", "at": 1.0}


def _create(run_id: str, at: float, parent: str | None = None, **more: object) -> JournalBatch:
    return JournalBatch(
        run_id, 0, [START], workflow="flow", created_at=at, parent_run_id=parent, **more
    )  # type: ignore[arg-type]


async def test_a_created_run_keeps_its_parent_and_listings_filter_by_it(store: Store) -> None:
    await store.append(_create("top", 1.0))
    await store.append(_create("top:a:0:1", 2.0, "top"))
    held = Lease("top:b:0:1", "me", 1, 99.0)
    await store.append(_create("top:b:0:1", 3.0, "top", lease=held, epoch=1))
    await store.append(_create("deep", 4.0, "top:a:0:1"))
    await store.create_run("plain", "flow", created_at=5.0)
    assert (await store.get_run("top")).parent_run_id is None
    assert (await store.get_run("plain")).parent_run_id is None
    assert (await store.get_run("top:b:0:1")).parent_run_id == "top"
    children = await store.list_runs(parent="top")
    assert [(r.run_id, r.parent_run_id) for r in children] == [
        ("top:b:0:1", "top"),
        ("top:a:0:1", "top"),
    ]
    assert [r.run_id for r in await store.list_runs(parent="top:a:0:1")] == ["deep"]
    assert await store.list_runs(parent="plain") == []
    assert [r.run_id for r in await store.list_runs(parent="top", limit=1, offset=1)] == [
        "top:a:0:1"
    ]
    listed = {r.run_id: r.parent_run_id for r in await store.list_runs()}
    assert listed == {
        "plain": None,
        "deep": "top:a:0:1",
        "top:b:0:1": "top",
        "top:a:0:1": "top",
        "top": None,
    }


async def test_runs_stored_before_migration_0006_read_as_having_no_parent(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.db"
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(SCHEMA_MIGRATIONS_DDL)
    for migration in load_migrations("stepwork._stores.migrations.sqlite")[:5]:
        for statement in sqlite_connect.split_statements(migration.sql):
            db.execute(statement)
        db.execute(
            "INSERT INTO schema_migrations VALUES (?, ?, 0)", (migration.version, migration.name)
        )
    db.execute(
        "INSERT INTO runs (run_id, workflow, created_at, updated_at) VALUES ('old', 'f', 1, 1)"
    )
    db.close()
    async with SqliteStore(path) as store:
        assert (await store.get_run("old")).parent_run_id is None
        assert await store.list_runs(parent="old") == []
        await store.append(_create("new", 2.0, "old"))
        assert [r.run_id for r in await store.list_runs(parent="old")] == ["new"]
    with sqlite3.connect(path) as check:
        plan = check.execute(
            "EXPLAIN QUERY PLAN SELECT run_id FROM runs WHERE parent_run_id = 'old' "
            "ORDER BY created_at DESC"
        ).fetchall()
    check.close()
    assert "runs_parent" in str(plan)
