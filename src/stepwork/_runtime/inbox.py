"""Outside input to durable runs through the store's inbox (``Store.deliver``).

Two sides:

- **Senders** (:func:`deliver_event`, :func:`deliver_cancel`): a process that does not execute
  a run (another process holds it, or nobody does while it waits) stores the event or the
  cancellation in the run's inbox. The store makes the run runnable now, and on PostgreSQL
  NOTIFYs the runnable channel, so a worker claims it (or its holder looks in at once).
- **The holder** (:class:`InboxReader`): whoever executes the run under a lease turns each
  message into a tick (``TickEvent`` / ``TickCancel``) and the journal deletes the message in
  the same transaction as that tick's append, so every message takes effect exactly once. A
  message whose idempotency key the run has already taken is dropped without a tick.

The holder looks in when it claims the run, when a NOTIFY names the run (workers), and after
every lease renewal (the fallback, so on SQLite a held run sees a message within one
heartbeat).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from stepwork._core.errors import ContextSerdeError, StoreError, WorkflowRuntimeError
from stepwork._core.events import Event
from stepwork._core.ticks import TickCancel, TickEvent
from stepwork._runtime.child_notice import ChildEnded, waiter_key
from stepwork._runtime.context_wiring import check_target
from stepwork._stores.codec import dump_event, load_event
from stepwork._stores.protocol import InboxMessage, Store

if TYPE_CHECKING:
    from stepwork._runtime.driver import RunDriver
    from stepwork._stores.type_registry import TypeRegistry

__all__ = ["InboxReader", "deliver_cancel", "deliver_event"]


async def deliver_event(
    store: Store,
    run_id: str,
    event: Event,
    step: str | None = None,
    idempotency_key: str | None = None,
) -> None:
    """Store ``event`` in run ``run_id``'s inbox for whoever executes the run.

    Raises:
        RunNotFoundError: If the store has no such run.
        WorkflowRuntimeError: If the run has ended, or ``event`` is not an ``Event``.
        StateSerializationError: If the event cannot be written as JSON.
    """
    if not isinstance(event, Event):
        raise WorkflowRuntimeError(
            f"send_event takes an Event, got {type(event).__name__}.", run_id=run_id
        )
    await store.open()
    record = dump_event(event)
    await store.deliver(run_id, "event", record, idempotency_key, time.time(), step=step)


async def deliver_cancel(store: Store, run_id: str) -> None:
    """Store a cancellation in run ``run_id``'s inbox for whoever executes the run.

    Raises:
        RunNotFoundError: If the store has no such run.
        WorkflowRuntimeError: If the run has ended.
    """
    await store.open()
    await store.deliver(run_id, "cancel", None, None, time.time())


class InboxReader:
    """Takes a held run's inbox messages in as ticks, each deleted with its tick's append.

    Args:
        driver: The run's driver (it has a journal).
        registry: Gives the types an event record may name (``registry_for(workflow)``),
            asked for when the first event arrives.
    """

    def __init__(self, driver: RunDriver, registry: Callable[[], TypeRegistry]) -> None:
        journal = driver.journal
        assert journal is not None, "only a durable run has an inbox"
        self.driver = driver
        self.store = journal.store
        self._registry = registry
        self._types: TypeRegistry | None = None
        self._again = False
        self._task: asyncio.Task[None] | None = None
        self._taken: set[int] = set()  # staged as ticks; deleted once their batch is written

    def look(self) -> None:
        """Look in the inbox soon (again, if a look is under way)."""
        self._again = True
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._drain())

    def stop(self) -> None:
        """Stop looking (the run ended or is let go here)."""
        if self._task is not None:
            self._task.cancel()

    async def _drain(self) -> None:
        driver = self.driver
        while self._again and not driver.view.done and driver.writable:
            self._again = False
            try:
                messages = await self.store.load_inbox(driver.run_id)
            except StoreError:
                return  # the next renewal looks again
            self._taken.intersection_update(message.id for message in messages)
            for message in messages:
                if driver.view.done or not driver.writable:
                    return
                if message.id not in self._taken:
                    self._taken.add(message.id)
                    self._take(message)

    def _take(self, message: InboxMessage) -> None:
        driver = self.driver
        if message.kind == "cancel":
            driver.apply(TickCancel(driver.now()), consumed=(message.id,))
            return
        event = self._event(message)
        key = message.idempotency_key
        if (
            event is None
            or (key is not None and driver.has_sent(key))
            or (type(event) is ChildEnded and waiter_key(event.run_id) not in driver.state.waiters)
        ):  # a child's ending that nobody waits for (``start_workflow``) is no event here
            journal = driver.journal
            assert journal is not None
            journal.drop((message.id,), driver.state, driver.execute, driver.now())
            return
        tick = TickEvent(driver.now(), event, message.step, None, key)
        driver.apply(tick, consumed=(message.id,))

    def _event(self, message: InboxMessage) -> Event | None:
        """The message's event, or ``None`` when it cannot take effect in this run (its type
        is unknown here, or its target step does not accept it): it is dropped."""
        try:
            if self._types is None:
                self._types = self._registry()
            event = load_event(message.record, self._types)
            if message.step is not None:
                check_target(self.driver, event, message.step)
        except (ContextSerdeError, WorkflowRuntimeError):
            return None
        return event
