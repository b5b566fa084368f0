"""Events stepwork reserves (start, stop and its subclasses, the engine's own) cannot be sent
into a run from outside, over HTTP or with the client, unless the workflow opts in."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
import pytest
from http_helpers import error_of, wait_for_status
from live_server import LiveServer, ServerFactory, fresh_workflows

from stepwork import Context, Event, StartEvent, StopEvent, Workflow, step
from stepwork.client import Client, InvalidRequestError

RESERVED: list[tuple[str, dict[str, Any]]] = [
    ("StopEvent", {"result": "forged"}),
    ("WorkflowFailedEvent", {"step_name": "ask", "exception": {"type": "ValueError"}}),
    ("WorkflowCancelledEvent", {}),
    ("WorkflowTimedOutEvent", {"timeout": 1.0, "active_steps": []}),
    ("IdleReleasedEvent", {}),
    ("StartEvent", {"prompt": "again"}),
    ("StepFailedEvent", {}),
    ("CollectionReleaseEvent", {}),
]


def waiting_greeter(http: httpx.Client) -> str:
    started = http.post("/workflows/greeter/runs", json={})
    assert started.status_code == 202, started.text
    run_id: str = started.json()["run_id"]
    return run_id


@pytest.mark.parametrize(("type_name", "data"), RESERVED)
def test_a_reserved_event_is_refused_and_the_run_goes_on(
    http: httpx.Client, type_name: str, data: dict[str, Any]
) -> None:
    run_id = waiting_greeter(http)
    refused = http.post(f"/runs/{run_id}/events", json={"type": type_name, "data": data})
    assert refused.status_code == 422, refused.text
    error = error_of(refused)
    assert error["field"] == "type"
    assert type_name in error["message"] and "externally_sendable" in error["message"]
    assert http.get(f"/runs/{run_id}").json()["status"] == "running"
    answered = http.post(f"/runs/{run_id}/events", json={"type": "Answer", "data": {"text": "A"}})
    assert answered.status_code == 202
    assert wait_for_status(http, run_id, "completed")["result"] == "Hello, A!"


def test_the_client_gets_the_refusal(server: LiveServer, http: httpx.Client) -> None:
    run_id = waiting_greeter(http)
    with Client(server.url) as client, pytest.raises(InvalidRequestError, match="StopEvent"):
        client.send(run_id, "StopEvent", {"result": "forged"})
    assert http.get(f"/runs/{run_id}").json()["status"] == "running"


def test_a_fork_cannot_carry_a_reserved_event(http: httpx.Client) -> None:
    done = http.post("/workflows/countdown/runs", json={"input": {"count": 0}, "wait": True})
    run_id = done.json()["run_id"]
    forked = http.post(
        f"/runs/{run_id}/fork", json={"at": 1, "events": [{"type": "StopEvent", "data": {}}]}
    )
    assert forked.status_code == 422, forked.text
    assert error_of(forked)["field"] == "events.0.type"


class Halt(Event):
    """Asks a run to stop early."""


class Stoppable(Workflow):
    """Waits for a person, and lets callers end it with a StopEvent of their own."""

    externally_sendable: ClassVar[tuple[type[Event], ...]] = (StopEvent,)

    @step
    async def begin(self, ctx: Context, ev: StartEvent) -> StopEvent:
        await ctx.wait_for_event(Halt)
        return StopEvent(result="halted")


def test_a_workflow_can_opt_in(start_server: ServerFactory) -> None:
    server = start_server(workflows={**fresh_workflows(), "stoppable": Stoppable(timeout=None)})
    with httpx.Client(base_url=server.url, timeout=20) as http:
        run_id = http.post("/workflows/stoppable/runs", json={}).json()["run_id"]
        sent = http.post(
            f"/runs/{run_id}/events", json={"type": "StopEvent", "data": {"result": 7}}
        )
        assert sent.status_code == 202, sent.text
        assert wait_for_status(http, run_id, "completed")["result"] == 7
        # Only what the workflow names: a cancellation event stays reserved.
        other = http.post("/workflows/stoppable/runs", json={}).json()["run_id"]
        refused = http.post(
            f"/runs/{other}/events", json={"type": "WorkflowCancelledEvent", "data": {}}
        )
        assert refused.status_code == 422
