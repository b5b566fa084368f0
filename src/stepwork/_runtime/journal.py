"""The journal of a durable run: ticks are written to the store before their effects happen.

The driver reduces a tick at once (so the run's state is always current) but hands the
resulting commands to the journal instead of executing them. The journal writes every staged
tick, with the events those commands publish, in one store transaction, and only then lets
the driver execute the commands: a step starts, a stream reader sees an event, a caller sees
the result only after what caused it is on disk. Ticks that arrive while a write is in
flight are written together in the next transaction (group commit).

Under a lease (``lease`` set, see ``lease.py``) every batch is fenced by the lease's epoch, a
new run's row is created held by it, and the timers the commands schedule or cancel are
written as rows with their ticks, so whoever holds the run next knows when it must wake.
Every ``checkpoints.every`` ticks a batch also carries the run's state (``checkpoints.py``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from stepwork._core.commands import (
    Command,
    CommandCancelTimer,
    CommandFinish,
    CommandPublish,
    CommandSchedule,
)
from stepwork._core.envelope import TickEnvelope
from stepwork._core.errors import JournalConflictError, JournalWriteError, StoreError
from stepwork._core.events import StopEvent
from stepwork._core.notices import StepNotice
from stepwork._core.state import RunState
from stepwork._runtime.checkpoints import CheckpointTaker
from stepwork._runtime.child_notice import ChildEnded, ended_key
from stepwork._stores.codec import dump_event
from stepwork._stores.protocol import InboxNotice, JournalBatch, Lease, Store, TimerChange
from stepwork._stores.tick_codec import dump_envelope

if TYPE_CHECKING:
    from stepwork._runtime.observe import RunObserver

__all__ = ["Journal"]


class Journal:
    """Writes one run's ticks and published events to a store, in order, before their effects.

    Args:
        store: Where to write.
        run_id: The run.
        workflow: The workflow's name, for a new run's row.
        next_seq: ``seq`` of the next tick (0 for a new run).
        next_offset: Offset of the next published event (0 for a new run).
        create: Create the run's row with the first write, in the same transaction (a new
            run, not a resumed one), so no run is stored without its start tick.
        version: The workflow's version, for a new run's row.
        parent_run_id: The run that started this one (a child's), for a new run's row.
    """

    def __init__(
        self,
        store: Store,
        run_id: str,
        workflow: str,
        *,
        next_seq: int = 0,
        next_offset: int = 0,
        create: bool = True,
        version: str | None = None,
        parent_run_id: str | None = None,
    ) -> None:
        self.store = store
        self.version = version
        self.parent_run_id = parent_run_id
        self.run_id = run_id
        self.workflow = workflow
        self.next_seq = next_seq
        self.next_offset = next_offset
        self._create = create
        self._ticks: list[dict[str, Any]] = []
        self._commands: list[Command] = []
        self._task: asyncio.Task[None] | None = None
        self.failure: BaseException | None = None
        self.on_failure: Callable[[BaseException], None] | None = None
        self.observer: RunObserver | None = None
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._in_flight = 0  # ticks of the batch being written
        self._consumed: list[int] = []  # inbox messages the staged ticks took in
        self.lease: Lease | None = None
        self.checkpoints = CheckpointTaker()
        self._had_timers = not create  # a resumed run may have timer rows from before
        self.check_inbox: Callable[[], None] | None = None
        """Set while the run is held: look in the run's inbox now (a message was delivered)."""
        self.let_go: Callable[[], Lease | None] | None = None
        """Set while the run is held: stop renewing its lease and return it for the caller
        to release (``Store.release_many``, many runs at once); ``None`` if it was lost."""
        self.children_queued = False
        """True when a worker executes the run: the children its steps start are enqueued
        for any worker (``queued_children.py``) instead of run in this process."""
        self.notify_parent: str | None = None
        """The parent run to notify when this run ends (a child a worker executes): the
        ending batch delivers a ``ChildEnded`` to its inbox in the same transaction."""
        self.ended = False
        """True once the batch that ends the run is written (that append released the run's
        lease, see ``Store.append``)."""

    def record(self, envelope: TickEnvelope) -> dict[str, Any]:
        """The enveloped tick's record; raises ``StateSerializationError`` (naming the field) if
        an event or value in it cannot be written as JSON. Call before reducing the tick."""
        return dump_envelope(envelope)

    def stage(
        self,
        record: dict[str, Any],
        commands: list[Command],
        state: RunState,
        execute: Callable[[list[Command]], None],
        at: float,
        consumed: Sequence[int] = (),
    ) -> None:
        """Queue a reduced tick's record and commands; ``execute`` runs them once written.
        ``consumed``: the inbox messages the tick took in, deleted in the same transaction."""
        self._ticks.append(record)
        self.checkpoints.note(record)
        self._commands.extend(commands)
        self._consumed.extend(consumed)
        self._pump_soon(state, execute, at)

    def drop(
        self,
        consumed: Sequence[int],
        state: RunState,
        execute: Callable[[list[Command]], None],
        at: float,
    ) -> None:
        """Delete inbox messages that take no effect (a duplicate by idempotency key) with the
        next batch, which may hold no ticks."""
        self._consumed.extend(consumed)
        self._pump_soon(state, execute, at)

    def _pump_soon(
        self, state: RunState, execute: Callable[[list[Command]], None], at: float
    ) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._pump(state, execute, at))

    @property
    def writing(self) -> bool:
        """True while a write is in flight or staged ticks wait for one."""
        return self._task is not None and not self._task.done()

    @property
    def staged(self) -> int:
        """How many ticks the run has once everything staged so far is written (the batch in
        flight included)."""
        return self.next_seq + self._in_flight + len(self._ticks)

    async def written(self, count: int) -> None:
        """Wait until the first ``count`` ticks are written, or writing has stopped (it
        failed, or nothing more is staged)."""
        if self.next_seq >= count or self.failure is not None or not self.writing:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._waiters.append((count, waiter))
        await waiter

    def _wake(self, everyone: bool) -> None:
        waiting, self._waiters = self._waiters, []
        for count, waiter in waiting:
            if everyone or self.next_seq >= count:
                if not waiter.done():
                    waiter.set_result(None)
            else:
                self._waiters.append((count, waiter))

    async def _pump(
        self, state: RunState, execute: Callable[[list[Command]], None], at: float
    ) -> None:
        try:
            if self.failure is None:
                await self._write(state, execute, at)
        except Exception as error:
            # The store is the truth: stop here; what was written can be resumed later.
            failure = self._named(error)
            self.failure = failure
            if self.on_failure is not None:
                self.on_failure(failure)
        finally:
            self._wake(everyone=True)  # nothing more is written by this pump

    def _named(self, error: Exception) -> StoreError:
        """The failure as a ``StoreError`` naming this run (a conflict stays a conflict)."""
        if isinstance(error, StoreError) and error.run_id == self.run_id:
            return error
        named: StoreError
        if isinstance(error, JournalConflictError):
            named = JournalConflictError(str(error), run_id=self.run_id)
        else:
            named = JournalWriteError(
                f"Run '{self.run_id}': its journal could not be written, so the run stopped at "
                f"its last stored tick ({self.next_seq} stored): {error}. Nothing after that "
                "took effect; once the store is writable again the run resumes from there.",
                run_id=self.run_id,
            )
        named.__cause__ = error
        return named

    async def _write(
        self, state: RunState, execute: Callable[[list[Command]], None], at: float
    ) -> None:
        if self._create:
            await self.store.open()
        while self._ticks or self._consumed:
            ticks, self._ticks = self._ticks, []
            consumed, self._consumed = self._consumed, []
            self._in_flight = len(ticks)
            commands, self._commands = self._commands, []
            events = [_event_record(c.event) for c in commands if isinstance(c, CommandPublish)]
            finish = next((c for c in commands if isinstance(c, CommandFinish)), None)
            lease = self.lease
            # Taken now, before awaiting: ``state`` has folded exactly these ticks.
            checkpoint = self.checkpoints.take(state, self.next_seq, len(ticks))
            timers = () if lease is None else _timer_changes(commands)
            self._had_timers = self._had_timers or bool(timers)
            batch = JournalBatch(
                self.run_id,
                self.next_seq,
                ticks,
                self.next_offset,
                events,
                **(_ending(state, finish) if finish is not None else {}),
                # A new run's row is created with its first ticks: never one without the other.
                workflow=self.workflow if self._create else None,
                version=self.version if self._create else None,
                parent_run_id=self.parent_run_id if self._create else None,
                created_at=at,
                epoch=None if lease is None else lease.epoch,
                timers=timers,
                lease=lease if self._create else None,
                runnable_at=at if self._create and lease is not None else None,
                checkpoint=checkpoint,
                had_timers=self._had_timers,
                consumed=consumed,
                notify=self._ending_notice(state) if finish is not None else None,
            )
            try:
                if self.observer is None:
                    await self.store.append(batch)
                else:
                    await self._observed_append(batch)
            finally:
                self._in_flight = 0
            self._create = False
            self.ended = self.ended or batch.status is not None
            self.next_seq += len(ticks)
            self.next_offset += len(events)
            self._wake(everyone=False)
            execute(commands)

    def _ending_notice(self, state: RunState) -> InboxNotice | None:
        parent = self.notify_parent
        if parent is None:
            return None
        event = ChildEnded(run_id=self.run_id, status=state.status)
        return InboxNotice(parent, dump_event(event), ended_key(self.run_id))

    async def _observed_append(self, batch: JournalBatch) -> None:
        assert self.observer is not None
        start = time.time_ns()
        error: BaseException | None = None
        try:
            await self.store.append(batch)
        except BaseException as failure:
            error = failure
            raise
        finally:
            self.observer.journal_batch_written(
                self.run_id, batch.first_seq, len(batch.ticks), start, time.time_ns(), error
            )


def _timer_changes(commands: list[Command]) -> list[TimerChange]:
    changes: list[TimerChange] = []
    for command in commands:
        if isinstance(command, CommandSchedule):
            changes.append((command.timer_id, command.at))
        elif isinstance(command, CommandCancelTimer):
            changes.append((command.timer_id, None))
    return changes


def _event_record(event: Any) -> dict[str, Any]:
    if type(event) is StepNotice:
        event = event.to_event()
    return dump_event(event)


def _ending(state: RunState, finish: CommandFinish) -> dict[str, Any]:
    stop = finish.stop_event
    if finish.error is None and isinstance(stop, StopEvent):
        return {"status": "completed", "result": dump_event(stop)}
    error = finish.error
    summary: dict[str, Any] = {
        "type": type(error).__name__ if error is not None else "",
        "message": str(error) if error is not None else "",
        "step": getattr(stop, "step_name", None),
    }
    if state.error_traceback is not None:
        summary["traceback"] = state.error_traceback
    return {"status": state.status, "error": summary}
