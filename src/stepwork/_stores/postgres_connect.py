"""Connecting ``PostgresStore``: the lazy asyncpg import, the pool, migrations, error mapping.

asyncpg is the ``postgres`` extra: nothing imports it until a store is opened, and without it
opening fails with an error that names the ``pip install`` to run.

Invariants:
- Migrations run in one transaction under a database-wide advisory lock, so processes that
  open a store at the same moment migrate once, and a schema newer than this code is refused
  before anything is written.
- With a ``schema``, each pooled connection's ``search_path`` is that schema alone, so the
  store's SQL never names a schema and two stores in different schemas never meet.
- asyncpg and socket errors leave this module as ``StoreError`` (``JournalConflictError`` for a
  duplicate key, ``ConnectionLostError`` when the connection broke), with the DSN's password
  replaced by ``***``.
- The pool's failed background reconnects are reported by ``postgres_outage`` (one line per
  outage on ``stepwork.stores``), never as asyncpg's tracebacks.
- :class:`PostgresPool` runs every operation of a store: once more on a fresh connection when
  its connection broke (after a server restart every pooled connection is replaced).
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from stepwork._core.errors import JournalConflictError, StoreError
from stepwork._stores.migrate import SCHEMA_MIGRATIONS_DDL, load_migrations, pending_migrations
from stepwork._stores.postgres_outage import connection_opened, report_pool_outages

__all__ = [
    "ConnectionLostError",
    "PostgresPool",
    "create_pool",
    "import_asyncpg",
    "migrate",
    "pooled_connection",
    "quote",
    "redact",
]

MIGRATIONS = "stepwork._stores.migrations.postgres"

_T = TypeVar("_T")


class ConnectionLostError(StoreError):
    """The connection broke (server restart, failover, an idle connection cut): the pool
    replaces it, so the operation may be tried again; whether it took effect is unknown."""


def quote(identifier: str) -> str:
    """``identifier`` as a quoted SQL identifier.

    Example:
        >>> print(quote('a "b" c'))
        "a ""b"" c"
    """
    return '"' + identifier.replace('"', '""') + '"'


def redact(dsn: str) -> str:
    """``dsn`` with its password, if any, replaced by ``***``.

    Example:
        >>> redact("postgresql://me:secret@db.example:5432/runs")
        'postgresql://me:***@db.example:5432/runs'
    """
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", dsn)


def import_asyncpg() -> Any:
    """The asyncpg module.

    Raises:
        StoreError: If asyncpg is not installed; names ``pip install 'stepwork[postgres]'``.
    """
    try:
        import asyncpg  # type: ignore[import-untyped]
    except ImportError as error:
        raise StoreError(
            "PostgresStore needs asyncpg, which is not installed: "
            "run pip install 'stepwork[postgres]'."
        ) from error
    return asyncpg


async def create_pool(dsn: str, *, schema: str | None, min_size: int, max_size: int) -> Any:
    """An asyncpg pool on ``dsn`` whose connections use ``schema`` (when given).

    Raises:
        StoreError: If asyncpg is missing, or the server cannot be reached or refuses the
            login (the message shows the DSN without its password).
    """
    pg = import_asyncpg()
    settings = None if schema is None else {"search_path": quote(schema)}
    report_pool_outages()
    try:
        return await pg.create_pool(
            dsn, min_size=min_size, max_size=max_size, server_settings=settings,
            reset=_keep_session, init=connection_opened,
        )  # fmt: skip
    except (pg.PostgresError, pg.InterfaceError, OSError) as error:
        raise StoreError(f"Cannot connect to PostgreSQL at {redact(dsn)!r}: {error}") from error


async def _keep_session(connection: Any) -> None:
    """Give a connection back to the pool as it is: asyncpg's default reset sends
    ``RESET ALL; UNLISTEN *; ...``, one more round trip per query, for session state the
    store never changes (it sets no variables, holds no session locks or cursors and listens
    on connections of its own). asyncpg still rolls back a transaction left open."""
    del connection


async def migrate(connection: Any, *, schema: str | None, clock: Callable[[], float]) -> str:
    """Create ``schema`` if missing and apply pending migrations; how to name the database.

    Raises:
        StoreError: If the database's schema is newer than this stepwork knows (nothing is
            changed), or a migration fails.
    """
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock(hashtext('stepwork.migrate'))")
        if schema is not None:
            await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(schema)}")
        database, current = await connection.fetchrow("SELECT current_database(), current_schema()")
        where = f"PostgreSQL database {database!r} (schema {current!r})"
        if await connection.fetchval("SELECT to_regclass('schema_migrations')") is None:
            await connection.execute(SCHEMA_MIGRATIONS_DDL)
        rows = await connection.fetch("SELECT version FROM schema_migrations")
        applied = {row[0] for row in rows}
        for migration in pending_migrations(load_migrations(MIGRATIONS), applied, database=where):
            await connection.execute(migration.sql)
            await connection.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                migration.version, migration.name, clock(),
            )  # fmt: skip
    return where


@asynccontextmanager
async def pooled_connection(pool: Any, where: str) -> AsyncIterator[Any]:
    """A connection from ``pool``, given back on exit; errors become store errors.

    Args:
        pool: An open asyncpg pool.
        where: How to name the database in errors.

    Raises:
        JournalConflictError: For a duplicate key (stored rows out of step with counters).
        ConnectionLostError: If the connection broke (the pool will not hand it out again).
        StoreError: For any other asyncpg error (e.g. a value the database refuses).
    """
    pg = import_asyncpg()
    lost = (OSError, pg.PostgresConnectionError, pg.InternalClientError, pg.AdminShutdownError,
            pg.CrashShutdownError, pg.CannotConnectNowError)  # fmt: skip
    try:
        async with pool.acquire() as connection:
            yield connection
    except pg.UniqueViolationError as error:
        raise JournalConflictError(f"{where}: {error}; nothing was stored.") from error
    except lost as error:
        raise ConnectionLostError(f"{where}: the connection was lost: {error}") from error
    except (pg.PostgresError, pg.InterfaceError) as error:
        raise StoreError(f"{where} failed: {error}") from error


class PostgresPool:
    """A store's asyncpg pool: opened (and the database migrated) once, closed, and the way
    each of the store's operations gets a connection.

    Args:
        dsn: A libpq connection URI.
        schema: The PostgreSQL schema the tables live in (``None``: the default
            ``search_path``).
        min_size: Connections the pool opens at once.
        max_size: The most connections the pool holds.
        clock: Seconds since the epoch, for migration times.
        describe: What to call the store in errors (its ``repr``).
    """

    def __init__(
        self,
        dsn: str,
        *,
        schema: str | None,
        min_size: int,
        max_size: int,
        clock: Callable[[], float],
        describe: str,
    ) -> None:
        self._dsn, self._schema, self._clock, self._describe = dsn, schema, clock, describe
        self._sizes = (min_size, max_size)
        self._pool: Any = None  # an asyncpg.Pool once open
        self._opening = asyncio.Lock()
        self._where = f"PostgreSQL database {redact(dsn)!r}"

    async def open(self) -> None:
        """Connect the pool and apply pending migrations; idempotent.

        Raises:
            StoreError: If asyncpg is not installed (names the extra to install), the server
                cannot be reached or refuses the login, or the schema is newer than this
                stepwork knows (the database is left untouched).
        """
        async with self._opening:
            if self._pool is not None:
                return
            min_size, max_size = self._sizes
            pool = await create_pool(
                self._dsn, schema=self._schema, min_size=min_size, max_size=max_size
            )
            try:
                async with pooled_connection(pool, self._where) as connection:
                    self._where = await migrate(connection, schema=self._schema, clock=self._clock)
            except BaseException:
                pool.terminate()
                raise
            self._pool = pool

    async def close(self) -> None:
        """Close the pool's connections; it may be opened again."""
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    async def call(self, operation: Callable[[Any], Awaitable[_T]]) -> _T:
        """``operation``'s result on a pooled connection (see :meth:`write`)."""
        return (await self.write(operation))[0]

    async def write(self, operation: Callable[[Any], Awaitable[_T]]) -> tuple[_T, bool]:
        """``operation``'s result on a pooled connection, and whether it had to be tried a
        second time because the first connection broke.

        Raises:
            StoreError: If the pool is not open, or PostgreSQL fails (twice, for a broken
                connection).
        """
        if self._pool is None:
            raise StoreError(f"{self._describe} is not open: call 'await store.open()' first.")
        try:
            async with pooled_connection(self._pool, self._where) as connection:
                return await operation(connection), False
        except ConnectionLostError:
            # After a server restart every pooled connection is dead: replace them all.
            await self._pool.expire_connections()
        async with pooled_connection(self._pool, self._where) as connection:
            return await operation(connection), True
