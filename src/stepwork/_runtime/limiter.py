"""Running a limited step (``@step(limit=name)``): hold a slot of its limit for the attempt.

An attempt waits for a slot, runs, and releases the slot however it ends (returned, raised,
timed out, cancelled). The slots live where the run's journal lives (``store.limits``: SQLite,
PostgreSQL or a ``MemoryStore``), so every process sharing the store shares them; a run
without a store uses this process's limiter. A slot belongs to the run's lease: if this
process dies, the slot is dead once the lease is, and the next grant pass drops it.

The step's ``timeout`` counts from when the slot is held: waiting for a slot is not running.
It is kept here, on the run's clock, instead of by the reducer's step timer (which starts
when the invocation is scheduled), so it is not journaled: an attempt run again after a
crash gets its whole timeout again.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
import weakref
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

from stepwork._core.errors import LimitConflictError, LimitKeyError, StepTimeoutError
from stepwork._core.limits import Limit
from stepwork._core.state import Invocation
from stepwork._core.ticks import TickStart
from stepwork._stores.limit_protocol import LimitStore, SlotClaim, limits_of
from stepwork._stores.memory_limits import LOCAL_LIMITS

if TYPE_CHECKING:
    from stepwork._runtime.definition import WorkflowDefinition
    from stepwork._runtime.driver import RunDriver

__all__ = ["check_limit_keys", "limit_key", "remember_start", "run_limited"]

T = TypeVar("T")

_STARTS: weakref.WeakKeyDictionary[RunDriver, Any] = weakref.WeakKeyDictionary()
_DEFINED: weakref.WeakKeyDictionary[LimitStore, dict[str, Limit]] = weakref.WeakKeyDictionary()
_MISSING = object()


def limit_key(event: Any, field: str, run_id: str) -> str:
    """The key value a ``Limit(key=field)`` reads from a run's start event: the field's value
    as text (``str(value)``).

    Raises:
        LimitKeyError: If the event has no such field, or it is ``None``.
    """
    value = getattr(event, field, _MISSING)
    if value is _MISSING or value is None:
        raise LimitKeyError(
            f"Run {run_id!r}: the start event ({type(event).__name__}) has no {field!r} field, "
            f"which a keyed limit (Limit(key={field!r})) of the workflow splits its slots by. "
            f"Start the run with {field}=<value>, e.g. workflow.run({field}='acme').",
            run_id=run_id,
        )
    return str(value)


def check_limit_keys(
    limits: Mapping[str, Limit], definition: WorkflowDefinition, event: Any, run_id: str
) -> None:
    """Refuse a start event lacking a field that a keyed limit used by a step reads.

    Raises:
        LimitKeyError: Naming the field.
    """
    used = {config.limit for config in definition.configs.values() if config.limit is not None}
    for name in used:
        limit = limits.get(name)
        if limit is not None and limit.key is not None:
            limit_key(event, limit.key, run_id)


def remember_start(driver: RunDriver, event: Any) -> None:
    """Keep the start event of a run started here (keyed limits read it)."""
    _STARTS[driver] = event


async def run_limited(
    driver: RunDriver,
    invocation: Invocation,
    name: str,
    step_timeout: float | None,
    call: Callable[[], Awaitable[T]],
) -> T:
    """Hold a slot of limit ``name`` while ``call()`` runs, within ``step_timeout`` from then.

    Raises:
        LimitConflictError: If the store keeps other numbers for ``name``.
        LimitKeyError: If the limit is keyed and the run's start event lacks its field.
        StepTimeoutError: If the step ran longer than ``timeout`` once it held its slot.
    """
    limit: Limit = getattr(driver.workflow, "limits", {})[name]
    journal = driver.journal
    store = LOCAL_LIMITS if journal is None else limits_of(journal.store)
    await _define(store, name, limit, driver.run_id)
    key = (
        "" if limit.key is None else limit_key(await _start_event(driver), limit.key, driver.run_id)
    )
    lease = None if journal is None else journal.lease
    claim = SlotClaim(
        name,
        key,
        f"{driver.run_id}:{invocation.id}:{uuid.uuid4().hex[:12]}",
        driver.run_id,
        None if lease is None else lease.owner,
        0 if lease is None else lease.epoch,
    )
    clock = driver.clock
    try:
        while True:
            found = await store.acquire(claim, limit, clock.now())
            if found.granted:
                break
            await _wait(store, claim, clock, found.retry_at)
        return await _within(driver, invocation, step_timeout, call)
    finally:
        # Shielded: a cancelled attempt still gives its slot (or its place in line) back.
        with contextlib.suppress(Exception):
            await asyncio.shield(store.release(claim, limit, clock.now()))


async def _wait(store: LimitStore, claim: SlotClaim, clock: Any, retry_at: float | None) -> None:
    """Until a release may have freed a slot, or the rate window frees a start (on the run's
    clock, so a test's manual clock moves it)."""
    if retry_at is None:
        await store.changed(claim, store.poll_interval)
        return
    loop = asyncio.get_running_loop()
    due: asyncio.Future[None] = loop.create_future()
    handle = clock.call_at(retry_at, partial(_settle, due))
    changed = loop.create_task(store.changed(claim, store.poll_interval))
    try:
        await asyncio.wait({due, changed}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        handle.cancel()
        changed.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await changed


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


async def _within(
    driver: RunDriver,
    invocation: Invocation,
    step_timeout: float | None,
    call: Callable[[], Awaitable[T]],
) -> T:
    if step_timeout is None:
        return await call()
    task = asyncio.current_task()
    assert task is not None
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    handle = driver.clock.call_at(driver.clock.now() + step_timeout, expire)
    try:
        return await call()
    except asyncio.CancelledError:
        if not expired:
            raise
        task.uncancel()
        step = invocation.delivery.step
        raise StepTimeoutError(
            f"Step '{step}' did not finish within its timeout of {step_timeout} seconds (counted "
            "from when it got a slot of its limit).",
            run_id=driver.run_id,
            step_name=step,
        ) from None
    finally:
        handle.cancel()


async def _define(store: LimitStore, name: str, limit: Limit, run_id: str) -> None:
    known = _DEFINED.setdefault(store, {})
    if known.get(name) == limit:
        return
    recorded = await store.define(name, limit)
    if recorded != limit:
        raise LimitConflictError(
            f"Limit {name!r} is declared here as {limit.describe()}, but the store keeps "
            f"{recorded.describe()} for it (declared by the first process that used it). "
            "Every process sharing a store must declare the same numbers: deploy one "
            "declaration everywhere. To change a limit, stop the processes using it, then "
            f"delete its row (DELETE FROM limit_defs WHERE name = '{name}') and start them "
            "with the new numbers.",
            run_id=run_id,
            declared=limit.describe(),
            recorded=recorded.describe(),
        )
    known[name] = limit


async def _start_event(driver: RunDriver) -> Any:
    """The run's start event: kept when the run started here, else its journaled start tick."""
    event = _STARTS.get(driver, _MISSING)
    if event is _MISSING:
        journal = driver.journal
        assert journal is not None  # a run without a store started here
        from stepwork._runtime.snapshot import SnapshotWorkflow, registry_for
        from stepwork._stores.tick_codec import load_envelope

        records = await journal.store.load_ticks(driver.run_id, after_seq=-1, limit=1)
        registry = registry_for(cast(SnapshotWorkflow, driver.workflow))
        tick = load_envelope(records[0], registry, driver.definition.specs).tick
        event = tick.start_event if isinstance(tick, TickStart) else None
        _STARTS[driver] = event
    return event
