"""What a store keeps for named limits (``stepwork.Limit``), shared by every process using it.

A store reaches its limits through a typed accessor, ``store.limits`` (a :class:`LimitStore`),
so the journal stores stay small. Rows: each limit's declared numbers; the invocations
waiting for a slot; the slots held; the starts of the last minute (for ``per_minute``).

Invariants every implementation keeps:
- ``acquire`` and ``release`` are atomic and serialised per limit name and key value (a
  transaction holding the database's write lock on SQLite, an advisory lock on PostgreSQL, a
  lock in memory), and each runs one *grant pass*: drop waiters and slots whose run's lease is
  dead, then grant free slots to waiters in the fair order of ``_core.limits.grant``, moving
  them from waiting to held and recording their starts. A waiter granted by another process's
  pass finds its slot held on its next ``acquire``.
- A slot or waiter belongs to its run's lease (owner and epoch): once that lease expires or
  moves to another process, the row is dead and the next pass drops it, so a crashed holder's
  slot is reclaimed without its goodwill. Rows with no owner (runs that hold no lease) live
  until released.
- ``define`` never changes recorded numbers: the first declaration of a name wins and is
  returned to every later one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from stepwork._core.errors import StoreError
from stepwork._core.limits import Limit

__all__ = ["Acquired", "LimitStore", "SlotClaim", "limits_of"]


@dataclass(frozen=True)
class SlotClaim:
    """One invocation attempt asking for a slot.

    Attributes:
        limit: The limit's name.
        key: The key value (a tenant), ``""`` for an unkeyed limit.
        slot_id: Unique to this attempt.
        run_id: The run the invocation belongs to.
        owner: The run's lease owner (``None``: the run holds no lease).
        epoch: The lease's epoch.
    """

    limit: str
    key: str
    slot_id: str
    run_id: str
    owner: str | None = None
    epoch: int = 0


@dataclass(frozen=True)
class Acquired:
    """What ``acquire`` found.

    Attributes:
        granted: The claim holds a slot now.
        retry_at: When the rate window frees a start (``None``: wait for a release).
    """

    granted: bool
    retry_at: float | None = None


@runtime_checkable
class LimitStore(Protocol):
    """Slots of named limits, shared by every process using one store."""

    poll_interval: float
    """Seconds a waiter sleeps between looks when ``changed`` cannot be woken by others."""

    async def define(self, name: str, limit: Limit) -> Limit:
        """Record ``limit`` under ``name`` unless a declaration is recorded; return the
        recorded one (the caller compares)."""
        ...

    async def acquire(self, claim: SlotClaim, limit: Limit, now: float) -> Acquired:
        """Queue ``claim`` (if not queued), run a grant pass at ``now``, say whether it holds
        a slot."""
        ...

    async def release(self, claim: SlotClaim, limit: Limit, now: float) -> None:
        """Drop ``claim``'s slot or waiter and run a grant pass; wake the waiters of its
        limit and key."""
        ...

    async def changed(self, claim: SlotClaim, longest: float) -> None:
        """Return once a release or grant may concern ``claim``'s limit and key, or after
        ``longest`` seconds (which is how stores without notifications poll)."""
        ...


def limits_of(store: object) -> LimitStore:
    """The :class:`LimitStore` a journal store keeps its limits in (``store.limits``).

    Raises:
        StoreError: If the store keeps none (a store of your own: give it a ``limits``
            attribute implementing ``LimitStore``).
    """
    limits = getattr(store, "limits", None)
    if not isinstance(limits, LimitStore):
        raise StoreError(
            f"{store!r} keeps no named limits, so a step with @step(limit=...) cannot run on "
            "it: use SqliteStore, PostgresStore or MemoryStore, or give the store a `limits` "
            "attribute implementing stepwork._stores.limit_protocol.LimitStore."
        )
    return limits
