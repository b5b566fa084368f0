"""Following runs that execute in another process: wake readers when the store says a run moved.

A node streams or waits for a run it does not execute by reading the store by offset. Between
reads it waits for a sign that the run changed:

- **PostgreSQL**: every append NOTIFYs the store's append channel with the run id
  (``PostgresStore.listen``). One ``LISTEN`` connection per node wakes every reader of that run;
  since a notification sent while the connection was down is lost, a reader also reads again
  after ``FALLBACK_POLL`` seconds without one.
- **SQLite and memory**: nothing notifies across processes, so readers poll every
  ``SQLITE_POLL`` seconds.

Invariant: a reader never misses a change that happened after it began watching. It takes its
wake-up flag (:meth:`StoreFollower.watch`) before its first read and clears it before each
read, so a notification arriving while it reads makes the next wait return at once.

Example:
    >>> from stepwork._stores.memory import MemoryStore
    >>> StoreFollower(MemoryStore()).interval
    0.05
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from typing import Any

from stepwork._core.errors import StoreError
from stepwork._stores.protocol import Store

__all__ = ["FALLBACK_POLL", "SQLITE_POLL", "StoreFollower", "Watch"]

SQLITE_POLL = 0.05
"""Seconds between reads of a run followed in a store that cannot notify (SQLite, memory)."""

FALLBACK_POLL = 1.0
"""Seconds a reader of a notifying store (PostgreSQL) waits without a notification before
reading again anyway (a notification is lost while the LISTEN connection is down)."""

_log = logging.getLogger("stepwork.server")


class Watch:
    """A reader's wake-up flag for one run (from :meth:`StoreFollower.watch`)."""

    def __init__(self, interval: float) -> None:
        self._event = asyncio.Event()
        self._interval = interval

    def clear(self) -> None:
        """Forget earlier notifications: call just before reading the store."""
        self._event.clear()

    def notify(self) -> None:
        """The run changed."""
        self._event.set()

    async def changed(self) -> None:
        """Return once the run changed since :meth:`clear`, or the poll interval passed."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._event.wait(), self._interval)


class StoreFollower:
    """Wakes the readers of runs when the store reports an append to them.

    Args:
        store: The store runs are read from; it notifies if it has a ``listen`` method.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.notifies = getattr(store, "listen", None) is not None
        self.interval = FALLBACK_POLL if self.notifies else SQLITE_POLL
        self._watches: dict[str, set[Watch]] = {}
        self._stack: contextlib.AsyncExitStack | None = None

    async def start(self) -> None:
        """Begin listening (PostgreSQL); a store that cannot be listened to is polled."""
        listen: Any = getattr(self.store, "listen", None)
        if listen is None:
            return
        stack = contextlib.AsyncExitStack()
        try:
            await stack.enter_async_context(listen(self._notice))
        except StoreError as error:
            _log.warning(
                "cannot LISTEN for appends (%s): streams poll every %s s", error, SQLITE_POLL
            )
            self.interval = SQLITE_POLL
            return
        self._stack = stack

    async def close(self) -> None:
        """Stop listening (idempotent)."""
        stack, self._stack = self._stack, None
        if stack is not None:
            with contextlib.suppress(StoreError, OSError):
                await stack.aclose()

    @contextlib.contextmanager
    def watch(self, run_id: str) -> Iterator[Watch]:
        """A wake-up flag for run ``run_id`` while the block runs."""
        watch = Watch(self.interval)
        watches = self._watches.setdefault(run_id, set())
        watches.add(watch)
        try:
            yield watch
        finally:
            watches.discard(watch)
            if not watches:
                self._watches.pop(run_id, None)

    def _notice(self, _kind: str, run_id: str) -> None:
        for watch in self._watches.get(run_id, ()):
            watch.notify()
