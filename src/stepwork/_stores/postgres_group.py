"""``PostgresStore.append``: one run's batch in one statement, or many runs' in one (group
commit).

Appends of different runs that wait at the same moment are sent together: while one group is
on its way to the server, the batches that arrive meanwhile gather and go in the next one, as
one ``APPEND_MANY`` statement (one round trip, one transaction, one plan). A worker executing
20 runs at once thus pays a few statements per turn of its loop instead of one per run and
tick. A lone batch (a run executed on its own, or one that creates its run) goes alone with
``APPEND``, as before.

Invariants:
- Each batch is checked on its own inside the group: its counters and, when fenced, its epoch
  (``APPEND_MANY`` updates each run's row only if they match). A batch that matched nothing
  stored nothing, and is then tried alone, which says why (``LeaseLostError``, a conflict).
- If the group statement fails as a whole (a duplicate key, a broken connection), every batch
  of it is tried alone; after a broken connection, a batch finding exactly its own records
  stored counts as written (as a retried single append does).
- A group never holds two batches of one run (a run's journal writes one batch at a time; a
  second one waits for the next group).
- A group locks its runs' rows in run id order; a batch with a notice for another run locks
  both rows in that order before it writes (``docs/design.md``, "Row locks on PostgreSQL").
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

from stepwork._core.errors import JournalConflictError
from stepwork._stores.lease_rules import lease_lost
from stepwork._stores.postgres_append import (
    append_args,
    create_args,
    create_with_records_args,
    many_args,
    notify_args,
)
from stepwork._stores.postgres_connect import ConnectionLostError
from stepwork._stores.postgres_sql import APPEND, APPEND_MANY, DELIVER, LOCK_RUNS, STORED
from stepwork._stores.protocol import JournalBatch
from stepwork._stores.records import check_next

__all__ = ["GROUP_LIMIT", "Appender"]

GROUP_LIMIT = 100
"""The most batches one group statement carries."""

_T = TypeVar("_T")
Write = Callable[[Callable[[Any], Awaitable[_T]]], Awaitable[tuple[_T, bool]]]
_Waiting = tuple[JournalBatch, tuple[Any, ...], "asyncio.Future[None]"]


class Appender:
    """Appends batches to a PostgreSQL store, grouping those of different runs.

    Args:
        write: Runs an operation on a pooled connection; returns its result and whether it
            was tried twice (the first connection broke) (``PostgresStore._write``).
        clock: Seconds since the epoch, for ``updated_at``.
        append_channel: The NOTIFY channel told of every append.
        runnable_channel: The NOTIFY channel told of runs that became runnable.
    """

    def __init__(
        self,
        write: Write[Any],
        clock: Callable[[], float],
        append_channel: str,
        runnable_channel: str,
    ) -> None:
        self._write = write
        self._clock = clock
        self._channels = (append_channel, runnable_channel)
        self._waiting: list[_Waiting] = []
        self._in_flight: list[_Waiting] = []
        self._sender: asyncio.Task[None] | None = None

    async def append(self, batch: JournalBatch) -> None:
        """Append ``batch`` (see ``PostgresStore.append``), with others waiting now.

        Raises:
            JournalConflictError: If the run does not exist (or, to be created, exists), or
                ``seq``/``offset`` numbers overlap what is stored or leave a gap.
            LeaseLostError: If the batch is fenced and the run's epoch moved on.
            StoreError: If a record is not a JSON object, or PostgreSQL fails twice.
        """
        args = append_args(batch, self._clock(), *self._channels)
        if batch.workflow is not None or batch.notify is not None:
            # Creating a run (its row and records together), or writing with a message for
            # another run's inbox (both in one transaction): alone.
            await self._alone(batch, args, maybe_written=False)
            return
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        self._waiting.append((batch, args, future))
        sender = self._sender
        if sender is None or sender.done() or sender.get_loop() is not loop:
            self._sender = loop.create_task(self._send())
            self._sender.add_done_callback(self._sent)
        await future

    async def _send(self) -> None:
        """Send what waits, a group at a time, until nothing does."""
        while self._waiting:
            self._in_flight = self._next_group()
            await self._send_group(self._in_flight)
            self._in_flight = []

    def _sent(self, sender: asyncio.Task[None]) -> None:
        """A sender that was cancelled (its event loop shuts down) or failed leaves nobody
        waiting for it forever: their appends are cancelled."""
        if sender.cancelled() or sender.exception() is not None:
            for _, _, future in self._in_flight + self._waiting:
                future.cancel()
            self._in_flight, self._waiting = [], []

    async def _send_group(self, group: list[_Waiting]) -> None:
        if len(group) == 1:
            await self._settle_alone(*group[0], maybe_written=False)
            return
        values = many_args([args for _, args, _ in group], self._clock())
        try:
            rows, retried = await self._write(partial(_fetch_many, values=values))
        except Exception as error:  # the whole group stored nothing (or, broken, maybe all)
            maybe = isinstance(error, ConnectionLostError)
            for batch, args, future in group:
                await self._settle_alone(batch, args, future, maybe_written=maybe)
            return
        stored = {row[0] for row in rows}
        for number, (batch, args, future) in enumerate(group, 1):
            if number in stored:
                if not future.done():
                    future.set_result(None)
            else:  # refused alone it says why (or, after a retry, finds itself stored)
                await self._settle_alone(batch, args, future, maybe_written=retried)

    def _next_group(self) -> list[_Waiting]:
        group: list[_Waiting] = []
        later: list[_Waiting] = []
        runs: set[str] = set()
        for waiting in self._waiting:
            run_id = waiting[0].run_id
            if len(group) >= GROUP_LIMIT or run_id in runs:
                later.append(waiting)
            else:
                runs.add(run_id)
                group.append(waiting)
        self._waiting = later
        return group

    async def _settle_alone(
        self,
        batch: JournalBatch,
        args: tuple[Any, ...],
        future: asyncio.Future[None],
        *,
        maybe_written: bool,
    ) -> None:
        try:
            await self._alone(batch, args, maybe_written=maybe_written)
        except Exception as error:
            if not future.done():
                future.set_exception(error)
        else:
            if not future.done():
                future.set_result(None)

    async def _alone(
        self, batch: JournalBatch, args: tuple[Any, ...], *, maybe_written: bool
    ) -> None:
        """Append one batch with ``APPEND``; ``maybe_written``: an earlier attempt may have
        stored it (its connection broke), so finding exactly its records stored is success."""
        run_id, seq, offset = batch.run_id, batch.first_seq, batch.first_offset
        ticks, events = args[2], args[4]
        workflow, create = batch.workflow, create_args(batch)
        at_once = None if workflow is None else create_with_records_args(batch, args)
        notify = notify_args(batch, args[8], self._channels[1])  # APPEND's $9: its now

        async def attempt(connection: Any) -> Any:
            if workflow is None and notify is None:
                if await connection.fetchval(APPEND, *args):
                    return True
            elif workflow is None and notify is not None:  # the message with it, or neither
                async with connection.transaction():
                    # Both rows first, in run id order: APPEND then DELIVER would lock the
                    # parent after the child, against the order of every other locker.
                    await connection.execute(LOCK_RUNS, [run_id, notify[0]])
                    if await connection.fetchval(APPEND, *args):
                        await connection.fetchrow(DELIVER, *notify)
                        return True
            elif at_once is not None:  # a new run's first write: one statement
                if await connection.fetchval(*at_once):
                    return True
            else:  # the run's row and its first records in one transaction
                async with connection.transaction():
                    created = await connection.fetchval(*create)
                    if created is not None:
                        if await connection.fetchval(APPEND, *args):
                            if notify is not None:
                                await connection.fetchrow(DELIVER, *notify)
                            return True
                        raise JournalConflictError(  # rolls the new row back
                            f"Cannot create run {run_id!r} with records from seq {seq} and "
                            f"offset {offset}: a new run's records start at 0.",
                            run_id=run_id,
                        )
            return await connection.fetchrow(STORED, run_id, seq, len(ticks), offset, len(events))

        row, retried = await self._write(attempt)
        if row is True:
            return
        if row is None:
            if batch.epoch is not None:
                raise lease_lost(run_id, batch.epoch, None)
            raise JournalConflictError(
                f"Cannot append to run {run_id!r}: there is no such run.", run_id=run_id
            )
        if (retried or maybe_written) and (row[2] or []) == ticks and (row[3] or []) == events:
            return  # the attempt whose connection broke had committed
        if batch.epoch is not None and row[4] != batch.epoch:
            raise lease_lost(run_id, batch.epoch, row[4])
        if workflow is not None:
            raise JournalConflictError(f"Run {run_id!r} already exists.", run_id=run_id)
        check_next(run_id, "seq", seq, row[0], len(ticks))
        check_next(run_id, "offset", offset, row[1], len(events))
        raise JournalConflictError(
            f"Cannot append to run {run_id!r}: another append changed it meanwhile; nothing "
            "was stored.",
            run_id=run_id,
        )


async def _fetch_many(connection: Any, *, values: tuple[Any, ...]) -> Any:
    return await connection.fetch(APPEND_MANY, *values)
