"""``MemoryStore``: the journal protocol in a dict, for tests and for runs that need no disk.

Records are kept as JSON text by seq/offset and parsed again on every load, so neither the
caller who appended a record nor the one who loaded it can change what is stored. Like the
databases, a run keeps counts of its records apart from the records, and loading checks the
numbering against them. Every method finishes without awaiting anything, so on one event loop
each call is atomic.

Example:
    >>> import asyncio
    >>> store = MemoryStore()
    >>> async def demo() -> list[dict[str, object]]:
    ...     await store.create_run("r1", "flow", created_at=0.0)
    ...     await store.append(JournalBatch("r1", 0, [{"kind": "cancel", "at": 1.0}]))
    ...     return await store.load_ticks("r1")
    >>> asyncio.run(demo())
    [{'kind': 'cancel', 'at': 1.0}]
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Sequence
from typing import Any

from stepwork._core.errors import JournalConflictError
from stepwork._stores.checkpoint_codec import decode_checkpoint
from stepwork._stores.lease_rules import lease_lost
from stepwork._stores.memory_leases import MemoryLeases
from stepwork._stores.memory_limits import MemoryLimits
from stepwork._stores.memory_runs import MemoryRun, load_records
from stepwork._stores.memory_schedules import MemorySchedules
from stepwork._stores.protocol import (
    TERMINAL_STATUSES,
    Checkpoint,
    JournalBatch,
    RunRecord,
    RunStatus,
    net_timers,
)
from stepwork._stores.records import (
    check_next,
    encode_records,
    encode_value,
    matches_text,
)

__all__ = ["MemoryStore"]


class MemoryStore(MemoryLeases):
    """The :class:`~stepwork._stores.protocol.Store` protocol in memory.

    Data lives as long as the object; ``close()`` keeps it, so the store may be opened again.

    Args:
        clock: Seconds since the epoch, used for ``updated_at`` (``time.time`` by default).
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        self._order = itertools.count()
        self.limits = MemoryLimits()
        """Slots of named limits (``stepwork.Limit``) for runs on this store."""
        self.schedules = MemorySchedules(self.append, self.get_run, clock)
        """The store's schedules (``docs/durable-primitives.md#schedules``)."""

    def __repr__(self) -> str:
        return f"MemoryStore(runs={len(self._runs)})"

    async def __aenter__(self) -> MemoryStore:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Nothing to connect to; kept for the protocol."""

    async def close(self) -> None:
        """Nothing to release; the data stays."""

    async def create_run(self, run_id: str, workflow: str, created_at: float) -> None:
        """Add a ``running`` run with no ticks.

        Raises:
            JournalConflictError: If ``run_id`` already exists.
        """
        if run_id in self._runs:
            raise JournalConflictError(f"Run {run_id!r} already exists.", run_id=run_id)
        self._runs[run_id] = MemoryRun(workflow, created_at, created_at, next(self._order))

    async def append(self, batch: JournalBatch) -> None:
        """Append ``batch`` atomically: all of it or, on any error, nothing (with its run's
        row when ``batch.workflow`` asks to create the run).

        Raises:
            JournalConflictError: If the run does not exist (or, to be created, exists), or
                ``seq``/``offset`` numbers overlap what is stored or leave a gap.
            StoreError: If a record is not a JSON object (tick records need a ``kind``).
        """
        run_id = batch.run_id
        ticks = encode_records(run_id, batch.ticks, "tick", batch.first_seq)
        events = encode_records(run_id, batch.events, "event", batch.first_offset)
        result = encode_value(run_id, batch.result, "result")
        error = encode_value(run_id, batch.error, "error")
        checkpoint = None
        if batch.checkpoint is not None:
            text = encode_value(run_id, batch.checkpoint.record, "checkpoint")
            checkpoint = (batch.checkpoint.seq, text)
        notice = batch.notify
        notice_text = None
        if notice is not None:  # encoded first: a record that cannot be written stores nothing
            notice_text = encode_value(notice.run_id, notice.record, "inbox record")
        run = self._runs.get(run_id)
        if batch.workflow is not None:
            if run is not None:
                raise JournalConflictError(f"Run {run_id!r} already exists.", run_id=run_id)
            run = MemoryRun(batch.workflow, batch.created_at, batch.created_at, -1)
            run.version, run.parent = batch.version, batch.parent_run_id
            if batch.lease is not None:
                lease = batch.lease
                run.owner, run.lease_expires, run.epoch = lease.owner, lease.expires, lease.epoch
        if run is None:
            if batch.epoch is not None:
                raise lease_lost(run_id, batch.epoch, None)
            raise JournalConflictError(
                f"Cannot append to run {run_id!r}: there is no such run.", run_id=run_id
            )
        if batch.epoch is not None and batch.epoch != run.epoch:
            raise lease_lost(run_id, batch.epoch, run.epoch)
        set_timers, cancel_timers = net_timers(batch.timers)
        check_next(run_id, "seq", batch.first_seq, run.tick_count, len(ticks))
        check_next(run_id, "offset", batch.first_offset, run.event_count, len(events))
        if run.order < 0:  # created by this batch: stored only now that it fits
            run.order = next(self._order)
            self._runs[run_id] = run
        run.ticks.update(enumerate(ticks, run.tick_count))
        run.events.update(enumerate(events, run.event_count))
        run.tick_count += len(ticks)
        run.event_count += len(events)
        if batch.status is not None:
            run.status = batch.status
            run.result = None if batch.result is None else result
            run.error = None if batch.error is None else error
        for timer_id in cancel_timers:
            run.timers.pop(timer_id, None)
        run.timers.update(set_timers)
        for message_id in batch.consumed:
            run.inbox.pop(message_id, None)
        run.runnable_from(batch.runnable_at)
        if checkpoint is not None:
            run.checkpoint = checkpoint
        if run.status in TERMINAL_STATUSES:  # an ended run keeps no timers and no holder
            run.timers.clear()
            run.inbox.clear()
            run.runnable_at = None
            run.owner = run.lease_expires = None
        run.updated_at = self._clock()
        if notice is not None and notice_text is not None:
            self._notify(notice, notice_text, run.updated_at)

    async def load_ticks(
        self, run_id: str, after_seq: int = -1, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` of the run's tick records with ``seq > after_seq``, in order.

        Raises:
            RunNotFoundError: If there is no such run.
            JournalCorruptError: If a record cannot be read or is missing (names run and seq).
        """
        run = self._get(run_id)
        loaded = load_records(run_id, "tick", run.ticks, run.tick_count, after_seq, limit)
        return [record for _, record in loaded]

    async def load_events(
        self, run_id: str, after_offset: int = -1, limit: int | None = None
    ) -> list[tuple[int, dict[str, Any]]]:
        """``(offset, event record)`` pairs with ``offset > after_offset``, in order.

        Raises:
            RunNotFoundError: If there is no such run.
            JournalCorruptError: If a record cannot be read or is missing (names run and
                offset).
        """
        run = self._get(run_id)
        return load_records(run_id, "event", run.events, run.event_count, after_offset, limit)

    async def load_checkpoint(self, run_id: str) -> Checkpoint | None:
        """The run's latest checkpoint; ``None`` if it has none.

        Raises:
            RunNotFoundError: If there is no such run.
            JournalCorruptError: If the stored checkpoint is not a JSON object.
        """
        found = self._get(run_id).checkpoint
        return None if found is None else decode_checkpoint(run_id, *found)

    async def get_run(self, run_id: str) -> RunRecord:
        """The run's record (``corrupt`` set when its result or error cannot be read).

        Raises:
            RunNotFoundError: If there is no such run.
        """
        return self._get(run_id).record(run_id)

    async def list_runs(
        self,
        *,
        status: Sequence[RunStatus] | None = None,
        workflow: Sequence[str] | None = None,
        created_after: float | None = None,
        created_before: float | None = None,
        limit: int | None = None,
        text: str | None = None,
        offset: int = 0,
        parent: str | None = None,
    ) -> list[RunRecord]:
        """Runs matching every given filter, newest first (``created_at``, then creation order).

        ``created_after`` and ``created_before`` are exclusive bounds.
        ``text`` keeps runs whose id or error contains it (ignoring ASCII case); ``offset``
        skips that many matching runs (a page of ``limit`` runs from there); ``parent`` keeps
        the children of that run.
        """
        chosen = [
            (run_id, run)
            for run_id, run in self._runs.items()
            if (status is None or run.status in status)
            and (workflow is None or run.workflow in workflow)
            and (created_after is None or run.created_at > created_after)
            and (created_before is None or run.created_at < created_before)
            and (not text or matches_text(run_id, run.error, text))
            and (parent is None or run.parent == parent)
        ]
        chosen.sort(key=lambda item: (item[1].created_at, item[1].order), reverse=True)
        chosen = chosen[max(offset, 0) :]
        if limit is not None:
            chosen = chosen[: max(limit, 0)]
        return [run.record(run_id) for run_id, run in chosen]

    async def delete_run(self, run_id: str) -> bool:
        """Delete a run with its ticks and events; False if there was none."""
        return self._runs.pop(run_id, None) is not None

    async def prune(self, finished_before: float) -> int:
        """Delete finished runs last updated before ``finished_before``; how many."""
        old = [
            run_id
            for run_id, run in self._runs.items()
            if run.status in TERMINAL_STATUSES and run.updated_at < finished_before
        ]
        for run_id in old:
            del self._runs[run_id]
        return len(old)

    async def size(self) -> dict[str, int]:
        """``{"runs", "ticks", "events", "bytes"}``; bytes counts the stored JSON text."""
        runs = self._runs.values()
        return {
            "runs": len(self._runs),
            "ticks": sum(run.tick_count for run in runs),
            "events": sum(run.event_count for run in runs),
            "bytes": sum(
                len(text) for run in runs for text in (*run.ticks.values(), *run.events.values())
            ),
        }
