"""``MemoryStore``: the journal protocol in a dict, for tests and for runs that need no disk.

Records are kept as JSON text and parsed again on every load, so neither the caller who
appended a record nor the one who loaded it can change what is stored. Every method finishes
without awaiting anything, so on one event loop each call is atomic.

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
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from stepwork._core.errors import JournalConflictError, RunNotFoundError
from stepwork._stores.protocol import TERMINAL_STATUSES, JournalBatch, RunRecord, RunStatus
from stepwork._stores.records import check_next, decode_record, encode_records, encode_value

__all__ = ["MemoryStore"]


@dataclass
class _Run:
    workflow: str
    created_at: float
    updated_at: float
    order: int  # creation order, to break ties between equal created_at
    status: RunStatus = "running"
    result: str | None = None
    error: str | None = None
    ticks: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    def record(self, run_id: str) -> RunRecord:
        return RunRecord(
            run_id=run_id,
            workflow=self.workflow,
            status=self.status,
            created_at=self.created_at,
            updated_at=self.updated_at,
            result=None if self.result is None else json.loads(self.result),
            error=None if self.error is None else json.loads(self.error),
            ticks=len(self.ticks),
            events=len(self.events),
        )


class MemoryStore:
    """The :class:`~stepwork._stores.protocol.Store` protocol in memory.

    Data lives as long as the object; ``close()`` keeps it, so the store may be opened again.

    Args:
        clock: Seconds since the epoch, used for ``updated_at`` (``time.time`` by default).
    """

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._runs: dict[str, _Run] = {}
        self._order = itertools.count()

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
        self._runs[run_id] = _Run(workflow, created_at, created_at, next(self._order))

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
        run = self._runs.get(run_id)
        if batch.workflow is not None:
            if run is not None:
                raise JournalConflictError(f"Run {run_id!r} already exists.", run_id=run_id)
            run = _Run(batch.workflow, batch.created_at, batch.created_at, -1)
        if run is None:
            raise JournalConflictError(
                f"Cannot append to run {run_id!r}: there is no such run.", run_id=run_id
            )
        check_next(run_id, "seq", batch.first_seq, len(run.ticks), len(ticks))
        check_next(run_id, "offset", batch.first_offset, len(run.events), len(events))
        if run.order < 0:  # created by this batch: stored only now that it fits
            run.order = next(self._order)
            self._runs[run_id] = run
        run.ticks.extend(ticks)
        run.events.extend(events)
        if batch.status is not None:
            run.status = batch.status
            run.result = None if batch.result is None else result
            run.error = None if batch.error is None else error
        run.updated_at = self._clock()

    async def load_ticks(self, run_id: str, after_seq: int = -1) -> list[dict[str, Any]]:
        """The run's tick records with ``seq > after_seq``, in order.

        Raises:
            RunNotFoundError: If there is no such run.
        """
        ticks = self._get(run_id).ticks
        start = max(after_seq + 1, 0)
        return [
            decode_record(run_id, seq, text, "tick")
            for seq, text in enumerate(ticks[start:], start)
        ]

    async def load_events(
        self, run_id: str, after_offset: int = -1, limit: int | None = None
    ) -> list[tuple[int, dict[str, Any]]]:
        """``(offset, event record)`` pairs with ``offset > after_offset``, in order.

        Raises:
            RunNotFoundError: If there is no such run.
        """
        events = self._get(run_id).events
        start = max(after_offset + 1, 0)
        stop = len(events) if limit is None else start + max(limit, 0)
        return [
            (offset, decode_record(run_id, offset, text, "event"))
            for offset, text in enumerate(events[start:stop], start)
        ]

    async def get_run(self, run_id: str) -> RunRecord:
        """The run's record.

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
    ) -> list[RunRecord]:
        """Runs matching every given filter, newest first (``created_at``, then creation order).

        ``created_after`` and ``created_before`` are exclusive bounds.
        """
        chosen = [
            (run_id, run)
            for run_id, run in self._runs.items()
            if (status is None or run.status in status)
            and (workflow is None or run.workflow in workflow)
            and (created_after is None or run.created_at > created_after)
            and (created_before is None or run.created_at < created_before)
        ]
        chosen.sort(key=lambda item: (item[1].created_at, item[1].order), reverse=True)
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
            "ticks": sum(len(run.ticks) for run in runs),
            "events": sum(len(run.events) for run in runs),
            "bytes": sum(len(text) for run in runs for text in (*run.ticks, *run.events)),
        }

    def _get(self, run_id: str) -> _Run:
        run = self._runs.get(run_id)
        if run is None:
            raise RunNotFoundError(f"No run {run_id!r} in this store.", run_id=run_id)
        return run
