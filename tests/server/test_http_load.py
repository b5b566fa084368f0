"""Load: 500 runs started through the API, followed by 50 concurrent SSE readers, on one server
with the SQLite store. Every run finishes; every reader sees every event of its run exactly
once, in order (offsets 0, 1, 2, ... with internal events included, ending at the terminal
event). Speed is not asserted here: ``benchmarks/http_load.py`` (``make bench-http``) measures
the same scenario."""

from __future__ import annotations

import asyncio
import ssl

import httpx
import pytest
from http_helpers import aparse_sse
from live_server import ServerFactory

RUNS = 500
READERS = 50
STARTERS = 50


@pytest.mark.timeout(120)
async def test_500_runs_with_50_concurrent_readers(start_server: ServerFactory) -> None:
    server = start_server(heartbeat=1.0)
    to_read: asyncio.Queue[str | None] = asyncio.Queue()
    seen: dict[str, list[int]] = {}
    endings: dict[str, dict[str, object]] = {}

    tls = ssl.create_default_context()  # unused over http://, but each client would load one

    def client() -> httpx.AsyncClient:
        # One client, so one keep-alive connection, per starter and per reader: a shared pool
        # of 100 connections is scanned on every request, which cost the test's side more CPU
        # than the server spent answering.
        return httpx.AsyncClient(base_url=server.url, timeout=60, verify=tls)

    async def starter(numbers: range) -> None:
        async with client() as own:
            for number in numbers:
                body = {"run_id": f"load-{number}", "input": {"count": 3, "delay": 0.005}}
                response = await own.post("/workflows/countdown/runs", json=body)
                assert response.status_code == 202, response.text
                await to_read.put(body["run_id"])

    async def reader() -> None:
        async with client() as own:
            while (run_id := await to_read.get()) is not None:
                offsets: list[int] = []
                params = {"internal": "true"}
                # A new connection per stream: a reader can wait longer for its next run than
                # the server keeps an idle connection open, and reusing one the server is
                # closing fails with "Server disconnected".
                headers = {"Connection": "close"}
                url = f"/runs/{run_id}/events"
                async with own.stream("GET", url, params=params, headers=headers) as reply:
                    async for frame in aparse_sse(reply.aiter_lines()):
                        if frame.comment is None:
                            envelope = frame.envelope
                            offsets.append(envelope["offset"])
                            if envelope["terminal"]:
                                endings[run_id] = envelope
                seen[run_id] = offsets

    readers = [asyncio.create_task(reader()) for _ in range(READERS)]
    share = RUNS // STARTERS
    await asyncio.gather(*(starter(range(i * share, (i + 1) * share)) for i in range(STARTERS)))
    for _ in readers:
        await to_read.put(None)
    await asyncio.gather(*readers)
    async with client() as own:
        listed = (await own.get("/runs", params={"limit": 1000})).json()["runs"]

    assert len(seen) == RUNS
    for run_id, offsets in seen.items():
        assert offsets == list(range(len(offsets))), run_id
        assert endings[run_id]["data"] == {"result": "counted 3"}, run_id
        assert [o for o in offsets if o == offsets[-1]] == [offsets[-1]]
    assert len(listed) == RUNS
    assert {run["status"] for run in listed} == {"completed"}
