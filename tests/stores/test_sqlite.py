"""SqliteStore specifics: corrupt rows, schema versions, migrations, WAL, the worker thread."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from stepwork._core.errors import JournalCorruptError, StoreError
from stepwork._stores import sqlite_connect
from stepwork._stores.migrate import Migration, load_migrations, pending_migrations
from stepwork._stores.protocol import JournalBatch
from stepwork._stores.sqlite import SqliteStore


def tick(n: int) -> dict[str, object]:
    return {"kind": "timer", "at": float(n), "timer_id": f"t{n}"}


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "runs.db"


@pytest.fixture
async def store(path: Path) -> AsyncIterator[SqliteStore]:
    async with SqliteStore(path) as opened:
        for run_id in ("hurt", "fine"):
            await opened.create_run(run_id, "flow", created_at=1.0)
            await opened.append(
                JournalBatch(run_id, 0, [tick(0), tick(1), tick(2)], 0, [{"__model__": "E"}])
            )
        yield opened


def write_row(path: Path, sql: str, *params: object) -> None:
    with sqlite3.connect(path) as db:  # another process, as far as the store can tell
        db.execute(sql, params)
    db.close()


@pytest.mark.parametrize(
    ("stored", "problem"),
    [
        ('{"kind": "timer", "at": 2.0, "tim', "not valid JSON"),
        ("", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        ('{"at": 2.0}', "no 'kind'"),
        ("[1, 2]", "expected a JSON object"),
    ],
    ids=["half-written", "empty", "not-utf8", "no-kind", "not-an-object"],
)
async def test_a_corrupt_tick_row_names_run_and_seq_and_other_runs_still_work(
    store: SqliteStore, path: Path, stored: str | bytes, problem: str
) -> None:
    write_row(path, "UPDATE ticks SET record = ? WHERE run_id = 'hurt' AND seq = 2", stored)
    with pytest.raises(JournalCorruptError) as caught:
        await store.load_ticks("hurt")
    message = str(caught.value)
    assert "'hurt'" in message and "seq 2" in message and problem in message
    assert caught.value.run_id == "hurt"
    assert await store.load_ticks("hurt", after_seq=2) == []  # reading past it still works
    assert await store.load_ticks("fine") == [tick(0), tick(1), tick(2)]
    assert [run.run_id for run in await store.list_runs()] == ["fine", "hurt"]
    await store.append(JournalBatch("fine", 3, [tick(3)]))
    await store.create_run("new", "flow", created_at=2.0)


async def test_a_corrupt_event_row_names_run_and_offset(store: SqliteStore, path: Path) -> None:
    write_row(path, "UPDATE events SET record = '{\"__mod' WHERE run_id = 'hurt'")
    with pytest.raises(JournalCorruptError, match=r"'hurt', event record offset 0"):
        await store.load_events("hurt")
    assert await store.load_events("fine") == [(0, {"__model__": "E"})]


async def test_a_truncated_last_record_is_reported_not_dropped(
    store: SqliteStore, path: Path
) -> None:
    record = '{"kind":"timer","at":3.0,"timer_id":"t3"}'
    write_row(path, "INSERT INTO ticks VALUES ('hurt', 3, ?)", record[: len(record) // 2])
    with pytest.raises(JournalCorruptError, match=r"run 'hurt', tick record seq 3"):
        await store.load_ticks("hurt")


async def test_a_newer_schema_is_refused_and_left_untouched(path: Path) -> None:
    async with SqliteStore(path):
        pass
    write_row(path, "INSERT INTO schema_migrations VALUES (99, '0099_future', 0.0)")
    newer = SqliteStore(path)
    with pytest.raises(StoreError, match=r"version 99, newer than this stepwork knows") as caught:
        await newer.open()
    assert "Upgrade stepwork" in str(caught.value)
    with pytest.raises(StoreError, match="not open"):
        await newer.list_runs()
    with sqlite3.connect(path) as db:
        versions = [row[0] for row in db.execute("SELECT version FROM schema_migrations")]
    db.close()
    shipped = load_migrations("stepwork._stores.migrations.sqlite")
    assert versions == [*(m.version for m in shipped), 99]


async def test_migrations_are_applied_once(path: Path) -> None:
    for _ in range(3):
        async with SqliteStore(path, clock=lambda: 42.0) as store:
            await store.open()
    with sqlite3.connect(path) as db:
        rows = db.execute("SELECT version, name, applied_at FROM schema_migrations").fetchall()
    db.close()
    known = load_migrations("stepwork._stores.migrations.sqlite")
    assert rows == [(m.version, m.name, 42.0) for m in known]
    assert known[0].name == "0001_initial"


async def test_wal_mode_and_foreign_keys_are_on(store: SqliteStore, path: Path) -> None:
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    db.close()
    # Each connection belongs to its worker thread; read its settings there.
    settings = await store._call(
        lambda db: (
            db.execute("PRAGMA foreign_keys").fetchone()[0],
            db.execute("PRAGMA synchronous").fetchone()[0],
            threading.current_thread().name,
        )
    )
    assert settings[:2] == (1, 1)  # on, NORMAL
    assert settings[2].startswith("stepwork-sqlite_")


async def test_reads_have_a_read_only_connection_of_their_own(store: SqliteStore) -> None:
    def where(db: sqlite3.Connection) -> tuple[int, str]:
        return db.execute("PRAGMA query_only").fetchone()[0], threading.current_thread().name

    query_only, thread = await store._read(where)
    assert query_only == 1 and thread.startswith("stepwork-sqlite-read")
    # A read issued after a write has returned sees it (WAL: committed data is visible).
    await store.create_run("r", "w", 1.0)
    assert (await store.get_run("r")).status == "running"
    with pytest.raises(StoreError, match="failed: attempt to write a readonly database"):
        await store._read(lambda db: db.execute("DELETE FROM runs"))


async def test_an_in_memory_database_reads_through_its_one_connection() -> None:
    store = SqliteStore(":memory:")
    await store.open()
    try:
        await store.create_run("r", "w", 1.0)
        assert (await store.get_run("r")).run_id == "r"
        assert store._reader is None
    finally:
        await store.close()


async def test_full_synchronous_is_available(path: Path) -> None:
    async with SqliteStore(path, synchronous="full") as store:
        assert await store._call(lambda db: db.execute("PRAGMA synchronous").fetchone()[0]) == 2
    with pytest.raises(ValueError, match="synchronous"):
        SqliteStore(path, synchronous="OFF")


async def test_a_file_that_is_not_a_database_gives_a_store_error(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match=r"junk\.db"):
        await SqliteStore(junk).open()
    with pytest.raises(StoreError, match="Cannot open"):
        await SqliteStore(tmp_path / "missing" / "runs.db").open()


async def test_using_a_store_that_is_not_open_is_a_store_error(path: Path) -> None:
    store = SqliteStore(path)
    with pytest.raises(StoreError, match=r"not open.*await store.open\(\)"):
        await store.get_run("r1")
    await store.close()  # closing a closed store is harmless


async def test_in_memory_database_works_and_reports_its_size() -> None:
    async with SqliteStore(":memory:") as store:
        await store.create_run("r1", "flow", created_at=1.0)
        await store.append(JournalBatch("r1", 0, [tick(0)]))
        size = await store.size()
    assert (size["runs"], size["ticks"]) == (1, 1) and size["bytes"] > 0


async def test_concurrent_opens_share_one_connection(path: Path) -> None:
    store = SqliteStore(path)
    await asyncio.gather(store.open(), store.open(), store.open())
    await store.create_run("r1", "flow", created_at=1.0)
    await store.close()


async def test_a_locked_database_gives_a_store_error_after_the_busy_timeout(path: Path) -> None:
    async with SqliteStore(path, busy_timeout=0.05) as store:
        await store.create_run("r1", "flow", created_at=1.0)
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            with pytest.raises(StoreError, match="locked"):
                await store.append(JournalBatch("r1", 0, [tick(0)]))
        finally:
            other.execute("ROLLBACK")
            other.close()
        await store.append(JournalBatch("r1", 0, [tick(0)]))


def test_pending_migrations_and_their_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    known = (Migration(1, "0001_a", ""), Migration(2, "0002_b", ""))
    assert pending_migrations(known, set()) == list(known)
    assert pending_migrations(known, {1}) == [known[1]]
    assert pending_migrations(known, {1, 2}) == []
    with pytest.raises(StoreError, match="edited by hand"):
        pending_migrations(known, {2})
    package = tmp_path / "gappy_migrations"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("0001_first.sql", "0003_third.sql", "README.txt"):
        (package / name).write_text("SELECT 1;")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(StoreError, match=r"without gaps.*\[1, 3\]"):
        load_migrations("gappy_migrations")
    with pytest.raises(StoreError, match="No migrations package"):
        load_migrations("no_such_migrations_package")


def test_migration_scripts_split_into_statements() -> None:
    script = """
        -- a comment; with a semicolon
        CREATE TABLE a (x TEXT DEFAULT 'semi;colon');
        CREATE TRIGGER t AFTER INSERT ON a BEGIN
            UPDATE a SET x = 'y'; DELETE FROM a WHERE x = 'z';
        END;
        /* trailing */
    """
    statements = list(sqlite_connect.split_statements(script))
    assert len(statements) == 2
    assert statements[0].endswith("DEFAULT 'semi;colon');")
    assert statements[1].startswith("CREATE TRIGGER") and statements[1].endswith("END;")
    db = sqlite3.connect(":memory:")
    for statement in statements:
        db.execute(statement)
    db.close()
