"""Telling this process's schedule firers that a schedule changed, without a database.

SQLite and memory stores have no notifications across processes: a firer elsewhere finds a
change at its next poll. Within one process the store object that made the change calls the
firers watching it at once, so ``add`` or ``pause`` re-arms their timers.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

__all__ = ["LocalWatchers"]


class LocalWatchers:
    """Callbacks to call when a schedule changes."""

    def __init__(self) -> None:
        self.callbacks: list[Callable[[], None]] = []

    @asynccontextmanager
    async def watch(self, on_change: Callable[[], None]) -> AsyncIterator[None]:
        """Call ``on_change()`` at every :meth:`changed` while the block runs."""
        self.callbacks.append(on_change)
        try:
            yield
        finally:
            self.callbacks.remove(on_change)

    def changed(self) -> None:
        """A schedule was added, paused, resumed or deleted."""
        for callback in list(self.callbacks):
            callback()
