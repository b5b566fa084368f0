"""Child workflows: ``ctx.run_workflow`` and ``ctx.start_workflow``.

A child is a run of another workflow started from a step. Its run id derives from the step's
delivery and the call's place among the step's journaled calls (``<step key>:<n>``, plus
``:retry<k>`` on the k-th retry of the step), so a step that runs again after a crash, a
takeover or a restore finds its child instead of starting another:

- the parent journals ``{"child": run_id}`` (a ``TickOnce``) once the child is started, and
  ``ctx.run_workflow`` journals the child's value or error once it has ended: a re-run then
  returns it without touching the child (this is what a restored in-memory run has);
- with a store, a child found in the store is resumed (a finished one gives its recorded
  ending) rather than started; a child still executing in this process is reused.

The child journals to the parent's store when it has none of its own, and its start tick
names the parent (``{"parent_run": ...}`` in its envelope's metadata, shown in its history).
A child still running when its parent's run ends (completed, failed, timed out or cancelled)
is cancelled; so is the child a step awaits when that step is cancelled while the run goes
on (a step timeout). A parent that merely stops in this process (its lease was lost, it was
detached) leaves its children alone: whoever continues the parent finds them.
"""

from __future__ import annotations

import asyncio
import copy
import weakref
from typing import TYPE_CHECKING, Any

from stepwork._core.errors import (
    JournalConflictError,
    RunNotFoundError,
    StateSerializationError,
    WorkflowConfigurationError,
)
from stepwork._core.events import StopEvent
from stepwork._core.ticks import TickPublish
from stepwork._runtime.call_outcomes import error_outcome, value_outcome
from stepwork._runtime.lineage import PARENT_RUN
from stepwork._runtime.once import CallSite, record_outcome
from stepwork._runtime.queued_children import (
    FollowingHandler,
    cancel_child,
    enqueue_child,
    queued,
    wait_for_child,
)

if TYPE_CHECKING:
    from stepwork._runtime.driver import RunDriver
    from stepwork._runtime.handler import WorkflowHandler
    from stepwork._stores.protocol import Store

__all__ = ["run_child", "start_child"]

# Children executing in this process, by (id of their store, run id): a parent step that runs
# again here while its child still runs gets that child's handler, not a second driver.
_LIVE: weakref.WeakValueDictionary[tuple[int, str], WorkflowHandler] = weakref.WeakValueDictionary()
# Each parent driver's children still running; a task per parent cancels them when it ends.
_CHILDREN: weakref.WeakKeyDictionary[RunDriver, set[WorkflowHandler]] = weakref.WeakKeyDictionary()
_WATCHERS: set[asyncio.Task[None]] = set()
_FORWARDERS: set[asyncio.Task[None]] = set()

# How long ``run_workflow`` waits between looks at a child executing in another process.
_POLL_START, _POLL_MAX = 0.05, 1.0


def _call_name(workflow: Any) -> str:
    # The class's own name, not the default workflow name: that carries the module's name,
    # which is ``__main__`` in a script and the module path when the same code is imported.
    name = getattr(workflow, "given_name", None) or type(workflow).__qualname__
    return f"child:{name}"


async def start_child(
    workflow: Any, start_event: Any, kwargs: dict[str, Any], *, forward_events: bool
) -> WorkflowHandler:
    """Start (or find again) a child run of ``workflow`` for the running step; its handler.

    Raises:
        ContextStateError: Outside a step.
        JournaledCallMismatchError: If the step's journal holds another call at this place.
    """
    site = CallSite("ctx.start_workflow")
    if queued(site.driver):
        run_id, child, journaled = _child_of(site, workflow)
        if journaled is None:
            await enqueue_child(child, site.driver.run_id, run_id, start_event, kwargs)
            await record_outcome(site, _call_name(workflow), {"child": run_id})
        return FollowingHandler(child, run_id)
    handler, _ = await _launch(site, workflow, start_event, kwargs, forward_events)
    return handler


async def run_child(
    workflow: Any, start_event: Any, kwargs: dict[str, Any], *, forward_events: bool
) -> Any:
    """Run a child of ``workflow`` for the running step and return its result (see module).

    Raises:
        ContextStateError: Outside a step.
        JournaledCallMismatchError: If the step's journal holds another call at this place.
        BaseException: The child's error (``WorkflowCancelledByUser`` if it was cancelled).
    """
    site = CallSite("ctx.run_workflow")
    journaled = site.journaled(_call_name(workflow))
    if journaled is not None and ("value" in journaled or "error" in journaled):
        return site.result(journaled)  # the child ended before the step ran again
    driver = site.driver
    if queued(driver):
        handler = await _run_queued(site, workflow, start_event, kwargs)
        if forward_events:
            await _forward(driver, handler)  # it ended: its stored events, then the end
        return await _ending(site, workflow, handler)
    handler, child = await _launch(site, workflow, start_event, kwargs, forward_events)
    try:
        result = await asyncio.shield(handler)
    except JournalConflictError:
        result = await _await_elsewhere(child, handler.run_id)
    except asyncio.CancelledError:
        if driver.writable and not handler.done():
            # The step was cancelled while its run goes on (or the run ended): the child
            # is nobody's any more. A parent that stopped here only (lease lost) keeps it.
            await _cancel(handler)
        raise
    except Exception as error:
        await _journal_ending(site, workflow, handler.run_id, error_outcome(error))
        raise
    await _journal_ending(site, workflow, handler.run_id, _child_value(site, workflow, result))
    return result


async def _run_queued(
    site: CallSite, workflow: Any, start_event: Any, kwargs: dict[str, Any]
) -> WorkflowHandler:
    """Enqueue the child (unless the step ran before), wait durably for its ending, and
    return the handler of the ended child, read from its journal (``queued_children.py``)."""
    run_id, child, journaled = _child_of(site, workflow)
    driver = site.driver
    ended = wait_for_child(driver, site.invocation, run_id)  # before the child can end
    try:
        if journaled is None:
            await enqueue_child(child, driver.run_id, run_id, start_event, kwargs)
            await record_outcome(site, _call_name(workflow), {"child": run_id})
        if (await child.store.get_run(run_id)).status == "running":
            await ended
    except asyncio.CancelledError:
        if driver.writable and not driver.view.done:
            await cancel_child(child.store, run_id)  # a step timeout: nobody awaits it now
        raise
    handler: WorkflowHandler = child.resume(run_id)  # ended: folded here, claimed by nobody
    return handler


async def _ending(site: CallSite, workflow: Any, handler: WorkflowHandler) -> Any:
    """The ended child's result (or its error, raised), journaled in the parent."""
    try:
        result = await handler
    except Exception as error:
        await _journal_ending(site, workflow, handler.run_id, error_outcome(error))
        raise
    await _journal_ending(site, workflow, handler.run_id, _child_value(site, workflow, result))
    return result


def _child_of(site: CallSite, workflow: Any) -> tuple[str, Any, dict[str, Any] | None]:
    """The child's run id (journaled, or derived from the step), the workflow journaling to
    the parent's store, and what the parent journaled at this call's place."""
    journaled = site.journaled(_call_name(workflow))
    if journaled is not None:
        run_id = str(journaled["child"])
    else:
        attempts = site.invocation.delivery.attempts
        run_id = f"{site.step_key}:{site.number}" + (f":retry{attempts}" if attempts else "")
    driver = site.driver
    store: Store | None = driver.journal.store if driver.journal is not None else None
    return run_id, _with_store(workflow, store), journaled


async def _launch(
    site: CallSite,
    workflow: Any,
    start_event: Any,
    kwargs: dict[str, Any],
    forward_events: bool,
) -> tuple[WorkflowHandler, Any]:
    name = _call_name(workflow)
    run_id, child, journaled = _child_of(site, workflow)
    driver = site.driver
    handler = await _find(child, run_id)
    if handler is None:
        token = PARENT_RUN.set(driver.run_id)
        try:
            handler = child.run(run_id=run_id, start_event=start_event, **kwargs)
        finally:
            PARENT_RUN.reset(token)
        if child.store is not None:
            _LIVE[(id(child.store), run_id)] = handler
    if journaled is None:
        await record_outcome(site, name, {"child": run_id})
    _adopt(driver, handler)
    if forward_events:
        task = asyncio.get_running_loop().create_task(_forward(driver, handler))
        _FORWARDERS.add(task)
        task.add_done_callback(_FORWARDERS.discard)
    return handler, child


def _with_store(workflow: Any, store: Store | None) -> Any:
    """``workflow`` journaling to the parent's ``store`` when it has none of its own."""
    if workflow.store is not None or store is None:
        return workflow
    if not hasattr(workflow, "use_store"):
        raise WorkflowConfigurationError(
            f"{type(workflow).__name__} is not a stepwork Workflow: a child workflow must be "
            "one (an instance of a Workflow subclass)."
        )
    child = copy.copy(workflow)  # the caller's instance keeps its own (lack of a) store
    child.use_store(store)
    return child


async def _find(workflow: Any, run_id: str) -> WorkflowHandler | None:
    """The handler of child ``run_id`` if it exists already: live here, or in the store."""
    store = workflow.store
    if store is None:
        return None
    live = _LIVE.get((id(store), run_id))
    if live is not None and not live.done():
        return live
    await store.open()
    try:
        await store.get_run(run_id)
    except RunNotFoundError:
        return None
    handler: WorkflowHandler = workflow.resume(run_id)
    _LIVE[(id(store), run_id)] = handler
    return handler


async def _await_elsewhere(workflow: Any, run_id: str) -> Any:
    """Wait for child ``run_id``, executing in another live process, to end; its result."""
    store = workflow.store
    delay = _POLL_START
    while (await store.get_run(run_id)).status == "running":
        await asyncio.sleep(delay)  # no notification reaches across processes on every store
        delay = min(delay * 2, _POLL_MAX)
    return await workflow.resume(run_id)


def _child_value(site: CallSite, workflow: Any, result: Any) -> dict[str, Any]:
    try:
        outcome = value_outcome(
            _call_name(workflow), result, run_id=site.driver.run_id, step=site.step
        )
    except StateSerializationError:
        return {}  # too large or not JSON: the child's own journal keeps it (with a store)
    return outcome


async def _journal_ending(
    site: CallSite, workflow: Any, run_id: str, outcome: dict[str, Any]
) -> None:
    if outcome:
        await record_outcome(site, _call_name(workflow), {"child": run_id, **outcome})


def _adopt(driver: RunDriver, handler: WorkflowHandler) -> None:
    """Cancel ``handler``'s run if ``driver``'s run ends before it."""
    if handler.done():
        return
    children = _CHILDREN.get(driver)
    if children is None:
        children = _CHILDREN[driver] = set()
        task = asyncio.get_running_loop().create_task(_watch(driver, children))
        _WATCHERS.add(task)
        task.add_done_callback(_WATCHERS.discard)
    children.add(handler)
    handler.add_done_callback(children.discard)


async def _watch(driver: RunDriver, children: set[WorkflowHandler]) -> None:
    log = driver.log
    while not log.closed:
        await log.wait_beyond(len(log))
        if not children:
            _CHILDREN.pop(driver, None)
            return
    if driver.view.done and driver.writable:
        await asyncio.gather(*(_cancel(child) for child in list(children)))


async def _cancel(handler: WorkflowHandler) -> None:
    if not handler.done():
        await handler.cancel_run()


async def _forward(driver: RunDriver, handler: WorkflowHandler) -> None:
    """Publish the child's stream events (not internal ones, not its ending) to the parent's
    stream. A child found again after the parent re-ran forwards from its first event again."""
    if not await handler.attached():
        return
    child = handler.driver
    assert child is not None
    async for _, event in child.log.follow(0, internal=False):
        if isinstance(event, StopEvent) or driver.view.done or not driver.writable:
            continue
        driver.apply(TickPublish(driver.now(), None, event))
