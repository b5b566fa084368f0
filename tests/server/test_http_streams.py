"""Event streams over a real socket: SSE framing, offsets, resume, heartbeats, NDJSON, readers."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from http_helpers import aparse_sse, error_of, parse_sse, read_events, wait_for_event
from live_server import LiveServer, ServerFactory
from server_app import Answer, Countdown, Greeter

from stepwork._server.schemas import EventEnvelope


def run(http: httpx.Client, name: str, run_id: str, **body: Any) -> None:
    response = http.post(f"/workflows/{name}/runs", json={"run_id": run_id, **body})
    assert response.status_code in (200, 202), response.text


def test_sse_frames_carry_offsets_types_and_envelopes(http: httpx.Client) -> None:
    run(http, "countdown", "c", input={"count": 3}, wait=True)
    with http.stream("GET", "/runs/c/events", params={"internal": "true"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        raw = response.read().decode()
    assert raw.startswith('id: 0\nevent: StepStateChanged\ndata: {"offset":0,')
    frames = [f for f in parse_sse(raw.split("\n")) if f.comment is None]
    envelopes = [EventEnvelope.model_validate(f.envelope) for f in frames]
    assert [e.offset for e in envelopes] == list(range(len(envelopes)))
    assert all(
        f.id == str(e.offset) and f.event == e.type for f, e in zip(frames, envelopes, strict=True)
    )
    assert [e.data["left"] for e in envelopes if e.type == "Progress"] == [3, 2, 1]
    assert [e.terminal for e in envelopes] == [False] * (len(envelopes) - 1) + [True]
    assert envelopes[-1].data == {"result": "counted 3"}
    assert envelopes[0].internal and envelopes[0].qualified_name.endswith(".StepStateChanged")
    public = read_events(http, "c")
    assert [e["offset"] for e in public] == [e.offset for e in envelopes if not e.internal]
    assert [e["offset"] for e in read_events(http, "c", after=3)] == [
        e.offset for e in envelopes if e.offset > 3 and not e.internal
    ]


def test_ndjson_has_the_same_envelopes(http: httpx.Client) -> None:
    run(http, "countdown", "n", input={"count": 2}, wait=True)
    sse = read_events(http, "n", internal="true")
    with http.stream("GET", "/runs/n/events?format=ndjson&internal=1") as response:
        assert response.headers["content-type"].startswith("application/x-ndjson")
        lines = [json.loads(line) for line in response.iter_lines() if line]
    assert lines == sse


def test_last_event_id_resumes_after_a_dropped_connection(http: httpx.Client) -> None:
    run(http, "greeter", "g")
    seen: list[dict[str, Any]] = []
    with http.stream("GET", "/runs/g/events", params={"internal": "true"}) as response:
        for frame in parse_sse(response.iter_lines()):
            if frame.comment is None:
                seen.append(frame.envelope)
                if frame.event == "Question":
                    break  # the connection drops here, mid-run
    http.post("/runs/g/events", json={"type": "Answer", "data": {"text": "Ada"}})
    last = seen[-1]["offset"]
    headers = {"Last-Event-ID": str(last)}
    with http.stream("GET", "/runs/g/events?internal=true&after=-1", headers=headers) as response:
        rest = [f.envelope for f in parse_sse(response.iter_lines()) if f.comment is None]
    assert rest[0]["offset"] == last + 1
    assert seen + rest == read_events(http, "g", internal="true")
    assert rest[-1]["terminal"] and rest[-1]["data"] == {"result": "Hello, Ada!"}


def test_a_quiet_stream_sends_heartbeats(http: httpx.Client) -> None:
    run(http, "survey", "quiet")
    with http.stream("GET", "/runs/quiet/events") as response:
        frames = parse_sse(response.iter_lines())
        assert next(f for f in frames if f.comment is None).event == "Question"
        assert next(frames).comment == "heartbeat"  # nothing else happens in this run
        assert next(frames).comment == "heartbeat"
    http.post("/runs/quiet/cancel")


def test_stream_errors(http: httpx.Client) -> None:
    assert error_of(http.get("/runs/nope/events"))["code"] == "not_found"
    run(http, "countdown", "e", wait=True)
    for query, field in (
        ("after=-2", "after"),
        ("after=x", "after"),
        ("format=xml", "format"),
        ("internal=maybe", "internal"),
    ):
        bad = http.get(f"/runs/e/events?{query}")
        assert (bad.status_code, error_of(bad)["field"]) == (422, field)
    bad_header = http.get("/runs/e/events", headers={"Last-Event-ID": "abc"})
    assert (bad_header.status_code, error_of(bad_header)["field"]) == (422, "Last-Event-ID")
    ndjson = http.get("/runs/e/events?format=ndjson", headers={"Last-Event-ID": "abc"})
    assert (ndjson.status_code, error_of(ndjson)["field"]) == (422, "Last-Event-ID")


async def test_any_number_of_readers_each_see_every_event_once_in_order(
    server: LiveServer,
) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=20) as client:
        body = {"run_id": "many", "input": {"count": 30, "delay": 0.005}}
        assert (await client.post("/workflows/countdown/runs", json=body)).status_code == 202

        async def reader(after: int) -> list[int]:
            params = {"internal": "true", "after": str(after)}
            async with client.stream("GET", "/runs/many/events", params=params) as response:
                frames = aparse_sse(response.aiter_lines())
                return [f.envelope["offset"] async for f in frames if f.comment is None]

        early = [asyncio.create_task(reader(-1)) for _ in range(20)]
        await asyncio.sleep(0.05)  # some readers join while the run is half-way
        late = [asyncio.create_task(reader(k)) for k in (0, 5, 10)]
        results = await asyncio.gather(*early, *late)
    total = len(results[0])
    assert results[0] == list(range(total)) and total > 30
    assert all(result == list(range(total)) for result in results[:20])
    for result, after in zip(results[20:], (0, 5, 10), strict=True):
        assert result == list(range(after + 1, total))


async def test_a_run_executing_elsewhere_is_followed_through_the_store(
    start_server: ServerFactory, store_url: str
) -> None:
    first = start_server()
    with httpx.Client(base_url=first.url, timeout=20) as http:
        run(http, "greeter", "away")
        wait_for_event(http, "away", "Question")
    first.stop()
    # This server does not serve the greeter, so the run is not resumed here: its stream
    # comes from the store, which another process (this test) writes to.
    other = start_server(workflows={"countdown": Countdown(timeout=None)})
    async with httpx.AsyncClient(base_url=other.url, timeout=20) as client:
        asked = asyncio.Event()

        async def follow() -> list[dict[str, Any]]:
            seen: list[dict[str, Any]] = []
            async with client.stream("GET", "/runs/away/events") as response:
                async for frame in aparse_sse(response.aiter_lines()):
                    if frame.comment is None:
                        seen.append(frame.envelope)
                        asked.set()
            return seen

        reading = asyncio.create_task(follow())
        await asyncio.wait_for(asked.wait(), 10)  # the reader has the question from the store
        assert not reading.done()
        elsewhere = Greeter(timeout=None, workflow_name="greeter", store=store_url)
        handler = elsewhere.resume("away")
        await handler.send_event(Answer(text="from afar"))
        assert await handler == "Hello, from afar!"
        await elsewhere.store.close()  # type: ignore[union-attr]
        envelopes = await asyncio.wait_for(reading, 10)
        info = (await client.get("/runs/away")).json()
    assert [e["type"] for e in envelopes] == ["Question", "StopEvent"]
    assert envelopes[-1]["terminal"] and envelopes[-1]["data"] == {"result": "Hello, from afar!"}
    assert info["workflow"] == "greeter" and info["status"] == "completed"


@pytest.mark.parametrize("fmt", ["sse", "ndjson"])
def test_a_finished_run_streams_from_the_store(http: httpx.Client, fmt: str) -> None:
    run(http, "fails", "f", wait=True)
    with http.stream("GET", f"/runs/f/events?format={fmt}") as response:
        text = response.read().decode()
    assert "WorkflowFailedEvent" in text
    assert text.rstrip().endswith("}")


@pytest.mark.parametrize("fmt", ["sse", "ndjson"])
def test_unicode_line_separators_in_data_keep_each_frame_on_one_line(
    http: httpx.Client, fmt: str
) -> None:
    # httpx's iter_lines (like str.splitlines) also breaks at U+0085, U+2028 and U+2029, so
    # the streams write them as JSON escapes; the stateful fuzz test found this.
    prompt = "a\u2028b\u2029c\x85d"
    http.post("/workflows/greeter/runs", json={"run_id": "u", "input": {"prompt": prompt}})
    with http.stream("GET", "/runs/u/events", params={"format": fmt}) as response:
        line = next(line for line in response.iter_lines() if '"Question"' in line)
    envelope = json.loads(line.removeprefix("data: "))
    assert envelope["data"] == {"prompt": prompt}
