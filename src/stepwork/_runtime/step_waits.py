"""Steps waiting for an event: a future per waiter, settled as the reducer says.

``ctx.wait_for_event``, ``ctx.sleep`` and a child run queued through the store register a
waiter (after their ``TickWait`` is applied) and await its future. The reducer wakes a waiter
with ``CommandResolveWaiter``: the answering event, or none when the wait timed out.

Invariants:
- A future is settled at most once, and only by :meth:`StepWaits.resolve` or, when the run
  stops in this process, cancelled by :meth:`StepWaits.cancel_all`.
- Observers see each wait start and end (answered or timed out).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from stepwork._core.commands import CommandResolveWaiter

if TYPE_CHECKING:
    from stepwork._runtime.driver import RunDriver

__all__ = ["StepWaits"]


class StepWaits:
    """The open waits of ``driver``'s run, by ``(invocation, waiter_id)``."""

    def __init__(self, driver: RunDriver) -> None:
        self.driver = driver
        self._futures: dict[tuple[int, str], asyncio.Future[Any]] = {}

    def register(self, invocation: int, waiter_id: str) -> asyncio.Future[Any]:
        """A future resolved when the reducer wakes waiter ``waiter_id`` of ``invocation``."""
        driver = self.driver
        future: asyncio.Future[Any] = driver.loop.create_future()
        self._futures[(invocation, waiter_id)] = future
        if driver.observer is not None:
            driver.observer.wait_started(driver.run_id, invocation, waiter_id)
        return future

    def resolve(self, command: CommandResolveWaiter) -> None:
        """Settle the waiter ``command`` names: its event, or ``TimeoutError`` if none."""
        waiter = self._futures.pop((command.invocation, command.waiter_id), None)
        if waiter is None or waiter.done():
            return
        observer = self.driver.observer
        if observer is not None:
            answered = command.event is not None
            observer.wait_ended(self.driver.run_id, command.invocation, command.waiter_id, answered)
        if command.event is None:
            waiter.set_exception(
                TimeoutError(f"Timed out waiting for event (waiter '{command.waiter_id}').")
            )
        else:
            waiter.set_result(command.event)

    def cancel_all(self) -> None:
        """Cancel every open wait (the run stops in this process)."""
        for waiter in self._futures.values():
            waiter.cancel()
        self._futures.clear()
