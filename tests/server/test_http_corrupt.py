"""A damaged journal affects its run alone, over HTTP, and is named: never a 500.

The journal is damaged as an operator's tool or a failing disk would, through the database
itself (``sqlite3`` on the file, a raw connection to PostgreSQL): a deleted tick or event row,
a row that is not a record, a record whose payload does not validate, a run row whose result
is not JSON. Each test runs on SQLite and on the real PostgreSQL the tests start.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from http_helpers import error_of, parse_sse, wait_for_event
from live_server import ServerFactory

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stepwork._stores.url import store_from_url
from stepwork.client import AsyncClient, Client, ConflictError, JournalCorruptClientError
from stores.pg_server import BACKENDS, store_url_for
from stores.vandal import delete_row, write_row, write_run


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty journal on each backend (overrides the conftest's SQLite-only one)."""
    return store_url_for(request, tmp_path)


def damage(store_url: str, how: Any, *args: Any) -> None:
    """Damage the journal at ``store_url`` with a ``stores.vandal`` function, from outside."""
    asyncio.run(how(store_from_url(store_url), *args))


def corrupt_of(response: httpx.Response) -> dict[str, Any]:
    """The error of a 409 ``journal_corrupt`` answer."""
    assert response.status_code == 409, response.text
    error: dict[str, Any] = response.json()["error"]
    assert error["code"] == "journal_corrupt", error
    assert set(error) == {"code", "message", "field", "run_id", "record", "seq"}, error
    return error


def count(http: httpx.Client, run_id: str) -> None:
    started = http.post(
        "/workflows/countdown/runs", json={"run_id": run_id, "wait": True, "input": {"count": 3}}
    )
    assert started.json()["status"] == "completed", started.text


def test_a_run_row_whose_result_is_not_json_is_listed_with_its_error(
    start_server: ServerFactory, store_url: str
) -> None:
    server = start_server()
    with httpx.Client(base_url=server.url, timeout=20) as http:
        for run_id in ("before", "bad", "after"):
            count(http, run_id)
        damage(store_url, write_run, "bad", "result", '{"__model__": "stepwork.StopEv')

        listed = http.get("/runs")
        assert listed.status_code == 200, listed.text
        runs = {run["run_id"]: run for run in listed.json()["runs"]}
        assert set(runs) == {"before", "bad", "after"}
        assert runs["before"]["result"] == runs["after"]["result"] == "counted 3"
        assert runs["bad"]["status"] == "completed" and runs["bad"]["result"] is None
        assert runs["bad"]["error"]["type"] == "JournalCorruptError"
        assert "row of run 'bad'" in runs["bad"]["error"]["message"]
        assert "result is not valid JSON" in runs["bad"]["error"]["message"]

        error = corrupt_of(http.get("/runs/bad"))
        assert (error["run_id"], error["record"], error["seq"]) == ("bad", "run", None)
        assert "delete_run('bad')" in error["message"]
        assert http.get("/runs/after").json()["result"] == "counted 3"
        assert http.get("/runs/bad/history").status_code == 200  # its journal is fine


@pytest.mark.parametrize(
    ("damaged", "why"),
    [
        ("deleted", "it is missing"),
        ("teleport", "Unknown tick kind 'teleport'"),
        ("not json", "not valid JSON"),
        ("bad payload", "no longer validates"),
    ],
)
def test_a_damaged_tick_makes_history_answer_409_naming_it(
    start_server: ServerFactory, store_url: str, damaged: str, why: str
) -> None:
    server = start_server()
    with httpx.Client(base_url=server.url, timeout=20) as http:
        count(http, "hurt")
        count(http, "fine")
        if damaged == "deleted":
            damage(store_url, delete_row, "hurt", "ticks", 1)
        else:
            text = {
                "teleport": json.dumps({"kind": "teleport", "at": 1.0}),
                "not json": '{"kind": "step_do',
                "bad payload": json.dumps(
                    {
                        "kind": "start",
                        "at": 1.0,
                        "run_id": "hurt",
                        "start_event": {
                            "__model__": "server_app.CountdownStart",
                            "value": {"count": "many"},
                        },
                    }
                ),
            }[damaged]
            damage(
                store_url, write_row, "hurt", "ticks", 0 if damaged == "bad payload" else 1, text
            )

        error = corrupt_of(http.get("/runs/hurt/history"))
        seq = 0 if damaged == "bad payload" else 1
        assert (error["run_id"], error["record"], error["seq"]) == ("hurt", "tick", seq)
        assert f"tick record seq {seq}" in error["message"] and why in error["message"]
        assert len(http.get("/runs/fine/history").json()["entries"]) > 2
        assert http.get("/runs").status_code == 200


@pytest.mark.parametrize("damaged", ["deleted", "garbage"])
def test_a_stream_that_meets_a_damaged_event_ends_with_an_error_frame(
    start_server: ServerFactory, store_url: str, damaged: str
) -> None:
    server = start_server()
    with httpx.Client(base_url=server.url, timeout=20) as http:
        count(http, "hurt")
        if damaged == "deleted":
            damage(store_url, delete_row, "hurt", "events", 2)
        else:
            damage(store_url, write_row, "hurt", "events", 2, '{"__model__": "server_app.Pro')

        with http.stream("GET", "/runs/hurt/events") as response:
            frames = [f for f in parse_sse(response.iter_lines()) if f.comment is None]
        assert [f.event for f in frames] == ["Progress", "error"]
        assert frames[0].envelope["offset"] == 1  # every event before the damage (0 is internal)
        assert frames[1].id is None
        error = frames[1].envelope["error"]
        assert (error["code"], error["run_id"], error["record"], error["seq"]) == (
            "journal_corrupt",
            "hurt",
            "event",
            2,
        )
        assert "event record offset 2" in error["message"]

        params = {"format": "ndjson", "internal": "true"}
        with http.stream("GET", "/runs/hurt/events", params=params) as response:
            lines = [json.loads(line) for line in response.iter_lines() if line]
        assert [line.get("offset") for line in lines] == [0, 1, None]
        assert lines[2]["error"]["seq"] == 2

        seen: list[int] = []
        with Client(server.url) as client:  # raises, instead of reconnecting for ever
            with pytest.raises(JournalCorruptClientError) as caught:
                seen.extend(envelope.offset for envelope in client.stream("hurt", internal=True))
        assert seen == [0, 1]

        async def follow() -> None:
            async with AsyncClient(server.url) as client:
                async for envelope in client.stream("hurt"):
                    seen.append(envelope.offset)

        with pytest.raises(JournalCorruptClientError, match="event record offset 2"):
            asyncio.run(follow())
        assert seen == [0, 1, 1]
        assert isinstance(caught.value, ConflictError)
        assert (caught.value.run_id, caught.value.record, caught.value.seq) == ("hurt", "event", 2)
        assert "event record offset 2" in str(caught.value)


def test_a_run_missing_its_start_tick_is_not_resumed_and_the_others_are(
    start_server: ServerFactory, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    first = start_server()
    with httpx.Client(base_url=first.url, timeout=20) as http:
        for run_id in ("hurt", "fine"):
            http.post("/workflows/greeter/runs", json={"run_id": run_id})
            wait_for_event(http, run_id, "Question")
    first.stop()
    damage(store_url, delete_row, "hurt", "ticks", 0)

    with caplog.at_level(logging.ERROR, logger="stepwork.server"):
        second = start_server()
        with httpx.Client(base_url=second.url, timeout=20) as http:
            listed = {run["run_id"]: run for run in http.get("/runs").json()["runs"]}
            assert listed["hurt"]["status"] == "running"  # left as it was, for a person to see
            assert listed["hurt"]["error"]["type"] == "JournalCorruptError"
            assert "tick record seq 0" in listed["hurt"]["error"]["message"]
            assert listed["fine"]["error"] is None

            error = corrupt_of(http.get("/runs/hurt"))
            assert (error["record"], error["seq"]) == ("tick", 0)
            answer = {"type": "Answer", "data": {"text": "Ada"}}
            assert corrupt_of(http.post("/runs/hurt/events", json=answer))["seq"] == 0
            assert corrupt_of(http.post("/runs/hurt/cancel"))["seq"] == 0
            assert corrupt_of(http.get("/runs/hurt/history"))["seq"] == 0
            with Client(second.url) as client:
                with pytest.raises(JournalCorruptClientError, match="tick record seq 0"):
                    client.wait("hurt", timeout=10)

            assert http.post("/runs/fine/events", json=answer).status_code == 202
            with Client(second.url) as client:
                assert client.wait("fine", timeout=10).result == "Hello, Ada!"
    logged = [r for r in caplog.records if r.name == "stepwork.server"]
    assert len(logged) == 1, [r.getMessage() for r in logged]
    assert "'hurt'" in logged[0].getMessage() and "seq 0" in logged[0].getMessage()


def test_a_fork_from_before_the_damage_goes_on(start_server: ServerFactory, store_url: str) -> None:
    server = start_server()
    with httpx.Client(base_url=server.url, timeout=20) as http:
        count(http, "hurt")
        ticks = len(http.get("/runs/hurt/history").json()["entries"])
        damage(store_url, delete_row, "hurt", "ticks", ticks - 1)
        error = corrupt_of(http.get("/runs/hurt/history"))
        assert f"at <= {ticks - 1}" in error["message"]

        assert corrupt_of(http.post("/runs/hurt/fork", json={"at": ticks}))["seq"] == ticks - 1
        forked = http.post("/runs/hurt/fork", json={"at": 1, "run_id": "again"})
        assert forked.status_code == 202, forked.text
        with Client(server.url) as client:
            assert client.wait("again", timeout=10).result == "counted 3"
        assert error_of(http.get("/runs/nope/history"))["code"] == "not_found"
