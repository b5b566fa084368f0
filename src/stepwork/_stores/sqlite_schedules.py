"""A ``SqliteStore``'s schedules: the ``schedules`` and ``schedule_slots`` tables (migration 8).

The SQL runs on the store's connection threads, through the store's own ``call`` (writes, one
``BEGIN IMMEDIATE`` each, so processes sharing the file are serialised) and ``read``.
``fire`` claims the slot and creates its run in one transaction, with the journal's own
``write_batch``.
"""

from __future__ import annotations

import builtins
import sqlite3
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar

from stepwork._stores import sqlite_journal as journal
from stepwork._stores.protocol import JournalBatch
from stepwork._stores.records import encode_records
from stepwork._stores.schedule_protocol import (
    SLOTS_KEPT,
    Schedule,
    ScheduleRecord,
    fresh_progress,
    schedule_columns,
    schedule_exists,
    schedule_from_row,
    schedule_not_found,
)
from stepwork._stores.schedule_watch import LocalWatchers
from stepwork._stores.sqlite_connect import transaction

__all__ = ["SqliteSchedules"]

_T = TypeVar("_T")
_P = ParamSpec("_P")


class _Runner(Protocol):
    """The store's ``_call``/``_read``: ``function(connection, *args)`` on its thread."""

    async def __call__(
        self,
        function: Callable[Concatenate[sqlite3.Connection, _P], _T],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T: ...


COLUMNS = (
    "name, workflow, cron, every_ms, anchor_ms, tz, start, missed, "
    "id, paused, created_at, updated_at, cursor, next_at, last_slot, last_run"
)


class SqliteSchedules:
    """The :class:`~stepwork._stores.schedule_protocol.ScheduleStore` protocol on SQLite.

    Args:
        call: Runs ``function(connection, *args)`` on the store's writing connection.
        read: The same on its reading connection.
        clock: Seconds since the epoch.
    """

    def __init__(self, call: _Runner, read: _Runner, clock: Callable[[], float]) -> None:
        self._call = call
        self._read = read
        self._clock = clock
        self._watchers = LocalWatchers()

    async def add(self, schedule: Schedule) -> ScheduleRecord:
        """Keep ``schedule``; it fires from the first slot after now.

        Raises:
            ScheduleExistsError: If a schedule of that name exists.
        """
        now = self._clock()
        cursor, next_at = fresh_progress(schedule, now)
        values = (*schedule_columns(schedule), uuid.uuid4().hex, 0, now, now, cursor, next_at)
        record = await self._call(_insert, values)
        self._watchers.changed()
        return record

    async def get(self, name: str) -> ScheduleRecord:
        """The schedule called ``name``.

        Raises:
            ScheduleNotFoundError: If there is none.
        """
        found = await self._read(_select, "WHERE name = ?", [name])
        if not found:
            raise schedule_not_found(name)
        return found[0]

    async def list(self, workflows: Sequence[str] | None = None) -> list[ScheduleRecord]:
        """Every schedule (of ``workflows``, when given), by name."""
        if workflows is None:
            return await self._read(_select, "ORDER BY name", [])
        marks = ", ".join("?" * len(workflows))
        return await self._read(_select, f"WHERE workflow IN ({marks}) ORDER BY name", workflows)

    async def pause(self, name: str) -> ScheduleRecord:
        """Stop firing it.

        Raises:
            ScheduleNotFoundError: If there is none.
        """
        record = await self._call(_pause, name, self._clock())
        self._watchers.changed()
        return record

    async def resume(self, name: str) -> ScheduleRecord:
        """Fire it again from the first slot after now.

        Raises:
            ScheduleNotFoundError: If there is none.
        """
        record = await self._call(_resume, name, self._clock())
        self._watchers.changed()
        return record

    async def delete(self, name: str) -> bool:
        """Remove it and its slots; ``False`` if there was none."""
        deleted = await self._call(journal.delete, "DELETE FROM schedules WHERE name = ?", [name])
        self._watchers.changed()
        return bool(deleted)

    async def due(self, now: int, workflows: Sequence[str]) -> builtins.list[ScheduleRecord]:
        """Unpaused schedules of ``workflows`` due at ``now`` (ms)."""
        marks = ", ".join("?" * len(workflows))
        where = f"WHERE next_at <= ? AND workflow IN ({marks}) ORDER BY next_at"
        return await self._read(_select, where, [now, *workflows])

    async def next_due(self, workflows: Sequence[str]) -> int | None:
        """The earliest ``next_at`` among unpaused schedules of ``workflows``."""
        marks = ", ".join("?" * len(workflows))
        sql = f"SELECT min(next_at) FROM schedules WHERE workflow IN ({marks})"
        return await self._read(_scalar, sql, list(workflows))

    async def fire(
        self, record: ScheduleRecord, slot: int, next_at: int, batch: JournalBatch | None
    ) -> bool:
        """Move the cursor to ``slot`` and, with ``batch``, claim the slot and create its run,
        in one ``BEGIN IMMEDIATE`` transaction; ``False`` if the schedule moved on, was paused
        or re-added, or the slot was claimed."""
        ticks = None if batch is None else encode_records(batch.run_id, batch.ticks, "tick", 0)
        return bool(await self._call(_fire, record.id, slot, next_at, batch, ticks, self._clock()))

    def watch(self, on_change: Callable[[], None]) -> AbstractAsyncContextManager[None]:
        """While entered, ``on_change()`` is called when a schedule is changed through this
        store object (other processes' changes are found by polling)."""
        return self._watchers.watch(on_change)


def _record(row: Sequence[Any]) -> ScheduleRecord:
    return ScheduleRecord(schedule_from_row(row), row[8], bool(row[9]), *row[10:])


def _select(
    db: sqlite3.Connection, where: str, params: Sequence[Any]
) -> builtins.list[ScheduleRecord]:
    rows = db.execute(f"SELECT {COLUMNS} FROM schedules {where}", list(params)).fetchall()
    return [_record(row) for row in rows]


def _scalar(db: sqlite3.Connection, sql: str, params: Sequence[Any]) -> Any:
    return db.execute(sql, list(params)).fetchone()[0]


def _insert(db: sqlite3.Connection, values: Sequence[Any]) -> ScheduleRecord:
    with transaction(db, "BEGIN IMMEDIATE"):
        try:
            db.execute(
                f"INSERT INTO schedules ({COLUMNS.rsplit(', last_slot', 1)[0]}) "
                f"VALUES ({', '.join('?' * len(values))})",
                list(values),
            )
        except sqlite3.IntegrityError:
            raise schedule_exists(values[0]) from None
    return _record([*values, None, None])


def _locked(db: sqlite3.Connection, name: str) -> ScheduleRecord:
    found = _select(db, "WHERE name = ?", [name])
    if not found:
        raise schedule_not_found(name)
    return found[0]


def _pause(db: sqlite3.Connection, name: str, now: float) -> ScheduleRecord:
    with transaction(db, "BEGIN IMMEDIATE"):
        record = _locked(db, name)
        if not record.paused:
            db.execute(
                "UPDATE schedules SET paused = 1, next_at = NULL, updated_at = ? WHERE id = ?",
                (now, record.id),
            )
    return _locked(db, name)


def _resume(db: sqlite3.Connection, name: str, now: float) -> ScheduleRecord:
    with transaction(db, "BEGIN IMMEDIATE"):
        record = _locked(db, name)
        if record.paused:
            cursor, next_at = fresh_progress(record.schedule, now)
            db.execute(
                "UPDATE schedules SET paused = 0, cursor = ?, next_at = ?, updated_at = ? "
                "WHERE id = ?",
                (cursor, next_at, now, record.id),
            )
    return _locked(db, name)


class _SlotTaken(Exception):
    """The slot's row exists: another process fired it."""


def _fire(
    db: sqlite3.Connection,
    schedule_id: str,
    slot: int,
    next_at: int,
    batch: JournalBatch | None,
    ticks: Sequence[str] | None,
    now: float,
) -> bool:
    try:
        with transaction(db, "BEGIN IMMEDIATE"):
            return _fire_in(db, schedule_id, slot, next_at, batch, ticks, now)
    except _SlotTaken:
        return False


def _fire_in(
    db: sqlite3.Connection,
    schedule_id: str,
    slot: int,
    next_at: int,
    batch: JournalBatch | None,
    ticks: Sequence[str] | None,
    now: float,
) -> bool:
    moved = db.execute(
        "UPDATE schedules SET cursor = ?, next_at = ?, updated_at = ? "
        "WHERE id = ? AND paused = 0 AND cursor < ?",
        (slot, next_at, now, schedule_id, slot),
    ).rowcount
    if moved != 1:
        return False
    if batch is None or ticks is None:
        return True
    claimed = db.execute(
        "INSERT OR IGNORE INTO schedule_slots (schedule_id, slot, run_id, fired_at) "
        "VALUES (?, ?, ?, ?)",
        (schedule_id, slot, batch.run_id, now),
    ).rowcount
    if claimed != 1:
        raise _SlotTaken  # rolls the cursor back to where the slot's claimer left it
    db.execute(
        "UPDATE schedules SET last_slot = ?, last_run = ? WHERE id = ?",
        (slot, batch.run_id, schedule_id),
    )
    exists = db.execute("SELECT 1 FROM runs WHERE run_id = ?", (batch.run_id,)).fetchone()
    if exists is None:
        journal.write_batch(
            db, batch.run_id, 0, ticks, 0, [], None, now,
            (batch.workflow or "", batch.created_at, batch.version, batch.parent_run_id),
            journal.Fencing(runnable_at=batch.runnable_at, had_timers=False),
        )  # fmt: skip
    db.execute(
        "DELETE FROM schedule_slots WHERE schedule_id = ?1 AND slot < coalesce((SELECT slot "
        "FROM schedule_slots WHERE schedule_id = ?1 ORDER BY slot DESC LIMIT 1 OFFSET ?2), 0)",
        (schedule_id, SLOTS_KEPT - 1),
    )
    return True
