"""A served workflow waiting for a person is not killed by its run timeout while it waits.

A real server serves a workflow with a 5 s run timeout on a controllable clock: while the run
waits for the answer, its run timer is not scheduled at all (the timeout pauses), and the
answer, sent over HTTP, finishes the run.
"""

from __future__ import annotations

from typing import Any

import httpx
from http_helpers import parse_sse, wait_for_event

from stepwork import HumanResponseEvent, InputRequiredEvent, StartEvent, StopEvent, Workflow, step
from stepwork.testing import ManualClock


class Question(InputRequiredEvent):
    prompt: str = "Your name?"


class Answer(HumanResponseEvent):
    text: str


class Asks(Workflow):
    @step
    async def ask(self, ev: StartEvent) -> Question:
        return Question()

    @step
    async def greet(self, ev: Answer) -> StopEvent:
        return StopEvent(result=f"Hello, {ev.text}!")


def test_the_run_timeout_pauses_while_a_served_run_waits_for_a_person(start_server: Any) -> None:
    clock = ManualClock()
    server = start_server(workflows={"asks": Asks(timeout=5, clock=clock)})
    with httpx.Client(base_url=server.url, timeout=20) as http:
        run_id = http.post("/workflows/asks/runs", json={}).json()["run_id"]
        stream = http.stream("GET", f"/runs/{run_id}/events", params={"internal": "true"})
        with stream as response:
            for frame in parse_sse(response.iter_lines()):
                if frame.event == "WorkflowIdleEvent":
                    break
        # Waiting for the person: no run timer is scheduled, however long the wait.
        assert clock.pending() == 0
        sent = http.post(f"/runs/{run_id}/events", json={"type": "Answer", "data": {"text": "Ada"}})
        assert sent.status_code == 202
        wait_for_event(http, run_id, "StopEvent")
        assert http.get(f"/runs/{run_id}").json()["result"] == "Hello, Ada!"
