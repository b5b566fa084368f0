"""Running an app under uvicorn with a graceful shutdown that fits long-lived streams.

Plain uvicorn waits for open connections to finish before the app's shutdown runs, and an
event stream of a waiting run never finishes by itself. :class:`GracefulServer` therefore
stops listening, then lets the app drain first (running steps get their grace period, streams
end, runs are let go of, resumable), and only then runs uvicorn's own shutdown.
"""

from __future__ import annotations

import socket
from typing import Any

from stepwork._server import SERVER_EXTRA_HINT
from stepwork._server.runs import RunRegistry

try:
    import uvicorn
except ModuleNotFoundError as error:  # pragma: no cover - depends on the install
    raise ModuleNotFoundError(
        f"Serving over HTTP needs the 'server' extra (uvicorn is not installed): "
        f"{SERVER_EXTRA_HINT}",
        name="uvicorn",
    ) from error

__all__ = ["GracefulServer", "serve"]


class GracefulServer(uvicorn.Server):
    """A uvicorn server that drains the stepwork app before closing connections.

    Args:
        config: The uvicorn configuration (its app made by ``create_app``).
        registry: The app's run registry (``registry_of(app)``).
    """

    def __init__(self, config: uvicorn.Config, registry: RunRegistry) -> None:
        super().__init__(config)
        self.registry = registry

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop listening, drain the app (grace period), then shut down as uvicorn does."""
        for server in self.servers:
            server.close()
        await self.registry.drain()
        await super().shutdown(sockets)


def serve(
    app: Any,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "info",
    sockets: list[socket.socket] | None = None,
) -> None:
    """Serve ``app`` (from ``create_app``) until interrupted (Ctrl-C or SIGTERM), then shut
    down gracefully. Blocks.

    Args:
        app: The Starlette app.
        host: The interface to listen on.
        port: The TCP port (0 picks a free one).
        log_level: uvicorn's log level.
        sockets: Already bound sockets to serve on instead of ``host``/``port``.
    """
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, lifespan="on", timeout_graceful_shutdown=5
    )
    GracefulServer(config, app.state.registry).run(sockets=sockets)
