"""A ``PostgresStore``'s schedules: the ``schedules`` and ``schedule_slots`` tables (migration 8).

Every change NOTIFYs the store's schedules channel, so firers in every process re-arm at once.
``fire`` is one transaction: the schedule's row lock serialises racing firers (the loser's
``UPDATE`` sees the moved cursor and matches nothing), and the slot's run is created with the
journal's own statements (``CREATE_RUN`` and the one-statement ``APPEND``).
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

from stepwork._core.errors import JournalConflictError
from stepwork._stores.postgres_append import append_args, create_args
from stepwork._stores.postgres_listen import listen
from stepwork._stores.postgres_sql import APPEND
from stepwork._stores.protocol import JournalBatch
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

__all__ = ["PostgresSchedules"]

COLUMNS = (
    "name, workflow, cron, every_ms, anchor_ms, tz, start, missed, "
    "id, paused, created_at, updated_at, cursor, next_at, last_slot, last_run"
)
_INSERT = (
    f"INSERT INTO schedules ({COLUMNS.rsplit(', last_slot', 1)[0]}) "
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, FALSE, $10, $10, $11, $12) "
    "ON CONFLICT (name) DO NOTHING RETURNING id"
)
_MOVE = (
    "UPDATE schedules SET cursor = $2, next_at = $3, updated_at = $4 "
    "WHERE id = $1 AND NOT paused AND cursor < $2 RETURNING id"
)
_CLAIM = (
    "INSERT INTO schedule_slots (schedule_id, slot, run_id, fired_at) VALUES ($1, $2, $3, $4) "
    "ON CONFLICT DO NOTHING RETURNING slot"
)
_PRUNE = (
    "DELETE FROM schedule_slots WHERE schedule_id = $1 AND slot < coalesce((SELECT slot FROM "
    "schedule_slots WHERE schedule_id = $1 ORDER BY slot DESC LIMIT 1 OFFSET $2), 0)"
)


class _SlotTaken(Exception):
    """The slot's row exists: another process fired it (rolls the transaction back)."""


class PostgresSchedules:
    """The :class:`~stepwork._stores.schedule_protocol.ScheduleStore` protocol on PostgreSQL.

    Args:
        call: Runs ``operation(connection)`` on a pooled connection (the store's ``_call``).
        dsn: The database, for ``LISTEN``.
        channels: The store's append, runnable and schedules NOTIFY channels.
        clock: Seconds since the epoch.
    """

    def __init__(
        self,
        call: Callable[[Callable[[Any], Awaitable[Any]]], Awaitable[Any]],
        dsn: str,
        channels: tuple[str, str, str],
        clock: Callable[[], float],
    ) -> None:
        self._call = call
        self._dsn = dsn
        self._channels = channels
        self._clock = clock

    async def add(self, schedule: Schedule) -> ScheduleRecord:
        """Keep ``schedule``; it fires from the first slot after now.

        Raises:
            ScheduleExistsError: If a schedule of that name exists.
        """
        now = self._clock()
        cursor, next_at = fresh_progress(schedule, now)
        values = (*schedule_columns(schedule), uuid.uuid4().hex, now, cursor, next_at)

        async def insert(connection: Any) -> Any:
            async with connection.transaction():
                added = await connection.fetchval(_INSERT, *values)
                if added is not None:
                    await self._notify(connection)
                return added

        if await self._call(insert) is None:
            raise schedule_exists(schedule.name)
        return await self.get(schedule.name)

    async def get(self, name: str) -> ScheduleRecord:
        """The schedule called ``name``.

        Raises:
            ScheduleNotFoundError: If there is none.
        """
        found = await self._select("WHERE name = $1", name)
        if not found:
            raise schedule_not_found(name)
        return found[0]

    async def list(self, workflows: Sequence[str] | None = None) -> list[ScheduleRecord]:
        """Every schedule (of ``workflows``, when given), by name."""
        if workflows is None:
            return await self._select("ORDER BY name")
        return await self._select("WHERE workflow = ANY($1) ORDER BY name", list(workflows))

    async def pause(self, name: str) -> ScheduleRecord:
        """Stop firing it.

        Raises:
            ScheduleNotFoundError: If there is none.
        """
        sql = (
            "UPDATE schedules SET paused = TRUE, next_at = NULL, updated_at = $2 "
            "WHERE name = $1 AND NOT paused"
        )
        return await self._change(name, lambda _: (sql, name, self._clock()))

    async def resume(self, name: str) -> ScheduleRecord:
        """Fire it again from the first slot after now.

        Raises:
            ScheduleNotFoundError: If there is none.
        """
        now = self._clock()
        sql = (
            "UPDATE schedules SET paused = FALSE, cursor = $2, next_at = $3, updated_at = $4 "
            "WHERE name = $1 AND paused"
        )
        return await self._change(
            name, lambda record: (sql, name, *fresh_progress(record.schedule, now), now)
        )

    async def delete(self, name: str) -> bool:
        """Remove it and its slots; ``False`` if there was none."""

        async def delete(connection: Any) -> Any:
            async with connection.transaction():
                status = await connection.execute("DELETE FROM schedules WHERE name = $1", name)
                await self._notify(connection)
                return status

        return bool(await self._call(delete) != "DELETE 0")

    async def due(self, now: int, workflows: Sequence[str]) -> builtins.list[ScheduleRecord]:
        """Unpaused schedules of ``workflows`` due at ``now`` (ms)."""
        where = "WHERE next_at <= $1 AND workflow = ANY($2) ORDER BY next_at"
        return await self._select(where, now, list(workflows))

    async def next_due(self, workflows: Sequence[str]) -> int | None:
        """The earliest ``next_at`` among unpaused schedules of ``workflows``."""
        sql = "SELECT min(next_at) FROM schedules WHERE workflow = ANY($1)"
        found = await self._call(lambda c: c.fetchval(sql, list(workflows)))
        return None if found is None else int(found)

    async def fire(
        self, record: ScheduleRecord, slot: int, next_at: int, batch: JournalBatch | None
    ) -> bool:
        """Move the cursor to ``slot`` and, with ``batch``, claim the slot and create its run,
        in one transaction; ``False`` if the schedule moved on, was paused or re-added, or
        the slot was claimed."""
        now = self._clock()
        appended = None
        if batch is not None:
            appended = append_args(batch, now, self._channels[0], self._channels[1])

        async def fire(connection: Any) -> bool:
            async with connection.transaction():
                if await connection.fetchval(_MOVE, record.id, slot, next_at, now) is None:
                    return False
                if batch is None or appended is None:
                    return True
                if await connection.fetchval(_CLAIM, record.id, slot, batch.run_id, now) is None:
                    raise _SlotTaken
                await connection.execute(
                    "UPDATE schedules SET last_slot = $2, last_run = $3 WHERE id = $1",
                    record.id, slot, batch.run_id,
                )  # fmt: skip
                # A run of this id exists already (re-added schedule): the slot counts as fired.
                if await connection.fetchval(*create_args(batch)) is not None:
                    if not await connection.fetchval(APPEND, *appended):
                        raise JournalConflictError(
                            f"Cannot store the start of run {batch.run_id!r}.",
                            run_id=batch.run_id,
                        )
                await connection.execute(_PRUNE, record.id, SLOTS_KEPT - 1)
                return True

        try:
            return bool(await self._call(fire))
        except _SlotTaken:
            return False

    def watch(self, on_change: Callable[[], None]) -> AbstractAsyncContextManager[None]:
        """While entered, ``on_change()`` is called when any process changes a schedule
        (``LISTEN`` on the schedules channel; lost while the connection is down: poll too).

        Raises:
            StoreError: If the server cannot be reached (on entering).
        """
        return listen(self._dsn, {self._channels[2]: "schedule"}, lambda *_: on_change())

    async def _notify(self, connection: Any) -> None:
        await connection.execute("SELECT pg_notify($1, '')", self._channels[2])

    async def _select(self, where: str, *args: Any) -> builtins.list[ScheduleRecord]:
        sql = f"SELECT {COLUMNS} FROM schedules {where}"
        rows = await self._call(lambda c: c.fetch(sql, *args))
        return [_record(row) for row in rows]

    async def _change(
        self, name: str, statement: Callable[[ScheduleRecord], tuple[Any, ...]]
    ) -> ScheduleRecord:
        async def change(connection: Any) -> None:
            async with connection.transaction():
                rows = await connection.fetch(
                    f"SELECT {COLUMNS} FROM schedules WHERE name = $1 FOR UPDATE", name
                )
                if not rows:
                    raise schedule_not_found(name)
                if (await connection.execute(*statement(_record(rows[0])))) != "UPDATE 0":
                    await self._notify(connection)

        await self._call(change)
        return await self.get(name)


def _record(row: Sequence[Any]) -> ScheduleRecord:
    values = list(row)
    return ScheduleRecord(schedule_from_row(values), values[8], bool(values[9]), *values[10:])
