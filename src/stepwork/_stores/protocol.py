"""The journal store protocol: what a durable run needs from a database.

A store keeps, per run: a row describing the run (workflow, status, times, result or error),
its tick records in order (``seq`` 0, 1, 2, ...), and the events it published, by offset.
Ticks and the events they caused are appended together, in one transaction, so a reader
following by offset never sees an event whose tick was lost, nor misses one whose tick was
kept.

Invariants every implementation keeps (the conformance suite in ``tests/stores`` checks them):
- ``append`` is atomic: all of its ticks and events are stored, or none are. A batch that
  creates its run (``JournalBatch.workflow`` set) stores the run's row with them or not at all,
  so no run is ever stored without its start tick.
- ``seq`` and ``offset`` numbers of a run are contiguous from 0; appending a number that is
  already stored, or that leaves a gap, raises ``JournalConflictError`` and stores nothing.
- Loading returns records exactly as appended (JSON round trip), in order.
- Runs are independent: a corrupt or conflicting run never stops another run from working.
- Loading checks the numbering: records come back numbered ``after + 1``, ``after + 2``, ... up
  to the count the run's row keeps, so a deleted row (a gap, or a missing last record) raises
  ``JournalCorruptError`` naming the run and the missing seq/offset, like an unreadable row.
- A run row whose result or error cannot be read is returned with ``corrupt`` set (never
  raised), so listing, existence checks and resuming the other runs go on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from stepwork._core.errors import JournalCorruptError

__all__ = ["JournalBatch", "RunRecord", "RunStatus", "Store"]

RunStatus = str
"""``running``, ``completed``, ``failed``, ``timed_out`` or ``cancelled``."""

TERMINAL_STATUSES = frozenset({"completed", "failed", "timed_out", "cancelled"})


@dataclass(frozen=True)
class RunRecord:
    """One run as the store lists it.

    Attributes:
        run_id: The run's id (unique within the store).
        workflow: The workflow's name (``Workflow.workflow_name``).
        status: ``running`` until the run ends, then its ending.
        created_at: Seconds since the epoch when the run was created.
        updated_at: Seconds since the epoch of the last append or status change.
        result: The stop event's record (JSON) once completed, else ``None``.
        error: ``{"type": ..., "message": ..., "step": ...}`` once failed, else ``None``.
        ticks: How many tick records the run has.
        events: How many published events the run has.
        corrupt: Why the run's row cannot be read (its ``result`` and ``error`` are then
            ``None``), else ``None``. Ignored by ``==``.
    """

    run_id: str
    workflow: str
    status: RunStatus
    created_at: float
    updated_at: float
    result: Any = None
    error: dict[str, Any] | None = None
    ticks: int = 0
    events: int = 0
    corrupt: JournalCorruptError | None = field(default=None, compare=False)


@dataclass(frozen=True)
class JournalBatch:
    """Tick records and the events they published, appended to one run in one transaction.

    Attributes:
        run_id: The run appended to.
        first_seq: ``seq`` of the first tick record in ``ticks``.
        ticks: Tick records (JSON objects from ``dump_tick``), in order.
        first_offset: Offset of the first event in ``events``.
        events: Published event records (JSON objects from ``dump_event``), in order.
        status: The run's new status when this batch ends it, else ``None``.
        result: With a ``completed`` status, the stop event's record.
        error: With a failing status, ``{"type", "message", "step"}``.
        workflow: When set, the batch also creates the run, a ``running`` run of this
            workflow created at ``created_at``, in the same transaction (``first_seq`` and
            ``first_offset`` are then 0): a run's row and its first ticks are stored together.
        created_at: With ``workflow``, the new run's creation time.
    """

    run_id: str
    first_seq: int
    ticks: Sequence[dict[str, Any]]
    first_offset: int = 0
    events: Sequence[dict[str, Any]] = field(default_factory=tuple)
    status: RunStatus | None = None
    result: Any = None
    error: dict[str, Any] | None = None
    workflow: str | None = None
    created_at: float = 0.0


@runtime_checkable
class Store(Protocol):
    """Where durable runs are journaled. All methods are coroutines unless noted.

    Implementations: ``MemoryStore``, ``SqliteStore`` (the default for durable use) and
    ``PostgresStore``.
    """

    async def open(self) -> None:
        """Connect and apply pending schema migrations; safe to call more than once."""

    async def close(self) -> None:
        """Release connections; the store may be opened again."""

    async def create_run(self, run_id: str, workflow: str, created_at: float) -> None:
        """Add a ``running`` run with no ticks.

        Raises:
            JournalConflictError: If ``run_id`` already exists.
        """

    async def append(self, batch: JournalBatch) -> None:
        """Append ``batch`` atomically (see the module invariants); create its run first, in
        the same transaction, when ``batch.workflow`` is set.

        Raises:
            JournalConflictError: If the run does not exist (or, when creating it, already
                exists), or ``seq``/``offset`` numbers overlap what is stored or leave a gap.
        """

    async def load_ticks(
        self, run_id: str, after_seq: int = -1, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` of the run's tick records with ``seq > after_seq``, in order.

        Raises:
            RunNotFoundError: If there is no such run.
            JournalCorruptError: If a stored record in the range cannot be read, or one is
                missing (names run and seq).
        """

    async def load_events(
        self, run_id: str, after_offset: int = -1, limit: int | None = None
    ) -> list[tuple[int, dict[str, Any]]]:
        """``(offset, event record)`` pairs with ``offset > after_offset``, in order.

        Raises:
            RunNotFoundError: If there is no such run.
            JournalCorruptError: If a stored record in the range cannot be read, or one is
                missing (names run and offset).
        """

    async def get_run(self, run_id: str) -> RunRecord:
        """The run's record (with ``corrupt`` set when its row cannot be read).

        Raises:
            RunNotFoundError: If there is no such run.
        """

    async def list_runs(
        self,
        *,
        status: Sequence[RunStatus] | None = None,
        workflow: Sequence[str] | None = None,
        created_after: float | None = None,
        created_before: float | None = None,
        limit: int | None = None,
    ) -> list[RunRecord]:
        """Runs matching every given filter, newest first (a run whose row cannot be read is
        listed with ``corrupt`` set)."""

    async def delete_run(self, run_id: str) -> bool:
        """Delete a run with its ticks and events; False if there was none."""

    async def prune(self, finished_before: float) -> int:
        """Delete finished runs last updated before ``finished_before``; how many."""

    async def size(self) -> dict[str, int]:
        """``{"runs": n, "ticks": n, "events": n, "bytes": n}`` (bytes on disk where known)."""
