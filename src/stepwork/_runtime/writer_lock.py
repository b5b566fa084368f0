"""``WriterLock``: an async mutex that is not tied to one event loop.

``asyncio.Lock`` binds itself to the first loop that waits on it, so a state store shared by a
run's loop and a sync step that drives the store from a worker thread (with its own loop)
would break the first time both contend. This lock keeps its bookkeeping under a
``threading.Lock`` and wakes each waiter on the waiter's own loop; ownership is handed over
directly on release, so waiters are served first come, first served.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from types import TracebackType

__all__ = ["WriterLock"]


class _Waiter:
    __slots__ = ("future", "granted", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()
        self.granted = False


class WriterLock:
    """A first-come, first-served async mutex usable from any thread's running loop.

    Example:
        >>> import asyncio
        >>> async def main() -> bool:
        ...     lock = WriterLock()
        ...     async with lock:
        ...         return lock.locked()
        >>> asyncio.run(main())
        True
    """

    __slots__ = ("_held", "_mutex", "_waiters")

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiters: deque[_Waiter] = deque()

    def locked(self) -> bool:
        """Whether some caller holds the lock."""
        return self._held

    async def acquire(self) -> None:
        """Wait until the lock is free, then take it."""
        with self._mutex:
            if not self._held:
                self._held = True
                return
            waiter = _Waiter(asyncio.get_running_loop())
            self._waiters.append(waiter)
        try:
            await waiter.future
        except BaseException:
            with self._mutex:
                granted = waiter.granted
                if not granted:
                    self._waiters.remove(waiter)
            if granted:  # ownership arrived together with the cancellation: pass it on
                self.release()
            raise

    def release(self) -> None:
        """Hand the lock to the longest waiting caller, or free it.

        Raises:
            RuntimeError: If the lock is not held.
        """
        with self._mutex:
            if not self._held:
                raise RuntimeError("WriterLock.release() called while the lock is not held.")
            if not self._waiters:
                self._held = False
                return
            waiter = self._waiters.popleft()
            waiter.granted = True
        try:
            waiter.loop.call_soon_threadsafe(_wake, waiter.future)
        except RuntimeError:  # the waiter's loop is closed; nobody will take it from there
            self.release()

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
