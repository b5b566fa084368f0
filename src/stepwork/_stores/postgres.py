"""``PostgresStore``: the journal on PostgreSQL, shared by many processes and hosts.

It uses asyncpg (the ``postgres`` extra, imported only when a store is opened) with a
connection pool. Numbered migrations in ``stepwork._stores.migrations.postgres`` are applied on
open, in one transaction, under an advisory lock so that processes opening at once migrate once.

Invariants (beyond the protocol's):
- Each ``append`` is one SQL statement, so one transaction and one round trip: it updates the
  run's counters only if the batch continues them (the row lock serialises concurrent
  appenders; a loser sees the new counters and stores nothing), and inserts the records.
- ``runs.ticks``/``runs.events`` count the stored records; the primary keys
  ``(run_id, seq)``/``(run_id, offset)`` forbid storing a number twice.
- Records are stored as JSON text, so they load exactly as appended; a row that is not a
  readable record raises ``JournalCorruptError`` for its run only.
- With ``schema``, every table lives in that PostgreSQL schema (created when missing), so
  several stores can share one database without seeing each other's runs.
- A call whose connection breaks (server restart, failover, an idle connection cut) is tried
  once more on a fresh one. A retried ``append`` or ``create_run`` that finds its own first
  attempt committed succeeds, so a broken connection never duplicates nor falsely refuses one.
- A statement or transaction that waits for several ``runs`` rows locks them in run id order
  first, so none deadlocks with another (``docs/design.md``, "Row locks on PostgreSQL").
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from stepwork._core.errors import JournalConflictError, RunNotFoundError
from stepwork._stores import postgres_lease_sql as lease_sql
from stepwork._stores.checkpoint_codec import decode_checkpoint
from stepwork._stores.postgres_connect import PostgresPool, redact
from stepwork._stores.postgres_group import Appender
from stepwork._stores.postgres_leases import PostgresLeases
from stepwork._stores.postgres_limits import PostgresLimits
from stepwork._stores.postgres_listen import Notice, listen
from stepwork._stores.postgres_schedules import PostgresSchedules
from stepwork._stores.postgres_sql import (
    CREATE_RUN,
    GET_RUN,
    LIST_RUNS,
    LOAD_CHECKPOINT,
    LOAD_EVENTS,
    LOAD_TAIL,
    LOAD_TICKS,
    PRUNE,
    RUN_COLUMN_COUNT,
    RUN_IS_FRESH,
    SIZE,
    list_args,
    run_record,
)
from stepwork._stores.protocol import (
    TERMINAL_STATUSES,
    Checkpoint,
    JournalBatch,
    RunRecord,
    RunStatus,
    RunTail,
)
from stepwork._stores.records import RecordKind, check_numbers, decode_record

__all__ = ["PostgresStore"]

_T = TypeVar("_T")


class PostgresStore(PostgresLeases):
    """The :class:`~stepwork._stores.protocol.Store` protocol on a PostgreSQL database (the
    lease, timer and inbox methods come from :class:`PostgresLeases`).

    Args:
        dsn: A libpq connection URI, e.g. ``postgresql://user:secret@host:5432/db``.
        schema: A PostgreSQL schema to keep the tables in (created if missing); the
            connection's default ``search_path`` when ``None``.
        min_size: Connections the pool opens at once.
        max_size: The most connections the pool holds.
        clock: Seconds since the epoch, for ``updated_at`` and migration times.

    Every method but ``open`` and ``close`` raises ``StoreError`` when the store is not open,
    or when PostgreSQL fails (e.g. the server is still down on the second try); messages
    never show the password.

    Example:
        >>> PostgresStore("postgresql://me:secret@db.example/runs", schema="flows")
        PostgresStore('postgresql://me:***@db.example/runs', schema='flows')
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None = None,
        min_size: int = 1,
        max_size: int = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(clock, lease_sql.channel("runnable", schema))
        self.dsn = dsn
        self.schema = schema
        self.min_size = min_size
        self.max_size = max_size
        self._pool = PostgresPool(
            dsn, schema=schema, min_size=min_size, max_size=max_size, clock=clock,
            describe=repr(self),
        )  # fmt: skip
        self.append_channel = lease_sql.channel("append", schema)
        """The NOTIFY channel told the run id of every append."""
        self._appender = Appender(
            self._pool.write, clock, self.append_channel, self.runnable_channel
        )
        self.limits = PostgresLimits(self._call, dsn, lease_sql.channel("limit", schema), clock)
        """Slots of named limits (``stepwork.Limit``), shared by every process and host."""
        channels = (
            self.append_channel,
            self.runnable_channel,
            lease_sql.channel("schedules", schema),
        )
        self.schedules = PostgresSchedules(self._call, dsn, channels, clock)
        """The store's schedules (``docs/durable-primitives.md#schedules``)."""

    def __repr__(self) -> str:
        schema = "" if self.schema is None else f", schema={self.schema!r}"
        return f"PostgresStore({redact(self.dsn)!r}{schema})"

    async def __aenter__(self) -> PostgresStore:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def open(self) -> None:
        """Connect a pool and apply pending migrations; idempotent.

        Raises:
            StoreError: If asyncpg is not installed (names the extra to install), the server
                cannot be reached or refuses the login, or the schema is newer than this
                stepwork knows (the database is left untouched).
        """
        await self._pool.open()

    async def close(self) -> None:
        """Close the pool's connections; the store may be opened again."""
        await self._pool.close()

    async def create_run(self, run_id: str, workflow: str, created_at: float) -> None:
        """Add a ``running`` run with no ticks.

        Raises:
            JournalConflictError: If ``run_id`` already exists.
        """
        args = (run_id, workflow, float(created_at))
        created, retried = await self._pool.write(
            lambda c: c.fetchval(CREATE_RUN, *args, None, None)
        )
        if retried and created is None:  # did the attempt whose connection broke commit?
            created = await self._call(lambda c: c.fetchval(RUN_IS_FRESH, *args))
        if not created:
            raise JournalConflictError(f"Run {run_id!r} already exists.", run_id=run_id)

    async def append(self, batch: JournalBatch) -> None:
        """Append ``batch`` in one transaction: all of it or, on any error, nothing (with its
        run's row when ``batch.workflow`` asks to create the run). Batches of other runs
        appended at the same moment share its statement (group commit, ``postgres_group``);
        each is still checked and stored, or refused, on its own.

        If the connection breaks, the append is tried once more on a new one; when the
        first attempt turns out to have committed, that counts as success.

        Raises:
            JournalConflictError: If the run does not exist (or, to be created, exists), or
                ``seq``/``offset`` numbers overlap what is stored or leave a gap.
            LeaseLostError: If the batch is fenced and the run's epoch moved on.
            StoreError: If a record is not a JSON object (tick records need a ``kind``), or
                PostgreSQL fails twice.
        """
        await self._appender.append(batch)

    async def load_ticks(
        self, run_id: str, after_seq: int = -1, limit: int | None = None
    ) -> list[dict[str, Any]]:
        """Up to ``limit`` of the run's tick records with ``seq > after_seq``, in order.

        Raises:
            RunNotFoundError: If there is no such run.
            JournalCorruptError: If a stored record is not valid JSON or has no ``kind``, or
                one is missing (names run and seq).
        """
        rows = await self._load(LOAD_TICKS, run_id, after_seq, limit, "tick")
        return [decode_record(run_id, seq, text, "tick") for seq, text in rows]

    async def load_events(
        self, run_id: str, after_offset: int = -1, limit: int | None = None
    ) -> list[tuple[int, dict[str, Any]]]:
        """``(offset, event record)`` pairs with ``offset > after_offset``, in order.

        Raises:
            RunNotFoundError: If there is no such run.
            JournalCorruptError: If a stored record is not valid JSON, or one is missing
                (names run and offset).
        """
        rows = await self._load(LOAD_EVENTS, run_id, after_offset, limit, "event")
        return [(offset, decode_record(run_id, offset, text, "event")) for offset, text in rows]

    async def load_checkpoint(self, run_id: str) -> Checkpoint | None:
        """The run's latest checkpoint; ``None`` if it has none.

        Raises:
            RunNotFoundError: If there is no such run.
            JournalCorruptError: If the stored checkpoint is not a JSON object.
        """
        row = await self._call(lambda c: c.fetchrow(LOAD_CHECKPOINT, run_id))
        if row is None:
            raise RunNotFoundError(f"No run {run_id!r} in {self!r}.", run_id=run_id)
        return None if row[0] is None else decode_checkpoint(run_id, row[0], row[1])

    async def load_tail(self, run_id: str) -> RunTail:
        """The run's row, latest checkpoint and the tick records after it, in one query.

        Raises:
            RunNotFoundError: If there is no such run.
            JournalCorruptError: If the checkpoint is not a JSON object, or a tick record is
                unreadable or missing (names run and seq).
        """
        row = await self._call(lambda c: c.fetchrow(LOAD_TAIL, run_id))
        if row is None:
            raise RunNotFoundError(f"No run {run_id!r} in {self!r}.", run_id=run_id)
        n = RUN_COLUMN_COUNT  # the run's columns, then the checkpoint's two and the tail's two
        record = run_record(row[:n])
        saved, seqs, texts = row[n], row[n + 2] or [], row[n + 3] or []
        checkpoint = None if saved is None else decode_checkpoint(run_id, saved, row[n + 1])
        after = -1 if saved is None else saved
        check_numbers(run_id, "tick", seqs, after, record.ticks)
        pairs = zip(seqs, texts, strict=True)
        ticks = [decode_record(run_id, seq, text, "tick") for seq, text in pairs]
        return RunTail(record, checkpoint, ticks)

    async def get_run(self, run_id: str) -> RunRecord:
        """The run's record (``corrupt`` set when its result or error is not valid JSON).

        Raises:
            RunNotFoundError: If there is no such run.
        """
        row = await self._call(lambda c: c.fetchrow(GET_RUN, run_id))
        if row is None:
            raise RunNotFoundError(f"No run {run_id!r} in {self!r}.", run_id=run_id)
        return run_record(row)

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

        ``created_after`` and ``created_before`` are exclusive bounds. ``text`` keeps runs
        whose id or error contains it (ignoring ASCII case); ``offset`` skips that many
        matching runs (a page of ``limit`` runs from there); ``parent`` keeps its children.
        """
        args = list_args(
            status, workflow, created_after, created_before, limit, text, offset, parent
        )
        rows = await self._call(lambda c: c.fetch(LIST_RUNS, *args))
        return [run_record(row) for row in rows]

    async def delete_run(self, run_id: str) -> bool:
        """Delete a run with its ticks and events; False if there was none.

        After a broken connection it is tried again, and may then say False for a run the
        first attempt deleted.
        """
        status = await self._call(lambda c: c.execute("DELETE FROM runs WHERE run_id = $1", run_id))
        return bool(status != "DELETE 0")

    async def prune(self, finished_before: float) -> int:
        """Delete finished runs last updated before ``finished_before``; how many.

        After a broken connection it is tried again, and then counts only the second try.
        """
        args = (sorted(TERMINAL_STATUSES), float(finished_before))
        status = await self._call(lambda c: c.execute(PRUNE, *args))
        return int(status.split()[-1])

    async def size(self) -> dict[str, int]:
        """``{"runs", "ticks", "events", "bytes"}``; bytes from ``pg_total_relation_size``.

        The bytes are the journal tables' with their indexes and TOAST data, as on disk.
        """
        runs, ticks, events, size = await self._call(lambda c: c.fetchrow(SIZE))
        return {"runs": runs, "ticks": ticks, "events": events, "bytes": size}

    def listen(
        self,
        on_notice: Callable[[Notice, str], None],
        kinds: Sequence[Notice] = ("append", "runnable"),
    ) -> AbstractAsyncContextManager[None]:
        """While the returned context is entered, ``on_notice(kind, run_id)`` is called for
        every append (``"append"``) and every run that becomes runnable (``"runnable"``) in
        this store, from any process (only the ``kinds`` asked for: a worker, which needs
        no appends, is then not sent one per append of every run). Notifications sent while
        nobody listens are lost: poll too (slowly).

        Raises:
            StoreError: If the server cannot be reached (on entering).
        """
        every: dict[str, Notice] = {
            self.append_channel: "append",
            self.runnable_channel: "runnable",
        }
        channels = {channel: kind for channel, kind in every.items() if kind in kinds}
        return listen(self.dsn, channels, on_notice)

    async def _load(
        self, sql: str, run_id: str, after: int, limit: int | None, kind: RecordKind
    ) -> list[tuple[int, str]]:
        limit = None if limit is None else max(limit, 0)
        rows = await self._call(lambda c: c.fetch(sql, run_id, after, limit))
        if not rows:
            raise RunNotFoundError(f"No run {run_id!r} in {self!r}.", run_id=run_id)
        found = [(row[0], row[1]) for row in rows if row[0] is not None]
        check_numbers(run_id, kind, [number for number, _ in found], after, rows[0][2], limit)
        return found

    async def _call(self, operation: Callable[[Any], Awaitable[_T]]) -> _T:
        return await self._pool.call(operation)
