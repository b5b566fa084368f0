"""``stepwork.server.WorkflowServer``: LlamaIndex Workflows' server API on stepwork's app.

A program written for ``llama_agents.server.WorkflowServer`` (``add_workflow``, ``serve``,
``start``/``stop``, ``contextmanager``, ``app``) runs with the import changed; its runs are
stepwork runs on the server's store, and the anchor's client talks to it.
"""

from __future__ import annotations

import asyncio
import socket
import types
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from llama_agents.client import WorkflowClient
from server_app import Answer, Greeter, Question
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from stepwork import Context, Event, StartEvent, StopEvent, Workflow, step
from stepwork._cli.serve import workflows_of
from stepwork.errors import ServerConfigurationError
from stepwork.server import WorkflowServer

pytestmark = pytest.mark.timeout(60)


class Double(Workflow):
    @step
    async def double(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result=2 * ev.get("n", 0))


class Stamp:
    """Middleware that marks every response, to show the server's middleware is applied."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-stamp", b"yes")]
            await send(message)

        await self.app(scope, receive, stamped)


@asynccontextmanager
async def asgi_client(server: WorkflowServer) -> AsyncIterator[WorkflowClient]:
    """The anchor's client of ``server.app``, in process (no streaming: responses are read
    whole)."""
    transport = httpx.ASGITransport(app=server.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
        yield WorkflowClient(httpx_client=http)


@asynccontextmanager
async def served(server: WorkflowServer) -> AsyncIterator[tuple[WorkflowClient, httpx.AsyncClient]]:
    """``server.serve()`` on a free port of 127.0.0.1, with the anchor's client of it; then
    ``server.stop()``, which must end ``serve()``."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()  # connections wait in the backlog until uvicorn accepts them
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    serving = asyncio.ensure_future(
        server.serve(uvicorn_config={"log_level": "warning"}, sockets=[sock])
    )
    try:
        async with httpx.AsyncClient(base_url=url, timeout=20) as http:
            yield WorkflowClient(httpx_client=http), http
    finally:
        await server.stop()
        await serving
        sock.close()
    assert serving.exception() is None


def test_what_stepwork_cannot_honour_is_refused_with_the_way_out() -> None:
    with pytest.raises(ServerConfigurationError, match="runtime"):
        WorkflowServer(runtime=object())
    with pytest.raises(ServerConfigurationError, match="continue_from"):
        WorkflowServer(accept_context_api=True)
    with pytest.raises(ServerConfigurationError, match="workflow_store"):
        WorkflowServer(workflow_store=object())  # type: ignore[arg-type]
    server = WorkflowServer()
    server.add_workflow("double", Double())
    with pytest.raises(ServerConfigurationError, match="already served"):
        server.add_workflow("double", Double())
    assert server.app is server.app  # built once
    with pytest.raises(ServerConfigurationError, match="already built"):
        server.add_workflow("later", Double())
    assert list(server.get_workflows()) == ["double"]
    assert "/health" in server.openapi_schema()["paths"]


async def test_serve_answers_the_anchors_client_until_stop() -> None:
    server = WorkflowServer(middleware=[Middleware(Stamp)], sse_heartbeat_interval=None)
    server.add_workflow("double", Double())
    server.add_workflow("greeter", Greeter(timeout=None))
    async with served(server) as (client, http):
        assert (await client.is_healthy()).status == "healthy"
        assert (await http.get("/workflows")).headers["x-stamp"] == "yes"
        done = await client.run_workflow("double", start_event={"n": 21})
        assert done.result is not None and done.result.value == {"result": 42}
        started = await client.run_workflow_nowait("greeter")
        async for envelope in client.get_workflow_events(started.handler_id):
            if envelope.type == "Question":
                await client.send_event(started.handler_id, Answer(text="Ada"))
        result = (await client.get_handler(started.handler_id)).result
        assert result is not None and result.value == {"result": "Hello, Ada!"}


async def test_the_context_manager_starts_and_stops_the_app_in_process() -> None:
    server = WorkflowServer()
    server.add_workflow("double", Double())
    async with server.contextmanager() as running, asgi_client(running) as client:
        assert running is server
        done = await client.run_workflow("double", start_event={"n": 4})
        assert done.result is not None and done.result.value == {"result": 8}
        handlers = await client.get_handlers(workflow_name=["double"])
        assert [h.handler_id for h in handlers.handlers] == [done.handler_id]


async def test_additional_events_are_accepted_for_the_workflow_they_are_added_to() -> None:
    class Nudge(Event):  # defined here, so not among the module's events
        note: str

    class Waits(Workflow):
        @step
        async def wait(self, ctx: Context, ev: StartEvent) -> StopEvent:
            nudge = await ctx.wait_for_event(Nudge, waiter_event=Question(prompt="nudge me"))
            return StopEvent(result=nudge.note)

    results: dict[str, Any] = {}
    for extra in ([], [Nudge]):
        server = WorkflowServer()
        server.add_workflow("waits", Waits(timeout=None), additional_events=extra)
        async with served(server) as (client, _):
            handler_id = (await client.run_workflow_nowait("waits")).handler_id
            async for envelope in client.get_workflow_events(handler_id, after_sequence=-1):
                if envelope.type == "Question":
                    break
            try:
                await client.send_event(handler_id, {"type": "Nudge", "value": {"note": "hi"}})
                done = await client.wait_for_handler(handler_id, timeout=10, poll_interval=0.02)
                results[str(extra)] = done.result and done.result.value
            except httpx.HTTPStatusError as error:
                results[str(extra)] = error.response.status_code
            await client.cancel_handler(handler_id, purge=True)
        assert server.additional_events == ({"waits": (Nudge,)} if extra else {})
    assert results == {"[]": 400, str([Nudge]): {"result": "hi"}}


async def test_a_run_waiting_for_a_person_resumes_on_the_next_server(tmp_path: Path) -> None:
    store = f"sqlite:///{tmp_path / 'runs.db'}"
    first = WorkflowServer(workflow_store=store)
    first.add_workflow("greeter", Greeter(timeout=None))
    async with served(first) as (client, _):
        handler_id = (await client.run_workflow_nowait("greeter")).handler_id
        async for envelope in client.get_workflow_events(handler_id, after_sequence=-1):
            if envelope.type == "Question":
                break
    second = WorkflowServer(workflow_store=store)
    second.add_workflow("greeter", Greeter(timeout=None))
    async with served(second) as (client, _):
        assert (await client.get_handlers(status=["running"])).handlers[0].handler_id == handler_id
        await client.send_event(handler_id, Answer(text="again"))
        done = await client.wait_for_handler(handler_id, timeout=10, poll_interval=0.02)
        assert done.result is not None and done.result.value == {"result": "Hello, again!"}


def test_stepwork_serve_serves_the_workflows_of_a_ported_servers_module() -> None:
    module = types.ModuleType("ported_app")
    double = Double()
    module.server = server = WorkflowServer()  # type: ignore[attr-defined]
    server.add_workflow("twice", double)
    assert workflows_of(module) == {"twice": double}
