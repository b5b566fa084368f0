"""Clocks: where a run's time comes from.

The driver stamps every tick with ``clock.now()`` and asks the clock to fire timers, so a test
can swap in :class:`ManualClock` and move time forward by hand: timeouts and retry delays are
then tested without waiting.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "TimerHandle"]


class TimerHandle(Protocol):
    """Something that can be cancelled: a scheduled callback."""

    def cancel(self) -> None:
        """Do not fire."""


class Clock(Protocol):
    """A source of time that can call back at a given time."""

    def now(self) -> float:
        """Seconds since the epoch."""

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        """Call ``callback`` (on the event loop) once ``now() >= when``."""


class SystemClock:
    """Wall-clock time; timers run on the running asyncio loop."""

    def now(self) -> float:
        """Seconds since the epoch, from ``time.time()``."""
        return time.time()

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        """Schedule ``callback`` on the running loop after ``when - now()`` seconds."""
        return asyncio.get_running_loop().call_later(max(0.0, when - time.time()), callback)


class _ManualTimer:
    __slots__ = ("callback", "cancelled", "when")

    def __init__(self, when: float, callback: Callable[[], None]) -> None:
        self.when = when
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A clock that only moves when told to, for tests of timeouts and retry delays.

    Example:
        >>> clock = ManualClock(start=100.0)
        >>> fired = []
        >>> _ = clock.call_at(105.0, lambda: fired.append(clock.now()))
        >>> clock.advance_sync(10.0)
        >>> fired
        [105.0]
    """

    def __init__(self, start: float = 1_000_000.0) -> None:
        self._now = start
        self._heap: list[tuple[float, int, _ManualTimer]] = []
        self._order = itertools.count()

    def now(self) -> float:
        """The clock's current time."""
        return self._now

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        """Remember ``callback`` until the clock is advanced past ``when``."""
        timer = _ManualTimer(when, callback)
        heapq.heappush(self._heap, (when, next(self._order), timer))
        return timer

    def pending(self) -> int:
        """How many timers are scheduled and not cancelled."""
        return sum(1 for _, _, timer in self._heap if not timer.cancelled)

    def advance_sync(self, seconds: float) -> None:
        """Move time forward, firing due timers in order at their own time."""
        target = self._now + seconds
        while self._heap and self._heap[0][0] <= target:
            when, _, timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            self._now = max(self._now, when)
            timer.callback()
        self._now = target

    async def advance(self, seconds: float) -> None:
        """Move time forward like :meth:`advance_sync`, then let woken tasks run.

        Each fired timer may start steps; the loop gets a turn after every timer so that the
        work it started reaches its next suspension point before the next timer fires.
        """
        target = self._now + seconds
        while self._heap and self._heap[0][0] <= target:
            when, _, timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            self._now = max(self._now, when)
            timer.callback()
            for _ in range(10):
                await asyncio.sleep(0)
        self._now = target
        for _ in range(10):
            await asyncio.sleep(0)
