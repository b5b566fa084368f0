"""Renewing and releasing many leases at once on PostgreSQL (``PostgresStore.renew_many``,
``release_many``): a worker holding thousands of runs pays a statement per heartbeat or per
batch of idle runs, not one per run.

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

from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

from stepwork._stores import postgres_lease_sql as lease_sql
from stepwork._stores.protocol import Lease

__all__ = ["Call", "release_many", "renew_many", "with_messages"]

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
