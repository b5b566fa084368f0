"""The inbox's SQL on ``SqliteStore``'s writing connection: delivering and reading messages.

Deleting consumed messages happens in ``sqlite_journal.append``, in the transaction of the
ticks that took them in.

Invariants:
- :func:`deliver` runs in one ``BEGIN IMMEDIATE`` transaction: the run's status is read and
  the message stored under the write lock, so a message never lands in an ended run's inbox.
- A pending message with the same idempotency key for the run stores nothing (a unique index).
"""

from __future__ import annotations

import json
import sqlite3

from stepwork._stores.inbox_rules import inbox_message, no_such_run, run_ended
from stepwork._stores.protocol import InboxMessage
from stepwork._stores.sqlite_connect import transaction

__all__ = ["deliver", "load_inbox"]


def deliver(
    db: sqlite3.Connection,
    run_id: str,
    kind: str,
    record: str | None,
    idempotency_key: str | None,
    at: float,
    step: str | None,
) -> None:
    """Store a message for a running run and make the run runnable from ``at``.

    Raises:
        RunNotFoundError: If there is no such run.
        WorkflowRuntimeError: If the run has ended.
    """
    with transaction(db, "BEGIN IMMEDIATE"):
        row = db.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            raise no_such_run(run_id)
        if row[0] != "running":
            raise run_ended(run_id, row[0])
        db.execute(
            "INSERT INTO inbox (run_id, kind, record, idempotency_key, step, at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (run_id, kind, record, idempotency_key, step, at),
        )
        db.execute(
            "UPDATE runs SET runnable_at = min(coalesce(runnable_at, ?1), ?1) WHERE run_id = ?2",
            (at, run_id),
        )


def load_inbox(db: sqlite3.Connection, run_id: str) -> list[InboxMessage]:
    """The run's pending messages, in delivery order."""
    rows = db.execute(
        "SELECT id, run_id, kind, record, idempotency_key, at, step FROM inbox "
        "WHERE run_id = ? ORDER BY id",
        (run_id,),
    ).fetchall()
    return [inbox_message(*row) for row in rows]


def with_messages(db: sqlite3.Connection, run_ids: list[str]) -> set[str]:
    """Those of ``run_ids`` whose inbox holds a message (the ids go as one JSON parameter)."""
    rows = db.execute(
        "SELECT DISTINCT run_id FROM inbox WHERE run_id IN (SELECT value FROM json_each(?))",
        (json.dumps(run_ids),),
    ).fetchall()
    return {row[0] for row in rows}
