"""Resuming durable runs from their journal.

A run is rebuilt by folding its journaled ticks through the reducer: no step is called while
folding, so a step whose result was journaled never runs again. Steps that were running when
the process stopped had no result journaled; the resumed run starts them again (at least once
for in-flight steps; ``ctx.step_key`` is stable across those re-runs, for de-duplicating side
effects). The fold starts from the run's latest checkpoint when it has a usable one
(``checkpoints.py``), so only the ticks after it are read. Events already published stay in the
store: a reader following from an earlier offset is served them from there, a page at a time,
so readers following by offset continue where they were.

An unfinished run is claimed first (``Store.claim_run``, which bumps its epoch so an earlier
holder's writes are refused) and then executed under that lease; a run whose lease is alive in
another process is not resumed here (``resume_all`` skips it, ``resume_run`` fails with
``JournalConflictError``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol

from stepwork._core.envelope import TickEnvelope
from stepwork._core.errors import (
    ContextSerdeError,
    ContextStateError,
    JournalConflictError,
    JournalCorruptError,
    WorkflowRuntimeError,
)
from stepwork._core.events import Event
from stepwork._core.reducer import fold
from stepwork._core.state import RunState
from stepwork._core.ticks import TickStart
from stepwork._runtime.checkpoints import (
    Restored,
    reload,
    restore_checkpoint,
    usable_checkpoint,
)
from stepwork._runtime.context import Context
from stepwork._runtime.driver import RunDriver
from stepwork._runtime.handler import WorkflowHandler
from stepwork._runtime.journal import Journal
from stepwork._runtime.launch import LaunchedWorkflow
from stepwork._runtime.lease import (
    PROCESS_OWNER,
    LeaseSettings,
    claimed_keeper,
    dead_local_owner,
    hold_run,
)
from stepwork._runtime.observe import report_takeover
from stepwork._runtime.queued_children import cancel_children_when_ended
from stepwork._runtime.snapshot import registry_for
from stepwork._runtime.versions import check_version
from stepwork._stores.codec import load_event
from stepwork._stores.lease_rules import lease_is_free
from stepwork._stores.records import corrupt_record
from stepwork._stores.tick_codec import load_envelope

if TYPE_CHECKING:
    from stepwork._runtime.definition import WorkflowDefinition
    from stepwork._stores.protocol import Lease, RunTail, Store
    from stepwork._stores.type_registry import TypeRegistry

__all__ = [
    "JOURNALED_TRACEBACK_NOTE",
    "DurableWorkflow",
    "load_context",
    "resume_all",
    "resume_run",
    "store_of",
]


class DurableWorkflow(LaunchedWorkflow, Protocol):
    """What resuming, loading and time travel need of a workflow (``Workflow`` is one)."""

    def definition(self, skips: frozenset[str] = ...) -> WorkflowDefinition:
        """The workflow class's steps, spec and reducer."""
        ...


_log = logging.getLogger("stepwork.runtime")
_checkpoints_log = logging.getLogger("stepwork.checkpoints")

# Resume tasks in flight (the loop holds tasks weakly).
_RESUMING: set[asyncio.Task[None]] = set()

#: First line of the note that carries a resumed run's journaled step traceback.
JOURNALED_TRACEBACK_NOTE = "The step's traceback, as journaled when it failed:"


def resume_run(
    workflow: DurableWorkflow,
    run_id: str,
    before: Callable[[], Awaitable[None]] | None = None,
    *,
    lease: Lease | None = None,
    settings: LeaseSettings | None = None,
) -> WorkflowHandler:
    """Continue run ``run_id`` of ``workflow`` from its journal; returns its handler at once.

    ``before`` runs first (a fork uses it to write the new run's journal). ``lease``: the
    run was claimed already (by a worker); else an unfinished run is claimed here.
    ``settings``: the lease's ttl and heartbeat (default: :meth:`LeaseSettings.from_env`).

    Raises:
        WorkflowRuntimeError: If the workflow has no store.
    """
    store = store_of(workflow)
    context: Context[Any] = Context(workflow)
    handler = WorkflowHandler(context, run_id, workflow.workflow_name)
    handler.store = store
    task = asyncio.get_running_loop().create_task(
        _resume(workflow, store, context, handler, before, lease, settings)
    )
    # Keep a reference until it ends: the loop only holds tasks weakly.
    _RESUMING.add(task)
    task.add_done_callback(_RESUMING.discard)
    return handler


async def resume_all(workflow: DurableWorkflow) -> list[WorkflowHandler]:
    """Resume every unfinished run of ``workflow`` in its store that no other live process
    holds (its lease is free, lapsed, or this process's) and that was started by the version
    this process serves (others are logged at WARNING and left alone).

    Raises:
        WorkflowRuntimeError: If the workflow has no store.
    """
    store = store_of(workflow)
    await store.open()
    runs = await store.list_runs(status=["running"], workflow=[workflow.workflow_name])
    now = time.time()
    serving = workflow.workflow_version
    for run in runs:
        if run.version not in (None, serving):
            _log.warning(
                "run %r of %r is not resumed: it was started by version %r and this process "
                "serves version %r (see docs/scale-out.md)",
                run.run_id, run.workflow, run.version, serving,
            )  # fmt: skip
    return [
        resume_run(workflow, run.run_id)
        for run in runs
        if run.version in (None, serving)
        and (
            run.owner == PROCESS_OWNER
            or lease_is_free(run.owner, run.lease_expires, now=now)
            or dead_local_owner(run.owner) is not None
        )
    ]


async def load_context(workflow: DurableWorkflow, run_id: str) -> Context[Any]:
    """A new context holding the final ``ctx.store`` state of finished run ``run_id``.

    Raises:
        WorkflowRuntimeError: If the workflow has no store.
        RunNotFoundError: If the store has no such run.
        ContextStateError: If the run has not finished, or is another workflow's.
        JournalCorruptError: If the run's journal cannot be read.
    """
    store = store_of(workflow)
    await store.open()
    record = await store.get_run(run_id)
    if record.workflow != workflow.workflow_name:
        raise ContextStateError(
            f"Run '{run_id}' is a run of workflow '{record.workflow}', not of "
            f"'{workflow.workflow_name}': its state cannot be carried into this workflow."
        )
    if record.status == "running":
        raise ContextStateError(
            f"Run '{run_id}' has not finished: a context can be loaded from a finished run only "
            "(wait for it, or cancel it first)."
        )
    context: Context[Any] = Context(workflow)
    await _fold_journal(workflow, store, run_id, context, registry_for(workflow))
    return context


def store_of(workflow: DurableWorkflow) -> Store:
    """The workflow's store.

    Raises:
        WorkflowRuntimeError: If it has none.
    """
    store = workflow.store
    if store is None:
        raise WorkflowRuntimeError(
            f"Workflow '{workflow.workflow_name}' has no store to resume from: construct it "
            "with store='sqlite:///runs.db' (or another store)."
        )
    return store


async def _resume(
    workflow: DurableWorkflow,
    store: Store,
    context: Context[Any],
    handler: WorkflowHandler,
    before: Callable[[], Awaitable[None]] | None,
    lease: Lease | None = None,
    settings: LeaseSettings | None = None,
) -> None:
    run_id = handler.run_id
    given = lease is not None  # claimed by a worker
    # A worker's claim is renewed from now on, not once the run is folded: a worker that
    # claimed thousands of runs at once reads them one by one, longer than a lease lasts.
    early = None if lease is None else claimed_keeper(store, lease, settings)
    try:
        await store.open()
        if before is not None:
            await before()
        # Claimed already (a worker): the row, checkpoint and tail in one read where offered.
        tail = None if lease is None else await _read_tail(store, run_id)
        run = tail.record if tail is not None else await store.get_run(run_id)
        if run.status == "running":
            check_version(run_id, run.workflow, run.version, workflow.workflow_version)
        settings = settings or LeaseSettings.from_env()
        # Read under a lease given at the start (a worker's claim), the row's count of events
        # stays true: nobody else appends now. A run claimed below is counted again after.
        published: int | None = run.events if lease is not None else None
        if lease is None and run.status == "running":
            dead = dead_local_owner(run.owner)
            lease = await store.claim_run(run_id, PROCESS_OWNER, settings.ttl, take_from=dead)
            if lease is None:
                raise JournalConflictError(
                    f"Run {run_id!r} is executed by another live process ({run.owner}, "
                    "lease renewed until "
                    f"{run.lease_expires}); it was not resumed here. Send it events or "
                    "read it through the store; if that process died, its lease lapses within "
                    f"{settings.ttl} s and the run can be resumed then.",
                    run_id=run_id,
                )
        registry = registry_for(workflow)
        folded = await _fold_journal(workflow, store, run_id, context, registry, tail)
        envelopes, state = folded.envelopes, folded.state
        if published is None:  # counted after the claim: nobody else appends to the run now
            published = (await store.get_run(run_id)).events
        definition = workflow.definition()
        journal = Journal(
            store,
            run_id,
            workflow.workflow_name,
            next_seq=folded.first_seq + len(envelopes),
            next_offset=published,
            create=False,
        )
        driver = RunDriver(
            definition,
            workflow,
            context,
            run_id,
            state,
            workflow.clock,
            handler.complete,
            journal,
        )
        driver.ticks.start = folded.first_seq
        driver.ticks.extend(envelopes)
        if folded.restored is not None:
            driver.sent_before = folded.restored.sent
            driver.base_state = partial(reload, folded.restored, registry, list(definition.specs))
        journal.checkpoints.sent.update(driver.sent_before)
        for envelope in envelopes:
            journal.checkpoints.note_tick(envelope.tick)
        driver.log.continue_from(published, partial(_earlier_events, store, run_id, registry))
        context.wiring.attach(driver)
        handler.bind(driver)
        if lease is not None:
            hold_run(driver, lease, settings, handler, keeper=early)
        if given:  # a worker's: children are enqueued for the fleet and end in an inbox
            journal.children_queued = True
            journal.notify_parent = run.parent_run_id
            cancel_children_when_ended(driver, handler)
        if state.done:
            driver.log.close()
            handler.complete(state.stop_event, _with_journaled_traceback(state))
        else:
            driver.start(None, workflow.timeout)
        if lease is not None and lease.previous_owner is not None and lease.taken_over:
            report_takeover(run_id, workflow.workflow_name, lease.previous_owner)
    except Exception as error:
        if early is not None:
            early.cancel()
        if not handler.done():
            handler.set_exception(error)
            handler.exception()  # reported by awaiting the handler; no "never retrieved" noise


@dataclass(frozen=True)
class _Folded:
    """A run rebuilt from its journal: the ticks loaded (from ``first_seq`` on), its state,
    and what a checkpoint it started from carried."""

    envelopes: list[TickEnvelope]
    state: RunState
    first_seq: int
    restored: Restored | None


async def _read_tail(store: Store, run_id: str) -> RunTail | None:
    """The run's row, checkpoint and ticks after it in one read, if ``store`` offers it
    (``load_tail``); ``None`` when it does not or the read found damage (the usual reads
    then say what, or fold around it)."""
    load_tail = getattr(store, "load_tail", None)
    if load_tail is None:
        return None
    try:
        tail: RunTail = await load_tail(run_id)
    except JournalCorruptError:
        return None
    return tail


async def _fold_journal(
    workflow: DurableWorkflow,
    store: Store,
    run_id: str,
    context: Context[Any],
    registry: TypeRegistry,
    tail: RunTail | None = None,
) -> _Folded:
    """Rebuild run ``run_id``: from its latest usable checkpoint and the ticks after it, else
    by folding every tick from a fresh state (no step runs); give ``context`` the run's
    ``ctx.store`` state. ``tail``: the checkpoint and ticks, read already.

    Raises:
        JournalCorruptError: If a tick record cannot be read or is missing, or the journal does
            not begin with the run's start tick (names the run and the record).
    """
    definition = workflow.definition()
    records = None  # the ticks to fold, when read already
    if tail is None:
        restored = await restore_checkpoint(store, run_id, registry, definition.specs)
    else:
        restored = usable_checkpoint(run_id, tail.checkpoint, registry, definition.specs)
        if restored is not None or tail.checkpoint is None:
            records = tail.ticks  # after the checkpoint used, or every tick
    folded: _Folded | None = None
    if restored is not None:
        try:
            folded = await _fold_ticks(definition, store, run_id, registry, restored, records)
        except JournalCorruptError:
            raise  # a damaged tick: folding every tick would meet it too
        except Exception as error:  # the checkpoint does not fit its tail: never guess
            _checkpoints_log.warning(
                "Run %r: the ticks after its checkpoint at seq %d do not fold onto it (%r); "
                "folding every tick instead",
                run_id,
                restored.seq,
                error,
            )
            records = None  # folding every tick reads them all
    if folded is None:
        folded = await _fold_ticks(definition, store, run_id, registry, None, records)
    state = folded.state
    if state.state is not None:
        try:
            context.wiring.restore_store(state.state, registry)
        except ContextSerdeError as error:
            raise JournalCorruptError(
                f"The journal of run {run_id!r} is corrupt: the ctx.store state its ticks "
                f"build cannot be read: {error}. Fork the run from an earlier tick (see its "
                f"history), or delete the run (Store.delete_run({run_id!r})).",
                run_id=run_id,
                record="tick",
            ) from error
    return folded


async def _fold_ticks(
    definition: WorkflowDefinition,
    store: Store,
    run_id: str,
    registry: TypeRegistry,
    restored: Restored | None,
    records: list[dict[str, Any]] | None = None,
) -> _Folded:
    after = -1 if restored is None else restored.seq
    if records is None:
        records = await store.load_ticks(run_id, after_seq=after)
    envelopes = [
        _load(record, registry, definition.specs, run_id, seq)
        for seq, record in enumerate(records, after + 1)
    ]
    ticks = [envelope.tick for envelope in envelopes]
    if restored is None:
        if not ticks or not isinstance(ticks[0], TickStart):
            # Folding without it would run the workflow from nothing: never resume that.
            found = f"a {ticks[0].kind!r} tick" if ticks else "no tick at all"
            raise corrupt_record(run_id, "tick", 0, f"the run's start tick is not there ({found})")
        base = definition.reducer.new_state(run_id)
    else:
        base = restored.state
    state = fold(definition.reducer, ticks, base)
    return _Folded(envelopes, state, after + 1, restored)


def _with_journaled_traceback(state: RunState) -> BaseException | None:
    """The error of a finished run read back from its journal, carrying the step's journaled
    traceback as a note (the rebuilt exception has no traceback of its own)."""
    error = state.error
    text = state.error_traceback
    if (
        error is not None
        and text is not None
        and JOURNALED_TRACEBACK_NOTE not in "".join(getattr(error, "__notes__", ()))
    ):
        error.add_note(f"{JOURNALED_TRACEBACK_NOTE}\n{text.rstrip()}")
    return error


def _load(
    record: Any, registry: Any, steps: Collection[str], run_id: str, seq: int
) -> TickEnvelope:
    try:
        return load_envelope(record, registry, steps)
    except JournalCorruptError as error:  # a newer schema: say which run and record
        raise JournalCorruptError(
            f"Run {run_id!r}, tick record seq {seq}: {error}",
            run_id=run_id,
            record="tick",
            seq=seq,
        ) from error
    except ContextSerdeError as error:
        raise corrupt_record(run_id, "tick", seq, f"it cannot be read: {error}") from error


async def _earlier_events(
    store: Store, run_id: str, registry: TypeRegistry, start: int, end: int
) -> list[Event]:
    """The run's stored events at offsets ``start`` up to ``end``."""
    records = await store.load_events(run_id, after_offset=start - 1, limit=end - start)
    return [_load_event(record, registry, run_id, offset) for offset, record in records]


def _load_event(record: Any, registry: TypeRegistry, run_id: str, offset: int) -> Event:
    try:
        return load_event(record, registry)
    except ContextSerdeError as error:
        raise corrupt_record(run_id, "event", offset, f"it cannot be read: {error}") from error
