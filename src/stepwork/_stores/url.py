"""A journal store from a URL: ``sqlite:///runs.db``, ``memory://``, ``postgresql://...``.

SQLite URLs follow SQLAlchemy's form: three slashes then a relative path
(``sqlite:///runs.db``), four for an absolute one (``sqlite:////var/lib/app/runs.db``), and
``sqlite:///:memory:`` for a private in-memory database. Query parameters ``busy_timeout``
(seconds) and ``synchronous`` (``NORMAL`` or ``FULL``) are passed to :class:`SqliteStore`.
PostgreSQL URLs (``postgresql://`` or ``postgres://``) are handed to ``PostgresStore``
unchanged; it is imported only then, so asyncpg is needed only by those who use it.

Example:
    >>> store_from_url("sqlite:///runs.db?synchronous=full")
    SqliteStore('runs.db')
    >>> store_from_url("memory://")
    MemoryStore(runs=0)
"""

from __future__ import annotations

import importlib
from typing import cast
from urllib.parse import parse_qsl, urlsplit

from stepwork._core.errors import StoreError
from stepwork._stores.memory import MemoryStore
from stepwork._stores.protocol import Store
from stepwork._stores.sqlite import SqliteStore

__all__ = ["store_from_url"]

_FORMS = "'sqlite:///path/runs.db', 'sqlite:///:memory:', 'memory://' or 'postgresql://...'"
_POSTGRES_SCHEMES = ("postgresql", "postgres")


def store_from_url(url: str) -> Store:
    """The store a URL names, not yet opened (call ``await store.open()``).

    Args:
        url: ``sqlite:///relative.db``, ``sqlite:////absolute.db``, ``sqlite:///:memory:``,
            ``memory://`` or a PostgreSQL DSN (``postgresql://user:pw@host:5432/db``).

    Raises:
        StoreError: If the scheme is not one stepwork knows, a SQLite URL has no path or an
            unknown parameter, or a PostgreSQL URL is given without the ``postgres`` extra
            installed (the message names ``pip install 'stepwork[postgres]'``).
    """
    scheme, _, rest = url.partition("://")
    scheme = scheme.lower()
    if scheme == "memory" and not rest.strip("/"):
        return MemoryStore()
    if scheme == "sqlite":
        return _sqlite_store(url, rest)
    if scheme in _POSTGRES_SCHEMES:
        return _postgres_store(url)
    raise StoreError(f"Cannot make a store from {url!r}: use {_FORMS}.")


def _sqlite_store(url: str, rest: str) -> SqliteStore:
    parts = urlsplit("sqlite://" + rest)
    path = parts.path.removeprefix("/")
    if parts.netloc or not path:
        raise StoreError(
            f"Cannot make a store from {url!r}: a SQLite URL is 'sqlite:///relative/path.db', "
            "'sqlite:////absolute/path.db' or 'sqlite:///:memory:'."
        )
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(options) - {"busy_timeout", "synchronous"})
    if unknown:
        raise StoreError(
            f"Cannot make a store from {url!r}: unknown parameter(s) {unknown}; "
            "SQLite URLs take 'busy_timeout' (seconds) and 'synchronous' (NORMAL or FULL)."
        )
    try:
        return SqliteStore(
            path,
            busy_timeout=float(options.get("busy_timeout", 5.0)),
            synchronous=options.get("synchronous", "NORMAL"),
        )
    except ValueError as error:
        raise StoreError(f"Cannot make a store from {url!r}: {error}") from error


def _postgres_store(url: str) -> Store:
    try:
        importlib.import_module("asyncpg")
    except ImportError as error:
        raise StoreError(
            "PostgreSQL stores need the 'postgres' extra (asyncpg is not installed): "
            "pip install 'stepwork[postgres]'"
        ) from error
    module = importlib.import_module("stepwork._stores.postgres")
    return cast(Store, module.PostgresStore(url))
