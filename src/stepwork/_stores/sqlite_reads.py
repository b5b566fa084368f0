"""The journal's reads on one ``sqlite3`` connection: a run's records, its checkpoint, runs'
rows and the store's size; blocking calls, run on ``SqliteStore``'s reading thread (its writing
one for an in-memory database).

Invariants:
- A read that takes several statements runs them in one transaction (one snapshot), so the
  records it returns are numbered against the counts of the same moment.
- Loading checks the numbering against the run's row: a missing record raises
  ``JournalCorruptError`` naming the run and the number.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from typing import Any

from stepwork._core.errors import RunNotFoundError
from stepwork._stores.protocol import RunRecord
from stepwork._stores.records import check_numbers, decode_record, run_record
from stepwork._stores.sqlite_connect import transaction

__all__ = [
    "RUN_COLUMNS", "load_checkpoint", "load_events", "load_ticks", "select_runs", "size",
]  # fmt: skip

RUN_COLUMNS = (
    "run_id, workflow, status, created_at, updated_at, result, error, ticks, events, "
    "owner, lease_expires, epoch, runnable_at, version, parent_run_id"
)
"""The ``runs`` columns :func:`select_runs` expects, in order."""


def load_ticks(
    db: sqlite3.Connection, run_id: str, after_seq: int, limit: int | None = None
) -> list[dict[str, Any]]:
    """Up to ``limit`` of the run's tick records with ``seq > after_seq``.

    Raises:
        RunNotFoundError: If there is no such run.
        JournalCorruptError: If a record cannot be read or is missing (names run and seq).
    """
    with transaction(db, "BEGIN"):
        stored = _require(db, run_id)[0]
        rows = db.execute(
            "SELECT seq, record FROM ticks WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?",
            (run_id, after_seq, -1 if limit is None else max(limit, 0)),
        ).fetchall()
    check_numbers(run_id, "tick", [seq for seq, _ in rows], after_seq, stored, limit)
    return [decode_record(run_id, seq, text, "tick") for seq, text in rows]


def load_checkpoint(db: sqlite3.Connection, run_id: str) -> tuple[int, str] | None:
    """The run's checkpoint as ``(seq, record text)``; ``None`` if it has none.

    Raises:
        RunNotFoundError: If there is no such run.
    """
    with transaction(db, "BEGIN"):
        _require(db, run_id)
        row = db.execute(
            "SELECT seq, record FROM checkpoints WHERE run_id = ?", (run_id,)
        ).fetchone()
    return None if row is None else (int(row[0]), str(row[1]))


def load_events(
    db: sqlite3.Connection, run_id: str, after_offset: int, limit: int | None
) -> list[tuple[int, dict[str, Any]]]:
    """Up to ``limit`` ``(offset, record)`` pairs with ``offset > after_offset``.

    Raises:
        RunNotFoundError: If there is no such run.
        JournalCorruptError: If a record cannot be read or is missing (names run and offset).
    """
    with transaction(db, "BEGIN"):
        stored = _require(db, run_id)[1]
        rows = db.execute(
            'SELECT "offset", record FROM events WHERE run_id = ? AND "offset" > ? '
            'ORDER BY "offset" LIMIT ?',
            (run_id, after_offset, -1 if limit is None else max(limit, 0)),
        ).fetchall()
    check_numbers(run_id, "event", [offset for offset, _ in rows], after_offset, stored, limit)
    return [(offset, decode_record(run_id, offset, text, "event")) for offset, text in rows]


def select_runs(db: sqlite3.Connection, sql: str, params: Sequence[Any]) -> list[RunRecord]:
    """Run records from ``sql``, which selects :data:`RUN_COLUMNS` from ``runs``; a row whose
    result or error is not valid JSON gives a record with ``corrupt`` set."""
    return [run_record(*row) for row in db.execute(sql, params).fetchall()]


def size(db: sqlite3.Connection, path: str) -> dict[str, int]:
    """Counts of runs, ticks and events, and the bytes of the file and its WAL."""
    runs, ticks, events = db.execute(
        "SELECT count(*), coalesce(sum(ticks), 0), coalesce(sum(events), 0) FROM runs"
    ).fetchone()
    if path == ":memory:" or not os.path.exists(path):
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        used = int(pages * db.execute("PRAGMA page_size").fetchone()[0])
    else:
        used = sum(os.path.getsize(file) for file in (path, path + "-wal") if os.path.exists(file))
    return {"runs": runs, "ticks": ticks, "events": events, "bytes": used}


def _require(db: sqlite3.Connection, run_id: str) -> tuple[int, int]:
    """The run's stored ``(ticks, events)`` counts."""
    row = db.execute("SELECT ticks, events FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    if row is None:
        raise RunNotFoundError(f"No run {run_id!r} in this store.", run_id=run_id)
    return int(row[0]), int(row[1])
