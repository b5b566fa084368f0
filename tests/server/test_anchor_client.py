"""LlamaIndex Workflows' own HTTP client (``llama-agents-client``), unchanged, against a real
stepwork server (uvicorn on 127.0.0.1) serving ``examples/server_app.py``.

Every call the client makes is answered by the anchor-compatible routes beside stepwork's own;
runs started through them are stepwork runs (journaled, listed at ``/runs``).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from live_server import TOKEN, LiveServer, ServerFactory
from llama_agents.client import WorkflowClient
from server_app import Answer

pytestmark = pytest.mark.timeout(60)


class Connected:
    """Set once the server has answered a ``GET /events/...`` with its headers: from then on
    the stream's cursor is fixed, so what a test sends next is after it."""

    def __init__(self) -> None:
        self.event = asyncio.Event()

    async def __call__(self, response: httpx.Response) -> None:
        request = response.request
        if request.method == "GET" and request.url.path.startswith("/events/"):
            self.event.set()


@pytest.fixture
async def anchor(server: LiveServer) -> AsyncIterator[tuple[WorkflowClient, Connected]]:
    """The anchor's client of ``server`` and a signal of its event streams connecting."""
    connected = Connected()
    hooks: dict[str, Any] = {"response": [connected]}
    async with httpx.AsyncClient(base_url=server.url, timeout=20, event_hooks=hooks) as http:
        yield WorkflowClient(httpx_client=http), connected


async def test_health_and_the_workflow_list_parse_in_the_anchors_models(
    anchor: tuple[WorkflowClient, Connected],
) -> None:
    client, _ = anchor
    assert (await client.is_healthy()).status == "healthy"
    listed = await client.list_workflows()
    assert listed.workflows == ["greeter", "survey", "countdown", "fails", "tally"]
    schema = await client.get_workflow_schema("countdown")
    assert schema.start["properties"]["count"]["default"] == 3
    events = await client.get_workflow_events_schema("greeter")
    assert {"Answer", "Question"} <= {event["title"] for event in events.events}


async def test_run_and_wait_returns_the_result_and_is_a_stepwork_run(
    anchor: tuple[WorkflowClient, Connected], server: LiveServer
) -> None:
    client, _ = anchor
    done = await client.run_workflow("countdown", start_event={"count": 2, "delay": 0})
    assert done.status == "completed"
    assert done.result is not None
    assert (done.result.type, done.result.value) == ("StopEvent", {"result": "counted 2"})
    assert done.run_id == done.handler_id and done.completed_at is not None
    async with httpx.AsyncClient(base_url=server.url) as http:
        run = (await http.get(f"/runs/{done.handler_id}")).json()
        legacy = (await http.get(f"/results/{done.handler_id}")).json()
    assert (run["workflow"], run["status"]) == ("countdown", "completed")
    assert run["result"] == legacy["result"] == "counted 2"

    with pytest.raises(httpx.HTTPStatusError) as failed:
        await client.run_workflow("fails")
    assert failed.value.response.status_code == 500
    body = failed.value.response.json()
    assert (body["status"], body["error"], body["result"]) == ("failed", "boom", None)


async def test_a_person_answers_a_question_over_the_stream(
    anchor: tuple[WorkflowClient, Connected],
) -> None:
    client, _ = anchor
    started = await client.run_workflow_nowait("greeter", start_event={"prompt": "Your name?"})
    assert started.status == "running"
    handler_id = started.handler_id
    seen: list[tuple[str, dict[str, Any], list[str] | None]] = []
    stream = client.get_workflow_events(handler_id, after_sequence=-1)
    async for envelope in stream:
        seen.append((envelope.type, envelope.value, envelope.types))
        if "InputRequiredEvent" in (envelope.types or []):
            sent = await client.send_event(handler_id, Answer(text="Ada"))
            assert sent.status == "sent"
    assert seen == [
        ("Question", {"prompt": "Your name?"}, ["InputRequiredEvent"]),
        ("StopEvent", {"result": "Hello, Ada!"}, None),
    ]
    finished = await client.get_handler(handler_id)
    assert finished.status == "completed"
    assert finished.result is not None and finished.result.value == {"result": "Hello, Ada!"}
    assert (await client.get_result(handler_id)).status == "completed"
    assert (await client.wait_for_handler(handler_id, timeout=5)).status == "completed"

    # Resuming after a sequence replays only what came after it; after the last, nothing.
    last = stream.last_sequence
    assert isinstance(last, int)
    tail = [e.type async for e in client.get_workflow_events(handler_id, after_sequence=last - 1)]
    assert tail == ["StopEvent"]
    assert [e async for e in client.get_workflow_events(handler_id, after_sequence=last)] == []


async def test_after_sequence_now_skips_what_was_published_before(
    anchor: tuple[WorkflowClient, Connected],
) -> None:
    client, connected = anchor
    handler_id = (await client.run_workflow_nowait("survey")).handler_id
    async for envelope in client.get_workflow_events(handler_id, after_sequence=-1):
        if envelope.type == "Question":
            break  # the run now waits for the answer
    connected.event.clear()
    stream = client.get_workflow_events(handler_id, after_sequence="now")
    reader = asyncio.ensure_future(_types(stream))
    await connected.event.wait()
    await client.send_event(handler_id, {"type": "Answer", "value": {"text": "blue"}})
    assert await reader == ["StopEvent"]
    result = (await client.get_handler(handler_id)).result
    assert result is not None and result.value == {"result": "noted: blue"}


async def _types(stream: Any) -> list[str]:
    return [envelope.type async for envelope in stream]


async def test_internal_events_and_the_events_of_a_finished_run(
    anchor: tuple[WorkflowClient, Connected],
) -> None:
    client, _ = anchor
    done = await client.run_workflow("countdown", start_event={"count": 2, "delay": 0})
    visible = [(e.type, e.value) async for e in client.get_workflow_events(done.handler_id)]
    assert visible == [
        ("Progress", {"left": 2}),
        ("Progress", {"left": 1}),
        ("StopEvent", {"result": "counted 2"}),
    ]
    everything = client.get_workflow_events(done.handler_id, include_internal_events=True)
    types = [e.types async for e in everything]
    assert len(types) > 3 and ["InternalDispatchEvent"] in types


async def test_handlers_are_listed_filtered_and_cancelled(
    anchor: tuple[WorkflowClient, Connected], server: LiveServer
) -> None:
    client, _ = anchor
    waiting = [(await client.run_workflow_nowait("greeter")).handler_id for _ in range(2)]
    counted = (await client.run_workflow("countdown", start_event={"delay": 0})).handler_id
    running = await client.get_handlers(status=["running"])
    assert set(waiting) <= {h.handler_id for h in running.handlers}
    assert counted not in {h.handler_id for h in running.handlers}
    only_countdown = await client.get_handlers(workflow_name=["countdown"])
    assert [h.handler_id for h in only_countdown.handlers] == [counted]
    assert (await client.get_handlers(status=["completed"])).handlers[0].handler_id == counted

    assert (await client.cancel_handler(waiting[0])).status == "cancelled"
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await http.get(f"/runs/{waiting[0]}")).json()["status"] == "cancelled"
        cancelled = await http.get(f"/handlers/{waiting[0]}")
        assert (cancelled.status_code, cancelled.json()["status"]) == (500, "cancelled")
    assert (await client.cancel_handler(waiting[1], purge=True)).status == "deleted"
    for gone in (client.get_handler(waiting[1]), client.cancel_handler(counted)):
        with pytest.raises(httpx.HTTPStatusError) as missing:
            await gone
        assert missing.value.response.status_code == 404
    assert (await client.cancel_handler(counted, purge=True)).status == "deleted"


async def test_events_map_onto_the_workflows_own_classes_by_name(
    anchor: tuple[WorkflowClient, Connected],
) -> None:
    client, _ = anchor
    handler_id = (await client.run_workflow_nowait("greeter")).handler_id

    async def refused(event: dict[str, Any]) -> httpx.Response:
        with pytest.raises(httpx.HTTPStatusError) as error:
            await client.send_event(handler_id, event)
        return error.value.response

    unknown = await refused({"type": "Nope", "value": {}})
    assert unknown.status_code == 400 and "Invalid event type: Nope" in unknown.json()["detail"]
    assert (await refused({"type": "Answer", "value": {"wrong": 1}})).status_code == 400
    assert (await refused({"text": "no type"})).status_code == 400
    # A qualified name is matched by its last part among the workflow's classes; the module
    # it names is never imported.
    foreign = {"qualified_name": "no_such_module_anywhere.Answer", "value": {"text": "Bo"}}
    assert (await client.send_event(handler_id, foreign)).status == "sent"
    assert "no_such_module_anywhere" not in sys.modules
    done = await client.wait_for_handler(handler_id, timeout=10, poll_interval=0.05)
    assert done.result is not None and done.result.value == {"result": "Hello, Bo!"}
    late = await refused({"type": "Answer", "value": {"text": "late"}})
    assert late.status_code == 409 and late.json()["detail"].startswith("Workflow already")
    with pytest.raises(httpx.HTTPStatusError) as missing:
        await client.send_event("no-such-handler", {"type": "Answer", "value": {"text": "x"}})
    assert missing.value.response.status_code == 404


async def test_bad_run_requests_get_the_anchors_statuses(
    anchor: tuple[WorkflowClient, Connected], server: LiveServer
) -> None:
    client, _ = anchor
    for call, status in [
        (client.run_workflow("nope"), 404),
        (client.run_workflow("countdown", start_event={"count": "many"}), 400),
        (client.run_workflow_nowait("countdown", start_event={"type": "Answer", "value": {}}), 400),
        (client.run_workflow("countdown", context={"state": {}}), 400),
        (client.get_handler("no-such-handler"), 404),
    ]:
        with pytest.raises(httpx.HTTPStatusError) as error:
            await call
        assert error.value.response.status_code == status
        assert isinstance(error.value.response.json()["detail"], str)
    chosen = await client.run_workflow("tally", handler_id="mine-1")
    assert (chosen.handler_id, chosen.result and chosen.result.value) == ("mine-1", {"result": 1})
    with pytest.raises(httpx.HTTPStatusError) as taken:
        await client.run_workflow("tally", handler_id="mine-1")
    assert taken.value.response.status_code == 409
    assert '"continue_from": "mine-1"' in taken.value.response.json()["detail"]
    async with httpx.AsyncClient(base_url=server.url) as http:
        stream = await http.get("/events/mine-1", params={"after_sequence": "soon"})
        assert stream.status_code == 400
        assert (await http.get("/events/mine-1")).status_code == 204  # "now", run ended


async def test_a_server_with_a_token_takes_the_anchors_client_with_its_header(
    start_server: ServerFactory,
) -> None:
    server = start_server(token=TOKEN)
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=server.url, headers=headers) as http:
        client = WorkflowClient(httpx_client=http)
        done = await client.run_workflow("tally", start_event={"add": 5})
        assert done.result is not None and done.result.value == {"result": 5}
    async with httpx.AsyncClient(base_url=server.url) as http:
        assert (await WorkflowClient(httpx_client=http).is_healthy()).status == "healthy"
        with pytest.raises(httpx.HTTPStatusError):
            await WorkflowClient(httpx_client=http).list_workflows()


async def test_stream_framing_ndjson_and_resuming_from_last_event_id(
    anchor: tuple[WorkflowClient, Connected], server: LiveServer
) -> None:
    client, _ = anchor
    done = await client.run_workflow("countdown", start_event={"count": 2, "delay": 0})
    path = f"/events/{done.handler_id}"
    async with httpx.AsyncClient(base_url=server.url) as http:
        sse = await http.get(path, params={"after_sequence": -1})
        assert sse.headers["content-type"].startswith("text/event-stream")
        frames = [f for f in sse.text.split("\n\n") if f]
        ids = [int(f.split("\n")[0].removeprefix("id: ")) for f in frames]
        assert all(f.split("\n")[1].startswith("data: {") for f in frames)
        assert len(ids) == 3 and ids == sorted(ids)

        resumed = await http.get(
            path, params={"after_sequence": -1}, headers={"Last-Event-ID": str(ids[0])}
        )
        assert [f.split("\n")[0] for f in resumed.text.split("\n\n") if f] == [
            f"id: {i}" for i in ids[1:]
        ]

        lines = await http.get(
            path,
            params={"after_sequence": ids[0], "sse": "false", "include_qualified_name": "false"},
        )
        assert lines.headers["content-type"].startswith("application/x-ndjson")
        assert [json.loads(line) for line in lines.text.splitlines()] == [
            {"value": {"left": 1}, "qualified_name": None, "type": "Progress", "types": None},
            {
                "value": {"result": "counted 2"},
                "qualified_name": None,
                "type": "StopEvent",
                "types": None,
            },
        ]
