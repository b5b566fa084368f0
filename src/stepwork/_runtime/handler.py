"""``WorkflowHandler``: the future a run returns, with its stream, context and controls."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any

from stepwork._core.errors import JournalWriteError, WorkflowRuntimeError
from stepwork._core.events import Event, StopEvent
from stepwork._core.ticks import Tick, TickCancel
from stepwork._runtime.inbox import deliver_cancel, deliver_event

if TYPE_CHECKING:
    from stepwork._runtime.context import Context
    from stepwork._runtime.driver import RunDriver
    from stepwork._stores.protocol import Store

__all__ = ["WorkflowHandler"]


class WorkflowHandler(asyncio.Future[Any]):
    """Handle a running workflow: await results, stream events, access context, or cancel.

    Returned by ``Workflow.run``. Awaiting it gives the result (``StopEvent.result`` for a plain
    ``StopEvent``, the event itself for a subclass) or raises the run's error: the step's own
    exception, ``WorkflowTimeoutError``, ``WorkflowCancelledByUser`` or ``WorkflowStalledError``.

    Example:
        >>> handler = MyFlow().run(topic="pirates")       # doctest: +SKIP
        >>> async for ev in handler.stream_events():       # doctest: +SKIP
        ...     print(ev)
        >>> result = await handler                          # doctest: +SKIP
    """

    def __init__(self, ctx: Context[Any], run_id: str, workflow_name: str) -> None:
        super().__init__(loop=asyncio.get_running_loop())
        self.ctx = ctx
        self.run_id = run_id
        self._workflow_name = workflow_name
        self._driver: RunDriver | None = None
        self._ready = asyncio.get_running_loop().create_future()
        self._cursor = 0
        self._consumed = False
        self._stop: StopEvent | None = None
        self._hard_cancel = False
        self.store: Store | None = None
        """The durable run's store: sends and cancels go to its inbox when the run is not
        executed in this process (any more)."""

    def __str__(self) -> str:
        return (
            f"WorkflowHandler(workflow={self._workflow_name}, run_id={self.run_id}, "
            f"result={self._stop})"
        )

    # -- wiring (engine-internal: the launcher, resuming and the server use these) -------------

    @property
    def driver(self) -> RunDriver | None:
        """The driver executing the run here, once it started (``None`` before)."""
        return self._driver

    def bind(self, driver: RunDriver) -> None:
        """Attach the driver that executes the run; waiters on :meth:`attached` wake."""
        self._driver = driver
        if not self._ready.done():
            self._ready.set_result(None)

    async def attached(self) -> bool:
        """Wait until the run has a driver (started, or resumed) or the handler is done.

        Returns:
            True when the run has a driver; False when it ended before it had one (for
            example, a resume that could not read the journal).
        """
        if self._driver is None and not self.done():
            await asyncio.wait([self._ready, self], return_when=asyncio.FIRST_COMPLETED)
        return self._driver is not None

    def complete(self, stop: StopEvent, error: BaseException | None) -> None:
        """End the handler with the run's terminal event ``stop`` or its ``error``."""
        self._stop = stop
        if self.done():
            return
        if self._hard_cancel:
            super().cancel()
        elif error is not None:
            self.set_exception(error)
            # The error also reached the stream as a terminal event; callers who only stream
            # must not get "exception was never retrieved" noise.
            self.exception()
        elif type(stop) is StopEvent:
            self.set_result(stop.result)
        else:
            self.set_result(stop)

    def _elsewhere(self) -> Store | None:
        """The store to deliver to when this process does not execute the run: it never had
        it here (a resume found it held by another process) or let it go (its lease was
        lost, or a worker handed it back or released it idle). ``None``: send here."""
        store = self.store
        if store is None:
            return None
        driver = self._driver
        if driver is None:
            return store if self.done() else None
        failure = driver.journal.failure if driver.journal is not None else None
        if failure is None or isinstance(failure, JournalWriteError):
            return None  # executing here, or stopped by a store failure (resumed here later)
        return store

    async def _driver_ready(self) -> RunDriver:
        if self._driver is None:
            await self._ready
        assert self._driver is not None
        return self._driver

    # -- the documented API -------------------------------------------------------------------

    @property
    def ticks(self) -> list[Tick]:
        """Every tick of the run so far, in order: folding them rebuilds the run's state."""
        return list(self._driver.ticks) if self._driver is not None else []

    def get_stop_event(self) -> StopEvent | None:
        """The run's terminal event once it is done (whatever the ending), else ``None``."""
        return self._stop if self.done() else None

    async def stop_event_result(self) -> StopEvent:
        """Wait for the run to end and return its stop event.

        Raises:
            Exception: The run's error, as awaiting the handler would (use
                :meth:`get_stop_event` afterwards for the terminal event of a failed run).
        """
        await self
        assert self._stop is not None
        return self._stop

    def is_done(self) -> bool:
        """True once the run has completed, failed, timed out or been cancelled."""
        return self.done()

    async def stream_events(self, expose_internal: bool = False) -> AsyncGenerator[Event, None]:
        """Stream the run's events in order, ending with its terminal (stop) event.

        Events are buffered, so streaming after the run ended still yields everything. This is
        the single-reader stream: a second full consumption raises. For several readers, use
        :meth:`follow_events`.

        Args:
            expose_internal: Also yield internal events (step state changes, idle, unhandled).

        Raises:
            WorkflowRuntimeError: If all events were already consumed by an earlier call.
        """
        if self._consumed:
            raise WorkflowRuntimeError(
                "All the streamed events have already been consumed.", run_id=self.run_id
            )
        log = (await self._driver_ready()).log
        if self._cursor < log.base:  # a resumed run: its earlier events are in the store
            async for offset, event in log.earlier(self._cursor, expose_internal):
                self._cursor = offset + 1
                if isinstance(event, StopEvent):
                    self._consumed = True
                yield event
            self._cursor = max(self._cursor, log.base)
        # The log is read directly rather than through EventLog.follow: one generator instead
        # of two per event matters on the streaming hot path.
        while True:
            while self._cursor < len(log):
                position = self._cursor
                self._cursor = position + 1
                event = log.visible(position, expose_internal)
                if event is not None:
                    if isinstance(event, StopEvent):
                        self._consumed = True
                    yield event
            if log.closed:
                return
            await log.wait_beyond(self._cursor)

    async def follow_events(
        self, start: int = 0, *, expose_internal: bool = False
    ) -> AsyncGenerator[tuple[int, Event], None]:
        """Follow the run's events from offset ``start`` as ``(offset, event)`` pairs.

        Any number of readers may follow the same run, each from its own position; a reader
        that reconnects passes the last offset it saw plus one and misses nothing.

        Raises:
            ValueError: If ``start`` is negative.
        """
        driver = await self._driver_ready()
        async for item in driver.log.follow(start, internal=expose_internal):
            yield item

    async def cancel_run(self, *, timeout: float | None = 5.0) -> None:  # noqa: ASYNC109
        """Cancel the run gracefully: running steps are cancelled and the stream ends with a
        ``WorkflowCancelledEvent``; awaiting the handler then raises ``WorkflowCancelledByUser``.

        Args:
            timeout: How many seconds to wait for the run to wind down (a step that ignores its
                cancellation can delay it); ``None`` waits as long as it takes. When the time is
                up this returns anyway: the run is marked cancelled and ends when its steps do.

        A durable run that another process executes (or nobody, while it waits) is cancelled
        through the store's inbox: this returns once the cancellation is stored, and the
        run's holder (a worker that claims it) ends it.
        """
        store = self._elsewhere()
        if store is not None:
            await deliver_cancel(store, self.run_id)
            return
        if self.done():
            return
        driver = await self._driver_ready()
        if not driver.view.done:
            driver.apply(TickCancel(driver.now()))
        await asyncio.wait([self], timeout=timeout)

    def cancel(self, msg: Any | None = None) -> bool:
        """Abort the run at once (as ``asyncio`` does when an awaiting task is cancelled).

        Running steps are cancelled and the handler ends cancelled. A nested run awaited by a
        step is cancelled this way when the parent's step is cancelled.
        """
        if self.done():
            return False
        self._hard_cancel = True
        driver = self._driver
        if driver is not None and not driver.view.done:
            driver.apply(TickCancel(driver.now()))
        if not self.done():
            super().cancel(msg)
        return True

    async def send_event(
        self, event: Event, step: str | None = None, *, idempotency_key: str | None = None
    ) -> None:
        """Send ``event`` into the run (see ``Context.send_event``).

        Args:
            event: The event to send.
            step: Deliver it to this step only.
            idempotency_key: The caller's key for this send. It is journaled with the event;
                a later send with a key the run already has is not delivered again, so a
                caller that does not know whether its send was stored can retry it exactly.

        A durable run that this process no longer executes (its lease went to another
        process, or a worker released it while it waits) gets ``event`` through the store's
        inbox (``Store.deliver``): this returns once it is stored, and the run's holder takes
        it in exactly once.

        Raises:
            JournalWriteError: If the run's journal has stopped writing (nothing sent now
                would be stored); retry once the run is resumed.
            WorkflowRuntimeError: If the run has finished, or ``step`` does not accept it.
            RunNotFoundError: Through the inbox, if the store has no such run.
        """
        store = self._elsewhere()
        if store is not None:
            await deliver_event(store, self.run_id, event, step, idempotency_key)
            return
        driver = await self._driver_ready()
        if idempotency_key is not None and driver.has_sent(idempotency_key):
            return
        driver.check_writable()
        self.ctx.wiring.send(event, step, idempotency_key)
