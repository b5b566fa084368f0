"""Real servers for the client tests: the server tests' ``LiveServer``, serving ``Interview``.

``LiveServer`` (``tests/server/live_server.py``) runs uvicorn on 127.0.0.1 in a background
thread on a socket bound before it starts; the fixtures here start servers of a fresh
``Interview`` on the test's SQLite journal and stop them all afterwards.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from client_flows import Interview
from client_relay import Relay

sys.path.insert(0, str(Path(__file__).parents[1] / "server"))

from live_server import LiveServer  # tests/server is put on the path just above

ServeInterview = Callable[..., LiveServer]


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[ServeInterview]:
    """Start servers of a fresh ``Interview`` as ``interview``, all on one SQLite journal."""
    servers: list[LiveServer] = []

    def start(**options: Any) -> LiveServer:
        options.setdefault("store", f"sqlite:///{tmp_path / 'runs.db'}")
        options.setdefault("heartbeat", 0.05)
        options.setdefault("grace_period", 2.0)
        server = LiveServer(workflows={"interview": Interview(timeout=30)}, **options).start()
        servers.append(server)
        return server

    yield start
    for server in reversed(servers):
        server.stop()


@pytest.fixture
def server(serve: ServeInterview) -> LiveServer:
    """A server of ``interview`` without a token."""
    return serve()


@pytest.fixture
def relay(server: LiveServer) -> Iterator[Relay]:
    """A relay to ``server`` whose connections the test can cut."""
    with Relay(server.port) as relay:
        yield relay
