"""The lease side of ``SqliteStore`` (:class:`SqliteLeases`): claims, renewals, releases,
durable timers and the inbox. Each method is one call of a function of ``sqlite_lease_sql`` or
``sqlite_inbox`` on the store's writing connection (reads on its reading one).
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar

from stepwork._stores import sqlite_inbox as inbox
from stepwork._stores import sqlite_lease_sql as lease_sql
from stepwork._stores.protocol import DueTimer, InboxKind, InboxMessage, Lease
from stepwork._stores.records import encode_value

__all__ = ["SqliteLeases"]

_T = TypeVar("_T")
_P = ParamSpec("_P")


class SqliteLeases(ABC):
    """The lease, timer and inbox methods of the ``Store`` protocol on SQLite: what a worker
    uses to hold runs. ``SqliteStore`` is one; it provides :meth:`_call` and :meth:`_read`.

    Args:
        clock: Seconds since the epoch: the "now" of claims, renewals and releases.
    """

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock

    @abstractmethod
    async def _call(
        self,
        function: Callable[Concatenate[sqlite3.Connection, _P], _T],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T:
        """``function(connection, *args, **kwargs)`` on the writing connection's thread."""

    @abstractmethod
    async def _read(
        self,
        function: Callable[Concatenate[sqlite3.Connection, _P], _T],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T:
        """``function(connection, *args, **kwargs)`` on the reading connection's thread."""

    async def claim_run(
        self, run_id: str, owner: str, ttl: float, *, take_from: str | None = None
    ) -> Lease | None:
        """Take run ``run_id`` for ``owner`` for ``ttl`` seconds if its lease is free, expired or
        already ``owner``'s, bumping its epoch; ``None`` if someone else holds it.

        Raises:
            RunNotFoundError: If there is no such run.
        """
        return await self._call(lease_sql.claim_run, run_id, owner, ttl, self._clock(), take_from)

    async def claim_runnable(
        self,
        owner: str,
        ttl: float,
        limit: int,
        workflows: Sequence[str] | None = None,
        versions: Mapping[str, str] | None = None,
    ) -> list[Lease]:
        """Claim up to ``limit`` runnable running runs with a free or expired lease, the
        longest waiting first, in one ``BEGIN IMMEDIATE`` transaction (leaving runs recorded
        with a version other than ``versions`` names)."""
        names = None if workflows is None else list(workflows)
        served = dict(versions or {})
        return await self._call(
            lease_sql.claim_runnable, owner, ttl, limit, names, self._clock(), served
        )

    async def renew(self, lease: Lease, ttl: float) -> Lease:
        """Extend ``lease`` to ``ttl`` seconds from now.

        Raises:
            LeaseLostError: If the run's epoch moved on or the lease was released.
        """
        return await self._call(lease_sql.renew, lease, ttl, self._clock())

    async def renew_many(self, leases: Sequence[Lease], ttl: float) -> list[Lease | None]:
        """``renew`` for each of ``leases`` in one ``BEGIN IMMEDIATE`` transaction: the
        renewed lease, ``None`` for one lost."""
        if not leases:
            return []
        return await self._call(lease_sql.renew_many, list(leases), ttl, self._clock())

    async def release(self, lease: Lease, *, idle: bool = False) -> bool:
        """Give the run back; idle: runnable at its earliest timer, else at once. False if
        ``lease`` is no longer the run's."""
        return (await self.release_many([lease], idle=idle))[0]

    async def release_many(self, leases: Sequence[Lease], *, idle: bool = False) -> list[bool]:
        """``release`` for each of ``leases`` in one ``BEGIN IMMEDIATE`` transaction."""
        if not leases:
            return []
        return await self._call(lease_sql.release, list(leases), idle, self._clock())

    async def due_timers(self, now: float, limit: int | None = None) -> list[DueTimer]:
        """Timers of running runs with ``fire_at <= now``, the earliest first."""
        return await self._read(lease_sql.due_timers, now, limit)

    async def next_timer(self, run_id: str) -> float | None:
        """When the run's earliest timer fires; ``None`` if it has none."""
        return await self._read(lease_sql.next_timer, run_id)

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
        """Store a message in the run's inbox and make the run runnable from ``at``, in one
        ``BEGIN IMMEDIATE`` transaction; a pending message with the same key stores nothing.

        Raises:
            RunNotFoundError: If there is no such run.
            WorkflowRuntimeError: If the run has ended.
        """
        text = None if record is None else encode_value(run_id, record, "inbox record")
        await self._call(inbox.deliver, run_id, kind, text, idempotency_key, at, step)

    async def load_inbox(self, run_id: str) -> list[InboxMessage]:
        """The run's pending inbox messages, in delivery order."""
        return await self._read(inbox.load_inbox, run_id)

    async def with_messages(self, run_ids: Sequence[str]) -> set[str]:
        """Those of ``run_ids`` whose inbox holds a message."""
        return await self._read(inbox.with_messages, list(run_ids)) if run_ids else set()
