"""``WorkflowServer``: LlamaIndex Workflows' server API (``llama-agents-server``) on stepwork.

A ported ``app.py`` that builds a ``WorkflowServer``, adds workflows and serves it keeps
working with stepwork's server underneath: the app is :func:`create_app`'s, so every run is
journaled and the anchor's routes (``/workflows/{name}/run``, ``/handlers``, ``/events``,
...) are served beside stepwork's own.

Example:
    >>> from stepwork import StartEvent, StopEvent, Workflow, step
    >>> class Echo(Workflow):
    ...     @step
    ...     async def echo(self, ev: StartEvent) -> StopEvent:
    ...         return StopEvent(result=ev.text)
    >>> server = WorkflowServer()
    >>> server.add_workflow("echo", Echo())
    >>> sorted(server.get_workflows())
    ['echo']
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware

from stepwork._core.errors import ServerConfigurationError
from stepwork._core.events import Event
from stepwork._runtime.workflow import Workflow
from stepwork._server.app import create_app, registry_of
from stepwork._server.openapi import openapi_document
from stepwork._server.serving import GracefulServer
from stepwork._stores.protocol import Store

__all__ = ["NO_HEARTBEAT", "WorkflowServer"]

NO_HEARTBEAT = 365 * 24 * 3600.0
"""The heartbeat interval used for ``sse_heartbeat_interval=None`` (a year: never)."""


class WorkflowServer:
    """Serves workflows over HTTP with LlamaIndex Workflows' ``WorkflowServer`` API.

    Keyword-only, as on the anchor. stepwork journals every run to ``workflow_store``;
    ``persistence_backoff``, ``idle_timeout`` and ``serializer`` are accepted and kept as
    attributes but change nothing (stepwork's journal writes are its own, a run waiting for
    an event holds no task, and journals are JSON with an allow-list of classes).

    Args:
        middleware: Starlette middleware put in front of the app.
        exception_handlers: Starlette exception handlers added to the app's.
        workflow_store: A stepwork ``Store`` or store URL (default ``memory://``: runs last
            as long as the process, as with the anchor's default ``MemoryWorkflowStore``;
            pass ``sqlite:///runs.db`` to keep them across restarts).
        persistence_backoff: Accepted for compatibility; no effect.
        runtime: Must be ``None``: stepwork runs workflows on its own engine.
        idle_timeout: Accepted for compatibility; no effect.
        sse_heartbeat_interval: Seconds of silence before an SSE stream sends a heartbeat
            comment; ``None`` sends none.
        accept_context_api: Must be ``False``: runs are not started from a posted context
            (continue a finished run with ``continue_from`` on ``POST /workflows/{name}/runs``).
        serializer: Accepted for compatibility; no effect.
        token: stepwork's own: when given, requests need ``Authorization: Bearer <token>``.
        grace_period: stepwork's own: seconds shutdown waits for running steps.
        allowed_hosts: stepwork's own: more ``Host`` names to answer besides localhost and IP
            addresses (see ``create_app``); needed behind a proxy that keeps a host name.

    Raises:
        ServerConfigurationError: For ``runtime`` or ``accept_context_api=True``, or a
            ``workflow_store`` that is not a stepwork store.
    """

    def __init__(
        self,
        *,
        middleware: list[Middleware] | None = None,
        exception_handlers: Mapping[Any, Any] | None = None,
        workflow_store: Store | str | None = None,
        persistence_backoff: Sequence[float] = (0.5, 3.0),
        runtime: Any = None,
        idle_timeout: float = 60.0,
        sse_heartbeat_interval: float | None = 25.0,
        accept_context_api: bool = False,
        serializer: Any = None,
        token: str | None = None,
        grace_period: float = 10.0,
        allowed_hosts: Sequence[str] | None = None,
    ) -> None:
        if runtime is not None:
            raise ServerConfigurationError(
                "WorkflowServer(runtime=...) is not supported: stepwork runs workflows on its own "
                "engine and journals them to workflow_store. Leave runtime out."
            )
        if accept_context_api:
            raise ServerConfigurationError(
                "WorkflowServer(accept_context_api=True) is not supported: stepwork does not "
                "start runs from a posted context. Continue a finished run with continue_from "
                "on POST /workflows/{name}/runs instead."
            )
        self._allowed_hosts = allowed_hosts
        store = "memory://" if workflow_store is None else workflow_store
        if not isinstance(store, str) and not hasattr(store, "append"):
            raise ServerConfigurationError(
                f"workflow_store must be a stepwork Store or a store URL, got "
                f"{type(store).__name__} (the anchor's stores do not journal stepwork runs)."
            )
        self.persistence_backoff = tuple(persistence_backoff)
        self.idle_timeout = idle_timeout
        self.serializer = serializer
        self._middleware = list(middleware or ())
        self._exception_handlers = dict(exception_handlers or {})
        self._store = store
        self._heartbeat = NO_HEARTBEAT if sse_heartbeat_interval is None else sse_heartbeat_interval
        self._token = token
        self._grace_period = grace_period
        self._workflows: dict[str, Workflow] = {}
        self._additional: dict[str, tuple[type[Event], ...]] = {}
        self._app: Starlette | None = None
        self._started = False
        self._uvicorn: GracefulServer | None = None
        self._served: asyncio.Event | None = None

    def add_workflow(
        self, name: str, workflow: Workflow, additional_events: list[type[Event]] | None = None
    ) -> None:
        """Serve ``workflow`` as ``name``.

        Args:
            name: The name in the routes (``/workflows/{name}/run``).
            workflow: The workflow instance (built without a store of its own).
            additional_events: Further event classes ``POST /events/{id}`` accepts for runs
                of it (events a step only waits for). Events defined in the workflow's module
                are accepted already.

        Raises:
            ServerConfigurationError: Once the app has been built (``app``, ``start()`` or
                ``serve()``), or if ``name`` is taken.
        """
        if self._app is not None:
            raise ServerConfigurationError(
                f"Cannot add workflow {name!r}: the server's app is already built. Add every "
                "workflow before using app, start() or serve()."
            )
        if name in self._workflows:
            raise ServerConfigurationError(f"A workflow is already served as {name!r}.")
        self._workflows[name] = workflow
        if additional_events:
            self._additional[name] = tuple(additional_events)

    @property
    def additional_events(self) -> dict[str, tuple[type[Event], ...]]:
        """The extra event classes given to :meth:`add_workflow`, by workflow name."""
        return dict(self._additional)

    def get_workflows(self) -> dict[str, Workflow]:
        """The served workflows by name."""
        return dict(self._workflows)

    @property
    def app(self) -> Starlette:
        """The ASGI app (built by :func:`create_app` on first use); its lifespan calls
        :meth:`start` and :meth:`stop`."""
        if self._app is None:
            self._app = self._build()
        return self._app

    def _build(self) -> Starlette:
        app = create_app(
            self._workflows,
            store=self._store,
            token=self._token,
            allowed_hosts=self._allowed_hosts,
            heartbeat=self._heartbeat,
            grace_period=self._grace_period,
        )
        served = registry_of(app).served
        for name, extra in self._additional.items():
            served[name].registry = served[name].registry.with_types(*extra)
        for item in reversed(self._middleware):
            app.add_middleware(item.cls, *item.args, **item.kwargs)
        for key, handler in self._exception_handlers.items():
            app.add_exception_handler(key, handler)
        app.router.lifespan_context = self._lifespan
        return app

    @asynccontextmanager
    async def _lifespan(self, app: Starlette) -> AsyncIterator[None]:
        await self.start()
        try:
            yield
        finally:
            await self._close()

    def openapi_schema(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of stepwork's own routes (``GET /openapi.json``)."""
        from stepwork._version import __version__

        return openapi_document(__version__, token_required=self._token is not None)

    async def start(self) -> WorkflowServer:
        """Open the store and resume the unfinished runs of the served workflows (once).

        Returns:
            The server.
        """
        if not self._started:
            self._started = True
            await registry_of(self.app).start()
        return self

    async def stop(self) -> None:
        """Shut down: stop serving if :meth:`serve` runs (waiting for it to finish), let go
        of the runs still going (the next server on a durable store resumes them) and close
        the store."""
        if self._uvicorn is not None and self._served is not None:
            self._uvicorn.should_exit = True
            await self._served.wait()
        await self._close()

    async def _close(self) -> None:
        if self._started:
            self._started = False
            await registry_of(self.app).close()

    @asynccontextmanager
    async def contextmanager(self) -> AsyncGenerator[WorkflowServer, None]:
        """Start the server for the ``async with`` block and stop it after."""
        await self.start()
        try:
            yield self
        finally:
            await self.stop()

    async def serve(
        self,
        host: str = "localhost",
        port: int = 80,
        uvicorn_config: dict[str, Any] | None = None,
        *,
        sockets: list[socket.socket] | None = None,
    ) -> None:
        """Serve over HTTP with uvicorn until :meth:`stop` or a signal, then shut down
        gracefully (as ``stepwork serve`` does).

        Args:
            host: The interface to listen on.
            port: The TCP port.
            uvicorn_config: Further keyword arguments for ``uvicorn.Config``.
            sockets: stepwork's own: already bound sockets to serve on instead.
        """
        import uvicorn

        options: dict[str, Any] = {"lifespan": "on", "timeout_graceful_shutdown": 5}
        options.update(uvicorn_config or {})
        config = uvicorn.Config(self.app, host=host, port=port, **options)
        self._uvicorn = GracefulServer(config, registry_of(self.app))
        self._served = asyncio.Event()
        try:
            await self._uvicorn.serve(sockets=sockets)
        finally:
            self._served.set()
            self._uvicorn = None
