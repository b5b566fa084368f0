"""What the server needs to know about a run live in this process, read from its handler.

The server must tell when a run's first journal write is done (so a 202 means the run is in
the store), whether steps are still running (graceful shutdown waits for them), and how to
let go of a run at shutdown without writing anything to its journal (so it stays resumable).
The handler's public API does not say these things, so this module asks the driver behind it
(``WorkflowHandler.driver``) through the driver's named queries (``RunDriver.view``,
``busy``, ``journal``); it is the one place in the server that does, so a change there has
one place to follow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from stepwork._core.errors import (
    JournalConflictError,
    JournalCorruptError,
    RunNotFoundError,
    StoreError,
)
from stepwork._runtime.driver import RunDriver
from stepwork._runtime.handler import WorkflowHandler

__all__ = [
    "DetachedError",
    "detach",
    "is_busy",
    "is_finished",
    "log_failure",
    "sent_before",
    "store_failure",
    "wait_journaled",
    "wait_started",
    "wait_written",
]


class DetachedError(StoreError):
    """Set as a detached run's journal failure: nothing more of it is written here."""


def _driver(handler: WorkflowHandler) -> RunDriver | None:
    return handler.driver


async def wait_started(handler: WorkflowHandler) -> bool:
    """Wait until the run has a driver (started, or resumed from the store) or has failed.

    Returns:
        True when the run's events can be followed in memory; False when it failed before
        it had any (for example, a resume that could not read the journal).
    """
    return await handler.attached()


async def wait_journaled(handler: WorkflowHandler) -> None:
    """Wait until the run's first published event is written, or the run has ended.

    The first write of a durable run creates its row in the store and journals its start, so
    afterwards reading the run back from the store finds it.
    """
    if not await wait_started(handler):
        return

    async def first_event() -> None:
        events = handler.follow_events(0, expose_internal=True)
        async with contextlib.aclosing(events):
            async for _ in events:
                return

    task = asyncio.get_running_loop().create_task(first_event())
    try:
        await asyncio.wait([task, handler], return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def wait_written(handler: WorkflowHandler) -> bool:
    """Wait until every tick the run has had so far is written to its journal (or the run
    can no longer write: it ended, or its journal failed).

    Returns:
        True if they all are written (or the run keeps no journal); False if some never
        will be, because the journal stopped writing.
    """
    driver = _driver(handler)
    if driver is None or driver.journal is None:
        return True
    count = driver.ticks.start + len(driver.ticks)
    await driver.journal.written(count)
    return driver.journal.next_seq >= count


def store_failure(handler: WorkflowHandler) -> StoreError | None:
    """Why the run stopped writing its journal here, if a store failure stopped it.

    A run detached at shutdown, a conflict (taken run id) and a run that is not in the
    store or cannot be read back are not store failures: they have answers of their own.
    """
    driver = _driver(handler)
    failure: BaseException | None = None
    if driver is not None and driver.journal is not None:
        failure = driver.journal.failure
    elif handler.done() and not handler.cancelled():
        failure = handler.exception()  # failed before it had a driver (a resume or fork)
    if not isinstance(failure, StoreError) or isinstance(
        failure, DetachedError | JournalConflictError | JournalCorruptError | RunNotFoundError
    ):
        return None
    return failure


def sent_before(handler: WorkflowHandler, idempotency_key: str) -> bool:
    """True if the run live here already has an event sent with ``idempotency_key``."""
    driver = _driver(handler)
    return driver is not None and driver.has_sent(idempotency_key)


def is_finished(handler: WorkflowHandler) -> bool:
    """True once the run has ended, even if its ending is still being written."""
    if handler.done():
        return True
    driver = _driver(handler)
    return driver is not None and driver.view.done


def is_busy(handler: WorkflowHandler) -> bool:
    """True while a step of the run is running (not merely waiting for an event) or its
    journal has a write in flight."""
    if handler.done():
        return False
    driver = _driver(handler)
    return driver is None or driver.busy  # None: still being resumed from the store


def detach(handler: WorkflowHandler) -> None:
    """Let go of a live run without writing anything more to its journal (server shutdown);
    the next server on the same store resumes it. See ``RunDriver.detach``."""
    driver = _driver(handler)
    if driver is None or handler.done():
        return
    driver.detach(
        DetachedError(
            f"Run '{handler.run_id}' was detached at server shutdown; it resumes from its journal.",
            run_id=handler.run_id,
        )
    )


def log_failure(handler: WorkflowHandler, log: logging.Logger) -> None:
    """Log a run that failed here at ERROR, once, with its run id, its step and (when a step
    raised) the step's traceback. Call when the handler is done; other endings log nothing."""
    driver = _driver(handler)
    if driver is None or not handler.done() or handler.cancelled():
        return
    view = driver.view
    if not view.failed or handler.exception() is None:
        return
    step = view.failed_step
    error = handler.exception()
    trace = view.error_traceback or f"{type(error).__name__}: {error}"
    context = {"run_id": handler.run_id, "step": step or ""}
    log.error("run %r failed in step %r:\n%s", handler.run_id, step, trace.rstrip(), extra=context)
