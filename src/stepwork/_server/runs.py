"""The run registry: the store, the served workflows, and the runs live in this process.

The store is the truth about every run; the registry only keeps the handlers of runs that are
executing here, so that events can be sent to them and their streams followed in memory. At
start-up it opens the store and resumes every unfinished run of the served workflows. At
shutdown (:meth:`RunRegistry.drain`) it stops accepting work, lets running steps finish for up
to ``grace_period`` seconds, then lets go of the rest without writing to their journals, so
the next server on the same store resumes them where they were.

Any number of servers (and ``stepwork worker`` processes) share one store. By default a server
executes the runs it starts or resumes, under a lease; with ``workers=N`` it executes none on
request: it enqueues new runs and ``N`` in-process worker loops (``fleet.WorkerPool``) claim
runnable runs like any worker (``workers=0``: none). A run executing elsewhere is read from the
store (``follow``), and what is sent to it goes through ``remote.deliver_remote``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence

from stepwork._core.errors import ContextSerdeError, JournalConflictError, JournalCorruptError
from stepwork._runtime.handler import WorkflowHandler
from stepwork._runtime.lease import PROCESS_OWNER
from stepwork._runtime.observe_logs import stepwork_logger
from stepwork._runtime.versions import not_continued, version_error
from stepwork._runtime.workflow import Workflow
from stepwork._server import live as live_runs
from stepwork._server.errors import ApiError, from_corrupt
from stepwork._server.fleet import WorkerPool
from stepwork._server.follow import StoreFollower
from stepwork._server.recovery import ResumeRetries
from stepwork._server.remote import held_elsewhere
from stepwork._server.run_reads import LiveRun, RunReads
from stepwork._server.served import ServedWorkflow, serve_workflows
from stepwork._stores.protocol import TERMINAL_STATUSES, RunRecord, Store

__all__ = ["RunRegistry"]

_log = stepwork_logger("stepwork.server")


class RunRegistry:
    """Serves runs of ``workflows`` journaled in ``store``.

    Args:
        workflows: Workflows by name, or a sequence (named by ``workflow_name`` or class).
        store: The journal of every run.
        grace_period: Seconds :meth:`drain` waits for running steps.
        workers: ``None``: execute the runs started or resumed here; a number: enqueue new
            runs and run that many worker loops here (0: execute nothing).

    Raises:
        ValueError: If the workflows cannot be served together (see ``serve_workflows``).
    """

    def __init__(
        self,
        workflows: Mapping[str, Workflow] | Sequence[Workflow],
        store: Store,
        grace_period: float,
        workers: int | None = None,
    ) -> None:
        self.store = store
        self.grace_period = grace_period
        self.workers = workers
        self.follower = StoreFollower(store)
        self.pool: WorkerPool | None = None
        self.served = serve_workflows(workflows, store)
        self.live: dict[str, LiveRun] = {}
        self.unresumable: dict[str, BaseException] = {}
        """Runs whose journal could not be read back (e.g. corrupt): why, by run id."""
        self.reads = RunReads(store, self.served, self.live, self.unresumable)
        """Records, ``RunInfo`` and lookups, answered from the store and these tables."""
        self.accepting = False
        self._retries = ResumeRetries(self._resume_stopped)
        self._stopping: asyncio.Event | None = None
        self._drained = False

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the store and resume the unfinished runs of every served workflow."""
        self._stopping = asyncio.Event()
        await self.store.open()
        await self.follower.start()
        if self.workers is None:
            for entry in self.served.values():
                for handler in await entry.workflow.resume_all():
                    self._register(entry, handler)
        else:
            workflows = [entry.workflow for entry in self.served.values()]
            self.pool = WorkerPool(workflows, self.store, self.workers, self._claimed)
            self.pool.start()
        self.accepting = True

    @property
    def executes(self) -> bool:
        """True when runs started or resumed through this server execute in it (no
        ``workers=``); False when they are enqueued for worker loops."""
        return self.workers is None

    def _claimed(self, workflow: Workflow, handler: WorkflowHandler) -> None:
        self._register(self.reads.by_journal_name(workflow.workflow_name), handler)

    def _resume_failed(self, handler: WorkflowHandler) -> BaseException | None:
        """The reason a resumed run could not be read back, remembered and logged once."""
        if not handler.done() or handler.cancelled():
            return None
        error = handler.exception()
        if not isinstance(error, JournalCorruptError | ContextSerdeError):
            return None
        if handler.run_id not in self.unresumable:
            self.unresumable[handler.run_id] = error
            _log.error(
                "run %r cannot be resumed and is left as it is: %s",
                handler.run_id,
                error,
                extra={"run_id": handler.run_id},
            )
        return error

    async def stopping(self) -> None:
        """Return once the registry has let go of its live runs (server shutdown)."""
        if self._stopping is None:
            self._stopping = asyncio.Event()
        await self._stopping.wait()

    @property
    def stopped(self) -> bool:
        """True once :meth:`drain` has let go of the live runs."""
        return self._drained

    async def drain(self) -> None:
        """Stop accepting work, wait up to ``grace_period`` for running steps, then let go of
        every live run without writing to its journal (idempotent)."""
        self.accepting = False
        self._retries.close()
        if self._drained:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.grace_period
        # Polled: "a step is running" is read from each run's state, which signals nothing.
        while loop.time() < deadline and any(  # noqa: ASYNC110
            live_runs.is_busy(run.handler) for run in list(self.live.values())
        ):
            await asyncio.sleep(0.01)
        if self.pool is not None:
            await self.pool.stop()  # hands its runs back, released for other workers
        self._drained = True
        for run in list(self.live.values()):
            live_runs.detach(run.handler)
        self.live.clear()
        if self._stopping is not None:
            self._stopping.set()

    async def close(self) -> None:
        """:meth:`drain`, then close the store."""
        await self.drain()
        await self.follower.close()
        await self.store.close()

    def check_accepting(self) -> None:
        """Refuse work while the server shuts down.

        Raises:
            ApiError: 503 ``unavailable`` once shutdown has begun.
        """
        if not self.accepting:
            raise ApiError(
                "unavailable", "The server is shutting down; retry against the next one."
            )

    # -- live runs ----------------------------------------------------------------------------

    def _register(self, entry: ServedWorkflow, handler: WorkflowHandler) -> LiveRun:
        run = LiveRun(entry, handler, time.time())
        run_id = handler.run_id
        self.live[run_id] = run

        def forget(_: object) -> None:
            self._resume_failed(handler)
            failure = live_runs.store_failure(handler)
            if failure is not None and self._retries.stopped(run_id):
                # Logged here, once per failure (not per retry), whatever request saw it.
                _log.error(
                    "run %r stopped here: the store failed (%s); nothing after its last "
                    "stored tick was acknowledged, and it resumes from there once the store "
                    "works again",
                    run_id,
                    failure.__cause__ or failure,
                    extra={"run_id": run_id},
                )
            elif failure is None:
                live_runs.log_failure(handler, _log)
            if self.live.get(run_id) is run:
                del self.live[run_id]

        handler.add_done_callback(forget)
        return run

    async def _resume_stopped(self, run_id: str) -> bool:
        """Resume a run that stopped on a store failure (see ``recovery``); True once its
        resume is written.

        Raises:
            StoreError: If the store still cannot be read.
        """
        if not self.accepting or run_id in self.live or not self.executes:
            return False  # (a worker loop's run: its lease is released, another claims it)
        record = await self.store.get_run(run_id)
        entry = self.reads.served_for(record)
        if entry is None or record.status in TERMINAL_STATUSES or run_id in self.live:
            return False  # (live: a request resumed or restarted it meanwhile)
        handler = entry.workflow.resume(run_id)
        self._register(entry, handler)
        if not await live_runs.wait_started(handler):
            return False
        written = await live_runs.wait_written(handler)
        if written:
            _log.info("run %r resumed after its store failure", run_id, extra={"run_id": run_id})
        return written

    async def adopt(self, entry: ServedWorkflow, handler: WorkflowHandler) -> LiveRun:
        """Register a handler just started here and wait for its first journal write.

        Raises:
            ApiError: 409 if the run id turned out to be taken (another writer won).
        """
        run = self._register(entry, handler)
        await live_runs.wait_journaled(handler)
        if handler.done() and not handler.cancelled():
            error = handler.exception()
            if isinstance(error, JournalConflictError):
                raise ApiError("conflict", f"A run {handler.run_id!r} already exists.", "run_id")
        self.check_stored(handler)
        return run

    def check_stored(self, handler: WorkflowHandler) -> None:
        """Refuse to acknowledge what a run's journal could not store.

        Raises:
            ApiError: 503 ``unavailable`` if the run stopped writing its journal here.
        """
        if live_runs.store_failure(handler) is not None:
            raise ApiError(
                "unavailable",
                f"Run {handler.run_id!r}: the store could not write its journal, so nothing "
                "of this request was stored (the server logged why). Retry it later: the "
                "same run_id, or the same Idempotency-Key for an event, makes the retry "
                "take effect once.",
            )

    async def sent_before(self, record: RunRecord, idempotency_key: str) -> bool:
        """True if run ``record`` has stored an event sent with ``idempotency_key`` (a run
        live here is asked in memory, and waited for while that send is being written).

        Raises:
            ApiError: 503 if that send was not stored after all (the journal failed).
        """
        run = self.live.get(record.run_id)
        if run is not None and live_runs.store_failure(run.handler) is None:
            if not live_runs.sent_before(run.handler, idempotency_key):
                return False
            if not await live_runs.wait_written(run.handler):
                self.check_stored(run.handler)
            return True
        if record.ticks == 0:
            return False
        return any(
            item.get("kind") == "event" and item.get("idempotency_key") == idempotency_key
            for item in await self.store.load_ticks(record.run_id)
        )

    def held_elsewhere(self, record: RunRecord) -> bool:
        """True if another live process holds run ``record``'s lease (as last read)."""
        mine = [PROCESS_OWNER, *(w.owner for w in self.pool.workers)] if self.pool else []
        return held_elsewhere(record, mine or [PROCESS_OWNER])

    async def running(self, record: RunRecord) -> LiveRun | None:
        """The live run of a stored run that has not finished, resuming it here if needed;
        ``None`` when it executes elsewhere (another process holds it, or this server
        executes nothing itself): deliver to it with ``remote.deliver_remote``.

        Raises:
            ApiError: 409 if the run has finished or belongs to a workflow not served here,
                ``journal_corrupt`` if its journal cannot be read back; 503 while shutting down.
        """
        run = self.live.get(record.run_id)
        if run is not None and live_runs.store_failure(run.handler) is not None:
            run = None  # it stopped writing here: resume it from what is stored
        if run is not None and not live_runs.is_finished(run.handler):
            return run
        if record.status in TERMINAL_STATUSES or run is not None:
            raise ApiError("conflict", f"Run {record.run_id!r} has already finished.")
        entry = self.reads.served_for(record)
        if entry is None:
            raise ApiError(
                "conflict",
                f"Run {record.run_id!r} belongs to workflow {record.workflow!r}, which this "
                "server does not serve.",
            )
        self.check_accepting()
        if not self.executes or self.held_elsewhere(record):
            return None
        if not_continued(record, entry.workflow.workflow_version) is not None:
            raise ApiError("conflict", str(version_error(record, entry.workflow.workflow_version)))
        handler = entry.workflow.resume(record.run_id)
        run = self._register(entry, handler)
        await live_runs.wait_started(handler)
        if (
            handler.done()
            and not handler.cancelled()
            and isinstance(handler.exception(), JournalConflictError)
        ):
            return None  # another process claimed it first
        broken = self._resume_failed(handler)
        if isinstance(broken, JournalCorruptError):
            context = f"Run {record.run_id!r} cannot be resumed; its journal is left untouched. "
            raise from_corrupt(broken, None, context)
        if broken is not None:
            raise ApiError(
                "conflict",
                f"Run {record.run_id!r} cannot be resumed; its journal is left untouched. {broken}",
            )
        self.unresumable.pop(record.run_id, None)  # read back after all (a repaired journal)
        self.check_stored(handler)
        if live_runs.is_finished(handler):
            raise ApiError("conflict", f"Run {record.run_id!r} has already finished.")
        return run

    async def until_done(self, handler: WorkflowHandler) -> None:
        """Wait for ``handler`` to end.

        Raises:
            ApiError: 503 if the server began shutting down first (the run goes on later).
        """
        stop = asyncio.get_running_loop().create_task(self.stopping())
        try:
            await asyncio.wait([handler, stop], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not handler.done():
            raise ApiError(
                "unavailable",
                f"The server is shutting down; run {handler.run_id!r} continues when it is back.",
            )
