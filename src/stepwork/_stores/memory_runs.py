"""One run's row in a ``MemoryStore`` (records as JSON text, counters, lease, timers, inbox)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from stepwork._stores.protocol import InboxMessage, Lease, RunRecord, RunStatus
from stepwork._stores.records import RecordKind, check_numbers, decode_record, run_record

__all__ = ["MemoryRun", "load_records"]


@dataclass
class MemoryRun:
    """One run's row in a ``MemoryStore``: its records, counters, lease, timers and inbox."""

    workflow: str
    created_at: float
    updated_at: float
    order: int  # creation order, to break ties between equal created_at
    status: RunStatus = "running"
    result: str | None = None
    error: str | None = None
    ticks: dict[int, str] = field(default_factory=dict)  # by seq
    events: dict[int, str] = field(default_factory=dict)  # by offset
    tick_count: int = 0
    event_count: int = 0
    owner: str | None = None
    lease_expires: float | None = None
    epoch: int = 0
    runnable_at: float | None = None
    timers: dict[str, float] = field(default_factory=dict)  # fire_at by timer id
    version: str | None = None
    parent: str | None = None
    checkpoint: tuple[int, str] | None = None  # (seq, record JSON): the latest
    inbox: dict[int, InboxMessage] = field(default_factory=dict)  # by message id

    def record(self, run_id: str) -> RunRecord:
        """The run's row as the protocol returns it."""
        return run_record(
            run_id,
            self.workflow,
            self.status,
            self.created_at,
            self.updated_at,
            self.result,
            self.error,
            self.tick_count,
            self.event_count,
            self.owner,
            self.lease_expires,
            self.epoch,
            self.runnable_at,
            self.version,
            self.parent,
        )

    def held_by(self, lease: Lease) -> bool:
        """Whether ``lease`` still holds this run (same owner and epoch)."""
        return self.epoch == lease.epoch and self.owner == lease.owner

    def give_back(self, idle: bool, now: float) -> None:
        """Release the lease: idle, runnable at the earliest timer unless a message waits."""
        self.owner = self.lease_expires = None
        if self.status != "running":
            self.runnable_at = None
        elif idle and not self.inbox:
            self.runnable_at = min(self.timers.values(), default=None)
        else:
            self.runnable_at = now

    def runnable_from(self, at: float | None) -> None:
        """Make a running run runnable from ``at`` (or earlier, if it already is)."""
        if at is not None and self.status == "running":
            self.runnable_at = at if self.runnable_at is None else min(self.runnable_at, at)


def load_records(
    run_id: str,
    kind: RecordKind,
    stored: dict[int, str],
    count: int,
    after: int,
    limit: int | None,
) -> list[tuple[int, dict[str, Any]]]:
    """Records of a run numbered ``after + 1`` on, checked against the stored ``count``."""
    start = max(after + 1, 0)
    stop = count if limit is None else min(count, start + max(limit, 0))
    numbers = [number for number in range(start, stop) if number in stored]
    if (limit is None or stop - start < limit) and count in stored:  # one past the count
        numbers.append(count)
    check_numbers(run_id, kind, numbers, after, count, limit)
    return [(number, decode_record(run_id, number, stored[number], kind)) for number in numbers]
