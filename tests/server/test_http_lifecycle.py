"""Whole runs over HTTP: a person answering, a server restart mid-run, graceful shutdown.

Every test here runs on a SQLite file and on a real PostgreSQL server (started by
``tests/stores/pg_server.py``), the two journals a server is deployed with.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from http_helpers import parse_sse, read_events, wait_for_event, wait_for_status
from live_server import ServerFactory

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stores.pg_server import BACKENDS, store_url_for


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty journal on each backend (overrides the conftest's SQLite-only one)."""
    return store_url_for(request, tmp_path)


def test_human_in_the_loop_over_http(start_server: ServerFactory) -> None:
    server = start_server()
    with httpx.Client(base_url=server.url, timeout=20) as http:
        started = http.post("/workflows/greeter/runs", json={"input": {"prompt": "Name?"}})
        run_id = started.json()["run_id"]
        events: list[dict[str, Any]] = []
        with http.stream("GET", f"/runs/{run_id}/events") as response:
            for frame in parse_sse(response.iter_lines()):
                if frame.comment is not None:
                    continue
                events.append(frame.envelope)
                if frame.event == "Question":
                    assert frame.envelope["data"] == {"prompt": "Name?"}
                    assert http.get(f"/runs/{run_id}").json()["status"] == "running"
                    answer = {"type": "Answer", "data": {"text": "Ada"}}
                    assert http.post(f"/runs/{run_id}/events", json=answer).status_code == 202
        assert [e["type"] for e in events] == ["Question", "StopEvent"]
        info = http.get(f"/runs/{run_id}").json()
    assert (info["status"], info["result"], info["error"]) == ("completed", "Hello, Ada!", None)


def test_runs_continue_across_a_server_restart(start_server: ServerFactory) -> None:
    first = start_server()
    with httpx.Client(base_url=first.url, timeout=20) as http:
        for name in ("greeter", "survey"):
            http.post(f"/workflows/{name}/runs", json={"run_id": name})
            wait_for_event(http, name, "Question")
        before = {name: read_events_until_question(http, name) for name in ("greeter", "survey")}
    first.stop()  # graceful: the waiting runs are let go of, not cancelled

    second = start_server()
    with httpx.Client(base_url=second.url, timeout=20) as http:
        for name in ("greeter", "survey"):
            assert http.get(f"/runs/{name}").json()["status"] == "running"
            answer = {"type": "Answer", "data": {"text": f"{name} answer"}}
            assert http.post(f"/runs/{name}/events", json=answer).status_code == 202
            last = before[name][-1]["offset"]
            headers = {"Last-Event-ID": str(last)}
            with http.stream("GET", f"/runs/{name}/events?internal=1", headers=headers) as reply:
                rest = [f.envelope for f in parse_sse(reply.iter_lines()) if f.comment is None]
            assert [e["offset"] for e in rest] == list(range(last + 1, last + 1 + len(rest)))
            assert before[name] + rest == read_events(http, name, internal="true")
        assert wait_for_status(http, "greeter", "completed")["result"] == "Hello, greeter answer!"
        assert wait_for_status(http, "survey", "completed")["result"] == "noted: survey answer"


def read_events_until_question(http: httpx.Client, run_id: str) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    with http.stream("GET", f"/runs/{run_id}/events?internal=true") as response:
        for frame in parse_sse(response.iter_lines()):
            if frame.comment is None:
                seen.append(frame.envelope)
                if frame.event == "Question":
                    return seen
    raise AssertionError(f"{run_id} never asked")


def test_shutdown_lets_running_steps_finish_within_the_grace_period(
    start_server: ServerFactory,
) -> None:
    server = start_server(grace_period=5)
    with httpx.Client(base_url=server.url, timeout=20) as http:
        body = {"run_id": "slow", "input": {"count": 1, "delay": 0.3}}
        http.post("/workflows/countdown/runs", json=body)
        wait_for_event(http, "slow", "Progress")  # the step is running its delay now
    began = time.monotonic()
    server.stop()
    assert time.monotonic() - began < 4
    again = start_server()
    with httpx.Client(base_url=again.url, timeout=20) as http:
        info = http.get("/runs/slow").json()
    assert (info["status"], info["result"]) == ("completed", "counted 1")


def test_steps_past_the_grace_period_are_left_resumable(start_server: ServerFactory) -> None:
    server = start_server(grace_period=0.1)
    with httpx.Client(base_url=server.url, timeout=20) as http:
        body = {"run_id": "long", "input": {"count": 2, "delay": 0.5}}
        http.post("/workflows/countdown/runs", json=body)
        wait_for_event(http, "long", "Progress")
    server.stop()
    again = start_server()
    with httpx.Client(base_url=again.url, timeout=20) as http:
        assert http.get("/runs/long").json()["status"] == "running"  # resumed, not cancelled
        info = wait_for_status(http, "long", "completed")
        types = [e["type"] for e in read_events(http, "long")]
    assert info["result"] == "counted 2"
    # The interrupted step ran again from the top (at least once for in-flight steps).
    assert types.count("Progress") >= 3 and types[-1] == "StopEvent"


def test_shutdown_answers_waiting_requests_and_ends_streams(start_server: ServerFactory) -> None:
    server = start_server(grace_period=0.2)
    outcome: dict[str, Any] = {}

    def wait_for_the_end() -> None:  # a run that waits for a person never ends by itself
        with httpx.Client(base_url=server.url, timeout=20) as http:
            body = {"run_id": "stuck", "wait": True}
            outcome["response"] = http.post("/workflows/survey/runs", json=body)

    reading = threading.Event()

    def follow() -> None:
        seen: list[str] = []
        with (
            httpx.Client(base_url=server.url, timeout=20) as http,
            http.stream("GET", "/runs/stuck/events") as response,
        ):
            for frame in parse_sse(response.iter_lines()):
                if frame.comment is None:
                    seen.append(frame.envelope["type"])
                    reading.set()  # connected, has the question, now idle
        outcome["events"] = seen

    waiter = threading.Thread(target=wait_for_the_end)
    waiter.start()
    with httpx.Client(base_url=server.url, timeout=20) as http:
        wait_for_status(http, "stuck", "running")
        wait_for_event(http, "stuck", "Question")
    reader = threading.Thread(target=follow)
    reader.start()
    assert reading.wait(10)
    server.stop()
    waiter.join(10)
    reader.join(10)
    response = outcome["response"]
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "unavailable"
    assert outcome["events"] == ["Question"]  # the stream ended without a terminal event
    again = start_server()
    with httpx.Client(base_url=again.url, timeout=20) as http:
        assert http.get("/runs/stuck").json()["status"] == "running"
