"""Renewing every lease this process holds on one store together, once per heartbeat.

A process may hold thousands of runs (a worker whose runs wait for a person). Each held run
has its :class:`~stepwork._runtime.lease.LeaseKeeper`; the keepers of one store and one
:class:`~stepwork._runtime.lease.LeaseSettings` on one event loop join one :class:`Renewals`,
whose single task renews them all every ``heartbeat`` with one ``Store.renew_many`` and then
asks, with one ``Store.with_messages``, which of the renewed runs have messages waiting. So a
heartbeat costs two statements however many runs are held, not one or two per run.

Invariants:
- Each keeper gets the answer it would have had renewing alone: renewed (its inbox is looked
  in when a message waits), lost (``LeaseLostError``: its work stops at once), or the store
  failed (kept until its lease lapses by this host's clock, then lost).
- A keeper that left (its run ended or was let go) meanwhile gets no answer: a renewal in
  flight when its run was released finds the lease gone, and that is not a loss.
- A keeper whose run is no longer ``active`` is released at the next beat, with the others
  let go at that beat in one ``Store.release_many``.
- The task runs only while keepers are joined; the last one leaving cancels it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Protocol

from stepwork._core.errors import LeaseLostError, StoreError
from stepwork._stores.lease_rules import renew_lost
from stepwork._stores.protocol import Lease, Store

if TYPE_CHECKING:
    from stepwork._runtime.lease import LeaseSettings

__all__ = ["Held", "Renewals", "renewals_for"]

_log = logging.getLogger("stepwork.lease")


class Held(Protocol):
    """What :class:`Renewals` needs of a lease keeper."""

    lease: Lease

    def active(self) -> bool:
        """Whether the run is still executed here (else it is released)."""

    def renewed(self, lease: Lease, messages: bool) -> None:
        """The lease was renewed as ``lease``; ``messages``: the run's inbox holds some."""

    def lose(self, error: LeaseLostError) -> None:
        """The lease is lost: stop the run's work here."""

    def renewal_failed(self, error: StoreError) -> None:
        """The store failed to renew; lose the lease if it has lapsed by this host's clock."""


_Key = tuple[int, "LeaseSettings"]
_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[_Key, Renewals]] = (
    weakref.WeakKeyDictionary()
)


def renewals_for(store: Store, settings: LeaseSettings) -> Renewals:
    """The running loop's :class:`Renewals` of ``store`` with ``settings`` (made if none)."""
    registry = _by_loop.setdefault(asyncio.get_running_loop(), {})
    key = (id(store), settings)
    renewals = registry.get(key)
    if renewals is None:
        renewals = registry[key] = Renewals(store, settings, registry, key)
    return renewals


class Renewals:
    """The heartbeat of every lease of one store and settings on one event loop.

    Args:
        store: The store holding the leases.
        settings: Their ttl and heartbeat.
        registry: Where this object is kept (it removes itself when its last keeper leaves).
        key: Its key there.
    """

    def __init__(
        self,
        store: Store,
        settings: LeaseSettings,
        registry: dict[_Key, Renewals],
        key: _Key,
    ) -> None:
        self.store = store
        self.settings = settings
        self._registry = registry
        self._key = key
        self._keepers: dict[Held, None] = {}  # an ordered set
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._keepers)

    def join(self, keeper: Held) -> None:
        """Renew ``keeper``'s lease from the next beat on, until it leaves."""
        self._keepers[keeper] = None
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._beat())

    def leave(self, keeper: Held) -> None:
        """Renew ``keeper``'s lease no more."""
        self._keepers.pop(keeper, None)
        if not self._keepers and self._task is not None:
            if self._task is not asyncio.current_task():
                self._task.cancel()
            self._task = None
            self._forget()

    def _forget(self) -> None:
        if self._registry.get(self._key) is self:
            del self._registry[self._key]

    async def _beat(self) -> None:
        try:
            while self._keepers:
                await asyncio.sleep(self.settings.heartbeat)  # a period, not synchronisation
                await self._renew()
        finally:
            if self._task is asyncio.current_task():
                self._task = None
                self._forget()

    async def _renew(self) -> None:
        keepers = list(self._keepers)
        active = [keeper.active() for keeper in keepers]
        gone = [keeper for keeper, now in zip(keepers, active, strict=True) if not now]
        held = [keeper for keeper, now in zip(keepers, active, strict=True) if now]
        for keeper in gone:
            self._keepers.pop(keeper, None)
        if gone:
            with contextlib.suppress(StoreError):  # unreleased, they lapse after ttl anyway
                await self.store.release_many([keeper.lease for keeper in gone])
        if not held:
            return
        try:
            renewed = await self.store.renew_many([k.lease for k in held], self.settings.ttl)
        except StoreError as failure:
            for keeper in held:
                if keeper in self._keepers:
                    self._answer(keeper, partial(keeper.renewal_failed, failure))
            return
        try:
            waiting = await self.store.with_messages(
                [lease.run_id for lease in renewed if lease is not None]
            )
        except StoreError:
            waiting = set()  # the next beat looks again
        for keeper, lease in zip(held, renewed, strict=True):
            if keeper not in self._keepers:
                continue  # let go meanwhile: its release made the renewal find nothing
            if lease is None:
                self._keepers.pop(keeper, None)
                old = keeper.lease
                error = renew_lost(old.run_id, old.owner, old.epoch)
                self._answer(keeper, partial(keeper.lose, error))
            else:
                messages = lease.run_id in waiting
                self._answer(keeper, partial(keeper.renewed, lease, messages))

    def _answer(self, keeper: Held, call: Callable[[], None]) -> None:
        """Give one keeper its answer; a keeper that raises stops no other keeper's."""
        try:
            call()
        except Exception:
            _log.exception("lease keeper of run %r failed", keeper.lease.run_id)
