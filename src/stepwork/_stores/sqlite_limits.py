"""Named limits on a SQLite file (``SqliteStore.limits``): slots shared by local processes.

Each operation is one ``BEGIN IMMEDIATE`` transaction on the store's writing connection, so
grant passes of all processes on the file are serialised by SQLite's write lock. SQLite cannot
notify other processes, so a waiter looks again every :attr:`SqliteLimits.poll_interval`
seconds (a bounded poll); a waiter in the process that released a slot is woken at once.
A look is a read; a waiter runs a grant pass of its own (a write) only every
:attr:`SqliteLimits.pass_interval` seconds, or when the rate window frees a start for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any

from stepwork._core.limits import RATE_WINDOW, Limit, Waiter, grant
from stepwork._stores.limit_protocol import Acquired, SlotClaim
from stepwork._stores.sqlite_connect import transaction

__all__ = ["DEAD_ROWS", "SqliteLimits", "acquire", "define", "holds", "release"]

DEAD_ROWS = (
    "NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = {t}.run_id AND r.status = 'running' "
    "AND r.owner = {t}.owner AND r.epoch = {t}.epoch AND r.lease_expires > :now) "
    "AND {t}.owner IS NOT NULL"
)
"""Rows of table ``{t}`` whose run's lease (same owner and epoch) is not alive at ``:now``."""

Call = Callable[..., Awaitable[Any]]


def define(db: sqlite3.Connection, name: str, limit: Limit) -> Limit:
    """Record ``limit`` under ``name`` unless one is recorded; return the recorded one."""
    with transaction(db, "BEGIN IMMEDIATE"):
        db.execute(
            "INSERT OR IGNORE INTO limit_defs (name, concurrency, per_minute, key_field) "
            "VALUES (?, ?, ?, ?)",
            (name, limit.concurrency, limit.per_minute, limit.key),
        )
        row = db.execute(
            "SELECT concurrency, per_minute, key_field FROM limit_defs WHERE name = ?", (name,)
        ).fetchone()
    return Limit(row[0], row[1], row[2])


def acquire(
    db: sqlite3.Connection, claim: SlotClaim, limit: Limit, now: float, lease_now: float
) -> Acquired:
    """Queue ``claim``, run a grant pass, say whether it holds a slot."""
    with transaction(db, "BEGIN IMMEDIATE"):
        if db.execute("SELECT 1 FROM limit_slots WHERE slot_id = ?", (claim.slot_id,)).fetchone():
            return Acquired(True)
        db.execute(
            "INSERT OR IGNORE INTO limit_waiters "
            "(slot_id, name, key_value, run_id, owner, epoch) VALUES (?, ?, ?, ?, ?, ?)",
            (claim.slot_id, claim.limit, claim.key, claim.run_id, claim.owner, claim.epoch),
        )
        retry_at = _grant_pass(db, claim, limit, now, lease_now)
        held = db.execute("SELECT 1 FROM limit_slots WHERE slot_id = ?", (claim.slot_id,))
        return Acquired(held.fetchone() is not None, retry_at)


def holds(db: sqlite3.Connection, slot_id: str) -> bool:
    """Whether ``slot_id`` holds a slot (one read; no write lock)."""
    return (
        db.execute("SELECT 1 FROM limit_slots WHERE slot_id = ?", (slot_id,)).fetchone() is not None
    )


def release(
    db: sqlite3.Connection, claim: SlotClaim, limit: Limit, now: float, lease_now: float
) -> None:
    """Drop ``claim``'s slot or waiter, then grant what that freed."""
    with transaction(db, "BEGIN IMMEDIATE"):
        db.execute("DELETE FROM limit_slots WHERE slot_id = ?", (claim.slot_id,))
        db.execute("DELETE FROM limit_waiters WHERE slot_id = ?", (claim.slot_id,))
        _grant_pass(db, claim, limit, now, lease_now)


def _grant_pass(
    db: sqlite3.Connection, claim: SlotClaim, limit: Limit, now: float, lease_now: float
) -> float | None:
    which = {"name": claim.limit, "key": claim.key, "now": lease_now, "old": now - RATE_WINDOW}
    mine = "name = :name AND key_value = :key"
    for table in ("limit_slots", "limit_waiters"):
        db.execute(f"DELETE FROM {table} WHERE {mine} AND {DEAD_ROWS.format(t=table)}", which)
    for table in ("limit_starts", "limit_served"):
        db.execute(f"DELETE FROM {table} WHERE {mine} AND at <= :old", which)
    waiters = [
        Waiter(row[0], row[1], row[2])
        for row in db.execute(
            f"SELECT slot_id, run_id, arrived FROM limit_waiters WHERE {mine}", which
        )
    ]
    if not waiters:
        return None
    held = [row[0] for row in db.execute(f"SELECT run_id FROM limit_slots WHERE {mine}", which)]
    starts = [row[0] for row in db.execute(f"SELECT at FROM limit_starts WHERE {mine}", which)]
    served = dict(
        db.execute(
            f"SELECT run_id, at FROM limit_served WHERE {mine} AND run_id IN "
            f"(SELECT run_id FROM limit_waiters WHERE {mine})",
            which,
        ).fetchall()
    )
    decided = grant(limit, waiters, held, starts, now, served)
    for slot_id in decided.granted:
        db.execute(
            "INSERT INTO limit_slots (slot_id, name, key_value, run_id, owner, epoch, granted_at) "
            "SELECT slot_id, name, key_value, run_id, owner, epoch, ? FROM limit_waiters "
            "WHERE slot_id = ?",
            (now, slot_id),
        )
        db.execute("DELETE FROM limit_waiters WHERE slot_id = ?", (slot_id,))
        db.execute(
            "INSERT INTO limit_served (name, key_value, run_id, at) "
            "SELECT name, key_value, run_id, ? FROM limit_slots WHERE slot_id = ? "
            "ON CONFLICT (name, key_value, run_id) DO UPDATE SET at = excluded.at",
            (now, slot_id),
        )
        if limit.per_minute is not None:
            db.execute(
                "INSERT INTO limit_starts (name, key_value, at) VALUES (?, ?, ?)",
                (claim.limit, claim.key, now),
            )
    return decided.retry_at


class SqliteLimits:
    """The :class:`~stepwork._stores.limit_protocol.LimitStore` protocol on a SQLite file.

    Args:
        call: Runs a function on the store's writing connection (``SqliteStore``'s).
        clock: The store's clock, which leases are written with.
    """

    poll_interval = 0.1
    """Seconds between a waiter's looks: other processes cannot wake it on SQLite."""

    pass_interval = 1.0
    """Seconds between a waiter's own grant passes. The looks in between only read whether a
    release (or another waiter's pass) granted it a slot, so many waiters polling do not
    contend for the file's write lock; the passes reclaim dead holders' slots."""

    def __init__(self, call: Call, clock: Callable[[], float]) -> None:
        self._call = call
        self._clock = clock
        self._released: dict[tuple[str, str], asyncio.Event] = {}
        self._passes: dict[str, tuple[float, float | None]] = {}  # slot: last pass, retry_at

    async def define(self, name: str, limit: Limit) -> Limit:
        """Record ``limit`` under ``name`` unless one is recorded; return the recorded one."""
        recorded: Limit = await self._call(define, name, limit)
        return recorded

    async def acquire(self, claim: SlotClaim, limit: Limit, now: float) -> Acquired:
        """Queue ``claim``, grant what is free, and say whether it holds a slot (between its
        grant passes, only read whether it was granted one)."""
        lease_now = self._clock()
        last = self._passes.get(claim.slot_id)
        if last is not None and lease_now < last[0] + self.pass_interval:
            if last[1] is None or now < last[1]:  # the rate window has not moved for it yet
                if await self._call(holds, claim.slot_id):
                    del self._passes[claim.slot_id]
                    return Acquired(True)
                return Acquired(False, last[1])
        found: Acquired = await self._call(acquire, claim, limit, now, lease_now)
        if found.granted:
            self._passes.pop(claim.slot_id, None)
        else:
            self._passes[claim.slot_id] = (lease_now, found.retry_at)
        return found

    async def release(self, claim: SlotClaim, limit: Limit, now: float) -> None:
        """Drop ``claim``'s slot or place in the queue; grant, and wake this process's waiters."""
        self._passes.pop(claim.slot_id, None)
        await self._call(release, claim, limit, now, self._clock())
        event = self._released.pop((claim.limit, claim.key), None)
        if event is not None:
            event.set()

    async def changed(self, claim: SlotClaim, longest: float) -> None:
        """Return at a release in this process, or after ``min(longest, poll_interval)``."""
        event = self._released.setdefault((claim.limit, claim.key), asyncio.Event())
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), min(longest, self.poll_interval))
