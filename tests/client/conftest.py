"""Real servers for the client tests: the server tests' ``LiveServer``, serving ``Interview``.

``LiveServer`` (``tests/server/live_server.py``) runs uvicorn on 127.0.0.1 in a background
thread on a socket bound before it starts; the fixtures here start servers of a fresh
``Interview`` on the test's SQLite journal and stop them all afterwards.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from client_flows import Interview
from client_relay import Relay

sys.path.insert(0, str(Path(__file__).parents[1] / "server"))

from live_server import LiveServer, serving  # tests/server is put on the path just above

ServeInterview = Callable[..., LiveServer]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServeInterview]:
    """Start servers of a fresh ``Interview`` as ``interview``, all on one SQLite journal."""
    with serving(
        f"sqlite:///{tmp_path / 'runs.db'}", lambda: {"interview": Interview(timeout=30)}
    ) as start:
        yield start


@pytest.fixture
def server(serve: ServeInterview) -> LiveServer:
    """A server of ``interview`` without a token."""
    return serve()


@pytest.fixture
def relay(server: LiveServer) -> Iterator[Relay]:
    """A relay to ``server`` whose connections the test can cut."""
    with Relay(server.port) as relay:
        yield relay
