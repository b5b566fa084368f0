"""The same client session against LlamaIndex Workflows' server and against stepwork's.

One scenario drives ``llama-agents-client`` against ``llama_agents.server.WorkflowServer``
serving workflows written with ``workflows``, and against ``stepwork.server.WorkflowServer``
serving the same workflows written with ``stepwork``; what the client sees must be the same.
Both apps run in process (``httpx.ASGITransport``), so the scenario only reads streams of
runs that have ended.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from llama_agents.client import WorkflowClient
from llama_agents.server import WorkflowServer as AnchorServer

import stepwork
import stepwork.events
from stepwork.server import WorkflowServer

workflows_lib = pytest.importorskip("workflows")
workflows_events = pytest.importorskip("workflows.events")

pytestmark = pytest.mark.timeout(60)


def build(lib: Any, events: Any) -> dict[str, Any]:
    """The scenario's workflows, written with ``lib`` (``workflows`` or ``stepwork``)."""

    class Question(events.InputRequiredEvent):
        prompt: str

    class Answer(events.HumanResponseEvent):
        text: str

    class Greeter(lib.Workflow):
        @lib.step
        async def ask(self, ev: events.StartEvent) -> Question:
            return Question(prompt="Your name?")

        @lib.step
        async def greet(self, ev: Answer) -> events.StopEvent:
            return events.StopEvent(result=f"Hello, {ev.text}!")

    class Quick(lib.Workflow):
        @lib.step
        async def go(self, ev: events.StartEvent) -> events.StopEvent:
            return events.StopEvent(result={"n": ev.get("n", 0)})

    class Boom(lib.Workflow):
        @lib.step
        async def go(self, ev: events.StartEvent) -> events.StopEvent:
            raise ValueError("boom")

    class Slow(lib.Workflow):
        @lib.step
        async def go(self, ev: events.StartEvent) -> events.StopEvent:
            await asyncio.Event().wait()  # until cancelled
            return events.StopEvent()

    return {
        "quick": Quick(),
        "boom": Boom(),
        "greeter": Greeter(timeout=None),
        "slow": Slow(timeout=None),
        "Answer": Answer,
    }


async def refused(call: Any) -> tuple[int, bool]:
    """The status of a call that must fail, and whether its body has a ``detail``."""
    try:
        await call
    except httpx.HTTPStatusError as error:
        return error.response.status_code, "detail" in error.response.json()
    raise AssertionError("the call succeeded")


async def scenario(client: WorkflowClient, answer: type) -> list[Any]:
    """Everything the client sees, in the order it sees it."""
    seen: list[Any] = [
        (await client.is_healthy()).status,
        (await client.list_workflows()).workflows,
    ]
    quick = await client.run_workflow("quick", start_event={"n": 3})
    assert quick.result is not None
    seen.append((quick.status, quick.result.type, quick.result.value, quick.result.types))
    seen.append([(e.type, e.value) async for e in client.get_workflow_events(quick.handler_id)])
    seen.append(
        [e async for e in client.get_workflow_events(quick.handler_id, after_sequence="now")]
    )
    try:
        await client.run_workflow("boom")
    except httpx.HTTPStatusError as error:
        body = error.response.json()
        seen.append((error.response.status_code, body["status"], body["error"], body["result"]))

    greeter = await client.run_workflow_nowait("greeter")
    seen.append(greeter.status)
    seen.append((await client.send_event(greeter.handler_id, answer(text="Ada"))).status)
    done = await client.wait_for_handler(greeter.handler_id, timeout=10, poll_interval=0.02)
    assert done.result is not None
    seen.append((done.status, done.result.value))
    late = {"type": "Answer", "value": {"text": "late"}}
    seen.append(await refused(client.send_event(greeter.handler_id, late)))

    slow = await client.run_workflow_nowait("slow")
    seen.append(await refused(client.send_event(slow.handler_id, {"type": "Nope", "value": {}})))
    seen.append((await client.cancel_handler(slow.handler_id)).status)
    seen.append(await refused(client.get_handler(slow.handler_id)))
    seen.append((await client.cancel_handler(slow.handler_id, purge=True)).status)
    seen.append(await refused(client.get_handler(slow.handler_id)))

    completed = await client.get_handlers(status=["completed"], workflow_name=["quick"])
    seen.append([h.handler_id for h in completed.handlers] == [quick.handler_id])
    seen.append(await refused(client.run_workflow("nope")))
    seen.append(await refused(client.send_event("nope", late)))
    return seen


async def run_on(server: Any, made: dict[str, Any]) -> list[Any]:
    for name in ("quick", "boom", "greeter", "slow"):
        server.add_workflow(name, made[name])
    async with server.contextmanager():
        transport = httpx.ASGITransport(app=server.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as http:
            return await scenario(WorkflowClient(httpx_client=http), made["Answer"])


# The anchor's own server calls its deprecated WorkflowHandler.done() when cancelling.
@pytest.mark.filterwarnings("ignore:WorkflowHandler.done:DeprecationWarning")
async def test_the_anchors_client_sees_the_same_from_both_servers() -> None:
    anchor = await run_on(AnchorServer(), build(workflows_lib, workflows_events))
    ours = await run_on(WorkflowServer(), build(stepwork, stepwork.events))
    assert ours == anchor
    assert anchor[:3] == [
        "healthy",
        ["quick", "boom", "greeter", "slow"],
        ("completed", "StopEvent", {"result": {"n": 3}}, None),
    ]
