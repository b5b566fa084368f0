"""The durable tests run on SQLite and on a real PostgreSQL server (from tests/stores)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stores.pg_server import postgres_dsn, postgres_server  # noqa: F401 (fixtures)


@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL for a fresh, empty journal on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'runs.db'}"
    dsn: str = request.getfixturevalue("postgres_dsn")
    return dsn
