"""What stores hand back and take in besides journal batches: a run's row (``RunRecord``), a
lease, a due timer, a checkpoint, a run's tail and inbox messages. ``protocol`` re-exports them
with the ``Store`` protocol that uses them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from stepwork._core.errors import JournalCorruptError

__all__ = [
    "Checkpoint",
    "DueTimer",
    "InboxKind",
    "InboxMessage",
    "InboxNotice",
    "Lease",
    "RunRecord",
    "RunStatus",
    "RunTail",
    "TERMINAL_STATUSES",
]

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
        owner: Who holds the run's lease (``None``: nobody; it may have expired).
        lease_expires: When that lease lapses unless renewed.
        epoch: Bumped by every claim; 0 for a run never claimed.
        runnable_at: From when the run may be claimed; ``None`` while it waits for
            something from outside.
        version: The version of the workflow that started the run (``Workflow.version``);
            ``None`` for runs stored before versions were recorded.
        parent_run_id: The run whose step started this one (``ctx.run_workflow``); ``None``
            for a top-level run, or one stored before parents were recorded.
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
    owner: str | None = None
    lease_expires: float | None = None
    epoch: int = 0
    runnable_at: float | None = None
    version: str | None = None
    parent_run_id: str | None = None


@dataclass(frozen=True)
class Lease:
    """A process's hold on one run, as the store granted it.

    Attributes:
        run_id: The run held.
        owner: Who holds it (a worker's id, unique per process).
        epoch: The run's epoch when claimed: every fenced append and renewal must carry it.
        expires: Seconds since the epoch when the lease lapses unless renewed.
        previous_owner: Who held the run when it was claimed: ``None`` if nobody did (a new
            or released run); another owner means its lease lapsed or it died (a takeover).
        workflow: The run's workflow name, when the claim read it (``claim_runnable`` does,
            so a worker serving several workflows needs no second read to pick one).
    """

    run_id: str
    owner: str
    epoch: int
    expires: float
    previous_owner: str | None = None
    workflow: str | None = None

    @property
    def taken_over(self) -> bool:
        """Whether this claim took the run from another holder that had not released it."""
        return self.previous_owner is not None and self.previous_owner != self.owner


@dataclass(frozen=True)
class DueTimer:
    """A durable timer row.

    Attributes:
        run_id: The run whose reducer scheduled it.
        timer_id: The timer's id within the run.
        fire_at: Seconds since the epoch when it fires.
    """

    run_id: str
    timer_id: str
    fire_at: float


@dataclass(frozen=True)
class Checkpoint:
    """A run's folded state as of one tick, so a takeover folds only the ticks after it.

    Attributes:
        seq: The seq of the last tick the state covers (ticks ``0..seq`` are folded in).
        record: The state as JSON (``checkpoint_codec.dump_checkpoint``; versioned).
    """

    seq: int
    record: dict[str, Any]


@dataclass(frozen=True)
class RunTail:
    """What resuming a run reads, in one read where a store offers ``load_tail`` (PostgreSQL:
    one round trip instead of three).

    Attributes:
        record: The run's row.
        checkpoint: Its latest checkpoint, if any.
        ticks: Its tick records after the checkpoint (every one without a checkpoint).
    """

    record: RunRecord
    checkpoint: Checkpoint | None
    ticks: list[dict[str, Any]]


InboxKind = Literal["event", "cancel"]
"""What an inbox message asks of its run: take an event, or be cancelled."""


@dataclass(frozen=True)
class InboxMessage:
    """Outside input to a run, stored until its holder turns it into a tick.

    Attributes:
        id: The message's number, increasing in delivery order within the store.
        run_id: The run it is for.
        kind: ``event`` (``record`` is the event's record from ``dump_event``) or ``cancel``.
        record: The event's record, ``None`` for a cancel.
        idempotency_key: The sender's key: a message whose key the run has already taken is
            dropped by the holder.
        at: When it was delivered (the sender's clock).
        step: For an event, the one step it is for (``None``: routed as usual).
    """

    id: int
    run_id: str
    kind: InboxKind
    record: dict[str, Any] | None
    idempotency_key: str | None
    at: float
    step: str | None = None


@dataclass(frozen=True)
class InboxNotice:
    """A message an append delivers to another run's inbox in its own transaction (a child
    run's ending, for the parent that waits for it).

    Attributes:
        run_id: The run it is for. Nothing is stored if that run does not exist or has
            ended (nobody waits any more).
        record: The event's record (from ``dump_event``).
        idempotency_key: A pending message with this key for that run stores nothing.
    """

    run_id: str
    record: dict[str, Any]
    idempotency_key: str
