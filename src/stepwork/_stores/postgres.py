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
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

from stepwork._core.errors import JournalConflictError, RunNotFoundError, StoreError
from stepwork._stores import postgres_lease_sql as lease_sql
from stepwork._stores import postgres_leases as many
from stepwork._stores.checkpoint_codec import decode_checkpoint
from stepwork._stores.inbox_rules import inbox_message, no_such_run, run_ended
from stepwork._stores.lease_rules import renew_lost
from stepwork._stores.postgres_connect import (
    ConnectionLostError,
    create_pool,
    migrate,
    pooled_connection,
    redact,
)
from stepwork._stores.postgres_group import Appender
from stepwork._stores.postgres_limits import PostgresLimits
from stepwork._stores.postgres_listen import Notice, listen
from stepwork._stores.postgres_schedules import PostgresSchedules
from stepwork._stores.postgres_sql import (
    CREATE_RUN,
    DELIVER,
    GET_RUN,
    LIST_RUNS,
    LOAD_CHECKPOINT,
    LOAD_EVENTS,
    LOAD_INBOX,
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
    DueTimer,
    InboxKind,
    InboxMessage,
    JournalBatch,
    Lease,
    RunRecord,
    RunStatus,
    RunTail,
)
from stepwork._stores.records import (
    RecordKind,
    check_numbers,
    decode_record,
    encode_value,
)

__all__ = ["PostgresStore"]

_T = TypeVar("_T")


class PostgresStore:
    """The :class:`~stepwork._stores.protocol.Store` protocol on a PostgreSQL database.

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
        self.dsn = dsn
        self.schema = schema
        self.min_size = min_size
        self.max_size = max_size
        self._clock = clock
        self._pool: Any = None  # an asyncpg.Pool once open
        self._opening = asyncio.Lock()
        self._where = f"PostgreSQL database {redact(dsn)!r}"
        self.append_channel = lease_sql.channel("append", schema)
        """The NOTIFY channel told the run id of every append."""
        self.runnable_channel = lease_sql.channel("runnable", schema)
        """The NOTIFY channel told the run id of a run that became runnable."""
        self._appender = Appender(
            self._write, self._clock, self.append_channel, self.runnable_channel
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
        async with self._opening:
            if self._pool is not None:
                return
            pool = await create_pool(
                self.dsn, schema=self.schema, min_size=self.min_size, max_size=self.max_size
            )
            try:
                async with pooled_connection(pool, self._where) as connection:
                    self._where = await migrate(connection, schema=self.schema, clock=self._clock)
            except BaseException:
                pool.terminate()
                raise
            self._pool = pool

    async def close(self) -> None:
        """Close the pool's connections; the store may be opened again."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def create_run(self, run_id: str, workflow: str, created_at: float) -> None:
        """Add a ``running`` run with no ticks.

        Raises:
            JournalConflictError: If ``run_id`` already exists.
        """
        args = (run_id, workflow, float(created_at))
        created, retried = await self._write(lambda c: c.fetchval(CREATE_RUN, *args, None, None))
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

    async def claim_run(
        self, run_id: str, owner: str, ttl: float, *, take_from: str | None = None
    ) -> Lease | None:
        """Take run ``run_id`` for ``owner`` for ``ttl`` seconds if its lease is free, expired or
        already ``owner``'s, bumping its epoch; ``None`` if someone else holds it.

        Raises:
            RunNotFoundError: If there is no such run.
        """
        args = (run_id, owner, self._clock(), float(ttl), take_from)
        row = await self._call(lambda c: c.fetchrow(lease_sql.CLAIM_RUN, *args))
        if row is not None:
            return Lease(run_id, owner, row[0], row[1], row[2])
        await self.get_run(run_id)  # raises RunNotFoundError
        return None

    async def claim_runnable(
        self,
        owner: str,
        ttl: float,
        limit: int,
        workflows: Sequence[str] | None = None,
        versions: Mapping[str, str] | None = None,
    ) -> list[Lease]:
        """Claim up to ``limit`` runnable running runs with a free or expired lease, the
        longest waiting first (``FOR UPDATE SKIP LOCKED``: claimers never wait on each other),
        leaving runs recorded with a version other than ``versions`` names."""
        names = None if workflows is None else list(workflows)
        served = list(versions or {})
        args = (
            owner, float(ttl), self._clock(), max(limit, 0), names, served,
            [(versions or {})[name] for name in served],
        )  # fmt: skip
        rows = await self._call(lambda c: c.fetch(lease_sql.CLAIM_RUNNABLE, *args))
        return [Lease(row[0], owner, row[1], row[2], row[3], row[4]) for row in rows]

    async def renew(self, lease: Lease, ttl: float) -> Lease:
        """Extend ``lease`` to ``ttl`` seconds from now.

        Raises:
            LeaseLostError: If the run's epoch moved on or the lease was released.
        """
        args = (lease.run_id, lease.owner, lease.epoch, self._clock() + ttl)
        expires = await self._call(lambda c: c.fetchval(lease_sql.RENEW, *args))
        if expires is None:
            raise renew_lost(lease.run_id, lease.owner, lease.epoch)
        return Lease(lease.run_id, lease.owner, lease.epoch, expires)

    async def renew_many(self, leases: Sequence[Lease], ttl: float) -> list[Lease | None]:
        """``renew`` for each of ``leases`` in one statement (a run whose row an append holds
        at that moment is renewed alone after it): the renewed lease, ``None`` for one lost."""
        return await many.renew_many(self._call, leases, self._clock() + ttl)

    async def release(self, lease: Lease, *, idle: bool = False) -> bool:
        """Give the run back; idle: runnable at its earliest timer, else at once (and NOTIFY
        the runnable channel). False if ``lease`` is no longer the run's."""
        return (await self.release_many([lease], idle=idle))[0]

    async def release_many(self, leases: Sequence[Lease], *, idle: bool = False) -> list[bool]:
        """``release`` for each of ``leases`` in one transaction."""
        args = (idle, self._clock(), self.runnable_channel)
        return await many.release_many(self._call, leases, *args)

    async def deliver(
        self,
        run_id: str,
        kind: InboxKind,
        record: dict[str, Any] | None,
        idempotency_key: str | None,
        at: float,
        *,
        step: str | None = None,
    ) -> None:
        """Store a message in the run's inbox, make the run runnable from ``at`` and NOTIFY
        the runnable channel, in one statement; a pending message with the same key stores
        nothing (the run is woken all the same).

        Raises:
            RunNotFoundError: If there is no such run.
            WorkflowRuntimeError: If the run has ended.
        """
        text = None if record is None else encode_value(run_id, record, "inbox record")
        args = (run_id, kind, text, idempotency_key, step, float(at), self.runnable_channel)
        delivered, status = await self._call(lambda c: c.fetchrow(DELIVER, *args))
        if not delivered:
            raise no_such_run(run_id) if status is None else run_ended(run_id, status)

    async def load_inbox(self, run_id: str) -> list[InboxMessage]:
        """The run's pending inbox messages, in delivery order."""
        rows = await self._call(lambda c: c.fetch(LOAD_INBOX, run_id))
        return [inbox_message(*row) for row in rows]

    async def with_messages(self, run_ids: Sequence[str]) -> set[str]:
        """Those of ``run_ids`` whose inbox holds a message."""
        return await many.with_messages(self._call, run_ids)

    async def due_timers(self, now: float, limit: int | None = None) -> list[DueTimer]:
        """Timers of running runs with ``fire_at <= now``, the earliest first."""
        args = (float(now), None if limit is None else max(limit, 0))
        rows = await self._call(lambda c: c.fetch(lease_sql.DUE_TIMERS, *args))
        return [DueTimer(row[0], row[1], row[2]) for row in rows]

    async def next_timer(self, run_id: str) -> float | None:
        """When the run's earliest timer fires; ``None`` if it has none."""
        at = await self._call(lambda c: c.fetchval(lease_sql.NEXT_TIMER, run_id))
        return None if at is None else float(at)

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
        return (await self._write(operation))[0]

    async def _write(self, operation: Callable[[Any], Awaitable[_T]]) -> tuple[_T, bool]:
        """``operation``'s result on a pooled connection, and whether it had to be tried a
        second time because the first connection broke."""
        if self._pool is None:
            raise StoreError(f"{self!r} is not open: call 'await store.open()' first.")
        try:
            async with pooled_connection(self._pool, self._where) as connection:
                return await operation(connection), False
        except ConnectionLostError:
            # After a server restart every pooled connection is dead: replace them all.
            await self._pool.expire_connections()
        async with pooled_connection(self._pool, self._where) as connection:
            return await operation(connection), True
