"""The ``store`` fixture: every journal backend, opened on an empty database, closed after.

PostgreSQL joins once both its store (``stepwork._stores.postgres``) and its test server
(``pg_server.py`` next to this file, giving each test an empty database through
``postgres_dsn``) exist.
"""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

import stepwork._stores
from stepwork._stores.memory import MemoryStore
from stepwork._stores.protocol import Store
from stepwork._stores.sqlite import SqliteStore

HAVE_POSTGRES = (Path(__file__).parent / "pg_server.py").exists() and (
    Path(stepwork._stores.__file__).parent / "postgres.py"
).exists()
BACKENDS = ["memory", "sqlite"] + (["postgres"] if HAVE_POSTGRES else [])
PERSISTENT_BACKENDS = [name for name in BACKENDS if name != "memory"]


def _factory(request: pytest.FixtureRequest, backend: str) -> Callable[[], Store]:
    """Makes store objects over one empty database; each call is a new "process"."""
    if backend == "memory":
        return MemoryStore
    if backend == "sqlite":
        path = request.getfixturevalue("tmp_path") / "runs.db"
        return lambda: SqliteStore(path)
    postgres = importlib.import_module("stepwork._stores.postgres")
    dsn = request.getfixturevalue("postgres_dsn")
    return lambda: postgres.PostgresStore(dsn)


@pytest.fixture(params=BACKENDS)
async def store(request: pytest.FixtureRequest) -> AsyncIterator[Store]:
    """An open, empty store of each backend."""
    opened = _factory(request, request.param)()
    await opened.open()
    yield opened
    await opened.close()


@pytest.fixture(params=PERSISTENT_BACKENDS)
async def make_store(request: pytest.FixtureRequest) -> AsyncIterator[Callable[[], Store]]:
    """A factory of (unopened) stores over one database: a restart is a new store object."""
    factory = _factory(request, request.param)
    made: list[Store] = []

    def make() -> Store:
        made.append(factory())
        return made[-1]

    yield make
    for each in made:
        await each.close()
