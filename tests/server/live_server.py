"""A real uvicorn server on 127.0.0.1, in a background thread, started and stopped on demand.

Each server gets fresh instances of the workflows in ``examples/server_app.py`` and binds a
socket on a free port before it starts, so there is no race for the port. ``stop()`` asks it
to exit and waits for its graceful shutdown to finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import uvicorn

from stepwork import Workflow
from stepwork.server import GracefulServer, create_app, registry_of

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))

import server_app  # noqa: E402  (examples/ is put on the path just above)

TOKEN = "s3cret-token"


def fresh_workflows() -> dict[str, Workflow]:
    """New instances of the example's workflows, with the same names and timeouts."""
    return {name: type(wf)(timeout=wf.timeout) for name, wf in server_app.workflows.items()}


class PromptServer(GracefulServer):
    """The ``GracefulServer`` that ``stepwork serve`` runs, except that it begins its graceful
    shutdown as soon as :meth:`wake` is called: uvicorn's main loop looks at ``should_exit``
    every 0.1 s, and with some 300 servers stopped in a test run that polling added up."""

    _wake: asyncio.Event | None = None
    _loop: asyncio.AbstractEventLoop | None = None

    async def main_loop(self) -> None:
        self._wake, self._loop = asyncio.Event(), asyncio.get_running_loop()
        counter = 0
        while not await self.on_tick(counter):  # uvicorn's loop, woken early by wake()
            counter = (counter + 1) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), 0.1)

    def wake(self) -> None:
        """Make the main loop look at ``should_exit`` now (from any thread)."""
        if self._loop is not None and self._wake is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already closed
                self._loop.call_soon_threadsafe(self._wake.set)


class LiveServer:
    """One uvicorn server serving ``create_app(fresh_workflows(), **options)``."""

    def __init__(self, **options: Any) -> None:
        self.app = create_app(options.pop("workflows", None) or fresh_workflows(), **options)
        self.registry = registry_of(self.app)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, log_level="warning", lifespan="on")
        self.server = PromptServer(config, self.registry)
        self._thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self._socket]}, daemon=True
        )

    def start(self) -> LiveServer:
        """Start serving; return once the server accepts connections."""
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Shut down gracefully and wait for the thread to end."""
        if self._thread.is_alive():
            self.server.should_exit = True
            self.server.wake()
            self._thread.join(timeout=30)
            assert not self._thread.is_alive(), "the test server did not stop"
        self._socket.close()


class ServerFactory(Protocol):
    def __call__(self, **options: Any) -> LiveServer: ...


@contextmanager
def serving(
    store: str, make_workflows: Callable[[], dict[str, Workflow]] = fresh_workflows
) -> Iterator[ServerFactory]:
    """A factory of started servers on ``store`` (each serving new ``make_workflows()``, with
    quick heartbeats and a short grace period unless told otherwise); all stop at the end."""
    servers: list[LiveServer] = []

    def start(**options: Any) -> LiveServer:
        options.setdefault("store", store)
        options.setdefault("heartbeat", 0.05)
        options.setdefault("grace_period", 2.0)
        options.setdefault("workflows", make_workflows())
        server = LiveServer(**options).start()
        servers.append(server)
        return server

    try:
        yield start
    finally:
        for server in reversed(servers):
            server.stop()
