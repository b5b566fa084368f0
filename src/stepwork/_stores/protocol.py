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

Leases (see ``docs/scale-out.md``): a run row also keeps ``owner``, ``lease_expires``,
``epoch`` (0 for a run never claimed) and ``runnable_at`` (``None``: the run waits for
something from outside; a time: it may be claimed from then on).
- Claiming a run bumps its epoch; only a run with no owner or an expired lease is claimed, so
  two claimers never both get one (one transaction, or ``FOR UPDATE SKIP LOCKED``).
- A fenced append (``JournalBatch.epoch`` set) checks the run's epoch in the same transaction
  and raises ``LeaseLostError``, storing nothing, when it moved on.
- Timers are rows set and cancelled with the ticks of a batch, in the same transaction; a
  run's timers go when it ends, and so does its lease: the append that ends a run leaves it
  with no owner (its holder need not release it). A run released idle becomes runnable at its
  earliest timer, or at once when its inbox holds a message.

Inbox (outside input to a run that another process holds, or that nobody holds): ``deliver``
stores a message durably and makes the run runnable now; the holder turns each message into a
tick and deletes it in the same transaction as that tick's append (``JournalBatch.consumed``),
so every message takes effect exactly once. A pending message with the same idempotency key
for the run is not stored twice.

Checkpoints (see ``docs/durability.md``): a batch may carry the run's folded state as of its
last tick (``JournalBatch.checkpoint``); it is stored in the same transaction, fenced like the
ticks, replacing the run's earlier checkpoint. ``load_checkpoint`` returns the latest one.
Ticks are never deleted for a checkpoint: history, time travel and forks read them all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from stepwork._stores.store_values import (
    TERMINAL_STATUSES,
    Checkpoint,
    DueTimer,
    InboxKind,
    InboxMessage,
    InboxNotice,
    Lease,
    RunRecord,
    RunStatus,
    RunTail,
)

__all__ = [
    "TERMINAL_STATUSES",
    "Checkpoint",
    "DueTimer",
    "InboxKind",
    "InboxMessage",
    "InboxNotice",
    "JournalBatch",
    "Lease",
    "RunRecord",
    "RunStatus",
    "RunTail",
    "Store",
    "TimerChange",
    "net_timers",
]

TimerChange = tuple[str, float | None]
"""``(timer_id, fire_at)`` sets a timer (replacing one of that id); ``(timer_id, None)``
cancels it."""


def net_timers(changes: Sequence[TimerChange]) -> tuple[dict[str, float], list[str]]:
    """The timers ``changes`` leave set and those they leave cancelled, later changes winning.

    Example:
        >>> net_timers([("a", 1.0), ("b", 2.0), ("a", None), ("c", None), ("c", 3.0)])
        ({'b': 2.0, 'c': 3.0}, ['a'])
    """
    final: dict[str, float | None] = {}
    for timer_id, fire_at in changes:
        final.pop(timer_id, None)
        final[timer_id] = fire_at
    kept = {timer_id: at for timer_id, at in final.items() if at is not None}
    return kept, [timer_id for timer_id, at in final.items() if at is None]


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
        epoch: ``None`` appends unfenced (one process owns the store); a number fences the
            append: it stores nothing and raises ``LeaseLostError`` unless the run's epoch
            is still this one.
        timers: Timers set or cancelled with these ticks (:data:`TimerChange`), in order.
        lease: With ``workflow``, the new run is created held by this lease (its epoch
            must equal ``epoch``), so no other process can claim it in between.
        runnable_at: Makes the run claimable from this time on (the earlier of this and
            when it already was): an event from outside woke it, or a new run is enqueued.
        version: With ``workflow``, the version of the workflow that starts the run.
        parent_run_id: With ``workflow``, the run whose step starts this one (a child).
        checkpoint: The run's state as of this batch's last tick (its ``seq`` is
            ``first_seq + len(ticks) - 1``), stored with the ticks in place of the run's
            earlier checkpoint.
        had_timers: ``False`` when the writer knows the run never had a timer row (a new
            run that scheduled none): ending it then skips deleting its timers.
        consumed: Ids of the run's inbox messages these ticks took in: deleted in the same
            transaction, so a message takes effect once (a batch may hold no ticks and only
            drop messages, e.g. a duplicate by idempotency key).
        notify: Delivered to another run's inbox in the same transaction, as ``deliver``
            would (that run becomes runnable at once and, on PostgreSQL, is NOTIFYed), but
            silently skipped when that run is gone or ended. Only an append that stores
            something carries it out.
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
    epoch: int | None = None
    timers: Sequence[TimerChange] = field(default_factory=tuple)
    lease: Lease | None = None
    runnable_at: float | None = None
    version: str | None = None
    parent_run_id: str | None = None
    checkpoint: Checkpoint | None = None
    had_timers: bool = True
    consumed: Sequence[int] = field(default_factory=tuple)
    notify: InboxNotice | None = None


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
        text: str | None = None,
        offset: int = 0,
        parent: str | None = None,
    ) -> list[RunRecord]:
        """Runs matching every given filter, newest first (a run whose row cannot be read is
        listed with ``corrupt`` set).

        ``text`` keeps runs whose id or error contains it (ignoring ASCII case); ``offset``
        skips that many matching runs (a page of ``limit`` runs from there); ``parent`` keeps
        the children of that run.
        """

    async def delete_run(self, run_id: str) -> bool:
        """Delete a run with its ticks and events; False if there was none."""

    async def prune(self, finished_before: float) -> int:
        """Delete finished runs last updated before ``finished_before``; how many."""

    async def size(self) -> dict[str, int]:
        """``{"runs": n, "ticks": n, "events": n, "bytes": n}`` (bytes on disk where known)."""

    async def claim_run(
        self, run_id: str, owner: str, ttl: float, *, take_from: str | None = None
    ) -> Lease | None:
        """Take run ``run_id`` for ``owner`` for ``ttl`` seconds if it has no owner, its lease
        expired, or ``owner`` holds it already (whatever its status): bumps its epoch, so an
        earlier holder is fenced. ``None`` if someone else holds it. ``take_from``: also take
        it from that owner, known to be dead (its lease has not lapsed yet).

        Raises:
            RunNotFoundError: If there is no such run.
        """

    async def claim_runnable(
        self,
        owner: str,
        ttl: float,
        limit: int,
        workflows: Sequence[str] | None = None,
        versions: Mapping[str, str] | None = None,
    ) -> list[Lease]:
        """Claim up to ``limit`` running runs (of ``workflows``, when given) whose lease is
        free or expired and whose ``runnable_at`` has come: first those whose holder's lease
        lapsed (their work was in flight), then the longest waiting; two claimers at once
        never get the same run. ``versions`` (workflow name -> version): a run of such a
        workflow recorded with another version is left alone (one with none is claimed)."""

    async def renew(self, lease: Lease, ttl: float) -> Lease:
        """Extend ``lease`` to ``ttl`` seconds from now.

        Raises:
            LeaseLostError: If the run's epoch moved on (another process claimed it) or the
                lease was released.
        """

    async def renew_many(self, leases: Sequence[Lease], ttl: float) -> list[Lease | None]:
        """``renew`` for all of ``leases`` together (one statement on PostgreSQL, one
        transaction on SQLite), so a process holding many runs renews them in one call: per
        lease, in order, the renewed lease, or ``None`` where ``renew`` would raise
        ``LeaseLostError``. A ``StoreError`` (the store failed) says none was lost."""

    async def release_many(self, leases: Sequence[Lease], *, idle: bool = False) -> list[bool]:
        """``release`` for all of ``leases`` together (one transaction), per lease, in order."""

    async def release(self, lease: Lease, *, idle: bool = False) -> bool:
        """Give the run back: no owner. ``idle``: it only waits, so it becomes runnable at its
        earliest timer (never, without one), or at once if its inbox holds a message (checked
        in the same transaction, so a message delivered meanwhile is not left waiting);
        otherwise at once (work is left for another process). False, changing nothing, if
        ``lease`` is no longer the run's."""

    async def due_timers(self, now: float, limit: int | None = None) -> list[DueTimer]:
        """Timers of running runs with ``fire_at <= now``, the earliest first."""

    async def next_timer(self, run_id: str) -> float | None:
        """When the run's earliest timer fires; ``None`` if it has none."""

    async def load_checkpoint(self, run_id: str) -> Checkpoint | None:
        """The run's latest checkpoint; ``None`` if it has none.

        Raises:
            RunNotFoundError: If there is no such run.
            JournalCorruptError: If the stored checkpoint is not a JSON object (callers fall
                back to folding every tick).
        """

    async def deliver(
        self,
        run_id: str,
        kind: InboxKind,
        record: dict[str, Any] | None,
        idempotency_key: str | None,
        at: float,
        *,
        step: str | None = None,
    ) -> None:
        """Store a message for run ``run_id`` in its inbox and make the run runnable from
        ``at`` (PostgreSQL also NOTIFYs the runnable channel with the run id), in one
        transaction. A pending message with the same ``idempotency_key`` for the run makes
        this store nothing.

        Raises:
            RunNotFoundError: If there is no such run.
            WorkflowRuntimeError: If the run has ended (nothing is stored).
        """

    async def load_inbox(self, run_id: str) -> list[InboxMessage]:
        """The run's pending inbox messages, in delivery order."""

    async def with_messages(self, run_ids: Sequence[str]) -> set[str]:
        """Those of ``run_ids`` whose inbox holds a message (one query for them all)."""
