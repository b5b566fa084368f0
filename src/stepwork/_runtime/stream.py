"""The run's event log: every published event, kept in order, followed by any number of readers.

Invariants: events are only appended; a reader following from offset ``n`` sees every event from
``n`` on, exactly once and in order; after ``close()`` readers drain what is left and stop.
Step-state notices are stored as small records and become ``StepStateChanged`` events only
when a reader that exposes internal events reaches them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from stepwork._core.events import InternalDispatchEvent
from stepwork._core.notices import StepNotice

__all__ = ["EventLog"]


class EventLog:
    """An append-only list of published events with async followers."""

    __slots__ = ("_closed", "_events", "_wakers")

    def __init__(self) -> None:
        self._events: list[Any] = []
        self._wakers: list[asyncio.Future[None]] = []
        self._closed = False

    def __len__(self) -> int:
        return len(self._events)

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
        event = self._events[position]
        if type(event) is StepNotice:
            if not internal:
                return None
            event = self._events[position] = event.to_event()
        elif not internal and isinstance(event, InternalDispatchEvent):
            return None
        return event

    async def wait_beyond(self, position: int) -> None:
        """Return once an event exists at ``position`` or the log is closed."""
        if position < len(self._events) or self._closed:
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
        events = self._events
        while True:
            while position < len(events):
                event = self.visible(position, internal)
                position += 1
                if event is not None:
                    yield position - 1, event
            if self._closed:
                return
            await self.wait_beyond(position)
