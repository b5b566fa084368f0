"""``create_app``'s checks, and runs this server did not start (resumed on demand)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from live_server import ServerFactory
from server_app import Answer, Countdown, Greeter, Question

from stepwork.server import ServerConfigurationError, create_app, registry_of
from stepwork.stores import MemoryStore


def test_workflows_are_named_and_given_the_servers_store() -> None:
    store = MemoryStore()
    greeter, named = Greeter(), Countdown(workflow_name="ticks")
    registry = registry_of(create_app([greeter, named], store=store))
    assert list(registry.served) == ["Greeter", "ticks"]
    assert greeter.store is store and greeter.workflow_name == "Greeter"
    # A later app may take the workflows over (the store was given by a server).
    other = MemoryStore()
    create_app({"g": greeter}, store=other)
    assert greeter.store is other


@pytest.mark.parametrize(
    ("workflows", "message"),
    [
        ({"g": Greeter}, "not a Workflow instance"),
        ({"a/b": Greeter()}, "contain no '/'"),
        ({"": Greeter()}, "non-empty"),
        ([Greeter(), Greeter()], "served as 'Greeter'"),
        (
            {"x": Countdown(workflow_name="same"), "y": Greeter(workflow_name="same")},
            "both journal",
        ),
        ({"g": Greeter(store="memory://")}, "journals to its own store"),
    ],
)
def test_workflows_that_cannot_be_served_are_refused(workflows: object, message: str) -> None:
    with pytest.raises(ServerConfigurationError, match=message):
        create_app(workflows, store="memory://")  # type: ignore[arg-type]


def test_the_same_instance_is_served_once() -> None:
    greeter = Greeter()
    with pytest.raises(ServerConfigurationError, match="served twice"):
        create_app({"a": greeter, "b": greeter}, store="memory://")


def test_numbers_are_checked() -> None:
    with pytest.raises(ServerConfigurationError, match="positive"):
        create_app({"g": Greeter()}, store="memory://", heartbeat=0)


async def test_runs_started_elsewhere_are_resumed_here_when_answered_or_cancelled(
    start_server: ServerFactory, store_url: str
) -> None:
    server = start_server()
    outside = Greeter(timeout=None, workflow_name="greeter", store=store_url)
    handlers = [outside.run(run_id=name) for name in ("ext-answer", "ext-cancel")]
    for handler in handlers:  # both wait for an answer, journaled, not live in the server
        async for event in handler.stream_events():
            if isinstance(event, Question):
                break
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        assert "ext-answer" not in server.registry.live
        answer = {"type": "Answer", "data": {"text": "Ada"}}
        assert (await client.post("/runs/ext-answer/events", json=answer)).status_code == 202
        cancelled = await client.post("/runs/ext-cancel/cancel")
        assert cancelled.json()["status"] == "cancelled"
        async with client.stream("GET", "/runs/ext-answer/events?format=ndjson") as stream:
            lines = [line async for line in stream.aiter_lines() if line]
        assert '"terminal":true' in lines[-1]  # the stream ends with the run
        info = (await client.get("/runs/ext-answer")).json()
        assert (info["status"], info["result"]) == ("completed", "Hello, Ada!")
    for handler in handlers:  # the outside copies never got the answer; let them go
        handler.cancel()
    await asyncio.gather(*handlers, return_exceptions=True)
    await outside.store.close()  # type: ignore[union-attr]


async def test_runs_of_workflows_not_served_here_are_read_only(
    start_server: ServerFactory, store_url: str
) -> None:
    outside = Greeter(timeout=None, workflow_name="elsewhere", store=store_url)
    finished = outside.run(run_id="done-elsewhere")
    async for event in finished.stream_events():
        if isinstance(event, Question):
            await finished.send_event(Answer(text="Ada"))
    assert await finished == "Hello, Ada!"
    waiting = outside.run(run_id="waiting-elsewhere")
    async for event in waiting.stream_events():
        if isinstance(event, Question):
            break
    server = start_server()
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        info = (await client.get("/runs/done-elsewhere")).json()
        assert (info["workflow"], info["status"]) == ("elsewhere", "completed")
        listed = (await client.get("/runs", params={"workflow": "elsewhere"})).json()["runs"]
        assert sorted(r["run_id"] for r in listed) == ["done-elsewhere", "waiting-elsewhere"]
        events = await client.get("/runs/done-elsewhere/events?format=ndjson")
        assert [line for line in events.text.splitlines() if '"terminal":true' in line]
        for path in ("/runs/done-elsewhere/history", "/runs/done-elsewhere/fork"):
            response = await (
                client.get(path) if path.endswith("history") else client.post(path, json={"at": 1})
            )
            assert response.status_code == 404, path
            assert "which this server does not serve" in response.json()["error"]["message"]
        answer = {"type": "Answer", "data": {"text": "Ada"}}
        refused = await client.post("/runs/waiting-elsewhere/events", json=answer)
        assert refused.status_code == 409
        assert "does not serve" in refused.json()["error"]["message"]
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    await outside.store.close()  # type: ignore[union-attr]


def test_the_contract_lists_every_operation() -> None:
    from pathlib import Path

    from stepwork._server.openapi import OPERATIONS

    contract = (Path(__file__).resolve().parents[2] / "docs" / "http-api.md").read_text()
    for operation in OPERATIONS:
        row = f"| `{operation.method.upper()} {operation.path}` |"
        assert row in contract, f"docs/http-api.md has no row for {row}"
