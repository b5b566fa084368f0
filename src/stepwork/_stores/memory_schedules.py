"""A ``MemoryStore``'s schedules, in dicts. Every method finishes without suspending, so on one
event loop each call is atomic, like the store's own."""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace

from stepwork._core.errors import RunNotFoundError
from stepwork._stores.protocol import JournalBatch, RunRecord
from stepwork._stores.schedule_protocol import (
    SLOTS_KEPT,
    Schedule,
    ScheduleRecord,
    fresh_progress,
    schedule_exists,
    schedule_not_found,
)
from stepwork._stores.schedule_watch import LocalWatchers

__all__ = ["MemorySchedules"]


class MemorySchedules:
    """The :class:`~stepwork._stores.schedule_protocol.ScheduleStore` protocol in memory.

    Args:
        append: The store's ``append`` (creates a slot's run).
        get_run: The store's ``get_run`` (to find a run created before).
        clock: Seconds since the epoch.
    """

    def __init__(
        self,
        append: Callable[[JournalBatch], Awaitable[None]],
        get_run: Callable[[str], Awaitable[RunRecord]],
        clock: Callable[[], float],
    ) -> None:
        self._append = append
        self._get_run = get_run
        self._clock = clock
        self._by_name: dict[str, ScheduleRecord] = {}
        self._slots: dict[str, dict[int, str]] = {}  # schedule id -> slot -> run id
        self._watchers = LocalWatchers()

    async def add(self, schedule: Schedule) -> ScheduleRecord:
        """Keep ``schedule``; it fires from the first slot after now.

        Raises:
            ScheduleExistsError: If a schedule of that name exists.
        """
        if schedule.name in self._by_name:
            raise schedule_exists(schedule.name)
        now = self._clock()
        cursor, next_at = fresh_progress(schedule, now)
        record = ScheduleRecord(schedule, uuid.uuid4().hex, False, now, now, cursor, next_at)
        self._by_name[schedule.name] = record
        self._slots[record.id] = {}
        self._watchers.changed()
        return record

    async def get(self, name: str) -> ScheduleRecord:
        """The schedule called ``name``.

        Raises:
            ScheduleNotFoundError: If there is none.
        """
        record = self._by_name.get(name)
        if record is None:
            raise schedule_not_found(name)
        return record

    async def list(self, workflows: Sequence[str] | None = None) -> list[ScheduleRecord]:
        """Every schedule (of ``workflows``, when given), by name."""
        return [
            record
            for name, record in sorted(self._by_name.items())
            if workflows is None or record.schedule.workflow in workflows
        ]

    async def pause(self, name: str) -> ScheduleRecord:
        """Stop firing it.

        Raises:
            ScheduleNotFoundError: If there is none.
        """
        record = await self.get(name)
        if not record.paused:
            record = replace(record, paused=True, next_at=None, updated_at=self._clock())
            self._by_name[name] = record
            self._watchers.changed()
        return record

    async def resume(self, name: str) -> ScheduleRecord:
        """Fire it again from the first slot after now.

        Raises:
            ScheduleNotFoundError: If there is none.
        """
        record = await self.get(name)
        if record.paused:
            now = self._clock()
            cursor, next_at = fresh_progress(record.schedule, now)
            record = replace(record, paused=False, cursor=cursor, next_at=next_at, updated_at=now)
            self._by_name[name] = record
            self._watchers.changed()
        return record

    async def delete(self, name: str) -> bool:
        """Remove it and its slots; ``False`` if there was none."""
        record = self._by_name.pop(name, None)
        if record is None:
            return False
        self._slots.pop(record.id, None)
        self._watchers.changed()
        return True

    async def due(self, now: int, workflows: Sequence[str]) -> builtins.list[ScheduleRecord]:
        """Unpaused schedules of ``workflows`` due at ``now`` (ms)."""
        return [
            record
            for record in await self.list(workflows)
            if record.next_at is not None and record.next_at <= now
        ]

    async def next_due(self, workflows: Sequence[str]) -> int | None:
        """The earliest ``next_at`` among unpaused schedules of ``workflows``."""
        times = [r.next_at for r in await self.list(workflows) if r.next_at is not None]
        return min(times, default=None)

    async def fire(
        self, record: ScheduleRecord, slot: int, next_at: int, batch: JournalBatch | None
    ) -> bool:
        """Move the cursor to ``slot`` and, with ``batch``, claim the slot and create its run;
        ``False`` if the schedule moved on, was paused or re-added, or the slot was claimed."""
        current = self._by_name.get(record.name)
        if current is None or current.id != record.id or current.paused or current.cursor >= slot:
            return False
        slots = self._slots[current.id]
        if batch is not None and slot in slots:
            return False
        if batch is not None:
            try:
                await self._get_run(batch.run_id)
            except RunNotFoundError:
                await self._append(batch)  # does not suspend: nothing slips in between
            slots[slot] = batch.run_id
            for old in sorted(slots)[:-SLOTS_KEPT]:
                del slots[old]
            current = replace(current, last_slot=slot, last_run=batch.run_id)
        now = self._clock()
        self._by_name[record.name] = replace(current, cursor=slot, next_at=next_at, updated_at=now)
        return True

    def watch(self, on_change: Callable[[], None]) -> AbstractAsyncContextManager[None]:
        """While entered, ``on_change()`` is called when this store's schedules change."""
        return self._watchers.watch(on_change)
