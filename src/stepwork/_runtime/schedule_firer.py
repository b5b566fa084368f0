"""``ScheduleFirer``: starts the runs of due schedule slots, beside a worker's claim loop.

Every worker (``stepwork worker``, and ``stepwork serve --workers N``) runs one for the
workflows it serves. Each loop:

1. asks the store for unpaused schedules of those workflows whose next slot has come;
2. for each, decides the slots to fire from its cursor and now by its ``missed`` policy
   (``_core/schedule_slots.due_slots``), and fires them oldest first: ``fire`` claims a slot,
   moves the cursor and stores the slot's run (its start tick only, runnable at once, id
   ``NAME:YYYYMMDDTHHMMSSZ``) in one transaction, so when several firers race for a slot one
   wins and the others get ``False`` and move on. The run is then claimed like any enqueued run;
3. sleeps until the earliest next slot, or ``poll`` seconds, whichever comes first, or until
   a schedule changes (``watch``: NOTIFY on PostgreSQL; on SQLite, changes made through this
   process's store at once and other processes' at the next poll).

A slot whose start arguments no longer fit the workflow is skipped (logged as an error), so a
bad schedule never blocks the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import TYPE_CHECKING

from stepwork._core.envelope import TickEnvelope
from stepwork._core.errors import StoreError
from stepwork._core.schedule_slots import slot_at_or_before, slot_run_id
from stepwork._core.ticks import TickStart
from stepwork._runtime.envelopes import process_writer_id
from stepwork._stores.protocol import JournalBatch, Store
from stepwork._stores.schedule_protocol import ScheduleRecord, ScheduleStore, schedules_of
from stepwork._stores.tick_codec import dump_envelope

if TYPE_CHECKING:
    from stepwork._runtime.workflow import Workflow

__all__ = ["ScheduleFirer", "slot_batch"]

_log = logging.getLogger("stepwork.schedules")


def slot_batch(workflow: Workflow, record: ScheduleRecord, slot: int, now: float) -> JournalBatch:
    """The batch that creates the run of ``record``'s ``slot``: its start tick, runnable now.

    Raises:
        ValueError: If the schedule's start arguments do not make a start event.
    """
    run_id = slot_run_id(record.name, slot)
    start_event = workflow.start_event_class(**record.schedule.start)
    tick = TickStart(now, run_id, start_event, workflow.timeout)
    meta = {"schedule": record.name}
    envelope = dump_envelope(TickEnvelope(tick, writer=process_writer_id(), meta=meta))
    return JournalBatch(
        run_id, 0, [envelope], workflow=workflow.workflow_name, created_at=now,
        runnable_at=now, version=workflow.workflow_version,
    )  # fmt: skip


class ScheduleFirer:
    """Fires the due slots of the schedules of ``workflows``.

    Args:
        workflows: The workflows served, by ``workflow_name``.
        store: The shared store.
        poll: The longest sleep between looks (the fallback when nothing notifies).
        clock: Seconds since the epoch.
        on_fired: Called after a slot's run was stored (a worker claims it at once).
    """

    def __init__(
        self,
        workflows: Mapping[str, Workflow],
        store: Store,
        *,
        poll: float = 1.0,
        clock: Callable[[], float] = time.time,
        on_fired: Callable[[], None] | None = None,
    ) -> None:
        self.workflows = dict(workflows)
        self.store = store
        self.poll = poll
        self.clock = clock
        self.fired = 0
        """Slots this firer started a run for."""
        self.on_fired = on_fired
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look again now (a schedule changed)."""
        self._wake.set()

    @contextlib.asynccontextmanager
    async def running(self, stop: asyncio.Event) -> AsyncIterator[None]:
        """Fire schedules in a task while the block runs (until ``stop`` is set)."""
        task = asyncio.ensure_future(self.run(stop))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self, stop: asyncio.Event) -> None:
        """Fire due slots until ``stop`` is set. A store without schedules ends it at once."""
        try:
            schedules = schedules_of(self.store)
        except StoreError:
            return
        async with contextlib.AsyncExitStack() as stack:
            try:
                await stack.enter_async_context(schedules.watch(self.wake))
            except StoreError as error:  # no notifications: the poll still finds changes
                _log.warning("schedules: cannot watch for changes (%s); polling", error)
            stopping = asyncio.ensure_future(stop.wait())
            try:
                while not stop.is_set():
                    self._wake.clear()
                    delay = await self.fire_due(schedules)
                    woken = asyncio.ensure_future(self._wake.wait())
                    await asyncio.wait(
                        {woken, stopping}, timeout=delay, return_when="FIRST_COMPLETED"
                    )
                    woken.cancel()
            finally:
                stopping.cancel()

    async def fire_due(self, schedules: ScheduleStore | None = None) -> float:
        """Fire what is due now; how long to sleep until the next slot (at most ``poll``).

        Raises:
            StoreError: If the store keeps no schedules (only when ``schedules`` is omitted).
        """
        schedules = schedules or schedules_of(self.store)
        names = list(self.workflows)
        try:
            for record in await schedules.due(int(self.clock() * 1000), names):
                await self._fire(schedules, record)
            next_due = await schedules.next_due(names)
        except StoreError as error:
            _log.warning("schedules: store failed (%s); trying again", error)
            return self.poll
        if next_due is None:
            return self.poll
        return min(max(next_due / 1000 - self.clock(), 0.0), self.poll)

    async def _fire(self, schedules: ScheduleStore, record: ScheduleRecord) -> None:
        schedule = record.schedule
        now = int(self.clock() * 1000)
        slots = schedule.due_slots(record.cursor, now)
        if not slots:  # missed="skip" and too late: move past them without a run
            latest = slot_at_or_before(schedule.rule, now, schedule.zone)
            await schedules.fire(record, latest, schedule.slot_after(latest), None)
            return
        workflow = self.workflows[schedule.workflow]
        for slot in slots:
            try:
                batch: JournalBatch | None = slot_batch(workflow, record, slot, self.clock())
            except ValueError as error:
                _log.error("schedule %r: slot %s skipped: %s", record.name, slot, error)
                batch = None
            if not await schedules.fire(record, slot, schedule.slot_after(slot), batch):
                return  # another process fired it (and what follows), or it was paused
            if batch is not None:
                self.fired += 1
                if self.on_fired is not None:
                    self.on_fired()
                _log.info("schedule %r started run %r", record.name, batch.run_id)
