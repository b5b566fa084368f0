"""Fixtures: real servers on 127.0.0.1 (see ``live_server``) and clients of them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from live_server import LiveServer, ServerFactory, serving


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    """A fresh SQLite journal for the test."""
    return f"sqlite:///{tmp_path / 'runs.db'}"


@pytest.fixture
def start_server(store_url: str) -> Iterator[ServerFactory]:
    """Start servers (on ``store_url`` unless told otherwise); all are stopped afterwards."""
    with serving(store_url) as start:
        yield start


@pytest.fixture
def server(start_server: ServerFactory) -> LiveServer:
    """A server without a token."""
    return start_server()


@pytest.fixture
def http(server: LiveServer) -> Iterator[httpx.Client]:
    """A client of ``server``."""
    with httpx.Client(base_url=server.url, timeout=20) as client:
        yield client
