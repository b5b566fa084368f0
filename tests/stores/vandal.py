"""Damage what a store wrote, the way a disk, an editor or a bad migration would.

Each backend is damaged through its own database (``sqlite3`` on the file, a raw asyncpg
connection to PostgreSQL), as another process would; the memory store through its dicts, the
only way in. Tests then read through the store and check what it reports.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Literal

from stepwork._stores.memory import MemoryStore
from stepwork._stores.protocol import Store
from stepwork._stores.sqlite import SqliteStore

Table = Literal["ticks", "events"]
_NUMBER = {"ticks": "seq", "events": '"offset"'}


async def _sql(store: Store, statement: str, *params: Any) -> None:
    if isinstance(store, SqliteStore):
        db = sqlite3.connect(store.path)
        try:
            with db:
                db.execute(statement.replace("$", "?"), params)  # ?1, ?2: numbered, as in SQL
        finally:
            db.close()
        return
    import asyncpg  # the only other backend

    connection = await asyncpg.connect(getattr(store, "dsn"))  # noqa: B009 (PostgresStore)
    try:
        await connection.execute(statement, *params)
    finally:
        await connection.close()


async def delete_row(store: Store, run_id: str, table: Table, number: int) -> None:
    """Delete record ``number`` of ``run_id`` from ``table``, the run's counts unchanged."""
    if isinstance(store, MemoryStore):
        run = store._runs[run_id]
        del (run.ticks if table == "ticks" else run.events)[number]
        return
    await _sql(
        store, f"DELETE FROM {table} WHERE run_id = $1 AND {_NUMBER[table]} = $2", run_id, number
    )


async def write_row(store: Store, run_id: str, table: Table, number: int, text: str) -> None:
    """Overwrite the stored text of record ``number`` of ``run_id`` in ``table``."""
    if isinstance(store, MemoryStore):
        run = store._runs[run_id]
        (run.ticks if table == "ticks" else run.events)[number] = text
        return
    await _sql(
        store,
        f"UPDATE {table} SET record = $2 WHERE run_id = $1 AND {_NUMBER[table]} = {int(number)}",
        run_id,
        text,
    )


async def insert_row(store: Store, run_id: str, table: Table, number: int, text: str) -> None:
    """Store ``text`` as record ``number`` of ``run_id`` in ``table``, counts unchanged."""
    if isinstance(store, MemoryStore):
        run = store._runs[run_id]
        (run.ticks if table == "ticks" else run.events)[number] = text
        return
    await _sql(
        store,
        f"INSERT INTO {table} (run_id, {_NUMBER[table]}, record) VALUES ($1, {int(number)}, $2)",
        run_id,
        text,
    )


async def write_run(
    store: Store, run_id: str, column: Literal["result", "error"], text: str
) -> None:
    """Overwrite the stored ``result`` or ``error`` text of run ``run_id``."""
    if isinstance(store, MemoryStore):
        setattr(store._runs[run_id], column, text)
        return
    await _sql(store, f"UPDATE runs SET {column} = $2 WHERE run_id = $1", run_id, text)
