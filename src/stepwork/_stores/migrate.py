"""Numbered SQL migrations, shared by the SQLite and PostgreSQL stores.

A store keeps its migrations as files ``NNNN_name.sql`` in a package folder (for SQLite,
``stepwork._stores.migrations.sqlite``) and the versions it has applied in a
``schema_migrations`` table (:data:`SCHEMA_MIGRATIONS_DDL` creates it in either database).
Opening a store applies, in one transaction that holds the database's write lock, every
migration it has not applied yet:

1. create ``schema_migrations`` if missing, and read the applied versions;
2. :func:`pending_migrations` returns what to run, or raises if the database was written by a
   newer stepwork (a version this code does not know);
3. run each pending migration's SQL and insert its ``(version, name, applied_at)`` row.

Invariants:
- Versions are contiguous from 1 (``0001_initial.sql``, ``0002_...``); a gap or a duplicate is
  a packaging error, refused by :func:`load_migrations`.
- A migration, once released, never changes: fixes go into a new, higher-numbered file.
- A database whose schema is newer than the code is never touched: old code could misread
  rows written under rules it does not know.

Example:
    >>> shipped = load_migrations("stepwork._stores.migrations.sqlite")
    >>> [m.name for m in shipped][:1]
    ['0001_initial']
    >>> pending_migrations(shipped, {m.version for m in shipped})
    []
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from stepwork._core.errors import StoreError

__all__ = [
    "SCHEMA_MIGRATIONS_DDL",
    "Migration",
    "latest_version",
    "load_migrations",
    "pending_migrations",
]

SCHEMA_MIGRATIONS_DDL = (
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
)
"""Creates the table of applied versions; valid SQL for SQLite and PostgreSQL."""

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One numbered schema change.

    Attributes:
        version: Its number (1, 2, ...), from the file name's first four digits.
        name: The file name without ``.sql``, e.g. ``0001_initial``.
        sql: The statements to run, in the database's dialect.
    """

    version: int
    name: str
    sql: str


def load_migrations(package: str) -> tuple[Migration, ...]:
    """The migrations shipped in ``package``, in version order.

    Args:
        package: A dotted package name whose folder holds ``NNNN_name.sql`` files.

    Raises:
        StoreError: If the package cannot be found, or its versions are not 1, 2, ... without
            gaps or duplicates (a packaging mistake, not a database problem).
    """
    try:
        from importlib import resources  # loaded when a store opens, not on import stepwork

        folder = resources.files(package)
    except ModuleNotFoundError as error:
        raise StoreError(f"No migrations package {package!r}: {error}") from error
    found: list[Migration] = []
    for entry in folder.iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        sql = entry.read_text(encoding="utf-8")
        found.append(Migration(int(match.group(1)), entry.name.removesuffix(".sql"), sql))
    found.sort(key=lambda migration: migration.version)
    versions = [migration.version for migration in found]
    if versions != list(range(1, len(found) + 1)):
        raise StoreError(
            f"Migrations in {package!r} must be numbered 1, 2, ... without gaps or "
            f"duplicates; found versions {versions}."
        )
    return tuple(found)


def latest_version(migrations: Sequence[Migration]) -> int:
    """The highest version in ``migrations`` (0 when there are none)."""
    return migrations[-1].version if migrations else 0


def pending_migrations(
    migrations: Sequence[Migration], applied: Collection[int], *, database: str = "database"
) -> list[Migration]:
    """The migrations of ``migrations`` not yet in ``applied``, in order.

    Args:
        migrations: What this code knows, from :func:`load_migrations`.
        applied: The versions found in the database's ``schema_migrations`` table.
        database: How to name the database in errors (e.g. its path).

    Raises:
        StoreError: If the database has a version this code does not know (it was written by
            a newer stepwork: upgrade stepwork to open it), or if an older migration is missing
            while a later one was applied (the table was edited by hand).
    """
    known = latest_version(migrations)
    newer = sorted(version for version in applied if version > known)
    if newer:
        raise StoreError(
            f"The schema of {database} is version {newer[-1]}, newer than this stepwork knows "
            f"(up to version {known}); it was written by a newer stepwork. Upgrade stepwork "
            "to open it; it was left untouched."
        )
    pending = [migration for migration in migrations if migration.version not in applied]
    if pending and applied and pending[0].version < max(applied):
        raise StoreError(
            f"The schema of {database} has version {max(applied)} applied but not version "
            f"{pending[0].version}; schema_migrations looks edited by hand."
        )
    return pending
