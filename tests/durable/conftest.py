"""The durable tests run on SQLite and on a real PostgreSQL server (from tests/stores)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stores.pg_server import BACKENDS, store_url_for


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store URL for a fresh, empty journal on each backend."""
    return store_url_for(request, tmp_path)
