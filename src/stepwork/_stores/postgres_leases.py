"""The lease side of ``PostgresStore`` (:class:`PostgresLeases`): claims, renewals, releases,
durable timers and the inbox; and renewing and releasing many leases at once
(``renew_many``, ``release_many``): a worker holding thousands of runs pays a statement per
heartbeat or per batch of idle runs, not one per run.

Invariants:
- A renewal never waits on a row lock with other rows locked: ``RENEW_MANY`` skips the rows
  another transaction holds (an append of that run in flight), and those few are renewed one
  by one with ``RENEW`` afterwards. A lease is reported lost only when the run's row no
  longer names its owner and epoch (an epoch only grows, so that is final).
- A release is one statement (one round trip, no explicit transaction) that locks its rows in
  run id order. Its inbox check reads the statement's snapshot; a row that a ``deliver``
  changed while the release waited for it is made runnable at once, so an idle run with a
  message waiting is never left waiting.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Mapping, Sequence
from functools import partial
from typing import Any, TypeVar

from stepwork._core.errors import RunNotFoundError
from stepwork._stores import postgres_lease_sql as lease_sql
from stepwork._stores.inbox_rules import inbox_message, no_such_run, run_ended
from stepwork._stores.lease_rules import renew_lost
from stepwork._stores.postgres_sql import DELIVER, LOAD_INBOX
from stepwork._stores.protocol import DueTimer, InboxKind, InboxMessage, Lease
from stepwork._stores.records import encode_value

__all__ = ["Call", "PostgresLeases", "release_many", "renew_many", "with_messages"]

_T = TypeVar("_T")

Call = Callable[[Callable[[Any], Awaitable[Any]]], Awaitable[Any]]
"""The store's way to run an operation on a pooled connection (retried once if it broke)."""


def _columns(leases: Sequence[Lease]) -> tuple[list[str], list[str], list[int]]:
    return (
        [lease.run_id for lease in leases],
        [lease.owner for lease in leases],
        [lease.epoch for lease in leases],
    )


async def _fetchval(sql: str, args: tuple[Any, ...], connection: Any) -> Any:
    return await connection.fetchval(sql, *args)


async def renew_many(call: Call, leases: Sequence[Lease], expires: float) -> list[Lease | None]:
    """Each of ``leases`` extended to ``expires``; ``None`` for each lost."""
    if not leases:
        return []
    args = (*_columns(leases), expires)
    rows = await call(lambda c: c.fetch(lease_sql.RENEW_MANY, *args))
    renewed: list[Lease | None] = [None] * len(leases)
    busy: list[int] = []
    for i, done, ours in rows:
        lease = leases[i - 1]
        if done:
            renewed[i - 1] = Lease(lease.run_id, lease.owner, lease.epoch, expires)
        elif ours:
            busy.append(i - 1)
    for index in busy:  # rows an append held a moment ago: wait for each alone
        lease = leases[index]
        one = (lease.run_id, lease.owner, lease.epoch, expires)
        at = await call(partial(_fetchval, lease_sql.RENEW, one))
        renewed[index] = None if at is None else Lease(*one[:3], at)
    return renewed


async def release_many(
    call: Call, leases: Sequence[Lease], idle: bool, now: float, channel: str
) -> list[bool]:
    """Release each of ``leases`` in one statement (NOTIFYing ``channel`` of each run
    runnable now); False for each no longer its run's."""
    if not leases:
        return []
    args = (*_columns(leases), idle, now, channel)
    row = await call(lambda c: c.fetchrow(lease_sql.RELEASE_MANY, *args))
    released = set(row[0])
    return [i in released for i in range(1, len(leases) + 1)]


async def with_messages(call: Call, run_ids: Sequence[str]) -> set[str]:
    """Those of ``run_ids`` whose inbox holds a message."""
    if not run_ids:
        return set()
    ids = list(run_ids)
    rows = await call(lambda c: c.fetch(lease_sql.WITH_MESSAGES, ids))
    return {row[0] for row in rows}


class PostgresLeases(ABC):
    """The lease, timer and inbox methods of the ``Store`` protocol on PostgreSQL: what a
    worker uses to hold runs. ``PostgresStore`` is one; it provides :meth:`_call`.

    Args:
        clock: Seconds since the epoch: the "now" of claims, renewals and releases.
        runnable_channel: The NOTIFY channel told the run id of a run that became runnable.
    """

    def __init__(self, clock: Callable[[], float], runnable_channel: str) -> None:
        self._clock = clock
        self.runnable_channel = runnable_channel
        """The NOTIFY channel told the run id of a run that became runnable."""

    @abstractmethod
    async def _call(self, operation: Callable[[Any], Awaitable[_T]]) -> _T:
        """``operation``'s result on a pooled connection (tried again on a fresh one if the
        connection broke)."""

    async def claim_run(
        self, run_id: str, owner: str, ttl: float, *, take_from: str | None = None
    ) -> Lease | None:
        """Take run ``run_id`` for ``owner`` for ``ttl`` seconds if its lease is free, expired or
        already ``owner``'s, bumping its epoch; ``None`` if someone else holds it.

        Raises:
            RunNotFoundError: If there is no such run.
        """
        args = (run_id, owner, self._clock(), float(ttl), take_from)
        row = await self._call(lambda c: c.fetchrow(lease_sql.CLAIM_RUN, *args))
        if row is not None:
            return Lease(run_id, owner, row[0], row[1], row[2])
        if await self._call(lambda c: c.fetchval(lease_sql.RUN_EXISTS, run_id)) is None:
            raise RunNotFoundError(f"No run {run_id!r} in {self!r}.", run_id=run_id)
        return None

    async def claim_runnable(
        self,
        owner: str,
        ttl: float,
        limit: int,
        workflows: Sequence[str] | None = None,
        versions: Mapping[str, str] | None = None,
    ) -> list[Lease]:
        """Claim up to ``limit`` runnable running runs with a free or expired lease, the
        longest waiting first (``FOR UPDATE SKIP LOCKED``: claimers never wait on each other),
        leaving runs recorded with a version other than ``versions`` names."""
        names = None if workflows is None else list(workflows)
        served = list(versions or {})
        args = (
            owner, float(ttl), self._clock(), max(limit, 0), names, served,
            [(versions or {})[name] for name in served],
        )  # fmt: skip
        rows = await self._call(lambda c: c.fetch(lease_sql.CLAIM_RUNNABLE, *args))
        return [Lease(row[0], owner, row[1], row[2], row[3], row[4]) for row in rows]

    async def renew(self, lease: Lease, ttl: float) -> Lease:
        """Extend ``lease`` to ``ttl`` seconds from now.

        Raises:
            LeaseLostError: If the run's epoch moved on or the lease was released.
        """
        args = (lease.run_id, lease.owner, lease.epoch, self._clock() + ttl)
        expires = await self._call(lambda c: c.fetchval(lease_sql.RENEW, *args))
        if expires is None:
            raise renew_lost(lease.run_id, lease.owner, lease.epoch)
        return Lease(lease.run_id, lease.owner, lease.epoch, expires)

    async def renew_many(self, leases: Sequence[Lease], ttl: float) -> list[Lease | None]:
        """``renew`` for each of ``leases`` in one statement (a run whose row an append holds
        at that moment is renewed alone after it): the renewed lease, ``None`` for one lost."""
        return await renew_many(self._call, leases, self._clock() + ttl)

    async def release(self, lease: Lease, *, idle: bool = False) -> bool:
        """Give the run back; idle: runnable at its earliest timer, else at once (and NOTIFY
        the runnable channel). False if ``lease`` is no longer the run's."""
        return (await self.release_many([lease], idle=idle))[0]

    async def release_many(self, leases: Sequence[Lease], *, idle: bool = False) -> list[bool]:
        """``release`` for each of ``leases`` in one statement."""
        return await release_many(self._call, leases, idle, self._clock(), self.runnable_channel)

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
        """Store a message in the run's inbox, make the run runnable from ``at`` and NOTIFY
        the runnable channel, in one statement; a pending message with the same key stores
        nothing (the run is woken all the same).

        Raises:
            RunNotFoundError: If there is no such run.
            WorkflowRuntimeError: If the run has ended.
        """
        text = None if record is None else encode_value(run_id, record, "inbox record")
        args = (run_id, kind, text, idempotency_key, step, float(at), self.runnable_channel)
        delivered, status = await self._call(lambda c: c.fetchrow(DELIVER, *args))
        if not delivered:
            raise no_such_run(run_id) if status is None else run_ended(run_id, status)

    async def load_inbox(self, run_id: str) -> list[InboxMessage]:
        """The run's pending inbox messages, in delivery order."""
        rows = await self._call(lambda c: c.fetch(LOAD_INBOX, run_id))
        return [inbox_message(*row) for row in rows]

    async def with_messages(self, run_ids: Sequence[str]) -> set[str]:
        """Those of ``run_ids`` whose inbox holds a message."""
        return await with_messages(self._call, run_ids)

    async def due_timers(self, now: float, limit: int | None = None) -> list[DueTimer]:
        """Timers of running runs with ``fire_at <= now``, the earliest first."""
        args = (float(now), None if limit is None else max(limit, 0))
        rows = await self._call(lambda c: c.fetch(lease_sql.DUE_TIMERS, *args))
        return [DueTimer(row[0], row[1], row[2]) for row in rows]

    async def next_timer(self, run_id: str) -> float | None:
        """When the run's earliest timer fires; ``None`` if it has none."""
        at = await self._call(lambda c: c.fetchval(lease_sql.NEXT_TIMER, run_id))
        return None if at is None else float(at)
