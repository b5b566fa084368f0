"""The journal's writes in SQL on one ``sqlite3`` connection: blocking calls, run on
``SqliteStore``'s writing thread (reads are in ``sqlite_reads``).

Every function takes the connection (opened by ``sqlite_connect.connect``, in autocommit mode
so the transactions here are explicit) and does one store operation in one transaction.

Invariants:
- Writes use ``BEGIN IMMEDIATE``: the write lock is taken before anything is read, so the
  contiguity check and the inserts see the same journal, whichever process writes.
- ``runs.ticks``/``runs.events`` count the stored records: the next seq/offset must equal them,
  and the primary keys ``(run_id, seq)``/``(run_id, offset)`` forbid storing a number twice.
- A failed operation rolls its transaction back, so nothing of it is stored.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from stepwork._core.errors import JournalConflictError
from stepwork._stores.lease_rules import lease_lost
from stepwork._stores.protocol import Lease
from stepwork._stores.records import check_next
from stepwork._stores.sqlite_connect import transaction

__all__ = ["Fencing", "append", "create_run", "delete", "write_batch"]

_Ending = tuple[str, str | None, str | None]
"""A run's new ``(status, result JSON, error JSON)``."""


@dataclass(frozen=True)
class Fencing:
    """The lease side of an append: the epoch it is fenced by, the lease a new run is created
    under, the timers it sets and cancels, and from when the run becomes runnable."""

    epoch: int | None = None
    lease: Lease | None = None
    set_timers: dict[str, float] = field(default_factory=dict)
    cancel_timers: list[str] = field(default_factory=list)
    runnable_at: float | None = None
    had_timers: bool = True
    consumed: Sequence[int] = ()
    """Inbox messages the ticks took in: deleted in the same transaction."""


def create_run(db: sqlite3.Connection, run_id: str, workflow: str, created_at: float) -> None:
    """Insert a ``running`` run.

    Raises:
        JournalConflictError: If ``run_id`` already exists.
    """
    with transaction(db, "BEGIN IMMEDIATE"):
        _insert_run(db, run_id, workflow, created_at)


def _insert_run(
    db: sqlite3.Connection,
    run_id: str,
    workflow: str,
    created_at: float,
    version: str | None = None,
    parent: str | None = None,
    lease: Lease | None = None,
    runnable_at: float | None = None,
) -> None:
    held = (None, None, 0) if lease is None else (lease.owner, lease.expires, lease.epoch)
    try:
        db.execute(
            "INSERT INTO runs (run_id, workflow, created_at, updated_at, owner, lease_expires, "
            "epoch, runnable_at, version, parent_run_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, workflow, created_at, created_at, *held, runnable_at, version, parent),
        )
    except sqlite3.IntegrityError as error:
        raise JournalConflictError(f"Run {run_id!r} already exists.", run_id=run_id) from error


def append(
    db: sqlite3.Connection,
    run_id: str,
    first_seq: int,
    ticks: Sequence[str],
    first_offset: int,
    events: Sequence[str],
    ending: _Ending | None,
    now: float,
    create: tuple[str, float, str | None, str | None] | None = None,
    fencing: Fencing | None = None,
    checkpoint: tuple[int, str] | None = None,
    notify: tuple[str, str, str] | None = None,
) -> None:
    """Store encoded tick and event records, and the run's ending if any, in one transaction;
    with ``create`` (workflow, created_at, version, parent run), insert the run's row first,
    in the same one; with ``fencing``, check the epoch first and write the timers and
    ``runnable_at`` too; with ``checkpoint`` (seq, encoded record), replace the run's checkpoint;
    with ``notify`` (run id, encoded event record, idempotency key), deliver that message to
    that run's inbox, if it is still running.

    Raises:
        LeaseLostError: If ``fencing.epoch`` is set and the run's epoch is another.
        JournalConflictError: If the run does not exist (or, to be created, exists) or the
            numbers do not continue the stored ones.
    """
    with transaction(db, "BEGIN IMMEDIATE"):
        write_batch(db, run_id, first_seq, ticks, first_offset, events, ending, now, create,
                    fencing, checkpoint, notify)  # fmt: skip


def write_batch(
    db: sqlite3.Connection,
    run_id: str,
    first_seq: int,
    ticks: Sequence[str],
    first_offset: int,
    events: Sequence[str],
    ending: _Ending | None,
    now: float,
    create: tuple[str, float, str | None, str | None] | None = None,
    fencing: Fencing | None = None,
    checkpoint: tuple[int, str] | None = None,
    notify: tuple[str, str, str] | None = None,
) -> None:
    """:func:`append`'s writes, inside a write transaction the caller holds (a schedule's
    slot and the run it starts commit together)."""
    fencing = fencing or Fencing()
    if create is not None:
        _insert_run(db, run_id, *create, fencing.lease, fencing.runnable_at)
    # One statement checks the counters and the epoch and moves them on (the write lock is
    # held, so nothing changes in between); only a refused append reads the row to say why.
    update = "UPDATE runs SET ticks = ticks + ?, events = events + ?, updated_at = ?"
    values: tuple[Any, ...] = (len(ticks), len(events), now)
    if ending is not None:
        # An ended run is never runnable (and keeps no timers, below) nor held. ``?4`` is
        # the status again (the ``?`` after it number on from 5).
        update += (
            ", status = ?, result = ?, error = ?, runnable_at = CASE WHEN ?4 = 'running' "
            "THEN runnable_at END, owner = CASE WHEN ?4 = 'running' THEN owner END, "
            "lease_expires = CASE WHEN ?4 = 'running' THEN lease_expires END"
        )
        values += ending
    moved = db.execute(
        f"{update} WHERE run_id = ? AND (? = 0 OR ticks = ?) AND (? = 0 OR events = ?) "
        "AND (? IS NULL OR epoch = ?)",
        (
            *values,
            run_id,
            len(ticks),
            first_seq,
            len(events),
            first_offset,
            *[fencing.epoch] * 2,
        ),
    ).rowcount
    if moved != 1:
        _refused(db, run_id, first_seq, len(ticks), first_offset, len(events), fencing.epoch)
    try:
        db.executemany(
            "INSERT INTO ticks (run_id, seq, record) VALUES (?, ?, ?)",
            [(run_id, seq, text) for seq, text in enumerate(ticks, first_seq)],
        )
        db.executemany(
            'INSERT INTO events (run_id, "offset", record) VALUES (?, ?, ?)',
            [(run_id, offset, text) for offset, text in enumerate(events, first_offset)],
        )
    except sqlite3.IntegrityError as error:  # only if the counters disagree with the rows
        raise JournalConflictError(
            f"Cannot append to run {run_id!r}: {error}; nothing was stored.", run_id=run_id
        ) from error
    ended = ending is not None and ending[0] != "running"
    _write_timers(db, run_id, fencing, ended=ended, created=create is not None)
    if ended:  # nobody would take an ended run's messages
        db.execute("DELETE FROM inbox WHERE run_id = ?", (run_id,))
    elif fencing.consumed:
        db.executemany(
            "DELETE FROM inbox WHERE run_id = ? AND id = ?",
            [(run_id, message_id) for message_id in fencing.consumed],
        )
    if checkpoint is not None:
        db.execute(
            "INSERT OR REPLACE INTO checkpoints (run_id, seq, record) VALUES (?, ?, ?)",
            (run_id, *checkpoint),
        )
    if notify is not None:
        _notify(db, *notify, now)


def _notify(db: sqlite3.Connection, run_id: str, record: str, key: str, at: float) -> None:
    """Store an event message for ``run_id`` and make it runnable now, if it is running."""
    stored = db.execute(
        "INSERT INTO inbox (run_id, kind, record, idempotency_key, step, at) "
        "SELECT run_id, 'event', ?, ?, NULL, ? FROM runs WHERE run_id = ? AND status = 'running' "
        "ON CONFLICT DO NOTHING",
        (record, key, at, run_id),
    ).rowcount
    if stored:
        db.execute(
            "UPDATE runs SET runnable_at = min(coalesce(runnable_at, ?1), ?1) WHERE run_id = ?2",
            (at, run_id),
        )


def _refused(
    db: sqlite3.Connection,
    run_id: str,
    first_seq: int,
    tick_count: int,
    first_offset: int,
    event_count: int,
    epoch: int | None,
) -> None:
    """Raise why an append's ``UPDATE`` matched no run (its transaction then rolls back).

    Raises:
        LeaseLostError: If ``epoch`` is set and the run's epoch is another (or it is gone).
        JournalConflictError: If the run does not exist or the numbers do not continue.
    """
    row = db.execute("SELECT ticks, events, epoch FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if epoch is not None and (row is None or row[2] != epoch):
        raise lease_lost(run_id, epoch, None if row is None else row[2])
    if row is None:
        raise JournalConflictError(
            f"Cannot append to run {run_id!r}: there is no such run.", run_id=run_id
        )
    check_next(run_id, "seq", first_seq, row[0], tick_count)
    check_next(run_id, "offset", first_offset, row[1], event_count)
    raise JournalConflictError(  # not reached: the UPDATE matched unless one of those failed
        f"Cannot append to run {run_id!r}: it changed meanwhile; nothing was stored.",
        run_id=run_id,
    )


def _write_timers(
    db: sqlite3.Connection, run_id: str, fencing: Fencing, *, ended: bool, created: bool
) -> None:
    if ended:  # an ended run has no timers
        if fencing.had_timers:
            db.execute("DELETE FROM timers WHERE run_id = ?", (run_id,))
        return
    if fencing.cancel_timers:
        db.executemany(
            "DELETE FROM timers WHERE run_id = ? AND timer_id = ?",
            [(run_id, timer_id) for timer_id in fencing.cancel_timers],
        )
    if fencing.set_timers:
        db.executemany(
            "INSERT OR REPLACE INTO timers (run_id, timer_id, fire_at) VALUES (?, ?, ?)",
            [(run_id, timer_id, at) for timer_id, at in fencing.set_timers.items()],
        )
    if fencing.runnable_at is not None and not created:  # a new run's row has it already
        db.execute(
            "UPDATE runs SET runnable_at = min(coalesce(runnable_at, ?1), ?1) "
            "WHERE run_id = ?2 AND status = 'running'",
            (fencing.runnable_at, run_id),
        )


def delete(db: sqlite3.Connection, sql: str, params: Sequence[Any]) -> int:
    """Run a ``DELETE FROM runs`` statement (ticks and events cascade); how many runs went."""
    with transaction(db, "BEGIN IMMEDIATE"):
        deleted: int = db.execute(sql, params).rowcount
    return deleted
