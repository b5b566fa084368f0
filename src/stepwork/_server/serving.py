"""Running an app under uvicorn with a graceful shutdown that fits long-lived streams.

Plain uvicorn waits for open connections to finish before the app's shutdown runs, and an
event stream of a waiting run never finishes by itself. :class:`GracefulServer` therefore
stops listening, then lets the app drain first (running steps get their grace period, streams
end, runs are let go of, resumable), and only then runs uvicorn's own shutdown.

:func:`serve` logs the ``stepwork`` loggers through uvicorn's handler, so the server's own
warnings and errors show up like uvicorn's, and warns when a server without a token listens
beyond loopback (anyone who reaches it can start, answer and cancel runs).
"""

from __future__ import annotations

import copy
import socket
from typing import Any

from stepwork._runtime.observe_logs import stepwork_logger
from stepwork._server import SERVER_EXTRA_HINT
from stepwork._server.guard import is_loopback
from stepwork._server.runs import RunRegistry

try:
    import uvicorn
except ModuleNotFoundError as error:  # pragma: no cover - depends on the install
    raise ModuleNotFoundError(
        f"Serving over HTTP needs the 'server' extra (uvicorn is not installed): "
        f"{SERVER_EXTRA_HINT}",
        name="uvicorn",
    ) from error

__all__ = ["GracefulServer", "exposure_warning", "serve"]

_log = stepwork_logger("stepwork.server")


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


def exposure_warning(hosts: list[str], token_required: bool) -> str | None:
    """The warning for a server listening on ``hosts``, or ``None`` if there is nothing to say.

    Example:
        >>> exposure_warning(["127.0.0.1"], False) is None, exposure_warning(["::"], True)
        (True, None)
        >>> exposure_warning(["0.0.0.0"], False)
        'Listening on 0.0.0.0 without a token: anyone who can reach this address can ...'
    """
    exposed = [host for host in hosts if not is_loopback(host)]
    if token_required or not exposed:
        return None
    return (
        f"Listening on {', '.join(exposed)} without a token: anyone who can reach this address "
        "can start, answer and cancel runs. Give a token (stepwork serve --token-file PATH, "
        "create_app(token=...)) or listen on 127.0.0.1."
    )


def _log_config() -> dict[str, Any]:
    config: dict[str, Any] = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
    config["loggers"]["stepwork"] = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return config


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

    Logs a warning when ``app`` needs no token and ``host`` (or a socket) is not loopback.

    Args:
        app: The Starlette app.
        host: The interface to listen on.
        port: The TCP port (0 picks a free one).
        log_level: uvicorn's log level.
        sockets: Already bound sockets to serve on instead of ``host``/``port``.
    """
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=log_level,
        log_config=_log_config(),
        lifespan="on",
        timeout_graceful_shutdown=5,
    )
    hosts = [str(s.getsockname()[0]) for s in sockets] if sockets else [host]
    warning = exposure_warning(hosts, bool(getattr(app.state, "token_required", False)))
    if warning is not None:
        _log.warning(warning)
    GracefulServer(config, app.state.registry).run(sockets=sockets)
