"""Runs that stopped because the store could not write are resumed again once it can.

A run whose journal write failed stops in this process at its last stored tick and stays
``running`` in the store. A request that sends to or cancels it resumes it, but a run nobody
touches (its steps were busy, not waiting for a person) would otherwise wait for the next
server restart. So the server tries to resume it itself: after ``first_delay`` seconds, then
twice as long after each failed try, up to ``max_delay``. A try that writes the run's resume
tick ends the series. Only the first failure of a series is reported as new (so the server
logs it once); shutdown cancels every pending try.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from stepwork._core.errors import RunNotFoundError, StoreError

__all__ = ["ResumeRetries"]


class ResumeRetries:
    """Schedules ``resume(run_id)`` for runs that stopped on a store failure.

    Args:
        resume: Resumes a run here; True once its resume is written, False when there is
            nothing to do (finished, already live, shutting down). A ``StoreError`` means
            the store still fails: it is tried again later.
        first_delay: Seconds before the first try.
        max_delay: The longest wait between tries.
    """

    def __init__(
        self,
        resume: Callable[[str], Awaitable[bool]],
        *,
        first_delay: float = 1.0,
        max_delay: float = 30.0,
    ) -> None:
        self._resume = resume
        self._first = first_delay
        self._most = max_delay
        self._delays: dict[str, float] = {}
        self._pending: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def stopped(self, run_id: str) -> bool:
        """Run ``run_id`` stopped on a store failure: try to resume it later.

        Returns:
            True for the first failure since the run last resumed (report it), False for
            a try that failed again.
        """
        first = run_id not in self._delays
        delay = self._first if first else min(self._delays[run_id] * 2, self._most)
        self._delays[run_id] = delay
        old = self._pending.pop(run_id, None)
        if old is not None:
            old.cancel()
        loop = asyncio.get_running_loop()
        self._pending[run_id] = loop.call_later(delay, self._fire, run_id)
        return first

    def close(self) -> None:
        """Cancel every pending try (server shutdown)."""
        for handle in self._pending.values():
            handle.cancel()
        self._pending.clear()
        for task in self._tasks:
            task.cancel()
        self._delays.clear()

    def _fire(self, run_id: str) -> None:
        self._pending.pop(run_id, None)
        task = asyncio.get_running_loop().create_task(self._attempt(run_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _attempt(self, run_id: str) -> None:
        try:
            resumed = await self._resume(run_id)
        except RunNotFoundError:
            resumed = False  # deleted meanwhile: nothing to resume
        except StoreError:
            self.stopped(run_id)  # the store still fails: later
            return
        # A resumed run whose write failed again was reported by the registry meanwhile
        # (stopped() was called once more and scheduled the next try); any other outcome
        # ends the series.
        if resumed or run_id not in self._pending:
            self._delays.pop(run_id, None)
