"""Leases and durable timers in SQL on one ``sqlite3`` connection (``SqliteStore``'s writer),
for :class:`~stepwork._stores.sqlite_leases.SqliteLeases`.

Every function takes the connection and does one operation in one transaction; ``now`` comes
from the store's clock.

Invariants:
- Claims run in one ``BEGIN IMMEDIATE`` transaction: the write lock is held from the read of
  who may be claimed to the update that claims them, so two processes on one file never both
  claim a run.
- Every claim bumps the run's epoch and makes the run runnable from the claim on, so when the
  lease lapses without a release the run is claimable at once.
- Renewal and release change the run only while it is still held by that owner and epoch.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import replace

from stepwork._core.errors import RunNotFoundError
from stepwork._stores.lease_rules import renew_lost
from stepwork._stores.protocol import DueTimer, Lease
from stepwork._stores.sqlite_connect import transaction

__all__ = [
    "claim_run", "claim_runnable", "due_timers", "next_timer", "release", "renew", "renew_many",
]  # fmt: skip

_FREE = "(owner IS NULL OR lease_expires IS NULL OR lease_expires <= :now)"
_CLAIM = (
    "UPDATE runs SET owner = :owner, lease_expires = :expires, epoch = epoch + 1, "
    "runnable_at = :now WHERE run_id = :run_id RETURNING epoch"
)


def claim_run(
    db: sqlite3.Connection,
    run_id: str,
    owner: str,
    ttl: float,
    now: float,
    take_from: str | None = None,
) -> Lease | None:
    """Claim run ``run_id`` if its lease is free or expired.

    Raises:
        RunNotFoundError: If there is no such run.
    """
    with transaction(db, "BEGIN IMMEDIATE"):
        row = db.execute(
            f"SELECT {_FREE} OR owner IN (:owner, :take_from) FROM runs WHERE run_id = :run_id",
            {"run_id": run_id, "now": now, "owner": owner, "take_from": take_from},
        ).fetchone()
        if row is None:
            raise RunNotFoundError(f"No run {run_id!r} in this store.", run_id=run_id)
        return _claim(db, run_id, owner, ttl, now) if row[0] else None


def claim_runnable(
    db: sqlite3.Connection,
    owner: str,
    ttl: float,
    limit: int,
    workflows: Sequence[str] | None,
    now: float,
    versions: Mapping[str, str] | None = None,
) -> list[Lease]:
    """Claim up to ``limit`` runnable running runs with a free lease, longest waiting first
    (leaving runs recorded with a version other than ``versions`` names)."""
    only = ""
    params: dict[str, object] = {"now": now, "limit": max(limit, 0)}
    if workflows is not None:
        names = {f"w{i}": name for i, name in enumerate(workflows)}
        only = f"AND workflow IN ({', '.join(':' + key for key in names)})" if names else "AND 0"
        params.update(names)
    for i, (name, version) in enumerate((versions or {}).items()):
        only += f" AND NOT (workflow = :vn{i} AND version IS NOT NULL AND version <> :vv{i})"
        params.update({f"vn{i}": name, f"vv{i}": version})
    with transaction(db, "BEGIN IMMEDIATE"):
        chosen = db.execute(
            "SELECT run_id, workflow FROM runs WHERE status = 'running' AND runnable_at <= :now "
            f"AND {_FREE} {only} ORDER BY owner IS NULL, runnable_at, rowid LIMIT :limit",
            params,
        ).fetchall()
        return [
            replace(_claim(db, run_id, owner, ttl, now), workflow=workflow)
            for run_id, workflow in chosen
        ]


def _claim(db: sqlite3.Connection, run_id: str, owner: str, ttl: float, now: float) -> Lease:
    params = {"owner": owner, "expires": now + ttl, "now": now, "run_id": run_id}
    previous = db.execute("SELECT owner FROM runs WHERE run_id = ?", (run_id,)).fetchone()[0]
    epoch = db.execute(_CLAIM, params).fetchone()[0]
    return Lease(run_id, owner, int(epoch), now + ttl, previous)


def renew(db: sqlite3.Connection, lease: Lease, ttl: float, now: float) -> Lease:
    """``lease`` extended to ``now + ttl``.

    Raises:
        LeaseLostError: If the run is no longer held by ``lease``'s owner and epoch.
    """
    renewed = renew_many(db, [lease], ttl, now)[0]
    if renewed is None:
        raise renew_lost(lease.run_id, lease.owner, lease.epoch)
    return renewed


def renew_many(
    db: sqlite3.Connection, leases: Sequence[Lease], ttl: float, now: float
) -> list[Lease | None]:
    """Each of ``leases`` extended to ``now + ttl`` in one transaction; ``None`` for each
    whose run is no longer held by its owner and epoch."""
    renewed: list[Lease | None] = []
    with transaction(db, "BEGIN IMMEDIATE"):
        for lease in leases:
            changed = db.execute(
                "UPDATE runs SET lease_expires = ? WHERE run_id = ? AND owner = ? AND epoch = ?",
                (now + ttl, lease.run_id, lease.owner, lease.epoch),
            ).rowcount
            held = Lease(lease.run_id, lease.owner, lease.epoch, now + ttl)
            renewed.append(held if changed else None)
    return renewed


def release(db: sqlite3.Connection, leases: Sequence[Lease], idle: bool, now: float) -> list[bool]:
    """Give each run back (runnable at its earliest timer when ``idle``, else at ``now``), in
    one transaction; False for each that ``lease`` no longer holds."""
    # A message delivered since the holder last looked keeps the run runnable at once.
    earliest = (
        "CASE WHEN EXISTS (SELECT 1 FROM inbox WHERE inbox.run_id = runs.run_id) THEN ?1 "
        "ELSE (SELECT min(fire_at) FROM timers WHERE timers.run_id = runs.run_id) END"
    )
    runnable = earliest if idle else "?1"
    sql = (
        "UPDATE runs SET owner = NULL, lease_expires = NULL, runnable_at = CASE "
        f"WHEN status = 'running' THEN {runnable} END "
        "WHERE run_id = ?2 AND owner = ?3 AND epoch = ?4"
    )
    with transaction(db, "BEGIN IMMEDIATE"):
        return [
            db.execute(sql, (now, lease.run_id, lease.owner, lease.epoch)).rowcount > 0
            for lease in leases
        ]


def due_timers(db: sqlite3.Connection, now: float, limit: int | None) -> list[DueTimer]:
    """Timers of running runs with ``fire_at <= now``, the earliest first."""
    rows = db.execute(
        "SELECT timers.run_id, timer_id, fire_at FROM timers JOIN runs USING (run_id) "
        "WHERE fire_at <= ? AND status = 'running' ORDER BY fire_at LIMIT ?",
        (now, -1 if limit is None else max(limit, 0)),
    ).fetchall()
    return [DueTimer(run_id, timer_id, fire_at) for run_id, timer_id, fire_at in rows]


def next_timer(db: sqlite3.Connection, run_id: str) -> float | None:
    """When the run's earliest timer fires; ``None`` if it has none."""
    row = db.execute("SELECT min(fire_at) FROM timers WHERE run_id = ?", (run_id,)).fetchone()
    return None if row is None or row[0] is None else float(row[0])
