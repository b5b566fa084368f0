"""Named limits on PostgreSQL (``PostgresStore.limits``): slots shared across machines.

Each operation is one transaction of a few statements (``postgres_limit_sql``) that first
takes a transaction-scoped advisory lock on the limit's name and key value, so grant passes
of every process are serialised per limit and key (other limits and keys go on in parallel).
A release that grants NOTIFYs the store's limit channel with ``name:key`` when it commits;
waiters LISTEN on one connection per process, opened while any waiter of this process waits,
and look again on a notification. They also look every :attr:`PostgresLimits.poll_interval`
seconds, which is how a crashed holder's slot (nobody releases it) reaches them once its
lease is dead.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any

from stepwork._core.limits import RATE_WINDOW, Grant, Limit, Waiter, grant
from stepwork._stores import postgres_limit_sql as sql
from stepwork._stores.limit_protocol import Acquired, SlotClaim
from stepwork._stores.postgres_listen import Notice, listen

__all__ = ["PostgresLimits"]

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

    linger = 5.0
    """Seconds the LISTEN connection stays open after this process's last waiter got its slot."""

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
        self._closing: asyncio.TimerHandle | None = None

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
                await connection.execute(sql.LOCK, claim.limit, claim.key)
                if await connection.fetchval(
                    sql.QUEUE,
                    claim.limit,
                    claim.key,
                    lease_now,
                    now - RATE_WINDOW,
                    claim.slot_id,
                    claim.run_id,
                    claim.owner,
                    claim.epoch,
                ):
                    return Acquired(True)
                decided = await _grant_pass(connection, claim, limit, now)
                if set(decided.granted) - {claim.slot_id}:  # granted others: tell them
                    await connection.execute(sql.NOTIFY, self.channel, topic)
                return Acquired(claim.slot_id in decided.granted, decided.retry_at)

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
                await connection.execute(sql.LOCK, claim.limit, claim.key)
                await connection.execute(
                    sql.TIDY, claim.limit, claim.key, lease_now, now - RATE_WINDOW, claim.slot_id
                )
                if (await _grant_pass(connection, claim, limit, now)).granted:
                    await connection.execute(sql.NOTIFY, self.channel, f"{claim.limit}:{claim.key}")

        await self._call(run)

    async def changed(self, claim: SlotClaim, longest: float) -> None:
        """Return on a notification for ``claim``'s limit and key (or one that came since
        its last ``acquire``), or after ``min(longest, poll_interval)``."""
        topic = f"{claim.limit}:{claim.key}"
        self._waiting += 1
        if self._closing is not None:
            self._closing.cancel()
            self._closing = None
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
                # Kept a moment: waits come in bursts, and each new LISTEN costs a connection.
                loop = asyncio.get_running_loop()
                self._closing = loop.call_later(self.linger, self._stop_listening)

    def _stop_listening(self) -> None:
        self._closing = None
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


async def _grant_pass(connection: Any, claim: SlotClaim, limit: Limit, now: float) -> Grant:
    """Grant what is free to the waiters of ``claim``'s limit and key (after ``TIDY``)."""
    waiters: list[Waiter] = []
    held: list[str] = []
    starts: list[float] = []
    served: dict[str, float] = {}
    for kind, slot_id, run_id, number in await connection.fetch(sql.STATE, claim.limit, claim.key):
        if kind == "w":
            waiters.append(Waiter(slot_id, run_id, int(number)))
        elif kind == "h":
            held.append(run_id)
        elif kind == "s":
            starts.append(number)
        else:
            served[run_id] = number
    if not waiters:
        return Grant((), None)
    decided = grant(limit, waiters, held, starts, now, served)
    if decided.granted:
        await connection.execute(
            sql.GRANT,
            claim.limit,
            claim.key,
            list(decided.granted),
            now,
            limit.per_minute is not None,
        )
    return decided
