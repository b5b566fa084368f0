"""Named limits on PostgreSQL (``PostgresStore.limits``): slots shared across machines.

Each operation is one transaction that first takes a transaction-scoped advisory lock on the
limit's name and key value, so grant passes of every process are serialised per limit and key
(other limits and keys go on in parallel). A release NOTIFYs the store's limit channel with
``name:key`` when it commits; waiters LISTEN on one connection per process, opened while any
waiter of this process waits, and look again on a notification. They also look every
:attr:`PostgresLimits.poll_interval` seconds, which is how a crashed holder's slot (nobody
releases it) reaches them once its lease is dead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from stepwork._core.limits import RATE_WINDOW, Grant, Limit, Waiter, grant
from stepwork._stores.limit_protocol import Acquired, SlotClaim
from stepwork._stores.postgres_listen import Notice, listen

__all__ = ["PostgresLimits"]

_LOCK = "SELECT pg_advisory_xact_lock(hashtext('stepwork.limit'), hashtext($1 || ':' || $2))"
_MINE = "name = $1 AND key_value = $2"
_DEAD = (
    "{t}.owner IS NOT NULL AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.run_id = {t}.run_id "
    "AND r.status = 'running' AND r.owner = {t}.owner AND r.epoch = {t}.epoch "
    "AND r.lease_expires > $3::float8)"
)

Call = Callable[[Callable[[Any], Awaitable[Any]]], Awaitable[Any]]


class PostgresLimits:
    """The :class:`~stepwork._stores.limit_protocol.LimitStore` protocol on PostgreSQL.

    Args:
        call: Runs an operation on a pooled connection (``PostgresStore``'s).
        dsn: Where to LISTEN.
        channel: The store's limit NOTIFY channel.
        clock: The store's clock, which leases are written with.
    """

    poll_interval = 1.0
    """Seconds between looks when no notification came (reclaims dead holders' slots)."""

    def __init__(self, call: Call, dsn: str, channel: str, clock: Callable[[], float]) -> None:
        self._call = call
        self._dsn = dsn
        self.channel = channel
        self._clock = clock
        self._generation: dict[str, int] = {}
        self._seen: dict[str, int] = {}
        self._events: dict[str, asyncio.Event] = {}
        self._waiting = 0
        self._listener: asyncio.Task[None] | None = None
        self._ready: asyncio.Future[None] | None = None

    async def define(self, name: str, limit: Limit) -> Limit:
        """Record ``limit`` under ``name`` unless one is recorded; return the recorded one."""

        async def run(connection: Any) -> Any:
            async with connection.transaction():
                await connection.execute(
                    "INSERT INTO limit_defs (name, concurrency, per_minute, key_field) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT (name) DO NOTHING",
                    name,
                    limit.concurrency,
                    limit.per_minute,
                    limit.key,
                )
                return await connection.fetchrow(
                    "SELECT concurrency, per_minute, key_field FROM limit_defs WHERE name = $1",
                    name,
                )

        row = await self._call(run)
        return Limit(row[0], row[1], row[2])

    async def acquire(self, claim: SlotClaim, limit: Limit, now: float) -> Acquired:
        """Queue ``claim``, grant what is free, and say whether it holds a slot."""
        topic = f"{claim.limit}:{claim.key}"
        self._seen[claim.slot_id] = self._generation.get(topic, 0)
        lease_now = self._clock()

        async def run(connection: Any) -> Acquired:
            async with connection.transaction():
                await connection.execute(_LOCK, claim.limit, claim.key)
                held = "SELECT 1 FROM limit_slots WHERE slot_id = $1"
                if await connection.fetchval(held, claim.slot_id):
                    return Acquired(True)
                await connection.execute(
                    "INSERT INTO limit_waiters (slot_id, name, key_value, run_id, owner, epoch) "
                    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (slot_id) DO NOTHING",
                    claim.slot_id,
                    claim.limit,
                    claim.key,
                    claim.run_id,
                    claim.owner,
                    claim.epoch,
                )
                decided = await _grant_pass(connection, claim, limit, now, lease_now)
                if set(decided.granted) - {claim.slot_id}:  # granted others: tell them
                    await connection.execute("SELECT pg_notify($1, $2)", self.channel, topic)
                granted = await connection.fetchval(held, claim.slot_id) is not None
                return Acquired(granted, decided.retry_at)

        found: Acquired = await self._call(run)
        if found.granted:
            self._seen.pop(claim.slot_id, None)
        return found

    async def release(self, claim: SlotClaim, limit: Limit, now: float) -> None:
        """Drop ``claim``'s slot or place in the queue, grant what that freed, and NOTIFY."""
        self._seen.pop(claim.slot_id, None)
        lease_now = self._clock()

        async def run(connection: Any) -> None:
            async with connection.transaction():
                await connection.execute(_LOCK, claim.limit, claim.key)
                for table in ("limit_slots", "limit_waiters"):
                    await connection.execute(
                        f"DELETE FROM {table} WHERE slot_id = $1", claim.slot_id
                    )
                await _grant_pass(connection, claim, limit, now, lease_now)
                await connection.execute(
                    "SELECT pg_notify($1, $2)", self.channel, f"{claim.limit}:{claim.key}"
                )

        await self._call(run)

    async def changed(self, claim: SlotClaim, longest: float) -> None:
        """Return on a notification for ``claim``'s limit and key (or one that came since
        its last ``acquire``), or after ``min(longest, poll_interval)``."""
        topic = f"{claim.limit}:{claim.key}"
        self._waiting += 1
        try:
            try:
                started = await self._listening()
            except Exception:  # LISTEN failed (see _listen): fall back to polling
                await asyncio.sleep(min(longest, self.poll_interval))
                return
            if started or self._generation.get(topic, 0) != self._seen.get(claim.slot_id):
                return  # a release may have gone unheard: look again now
            event = self._events.setdefault(topic, asyncio.Event())
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(longest, self.poll_interval))
        finally:
            self._waiting -= 1
            if self._waiting == 0 and self._listener is not None:
                self._listener.cancel()
                self._listener = self._ready = None

    async def _listening(self) -> bool:
        """Make sure this process LISTENs; True if it had to start (notices may be missed)."""
        if self._ready is not None:
            await asyncio.shield(self._ready)
            return False
        ready = self._ready = asyncio.get_running_loop().create_future()
        self._listener = asyncio.get_running_loop().create_task(self._listen(ready))
        await asyncio.shield(ready)
        return True

    async def _listen(self, ready: asyncio.Future[None]) -> None:
        def heard(_kind: Notice, topic: str) -> None:
            self._generation[topic] = self._generation.get(topic, 0) + 1
            event = self._events.pop(topic, None)
            if event is not None:
                event.set()

        try:
            async with listen(self._dsn, {self.channel: "limit"}, heard):
                ready.set_result(None)
                await asyncio.Event().wait()  # until cancelled by the last waiter leaving
        except Exception as error:
            if not ready.done():
                ready.set_exception(error)
            self._ready = self._listener = None


async def _grant_pass(
    connection: Any, claim: SlotClaim, limit: Limit, now: float, lease_now: float
) -> Grant:
    which = (claim.limit, claim.key)
    for table in ("limit_slots", "limit_waiters"):
        await connection.execute(
            f"DELETE FROM {table} WHERE {_MINE} AND {_DEAD.format(t=table)}", *which, lease_now
        )
    await connection.execute(
        f"DELETE FROM limit_starts WHERE {_MINE} AND at <= $3::float8", *which, now - RATE_WINDOW
    )
    rows = await connection.fetch(
        f"SELECT slot_id, run_id, arrived FROM limit_waiters WHERE {_MINE}", *which
    )
    waiters = [Waiter(row[0], row[1], row[2]) for row in rows]
    held = [
        row[0]
        for row in await connection.fetch(f"SELECT run_id FROM limit_slots WHERE {_MINE}", *which)
    ]
    rows = await connection.fetch(f"SELECT at, run_id FROM limit_starts WHERE {_MINE}", *which)
    starts: list[tuple[float, str]] = [(row[0], row[1]) for row in rows]
    decided = grant(limit, waiters, held, starts, now)
    if decided.granted:
        granted = list(decided.granted)
        await connection.execute(
            "INSERT INTO limit_slots (slot_id, name, key_value, run_id, owner, epoch, granted_at) "
            "SELECT slot_id, name, key_value, run_id, owner, epoch, $2::float8 "
            "FROM limit_waiters WHERE slot_id = ANY($1::text[])",
            granted,
            now,
        )
        await connection.execute(
            "DELETE FROM limit_waiters WHERE slot_id = ANY($1::text[])", granted
        )
        await connection.execute(
            "INSERT INTO limit_starts (name, key_value, at, run_id) "
            "SELECT name, key_value, $2::float8, run_id FROM limit_slots "
            "WHERE slot_id = ANY($1::text[])",
            granted,
            now,
        )
    return decided
