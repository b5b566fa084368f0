"""Limits within one process: for runs without a store, and for ``MemoryStore``.

Same semantics as the shared stores (fair grants, ``per_minute`` window), with no leases to
check: whatever holds a slot here dies with the process. Waiters are woken by releases, on
whichever event loop they wait on.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass, field

from stepwork._core.limits import RATE_WINDOW, Limit, Waiter, grant
from stepwork._stores.limit_protocol import Acquired, SlotClaim

__all__ = ["LOCAL_LIMITS", "MemoryLimits"]


@dataclass
class _Pool:
    waiters: dict[str, Waiter] = field(default_factory=dict)
    held: dict[str, str] = field(default_factory=dict)  # slot id -> run id
    starts: list[float] = field(default_factory=list)
    served: dict[str, float] = field(default_factory=dict)
    wakers: list[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = field(
        default_factory=list
    )


class MemoryLimits:
    """The :class:`~stepwork._stores.limit_protocol.LimitStore` protocol in this process."""

    poll_interval = 1.0  # releases wake waiters; the poll only covers the rate window

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._defined: dict[str, Limit] = {}
        self._pools: dict[tuple[str, str], _Pool] = {}
        self._arrivals = 0

    async def define(self, name: str, limit: Limit) -> Limit:
        """Record ``limit`` under ``name`` unless one is recorded; return the recorded one."""
        with self._lock:
            return self._defined.setdefault(name, limit)

    async def acquire(self, claim: SlotClaim, limit: Limit, now: float) -> Acquired:
        """Queue ``claim``, grant what is free, and say whether it holds a slot."""
        with self._lock:
            pool = self._pools.setdefault((claim.limit, claim.key), _Pool())
            if claim.slot_id in pool.held:
                return Acquired(True)
            if claim.slot_id not in pool.waiters:
                self._arrivals += 1
                pool.waiters[claim.slot_id] = Waiter(claim.slot_id, claim.run_id, self._arrivals)
            retry_at = self._grant(pool, limit, now)
            return Acquired(claim.slot_id in pool.held, retry_at)

    async def release(self, claim: SlotClaim, limit: Limit, now: float) -> None:
        """Drop ``claim``'s slot or place in the queue; grant and wake the others."""
        with self._lock:
            pool = self._pools.get((claim.limit, claim.key))
            if pool is None:
                return
            pool.held.pop(claim.slot_id, None)
            pool.waiters.pop(claim.slot_id, None)
            self._grant(pool, limit, now)
            wakers, pool.wakers = pool.wakers, []
            if not pool.held and not pool.waiters and not pool.starts and not pool.wakers:
                del self._pools[(claim.limit, claim.key)]
        for loop, future in wakers:
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits
                loop.call_soon_threadsafe(_wake, future)

    async def changed(self, claim: SlotClaim, longest: float) -> None:
        """Return at the next release of ``claim``'s limit and key, or after ``longest``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            pool = self._pools.setdefault((claim.limit, claim.key), _Pool())
            if claim.slot_id in pool.held:
                return  # granted by a release since the caller last looked
            pool.wakers.append((loop, future))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(future, longest)

    @staticmethod
    def _grant(pool: _Pool, limit: Limit, now: float) -> float | None:
        pool.starts = [at for at in pool.starts if at + RATE_WINDOW > now]
        if len(pool.served) > len(pool.waiters) + len(pool.held):
            pool.served = {run: at for run, at in pool.served.items() if at + RATE_WINDOW > now}
        decided = grant(
            limit,
            list(pool.waiters.values()),
            list(pool.held.values()),
            pool.starts,
            now,
            pool.served,
        )
        for slot_id in decided.granted:
            run_id = pool.held[slot_id] = pool.waiters.pop(slot_id).run_id
            pool.served[run_id] = now
            if limit.per_minute is not None:
                pool.starts.append(now)
        return decided.retry_at


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


LOCAL_LIMITS = MemoryLimits()
"""The limiter runs without a store share within this process."""
