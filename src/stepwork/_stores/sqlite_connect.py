"""Opening ``SqliteStore``'s connections: WAL mode, foreign keys, migrations; and the explicit
transactions every SQLite function of the store runs in.

Invariants:
- Connections are in autocommit mode (``isolation_level=None``): a transaction is only ever
  the one :func:`transaction` opens, so ``BEGIN IMMEDIATE`` is what it says.
- Migrations run in one ``BEGIN IMMEDIATE`` transaction, so processes opening one file at once
  migrate it once; an already migrated file is only read, without the write lock.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from stepwork._stores.migrate import SCHEMA_MIGRATIONS_DDL, load_migrations, pending_migrations

__all__ = ["connect", "split_statements", "transaction"]

_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_MIGRATIONS = "stepwork._stores.migrations.sqlite"


def connect(path: str, busy_timeout: float, synchronous: str, now: float) -> sqlite3.Connection:
    """Open ``path`` in WAL mode with foreign keys on, and apply pending migrations.

    Raises:
        StoreError: If the schema is newer than this code knows (nothing is changed).
        sqlite3.Error: If the file cannot be opened or is not a database.
    """
    # check_same_thread=False: only so the worker's finalizer may close a dropped connection.
    db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
    try:
        db.execute("PRAGMA journal_mode = WAL")
        db.execute(f"PRAGMA synchronous = {synchronous}")
        db.execute("PRAGMA foreign_keys = ON")
        _migrate(db, f"SQLite database {path!r}", now)
    except BaseException:
        db.close()
        raise
    return db


def _migrate(db: sqlite3.Connection, database: str, now: float) -> None:
    migrations = load_migrations(_MIGRATIONS)
    try:  # the usual case, already migrated: only read, without taking the write lock
        applied = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
        if not pending_migrations(migrations, applied, database=database):
            return
    except sqlite3.OperationalError:
        pass  # no schema_migrations table yet
    with transaction(db, "BEGIN IMMEDIATE"):
        db.execute(SCHEMA_MIGRATIONS_DDL)
        applied = {row[0] for row in db.execute("SELECT version FROM schema_migrations")}
        for migration in pending_migrations(migrations, applied, database=database):
            for statement in split_statements(migration.sql):
                db.execute(statement)
            db.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, now),
            )


@contextmanager
def transaction(db: sqlite3.Connection, begin: str = "BEGIN") -> Iterator[None]:
    """Run the block in a transaction opened with ``begin``; roll back if it raises."""
    db.execute(begin)
    try:
        yield
    except BaseException:
        if db.in_transaction:  # SQLite may have rolled back already (e.g. disk full)
            db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def split_statements(script: str) -> Iterator[str]:
    """The statements of ``script``, one by one (``sqlite3.execute`` runs only one).

    ``executescript`` would commit the migration's transaction first, so we split instead;
    ``sqlite3.complete_statement`` knows about strings, comments and trigger bodies.

    Example:
        >>> list(split_statements("CREATE TABLE a (x TEXT DEFAULT ';'); -- done;\\n"))
        ["CREATE TABLE a (x TEXT DEFAULT ';');"]
    """
    buffer = ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if _has_code(buffer):
                yield buffer.strip()
            buffer = ""
    if _has_code(buffer.removesuffix(";")):
        yield buffer  # an unfinished statement: let SQLite report it


def _has_code(text: str) -> bool:
    lines = (line.split("--", 1)[0] for line in _BLOCK_COMMENT.sub("", text).splitlines())
    return any(line.strip("; \t\r") for line in lines)
