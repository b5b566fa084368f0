"""``create_app``: the Starlette application that serves workflows over HTTP.

Example:
    >>> from stepwork import StartEvent, StopEvent, Workflow, step
    >>> class Echo(Workflow):
    ...     @step
    ...     async def echo(self, ev: StartEvent) -> StopEvent:
    ...         return StopEvent(result=ev.text)
    >>> app = create_app({"echo": Echo()}, store="memory://")
    >>> sorted(app.state.registry.served)
    ['echo']
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.middleware import Middleware

from stepwork._core.errors import ServerConfigurationError
from stepwork._runtime.observe import add_observer, remove_observer
from stepwork._runtime.observe_metrics import RunMetrics
from stepwork._runtime.workflow import Workflow
from stepwork._server.anchor_events import anchor_event_routes
from stepwork._server.anchor_routes import anchor_routes
from stepwork._server.auth import BearerAuth, BodyLimit, check_token
from stepwork._server.errors import exception_handlers
from stepwork._server.guard import BrowserGuard, check_allowed_hosts
from stepwork._server.headers import SecurityHeaders
from stepwork._server.routes_events import event_routes
from stepwork._server.routes_inspect import inspect_routes
from stepwork._server.routes_meta import meta_routes
from stepwork._server.routes_metrics import metrics_routes
from stepwork._server.routes_runs import run_routes
from stepwork._server.routes_schedules import schedule_routes
from stepwork._server.routes_workflows import workflow_routes
from stepwork._server.run_trace import check_trace_url
from stepwork._server.runs import RunRegistry
from stepwork._stores.protocol import Store
from stepwork._stores.url import store_from_url

__all__ = ["DEFAULT_STORE", "create_app", "registry_of"]

DEFAULT_STORE = "sqlite:///stepwork-runs.db"
"""The store a server journals to unless told otherwise: a SQLite file in the working folder."""


def create_app(
    workflows: Mapping[str, Workflow] | Sequence[Workflow],
    *,
    store: Store | str = DEFAULT_STORE,
    token: str | None = None,
    allowed_hosts: Sequence[str] | None = None,
    max_body_bytes: int = 1_000_000,
    heartbeat: float = 15.0,
    grace_period: float = 10.0,
    workers: int | None = None,
    trace_url: str | None = None,
) -> Starlette:
    """A Starlette app serving ``workflows`` (the routes are in ``docs/http-api.md``).

    Every run of every served workflow is journaled to ``store``: a workflow built without a
    store is given this one, and one built without ``workflow_name`` journals under the name
    it is served as. At start-up the app opens the store and resumes the unfinished runs of
    the served workflows; at shutdown it stops accepting work, waits up to ``grace_period``
    seconds for running steps, then lets go of the remaining runs without writing anything,
    so the next server on the same store resumes them. The store is closed at shutdown.

    Args:
        workflows: Workflow instances by name (``{"greet": Greeter()}``), or a sequence of
            them (named by ``workflow_name`` when given, else by class name).
        store: Where runs are journaled: a ``Store`` or a URL (``sqlite:///runs.db``,
            ``postgresql://...``, ``memory://``).
        token: When given, every request but ``GET /health`` and the page at ``GET /``
            needs ``Authorization: Bearer <token>``. Without one, the server answers only
            ``Host`` names a DNS rebinding cannot produce (``localhost``, IP addresses,
            ``allowed_hosts``) and refuses state changes from other sites' pages (a foreign
            ``Origin``, a body that is not ``application/json``); see "Security" in
            ``docs/http-api.md``.
        allowed_hosts: More ``Host`` names to answer (``"box.lan"``, ``"box.lan:8000"``;
            ``"*"`` for any). With a token, giving a list turns the ``Host`` check on.
        max_body_bytes: Larger request bodies get 413.
        heartbeat: Seconds of silence after which an SSE stream sends a ``: heartbeat``
            comment.
        grace_period: Seconds shutdown waits for running steps before letting go of runs.
        workers: ``None`` (the default): the server executes the runs it starts and resumes
            its store's unfinished runs at start-up. A number: it executes nothing on
            request; starting a run enqueues it (answered once stored), and that many
            worker loops here claim runnable runs like ``stepwork worker`` (0: none, an API
            node only). See ``docs/scale-out.md``.
        trace_url: A link template to a run's trace in a tracing backend, with a
            ``{trace_id}`` placeholder (``https://jaeger.example/trace/{trace_id}``):
            ``GET /runs/{run_id}`` and its history give it filled in as ``trace_url``.

    Raises:
        ServerConfigurationError: If the workflows cannot be served (duplicate names, a
            workflow with a store of its own, ...), a number is not positive, the token is
            empty (or has whitespace around it), an allowed host is malformed, or
            ``trace_url`` is not an http(s) URL with a ``{trace_id}`` placeholder.
        StoreError: If ``store`` is a URL stepwork cannot make a store from.
    """
    if max_body_bytes < 1 or heartbeat <= 0 or grace_period < 0:
        raise ServerConfigurationError(
            "max_body_bytes and heartbeat must be positive and grace_period not negative; got "
            f"{max_body_bytes}, {heartbeat}, {grace_period}."
        )
    if workers is not None and workers < 0:
        raise ServerConfigurationError(
            f"workers must be 0 or more (or None: execute the runs started here); got {workers}."
        )
    check_token(token)
    trace_template = check_trace_url(trace_url)
    hosts = check_allowed_hosts(allowed_hosts) if allowed_hosts is not None else None
    journal = store_from_url(store) if isinstance(store, str) else store
    registry = RunRegistry(workflows, journal, grace_period, workers)
    run_metrics = RunMetrics()

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        add_observer(run_metrics)  # before runs resume, so they are counted too
        try:
            await registry.start()
            yield
        finally:
            try:
                await registry.close()
            finally:
                remove_observer(run_metrics)

    app = Starlette(
        routes=[
            *meta_routes(),
            *metrics_routes(),
            *workflow_routes(),
            *run_routes(),
            *schedule_routes(),
            *inspect_routes(),
            *event_routes(),
            *anchor_routes(),  # LlamaIndex Workflows' server routes, for its clients
            *anchor_event_routes(),
        ],
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(BrowserGuard, token_set=token is not None, allowed_hosts=hosts),
            Middleware(BearerAuth, token=token),
            Middleware(BodyLimit, max_bytes=max_body_bytes),
        ],
        exception_handlers=exception_handlers(),
        lifespan=lifespan,
    )
    app.state.registry = registry
    app.state.run_metrics = run_metrics
    app.state.heartbeat = heartbeat
    app.state.trace_url = trace_template
    app.state.token_required = token is not None
    app.state.host_check = token is None or hosts is not None
    return app


def registry_of(app: Starlette) -> RunRegistry:
    """The run registry of an app made by :func:`create_app`."""
    registry: RunRegistry = app.state.registry
    return registry
