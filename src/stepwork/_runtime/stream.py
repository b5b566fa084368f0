"""The run's event log: every published event, kept in order, followed by any number of readers.

Invariants: events are only appended; a reader following from offset ``n`` sees every event from
``n`` on, exactly once and in order; after ``close()`` readers drain what is left and stop.
Step-state notices are stored as small records and become ``StepStateChanged`` events only
when a reader that exposes internal events reaches them.

A resumed run's log holds only the events published after the resume (from ``base`` on); a
reader that starts before ``base`` is served the earlier ones from the store, a page at a
time (``earlier``), so resuming a run never loads all its events.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from stepwork._core.events import InternalDispatchEvent
from stepwork._core.notices import StepNotice

__all__ = ["EventLog", "EarlierEvents"]

EarlierEvents = Callable[[int, int], Awaitable[list[Any]]]
"""Loads the stored events at offsets ``start`` up to (not including) ``end``, in order."""

_PAGE = 1000


class EventLog:
    """An append-only list of published events with async followers."""

    __slots__ = ("_closed", "_earlier", "_events", "_wakers", "base")

    def __init__(self) -> None:
        self._events: list[Any] = []
        self._wakers: list[asyncio.Future[None]] = []
        self._closed = False
        self._earlier: EarlierEvents | None = None
        self.base = 0
        """Offset of the first event held in memory; earlier ones are read from the store."""

    def __len__(self) -> int:
        """How many events the run has published (the next offset)."""
        return self.base + len(self._events)

    def continue_from(self, count: int, earlier: EarlierEvents) -> None:
        """Start an empty log after ``count`` stored events, which ``earlier`` loads on demand."""
        assert not self._events, "continue_from is for an empty log"
        self.base, self._earlier = count, earlier

    async def earlier(self, start: int, internal: bool) -> AsyncIterator[tuple[int, Any]]:
        """Yield ``(offset, event)`` for the stored events from ``start`` up to ``base``.

        Raises:
            JournalCorruptError: If a stored event cannot be read (names its offset).
        """
        position = start
        while position < self.base and self._earlier is not None:
            end = min(self.base, position + _PAGE)
            for offset, event in enumerate(await self._earlier(position, end), position):
                if internal or not isinstance(event, InternalDispatchEvent):
                    yield offset, event
            position = end

    @property
    def closed(self) -> bool:
        """True once the run has ended: nothing more will be appended."""
        return self._closed

    def append(self, event: Any) -> None:
        """Publish ``event`` and wake every waiting reader."""
        self._events.append(event)
        if self._wakers:
            self._wake()

    def close(self) -> None:
        """Mark the end of the log and wake every waiting reader."""
        self._closed = True
        self._wake()

    def _wake(self) -> None:
        wakers, self._wakers = self._wakers, []
        for waker in wakers:
            if not waker.done():
                waker.set_result(None)

    def visible(self, position: int, internal: bool) -> Any:
        """The event at ``position`` as a reader sees it, or ``None`` if it is hidden from it."""
        index = position - self.base
        event = self._events[index]
        if type(event) is StepNotice:
            if not internal:
                return None
            event = self._events[index] = event.to_event()
        elif not internal and isinstance(event, InternalDispatchEvent):
            return None
        return event

    async def wait_beyond(self, position: int) -> None:
        """Return once an event exists at ``position`` or the log is closed."""
        if position < len(self) or self._closed:
            return
        waker: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._wakers.append(waker)
        await waker

    async def follow(self, start: int = 0, internal: bool = True) -> AsyncIterator[tuple[int, Any]]:
        """Yield ``(offset, event)`` from ``start`` until the log is closed and drained.

        Args:
            start: Offset of the first event to yield (0 is the first event ever published).
            internal: Also yield internal events (step state changes, idle, unhandled).

        Raises:
            ValueError: If ``start`` is negative.
        """
        if start < 0:
            raise ValueError(f"start must be an offset of 0 or more, got {start}.")
        position = start
        if position < self.base:
            async for item in self.earlier(position, internal):
                yield item
            position = self.base
        while True:
            while position < len(self):
                event = self.visible(position, internal)
                position += 1
                if event is not None:
                    yield position - 1, event
            if self._closed:
                return
            await self.wait_beyond(position)
