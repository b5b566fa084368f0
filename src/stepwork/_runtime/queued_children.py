"""Children in a worker fleet: enqueued for any worker, waited for durably.

In a run that a worker executes (``Journal.children_queued``, set when a worker claims it),
``ctx.run_workflow`` and ``ctx.start_workflow`` do not run the child in this process:

- **The child is enqueued** (its start tick, runnable at once, ``runs.parent_run_id`` set,
  ``{"parent_run": ...}`` in the start tick's metadata) under the same deterministic run id as
  in-process children, so any worker may claim it. A step that runs again finds it stored.
- **The parent waits like ``ctx.wait_for_event``** for a :class:`ChildEnded` whose
  ``run_id`` is the child's. The waiter is registered *before* the child is enqueued (so no
  ending can arrive unheard), and the child's row is read once after that: a child that
  ended already is not waited for. While it waits the parent is idle, so its worker releases
  it (no slot, no memory). The child's holder journals the child's ending together with the
  notice for the parent's inbox (``JournalBatch.notify``, one transaction), which makes the
  parent claimable; its step runs again from the top, finds the child journaled and ended,
  and returns its result (or raises its error), read from the child's journal.
- **Cancellation.** A step cancelled while its run goes on (a step timeout) delivers a cancel
  to the child it awaits; a run that ends here (completed, failed, timed out, cancelled)
  delivers a cancel to each of its children still running (:func:`cancel_children_when_ended`).
  A run merely released or handed back leaves them alone. That delivery happens right after
  the parent's ending is stored: a worker that dies in between leaves those children running.

``ctx.start_workflow`` returns a :class:`FollowingHandler`: sends and cancels go through the
child's inbox, and awaiting it follows the child's row in the store (50 ms to 1 s backoff)
until it ended. Use ``ctx.run_workflow`` to wait without holding the step.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import AsyncGenerator, Callable, Generator
from typing import TYPE_CHECKING, Any

from stepwork._core.envelope import TickEnvelope
from stepwork._core.errors import JournalConflictError, StoreError, WorkflowRuntimeError
from stepwork._core.ticks import TickOnce, TickStart, TickWait
from stepwork._runtime.child_notice import ChildEnded, waiter_key
from stepwork._runtime.envelopes import process_writer_id
from stepwork._runtime.handler import WorkflowHandler
from stepwork._runtime.inbox import deliver_cancel
from stepwork._runtime.lineage import PARENT_META_KEY
from stepwork._runtime.start_events import start_event_for
from stepwork._runtime.trace_journal import caller_trace
from stepwork._stores.protocol import JournalBatch
from stepwork._stores.tick_codec import dump_envelope

if TYPE_CHECKING:
    from stepwork._core.events import Event
    from stepwork._core.state import Invocation
    from stepwork._runtime.driver import RunDriver
    from stepwork._stores.protocol import Store

__all__ = [
    "FollowingHandler",
    "cancel_child",
    "cancel_children_when_ended",
    "enqueue_child",
    "queued",
    "wait_for_child",
]

# How long a ``FollowingHandler`` waits between reads of its child's row.
_POLL_START, _POLL_MAX = 0.05, 1.0
_TASKS: set[asyncio.Task[None]] = set()


def queued(driver: RunDriver) -> bool:
    """True when ``driver``'s run is executed by a worker: its children are enqueued."""
    journal = driver.journal
    return journal is not None and journal.children_queued


async def enqueue_child(
    workflow: Any, parent: str, run_id: str, start_event: Any, kwargs: dict[str, Any]
) -> None:
    """Store child ``run_id`` of ``workflow`` (its start tick, naming ``parent``), runnable
    at once; a child stored before (the step ran again) is left as it is.

    Raises:
        StartEventError: If the start event or its fields do not fit the workflow.
    """
    store: Store = workflow.store
    event = start_event_for(workflow, start_event, kwargs)
    await store.open()
    now = time.time()
    tick = TickStart(now, run_id, event, workflow.timeout)
    meta = {**caller_trace(), PARENT_META_KEY: parent}
    record = dump_envelope(TickEnvelope(tick, writer=process_writer_id(), meta=meta))
    batch = JournalBatch(
        run_id, 0, [record], workflow=workflow.workflow_name, created_at=now,
        runnable_at=now, version=workflow.workflow_version, parent_run_id=parent,
    )  # fmt: skip
    with contextlib.suppress(JournalConflictError):  # stored already: that is the child
        await store.append(batch)


def wait_for_child(driver: RunDriver, invocation: Invocation, run_id: str) -> asyncio.Future[Any]:
    """Suspend ``invocation`` on child ``run_id``'s :class:`ChildEnded` (as
    ``ctx.wait_for_event`` does, no timeout); the future resolves with it. The wait is in the
    run's state once this returns, so a notice taken in from now on resolves it."""
    key = waiter_key(run_id)
    future = driver.waits.register(invocation.id, key)
    driver.call_soon(TickWait, invocation.id, key, ChildEnded, (("run_id", run_id),), None, None)
    return future


async def cancel_child(store: Store, run_id: str) -> None:
    """Deliver a cancel to child ``run_id`` unless it has ended (or is gone)."""
    with contextlib.suppress(StoreError, WorkflowRuntimeError):
        await deliver_cancel(store, run_id)


def cancel_children_when_ended(driver: RunDriver, done: asyncio.Future[Any]) -> None:
    """When ``done`` (the run's handler) completes because the run ended here, deliver a
    cancel to each of its children still running."""
    done.add_done_callback(functools.partial(_ended, driver))


def _ended(driver: RunDriver, _: object) -> None:
    journal = driver.journal
    if journal is None or not driver.view.done or not driver.writable:
        return  # released, handed back or lost here: whoever continues the run keeps them
    if driver.ticks.start == 0 and not any(_starts_child(tick) for tick in driver.ticks):
        return  # no child was ever started: spare the store a query
    task = asyncio.get_running_loop().create_task(_cancel_running(journal.store, driver.run_id))
    _TASKS.add(task)
    task.add_done_callback(_TASKS.discard)


def _starts_child(tick: Any) -> bool:
    return type(tick) is TickOnce and isinstance(tick.outcome, dict) and "child" in tick.outcome


async def _cancel_running(store: Store, parent: str) -> None:
    with contextlib.suppress(StoreError):
        children = await store.list_runs(parent=parent, status=["running"])
        await asyncio.gather(*(cancel_child(store, child.run_id) for child in children))


class FollowingHandler(WorkflowHandler):
    """The handler ``ctx.start_workflow`` returns for a child enqueued for the fleet.

    ``send_event`` and ``cancel_run`` go through the child's inbox. Awaiting it (or adding a
    done callback, as ``asyncio.gather`` does) starts following the child's row in the store
    until it ended, then gives its result or raises its error. Its events are not streamed
    here (read them from the store, e.g. ``GET /runs/{run_id}/events``).
    """

    def __init__(self, workflow: Any, run_id: str) -> None:
        from stepwork._runtime.context import Context  # the context module imports this one

        super().__init__(Context(workflow), run_id, workflow.workflow_name)
        self.store = workflow.store
        self._workflow = workflow
        self._following: asyncio.Task[None] | None = None

    def _elsewhere(self) -> Store | None:
        return self.store

    def __await__(self) -> Generator[Any, None, Any]:
        self.follow()
        return super().__await__()

    def add_done_callback(self, fn: Callable[[Any], object], *, context: Any = None) -> None:
        """As ``asyncio.Future.add_done_callback``, and start following the child."""
        self.follow()
        super().add_done_callback(fn, context=context)

    def follow(self) -> None:
        """Start following the child's row until it ended (once)."""
        if self._following is None and not self.done():
            self._following = asyncio.get_running_loop().create_task(self._follow())

    async def _follow(self) -> None:
        assert self.store is not None
        delay = _POLL_START
        try:
            while (await self.store.get_run(self.run_id)).status == "running":
                await asyncio.sleep(delay)  # nothing notifies this process of the child's end
                delay = min(delay * 2, _POLL_MAX)
            result = await self._workflow.resume(self.run_id)
        except Exception as error:
            if not self.done():
                self.set_exception(error)
            return
        if not self.done():
            self.set_result(result)

    async def stream_events(self, expose_internal: bool = False) -> AsyncGenerator[Event, None]:
        """Not available: the child executes in another worker.

        Raises:
            WorkflowRuntimeError: Always.
        """
        raise WorkflowRuntimeError(
            f"Child run {self.run_id!r} executes in a worker of the fleet, not here: read its "
            "events from the store (Store.load_events, GET /runs/{run_id}/events), or pass "
            "forward_events=True to ctx.run_workflow.",
            run_id=self.run_id,
        )
        yield  # pragma: no cover - makes this an async generator
