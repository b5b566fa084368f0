"""``Worker``: claims runnable runs from a shared store and continues them under leases.

Any number of workers, in any number of processes (on PostgreSQL, on any number of hosts; on
SQLite, on one host), serve one store. Each loop of a worker:

1. claims up to ``concurrency`` minus what it runs already (``Store.claim_runnable``: SKIP
   LOCKED on PostgreSQL, one ``BEGIN IMMEDIATE`` on SQLite), only runs of its workflows;
2. resumes each claimed run with the usual resume machinery (fold the journal, restart the
   in-flight steps) under that lease, renewed by a ``LeaseKeeper``;
3. waits until a run ends, the store NOTIFYs that a run became runnable (PostgreSQL), or
   ``poll`` seconds pass: a lapsed lease sends no notification, so the poll is what bounds
   takeover after a crash to ``ttl + poll``. A notification naming a run held here makes it
   look in its inbox at once;
4. releases the runs that have only waited (for a person, an event, a wait's timer or a
   ``ctx.sleep``) for ``idle_after`` seconds: their work stops here without writing, their
   memory goes, and the store makes them runnable again at their earliest timer (or at
   once, by ``deliver``). They no longer count against ``concurrency``. The grace period
   keeps a run that is answered at once from being folded again and again.

On stop (SIGTERM in ``stepwork worker``) it hands its unfinished runs back: their work stops
here without writing, and their leases are released, runnable at once by another worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from stepwork._core.envelope import TickEnvelope
from stepwork._core.errors import StoreError, WorkflowConfigurationError
from stepwork._core.ticks import TickStart
from stepwork._runtime.durable import resume_run, store_of
from stepwork._runtime.envelopes import process_writer_id
from stepwork._runtime.lease import PROCESS_OWNER, LeaseSettings
from stepwork._runtime.limiter import check_limit_keys
from stepwork._runtime.schedule_firer import ScheduleFirer
from stepwork._runtime.trace_journal import caller_trace
from stepwork._stores.protocol import JournalBatch, Lease, Store
from stepwork._stores.tick_codec import dump_envelope

if TYPE_CHECKING:
    from stepwork._core.events import StartEvent
    from stepwork._runtime.handler import WorkflowHandler
    from stepwork._runtime.workflow import Workflow

__all__ = ["SCAN_PERIOD", "Worker", "enqueue"]

SCAN_PERIOD = 30.0
"""Seconds between a worker's scans for runs of other versions, which it logs once each."""

_log = logging.getLogger("stepwork.worker")


async def enqueue(workflow: Workflow, start_event: StartEvent, run_id: str | None = None) -> str:
    """Store a new run of ``workflow`` (its start tick only), runnable at once, for a worker to
    execute; returns its id once it is durably stored. Nothing runs in this process.

    Raises:
        WorkflowRuntimeError: If the workflow has no store.
        JournalConflictError: If ``run_id`` exists already.
        LimitKeyError: If a keyed limit of the workflow finds no key in ``start_event``.
    """

    store = store_of(workflow)
    await store.open()
    run_id = run_id or uuid.uuid4().hex
    check_limit_keys(workflow.limits, workflow.definition(), start_event, run_id)
    now = time.time()
    tick = TickStart(now, run_id, start_event, workflow.timeout)
    # The start tick journals the caller's trace context: the workers' spans join its trace.
    record = dump_envelope(TickEnvelope(tick, writer=process_writer_id(), meta=caller_trace()))
    batch = JournalBatch(
        run_id, 0, [record], workflow=workflow.workflow_name, created_at=now,
        runnable_at=now, version=workflow.workflow_version,
    )  # fmt: skip
    await store.append(batch)
    return run_id


class Worker:
    """Continues runnable runs of ``workflows`` from ``store``.

    Args:
        workflows: The workflows this worker can execute (each journals to ``store``).
        store: The shared store.
        concurrency: The most runs it executes at once.
        settings: Lease ttl and heartbeat.
        poll: Seconds between claims when nothing wakes it.
        owner: Its lease owner id (this process's by default).
        on_claim: Called with each run it starts executing (a server registers them, so
            events sent to them reach them in memory).
        idle_after: Seconds a run must only wait before it is released from memory (checked
            every loop, so at most ``poll`` later); ``None`` keeps every run until it ends.
        fire_schedules: Also start the runs of due schedule slots of these workflows
            (``schedule_firer.ScheduleFirer``, woken at the next slot).

    Raises:
        WorkflowConfigurationError: If two workflows share a ``workflow_name``, or
            ``concurrency`` is below 1.
    """

    def __init__(
        self,
        workflows: Sequence[Workflow],
        store: Store,
        *,
        concurrency: int = 10,
        settings: LeaseSettings | None = None,
        poll: float = 1.0,
        owner: str = PROCESS_OWNER,
        on_claim: Callable[[Workflow, WorkflowHandler], None] | None = None,
        idle_after: float | None = 1.0,
        fire_schedules: bool = True,
    ) -> None:
        if concurrency < 1:
            raise WorkflowConfigurationError(f"concurrency must be at least 1, got {concurrency}.")
        self.by_name: dict[str, Workflow] = {}
        for workflow in workflows:
            if workflow.workflow_name in self.by_name:
                raise WorkflowConfigurationError(
                    f"Two workflows journal as {workflow.workflow_name!r}: give them distinct "
                    "workflow_name= values."
                )
            workflow.use_store(store)
            self.by_name[workflow.workflow_name] = workflow
        self.store = store
        self.concurrency = concurrency
        self.settings = settings or LeaseSettings.from_env()
        self.poll = poll
        self.owner = owner
        self.versions = {name: flow.workflow_version for name, flow in self.by_name.items()}
        self.reported: set[str] = set()
        """Runs of other versions already logged as left alone."""
        self.on_claim = on_claim
        self.running: dict[str, tuple[Lease, WorkflowHandler]] = {}
        self.finished = 0
        self.idle_after = idle_after
        self.released_idle = 0
        self._idle_since: dict[str, float] = {}
        self._wake = asyncio.Event()
        self._releasing: set[asyncio.Future[None]] = set()
        self.firer = None
        if fire_schedules:
            self.firer = ScheduleFirer(self.by_name, store, poll=poll, on_fired=self.wake)

    def wake(self, notice: Any = None, run_id: str | None = None) -> None:
        """Claim again now (a run became runnable, or one of ours ended); a run held here
        that a notification names looks in its inbox (a message was delivered to it). A mere
        append wakes nothing."""
        if notice == "runnable" and run_id is not None and run_id in self.running:
            driver = self.running[run_id][1].driver
            journal = None if driver is None else driver.journal
            if journal is not None and journal.check_inbox is not None:
                journal.check_inbox()
        if notice != "append":
            # An append makes no run claimable (a runnable one notifies "runnable" too): waking
            # every worker's claim query on every append of every run made more workers slower.
            self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and execute runs until ``stop`` is set, then hand unfinished runs back."""
        await self.store.open()
        listen = getattr(self.store, "listen", None)
        async with contextlib.AsyncExitStack() as stack:
            if listen is not None:
                # Runnable runs only: an append makes no run claimable, and being told of
                # every append of every run cost each worker CPU for nothing.
                await stack.enter_async_context(listen(self.wake, kinds=("runnable",)))
            if self.firer is not None:
                await stack.enter_async_context(self.firer.running(stop))
            stopping = asyncio.ensure_future(stop.wait())
            scanned = -SCAN_PERIOD
            try:
                while not stop.is_set():
                    self._wake.clear()
                    if time.monotonic() - scanned >= SCAN_PERIOD:
                        scanned = time.monotonic()
                        await self._report_other_versions()
                    await self._release_idle()
                    await self._claim()
                    woken = asyncio.ensure_future(self._wake.wait())
                    await asyncio.wait(
                        {woken, stopping}, timeout=self.poll, return_when="FIRST_COMPLETED"
                    )
                    woken.cancel()
            finally:
                stopping.cancel()
                await self._hand_back()
                if self._releasing:
                    await asyncio.wait(self._releasing)

    async def _claim(self) -> None:
        free = self.concurrency - len(self.running)
        if free <= 0:
            return
        try:
            leases = await self.store.claim_runnable(
                self.owner, self.settings.ttl, free, list(self.by_name), self.versions
            )
        except StoreError:
            return  # the database may be back at the next poll
        # Every run's workflow first (the claim names it, in the stores here; else read it):
        # resumes started meanwhile would queue before these reads.
        only = next(iter(self.by_name)) if len(self.by_name) == 1 else None
        if only is None and any(lease.workflow is None for lease in leases):
            records = await asyncio.gather(*(self.store.get_run(x.run_id) for x in leases))
            names = [record.workflow for record in records]
        else:
            names = [only or lease.workflow or "" for lease in leases]
        for lease, name in zip(leases, names, strict=True):
            workflow = self.by_name[name]
            handler = resume_run(workflow, lease.run_id, lease=lease, settings=self.settings)
            self.running[lease.run_id] = (lease, handler)
            handler.add_done_callback(functools.partial(self._ended, lease.run_id))
            if self.on_claim is not None:
                self.on_claim(workflow, handler)

    async def _report_other_versions(self) -> None:
        """Log, once per run, the runs of our workflows that another version started (they
        are never claimed here)."""
        try:
            runs = await self.store.list_runs(status=["running"], workflow=list(self.by_name))
        except StoreError:
            return
        for run in runs:
            serving = self.versions[run.workflow]
            if run.version in (None, serving) or run.run_id in self.reported:
                continue
            self.reported.add(run.run_id)
            _log.warning(
                "worker %s does not continue run %r of %r: it was started by version %r and "
                "this worker serves version %r; run a worker of that version beside this one, "
                "or declare compatibility (see docs/scale-out.md)",
                self.owner, run.run_id, run.workflow, run.version, serving,
            )  # fmt: skip

    async def _release_idle(self) -> None:
        """Release the runs that have only waited for ``idle_after`` seconds, together."""
        if self.idle_after is None:
            return
        now = time.monotonic()
        idle: list[Lease] = []
        for run_id, (_, handler) in list(self.running.items()):
            driver = handler.driver
            if driver is None or not driver.view.only_waits or driver.busy:
                self._idle_since.pop(run_id, None)
                continue
            since = self._idle_since.setdefault(run_id, now)
            journal = driver.journal
            if now - since < self.idle_after or journal is None or journal.let_go is None:
                continue
            del self.running[run_id]
            self._idle_since.pop(run_id, None)
            let_go = journal.let_go
            # Stop it here without writing (its suspended waits go; they run again from the
            # top when it is claimed next), then give the lease back idle.
            driver.detach(StoreError(f"Worker {self.owner} released idle run {run_id!r}."))
            lease = let_go()
            if lease is not None:
                idle.append(lease)
            self.released_idle += 1
        if idle:
            # One transaction for every run that went idle at once (each checks its inbox
            # in it: a message delivered meanwhile leaves its run runnable at once).
            with contextlib.suppress(StoreError):  # unreleased, they lapse after ttl anyway
                await self.store.release_many(idle, idle=True)

    def _ended(self, run_id: str, _: object = None) -> None:
        self._idle_since.pop(run_id, None)
        entry = self.running.pop(run_id, None)
        if entry is not None:
            self.finished += 1
            driver = entry[1].driver
            journal = None if driver is None else driver.journal
            # The append that ended a run released it; any other ending here is released now
            # (one that lost its lease changes nothing).
            if journal is None or not journal.ended:
                task = asyncio.ensure_future(self._release(entry[0]))
                self._releasing.add(task)
                task.add_done_callback(self._releasing.discard)
        self.wake()

    async def _release(self, lease: Lease) -> None:
        with contextlib.suppress(StoreError):
            await self.store.release(lease)

    async def _hand_back(self) -> None:
        """Stop every unfinished run here without writing, and release them for others."""
        running, self.running = self.running, {}
        for lease, handler in running.values():
            driver = handler.driver
            if driver is not None:
                driver.detach(StoreError(f"Worker {self.owner} handed run {lease.run_id!r} back."))
        with contextlib.suppress(StoreError):  # unreleased, they lapse after ttl anyway
            await self.store.release_many([lease for lease, _ in running.values()])
