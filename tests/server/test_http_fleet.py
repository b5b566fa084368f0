"""Several API nodes on one store: ``workers=0`` nodes enqueue and execute nothing, nodes with
worker loops execute what any node enqueued, a node streams and waits for runs it does not
execute by following the store, and a run started by another version of its workflow is not
continued (the detail says why; sending to it names both versions)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import server_app
from http_helpers import wait_for_status
from live_server import ServerFactory

from stepwork._server.follow import FALLBACK_POLL, SQLITE_POLL, StoreFollower
from stepwork._stores.memory import MemoryStore
from stepwork._stores.protocol import InboxMessage
from stepwork._stores.url import store_from_url


def _post(url: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(url + path, json=body, timeout=30)


def _ndjson(url: str, run_id: str, after: int = -1) -> list[dict[str, Any]]:
    with httpx.stream(
        "GET", f"{url}/runs/{run_id}/events", params={"format": "ndjson", "after": after},
        timeout=30,
    ) as response:  # fmt: skip
        assert response.status_code == 200
        return [json.loads(line) for line in response.iter_lines() if line]


def test_an_api_node_enqueues_another_node_executes_and_the_first_streams_it(
    start_server: ServerFactory,
) -> None:
    api = start_server(workers=0)
    assert api.registry.pool is not None and api.registry.pool.workers == []
    started = _post(api.url, "/workflows/countdown/runs", {"input": {"count": 5}, "run_id": "c1"})
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "running"
    stored = httpx.get(f"{api.url}/runs/c1").json()
    assert stored["status"] == "running" and "c1" not in api.registry.live  # not executed here
    executor = start_server(workers=1)
    events = _ndjson(api.url, "c1")  # followed through the store by the node that enqueued it
    assert [e["offset"] for e in events] == sorted({e["offset"] for e in events})
    assert [e["data"]["left"] for e in events if e["type"] == "Progress"] == [5, 4, 3, 2, 1]
    assert events[-1]["terminal"] and events[-1]["type"] == "StopEvent"
    info = httpx.get(f"{api.url}/runs/c1").json()
    assert (info["status"], info["result"]) == ("completed", "counted 5")
    assert info["version"] == server_app.Countdown(timeout=60).workflow_version
    assert executor.registry.pool is not None
    assert sum(w.finished for w in executor.registry.pool.workers) == 1


def test_wait_on_a_node_that_executes_nothing_answers_once_a_worker_node_ended_the_run(
    start_server: ServerFactory,
) -> None:
    start_server(workers=1)
    api = start_server(workers=0)
    ended = _post(api.url, "/workflows/tally/runs", {"input": {"add": 4}, "wait": True})
    assert ended.status_code == 200, ended.text
    assert (ended.json()["status"], ended.json()["result"]) == ("completed", 4)
    taken = _post(api.url, "/workflows/tally/runs", {"run_id": ended.json()["run_id"]})
    assert taken.status_code == 409  # the id is stored: a retry cannot start it twice


def test_sending_to_a_run_another_process_executes_goes_through_its_inbox(
    start_server: ServerFactory, store_url: str
) -> None:
    api = start_server(workers=0)
    assert _post(api.url, "/workflows/greeter/runs", {"run_id": "g1"}).status_code == 202
    sent = _post(api.url, "/runs/g1/events", {"type": "Answer", "data": {"text": "Ada"}})
    assert sent.status_code == 202, sent.text
    cancelled = httpx.post(f"{api.url}/runs/g1/cancel", timeout=30)
    assert cancelled.status_code == 202, cancelled.text
    assert cancelled.json()["status"] == "running"  # cancelled once a worker takes it in
    assert [m.kind for m in asyncio.run(_inbox(store_url, "g1"))] == ["event", "cancel"]


async def _inbox(url: str, run_id: str) -> list[InboxMessage]:
    store = store_from_url(url)
    try:
        await store.open()
        return await store.load_inbox(run_id)
    finally:
        await store.close()


def test_a_fork_on_a_node_that_executes_nothing_is_stored_for_a_worker(
    start_server: ServerFactory,
) -> None:
    api = start_server(workers=0)
    _post(api.url, "/workflows/tally/runs", {"input": {"add": 2}, "run_id": "t1"})
    forked = _post(api.url, "/runs/t1/fork", {"at": 1, "run_id": "t2"})
    assert forked.status_code == 202, forked.text
    start_server(workers=1)
    with httpx.Client(base_url=api.url, timeout=30) as http:
        for run_id in ("t1", "t2"):
            info = wait_for_status(http, run_id, "completed")
            assert info["result"] == 2


def test_a_run_of_another_version_is_not_continued_and_says_why(
    start_server: ServerFactory,
) -> None:
    old = start_server(workflows={"greeter": server_app.Greeter(timeout=None, version="v1")})
    assert _post(old.url, "/workflows/greeter/runs", {"run_id": "g1"}).status_code == 202
    old.stop()
    new = start_server(workflows={"greeter": server_app.Greeter(timeout=None, version="v2")})
    assert "g1" not in new.registry.live  # not resumed at start-up
    info = httpx.get(f"{new.url}/runs/g1").json()
    assert info["version"] == "v1"
    assert "'v1'" in info["not_continued"] and "'v2'" in info["not_continued"]
    listed = httpx.get(f"{new.url}/runs").json()["runs"]
    assert listed[0]["not_continued"] == info["not_continued"]
    sent = _post(new.url, "/runs/g1/events", {"type": "Answer", "data": {"text": "Ada"}})
    assert sent.status_code == 409
    message = sent.json()["error"]["message"]
    assert "version 'v1'" in message and "version 'v2'" in message
    again = start_server(workflows={"greeter": server_app.Greeter(timeout=None, version="v1")})
    answered = _post(again.url, "/runs/g1/events", {"type": "Answer", "data": {"text": "Ada"}})
    assert answered.status_code == 202
    with httpx.Client(base_url=again.url, timeout=30) as http:
        assert wait_for_status(http, "g1", "completed")["result"] == "Hello, Ada!"


async def test_a_follower_polls_a_store_that_cannot_notify_and_wakes_watchers() -> None:
    follower = StoreFollower(MemoryStore())
    assert (follower.notifies, follower.interval) == (False, SQLITE_POLL)
    assert FALLBACK_POLL > SQLITE_POLL
    with follower.watch("r") as watch:
        watch.clear()
        follower._notice("append", "r")  # what a NOTIFY does on PostgreSQL
        await watch.changed()  # returns at once: the notice came after clear()
    assert follower._watches == {}
