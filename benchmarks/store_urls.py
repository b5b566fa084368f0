"""Where the per-store benchmarks (``once``, ``limits``) measure: no store, a SQLite file and a
throwaway PostgreSQL server (the tests' ``running_server``), for one invocation."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def store_urls(name: str) -> Iterator[dict[str, str | None]]:
    """``{"memory": None, "sqlite": URL, "postgres": DSN}``, alive while the block runs;
    ``name`` names the SQLite file and the PostgreSQL database."""
    from tests.stores.pg_server import running_server

    with running_server() as server, tempfile.TemporaryDirectory() as scratch:
        database = f"bench_{name}_{os.getpid()}"
        server.psql(f"CREATE DATABASE {database}")
        yield {
            "memory": None,
            "sqlite": f"sqlite:///{Path(scratch) / f'{name}.db'}",
            "postgres": server.dsn(database),
        }
