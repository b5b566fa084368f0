"""``SqliteStore``: the journal in one SQLite file, the default for durable runs.

Only the standard library's ``sqlite3`` is used. Writes run on one dedicated thread that owns
the writing connection (see ``sqlite_worker``), so the event loop never blocks on disk and
writes reach the database one at a time, in the order they were made. Reads of a database
file run on a second thread with a read-only connection of their own: in WAL mode they see
every committed write and never wait behind writes (a status read under load took ~30 ms
queued behind appends, ~1 ms on its own connection). An in-memory database has one
connection for both.

Durability: the database is in WAL mode with ``synchronous=NORMAL`` by default. A committed
append survives the process being killed (even with SIGKILL): the commit is in the WAL file,
which the next connection replays. Only an operating-system crash or power loss can lose the
last commits before a checkpoint (the database stays consistent either way). Pass
``synchronous="FULL"`` to fsync every commit and survive those too, at a cost per append.

Invariants (beyond the protocol's):
- Each append is one ``BEGIN IMMEDIATE`` transaction, so writers in several processes are
  serialised by SQLite's lock (waiting up to ``busy_timeout``).
- ``runs.ticks``/``runs.events`` count the stored records; the next seq/offset must equal them,
  and the primary keys ``(run_id, seq)``/``(run_id, offset)`` forbid storing a number twice.
- Cancelling a call that is waiting drops it if it has not started; once started, it runs to
  its commit or rollback, so the journal is never left half-appended.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import Any, Concatenate, ParamSpec, TypeVar

from stepwork._core.errors import RunNotFoundError, StoreError
from stepwork._stores import sqlite_journal as journal
from stepwork._stores import sqlite_reads as reads
from stepwork._stores.checkpoint_codec import decode_checkpoint
from stepwork._stores.protocol import (
    TERMINAL_STATUSES,
    Checkpoint,
    JournalBatch,
    RunRecord,
    RunStatus,
    net_timers,
)
from stepwork._stores.records import encode_records, encode_value, like_pattern
from stepwork._stores.sqlite_connect import connect
from stepwork._stores.sqlite_leases import SqliteLeases
from stepwork._stores.sqlite_limits import SqliteLimits
from stepwork._stores.sqlite_schedules import SqliteSchedules
from stepwork._stores.sqlite_worker import SqliteWorker

__all__ = ["SqliteStore"]

_T = TypeVar("_T")
_P = ParamSpec("_P")


class SqliteStore(SqliteLeases):
    """The :class:`~stepwork._stores.protocol.Store` protocol on a SQLite file (the lease,
    timer and inbox methods come from :class:`SqliteLeases`).

    Args:
        path: The database file (created if missing; its folder must exist), or
            ``":memory:"`` for a private in-memory database.
        busy_timeout: Seconds to wait for another process's write lock before failing.
        synchronous: ``"NORMAL"`` (survives a killed process) or ``"FULL"`` (also survives
            an operating-system crash, slower).
        clock: Seconds since the epoch, for ``updated_at`` and migration times.

    Raises:
        ValueError: If ``synchronous`` is neither ``"NORMAL"`` nor ``"FULL"``.

    Every method but ``open`` and ``close`` raises ``StoreError`` when the store is not open,
    or when SQLite fails (e.g. the lock was not released within ``busy_timeout``).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 5.0,
        synchronous: str = "NORMAL",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if synchronous.upper() not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be 'NORMAL' or 'FULL', got {synchronous!r}")
        super().__init__(clock)
        self.path = os.fspath(path)
        self.busy_timeout = busy_timeout
        self.synchronous = synchronous.upper()
        self._writer: SqliteWorker | None = None
        self._reader: SqliteWorker | None = None  # None: reads go to the writer
        self.limits = SqliteLimits(self._call, clock)
        """Slots of named limits (``stepwork.Limit``), shared by every process on the file."""
        self.schedules = SqliteSchedules(self._call, self._read, clock)
        """The store's schedules (``docs/durable-primitives.md#schedules``)."""

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"

    async def __aenter__(self) -> SqliteStore:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Connect, enable WAL and foreign keys, and apply pending migrations; idempotent.

        Raises:
            StoreError: If the file cannot be opened or is not a database, or its schema is
                newer than this stepwork knows (the file is left untouched).
        """
        if self._writer is None:
            self._writer = SqliteWorker("stepwork-sqlite", repr(self), self.path)
            if self.path != ":memory:" and not self.path.startswith("file:"):
                self._reader = SqliteWorker("stepwork-sqlite-read", repr(self), self.path)
        try:
            await self._writer.open(self._connect)  # creates and migrates the file first
            if self._reader is not None:
                await self._reader.open(self._connect_reader)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        """Close the connections and stop their threads; the store may be opened again."""
        workers = (self._reader, self._writer)
        self._writer = self._reader = None
        for worker in workers:
            if worker is not None:
                await worker.close()

    async def create_run(self, run_id: str, workflow: str, created_at: float) -> None:
        """Add a ``running`` run with no ticks.

        Raises:
            JournalConflictError: If ``run_id`` already exists.
        """
        await self._call(journal.create_run, run_id, workflow, created_at)

    async def append(self, batch: JournalBatch) -> None:
        """Append ``batch`` in one transaction: all of it or, on any error, nothing (with its
        run's row when ``batch.workflow`` asks to create the run).

        Raises:
            JournalConflictError: If the run does not exist (or, to be created, exists), or
                ``seq``/``offset`` numbers overlap what is stored or leave a gap.
            StoreError: If a record is not a JSON object (tick records need a ``kind``).
        """
        run_id = batch.run_id
        # Encode here, on the loop's thread, so the worker never reads the caller's objects.
        ticks = encode_records(run_id, batch.ticks, "tick", batch.first_seq)
        events = encode_records(run_id, batch.events, "event", batch.first_offset)
        ending = None
        if batch.status is not None:
            result = None if batch.result is None else encode_value(run_id, batch.result, "result")
            error = None if batch.error is None else encode_value(run_id, batch.error, "error")
            ending = (batch.status, result, error)
        create = None
        if batch.workflow is not None:
            create = (batch.workflow, batch.created_at, batch.version, batch.parent_run_id)
        set_timers, cancel_timers = net_timers(batch.timers)
        fencing = journal.Fencing(
            batch.epoch,
            batch.lease,
            set_timers,
            cancel_timers,
            batch.runnable_at,
            batch.had_timers or bool(set_timers),
            batch.consumed,
        )
        notice, notify = batch.notify, None
        if notice is not None:
            text = encode_value(notice.run_id, notice.record, "inbox record")
            notify = (notice.run_id, text, notice.idempotency_key)
        checkpoint = batch.checkpoint
        saved = None
        if checkpoint is not None:
            saved = (checkpoint.seq, encode_value(run_id, checkpoint.record, "checkpoint"))
        await self._call(
            journal.append,
            run_id,
            batch.first_seq,
            ticks,
            batch.first_offset,
            events,
            ending,
            self._clock(),
            create,
            fencing,
            saved,
            notify,
        )

    async def load_checkpoint(self, run_id: str) -> Checkpoint | None:
        """The run's latest checkpoint; ``None`` if it has none.

        Raises:
            RunNotFoundError: If there is no such run.
            JournalCorruptError: If the stored checkpoint is not a JSON object.
        """
        found = await self._read(reads.load_checkpoint, run_id)
        return None if found is None else decode_checkpoint(run_id, *found)

    async def load_ticks(
        self, run_id: str, after_seq: int = -1, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` of the run's tick records with ``seq > after_seq``, in order.

        Raises:
            RunNotFoundError: If there is no such run.
            JournalCorruptError: If a stored record is not valid JSON or has no ``kind``, or
                one is missing (names run and seq).
        """
        return await self._read(reads.load_ticks, run_id, after_seq, limit)

    async def load_events(
        self, run_id: str, after_offset: int = -1, limit: int | None = None
    ) -> list[tuple[int, dict[str, Any]]]:
        """``(offset, event record)`` pairs with ``offset > after_offset``, in order.

        Raises:
            RunNotFoundError: If there is no such run.
            JournalCorruptError: If a stored record is not valid JSON, or one is missing
                (names run and offset).
        """
        return await self._read(reads.load_events, run_id, after_offset, limit)

    async def get_run(self, run_id: str) -> RunRecord:
        """The run's record (``corrupt`` set when its result or error is not valid JSON).

        Raises:
            RunNotFoundError: If there is no such run.
        """
        sql = f"SELECT {reads.RUN_COLUMNS} FROM runs WHERE run_id = ?"
        runs = await self._read(reads.select_runs, sql, [run_id])
        if not runs:
            raise RunNotFoundError(f"No run {run_id!r} in {self!r}.", run_id=run_id)
        return runs[0]

    async def list_runs(
        self,
        *,
        status: Sequence[RunStatus] | None = None,
        workflow: Sequence[str] | None = None,
        created_after: float | None = None,
        created_before: float | None = None,
        limit: int | None = None,
        text: str | None = None,
        offset: int = 0,
        parent: str | None = None,
    ) -> list[RunRecord]:
        """Runs matching every given filter, newest first (``created_at``, then creation order).

        ``created_after`` and ``created_before`` are exclusive bounds.
        ``text`` keeps runs whose id or error contains it (ignoring ASCII case); ``offset``
        skips that many matching runs (a page of ``limit`` runs from there); ``parent`` keeps
        the children of that run.
        """
        where: list[str] = ["1"]
        params: list[Any] = []
        for column, values in (("status", status), ("workflow", workflow)):
            if values is not None:
                where.append(f"{column} IN ({', '.join('?' * len(values))})" if values else "0")
                params.extend(values)
        if created_after is not None:
            where.append("created_at > ?")
            params.append(created_after)
        if created_before is not None:
            where.append("created_at < ?")
            params.append(created_before)
        if text:
            where.append("(run_id LIKE ? ESCAPE '\\' OR error LIKE ? ESCAPE '\\')")
            params.extend([like_pattern(text)] * 2)
        if parent is not None:
            where.append("parent_run_id = ?")
            params.append(parent)
        params.extend([-1 if limit is None else max(limit, 0), max(offset, 0)])
        sql = (
            f"SELECT {reads.RUN_COLUMNS} FROM runs WHERE {' AND '.join(where)} "
            "ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?"
        )
        return await self._read(reads.select_runs, sql, params)

    async def delete_run(self, run_id: str) -> bool:
        """Delete a run with its ticks and events; False if there was none."""
        return await self._call(journal.delete, "DELETE FROM runs WHERE run_id = ?", [run_id]) > 0

    async def prune(self, finished_before: float) -> int:
        """Delete finished runs last updated before ``finished_before``; how many."""
        statuses = sorted(TERMINAL_STATUSES)
        sql = (
            f"DELETE FROM runs WHERE status IN ({', '.join('?' * len(statuses))}) "
            "AND updated_at < ?"
        )
        return await self._call(journal.delete, sql, [*statuses, finished_before])

    async def size(self) -> dict[str, int]:
        """``{"runs", "ticks", "events", "bytes"}``; bytes are the database file plus its WAL."""
        return await self._read(reads.size, self.path)

    async def _call(
        self,
        function: Callable[Concatenate[sqlite3.Connection, _P], _T],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T:
        writer = self._writer
        if writer is None:
            raise StoreError(f"{self!r} is not open: call 'await store.open()' first.")
        return await writer.call(function, *args, **kwargs)

    async def _read(
        self,
        function: Callable[Concatenate[sqlite3.Connection, _P], _T],
        *args: _P.args,
        **kwargs: _P.kwargs,
    ) -> _T:
        # Reads that take several statements open their own transaction (one snapshot).
        reader = self._reader
        if reader is None:
            return await self._call(function, *args, **kwargs)
        return await reader.call(function, *args, **kwargs)

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path, self.busy_timeout, self.synchronous, self._clock())

    def _connect_reader(self) -> sqlite3.Connection:
        db = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            db.execute("PRAGMA query_only = ON")
        except BaseException:
            db.close()
            raise
        return db
