"""What a run cannot hold is refused at the door: NaN and infinities, and JSON nested too deep.

JSON has no NaN or Infinity, so the journal could only store ``null`` in their place, and a run
journaled that way can be read back neither by its history nor by a restarted server. Every
spelling pydantic turns into such a float (``1e999``, ``"nan"``, ``"-Infinity"``, ...) is a 422
naming the field, before any run is created. Request bodies nested deeper than 64 are a 422
before they are parsed. Every test runs on a SQLite file and on a real PostgreSQL server.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
import server_app
from http_helpers import error_of, read_events, wait_for_event, wait_for_status
from hypothesis import given, settings
from hypothesis import strategies as st
from live_server import ServerFactory, fresh_workflows

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stepwork._server.inbound import MAX_JSON_DEPTH, json_too_deep
from stores.pg_server import BACKENDS, store_url_for


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty journal on each backend (overrides the conftest's SQLite-only one)."""
    return store_url_for(request, tmp_path)


def post_raw(http: httpx.Client, path: str, body: str) -> httpx.Response:
    """POST ``body`` as it is (``json=`` cannot write ``1e999``)."""
    return http.post(path, content=body, headers={"Content-Type": "application/json"})


# Every spelling of a non-finite number that JSON parsing or pydantic's float validation accepts.
FLOAT_SPELLINGS = [
    "1e999",
    "-1e999",
    '"nan"',
    '"NaN"',
    '"inf"',
    '"-inf"',
    '"Infinity"',
    '"-Infinity"',
]


@pytest.mark.parametrize("spelling", FLOAT_SPELLINGS)
def test_a_non_finite_start_field_is_422_and_no_run_exists(
    start_server: ServerFactory, spelling: str
) -> None:
    server = start_server()
    with httpx.Client(base_url=server.url, timeout=20) as http:
        body = f'{{"run_id": "bad", "input": {{"delay": {spelling}}}}}'
        response = post_raw(http, "/workflows/countdown/runs", body)
        assert response.status_code == 422, response.text
        error = error_of(response)
        assert error["field"] == "input.delay"
        assert "finite" in error["message"]
        assert http.get("/runs/bad").status_code == 404
        assert http.get("/runs").json()["runs"] == []


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("[1e999]", "input.extra.0"),
        ('{"a": [1, {"b": -1e999}]}', "input.extra.a.1.b"),
        ("1E400", "input.extra"),
        ("[2.5e+0400]", "input.extra.0"),
        ("9" * 309 + ".5", "input.extra"),
    ],
)
def test_a_non_finite_number_nested_in_an_extra_field_is_422(
    start_server: ServerFactory, extra: str, field: str
) -> None:
    server = start_server()
    with httpx.Client(base_url=server.url, timeout=20) as http:
        response = post_raw(http, "/workflows/greeter/runs", f'{{"input": {{"extra": {extra}}}}}')
        assert response.status_code == 422, response.text
        assert error_of(response)["field"] == field
        assert http.get("/runs").json()["runs"] == []


def test_strings_that_only_look_like_numbers_stay_strings(start_server: ServerFactory) -> None:
    server = start_server()
    with httpx.Client(base_url=server.url, timeout=20) as http:
        started = http.post(
            "/workflows/greeter/runs", json={"run_id": "ok", "input": {"prompt": "nan", "x": "inf"}}
        )
        assert started.status_code == 202, started.text
        assert wait_for_event(http, "ok", "Question")["data"] == {"prompt": "nan"}


@pytest.mark.parametrize("spelling", ["1e999", "-1e999"])
def test_a_sent_event_with_a_non_finite_number_is_422_and_the_run_goes_on(
    start_server: ServerFactory, spelling: str
) -> None:
    server = start_server()
    with httpx.Client(base_url=server.url, timeout=20) as http:
        http.post("/workflows/survey/runs", json={"run_id": "s"})
        wait_for_event(http, "s", "Question")
        body = f'{{"type": "Answer", "data": {{"text": "red", "score": [{spelling}]}}}}'
        response = post_raw(http, "/runs/s/events", body)
        assert response.status_code == 422, response.text
        assert error_of(response)["field"] == "data.score.0"
        answer = {"type": "Answer", "data": {"text": "blue"}}
        assert http.post("/runs/s/events", json=answer).status_code == 202
        assert wait_for_status(http, "s", "completed")["result"] == "noted: blue"
        assert http.get("/runs/s/history").status_code == 200


class ForkableCountdown(server_app.Countdown):
    """Countdown whose start event may be sent into a fork (reserved events are refused
    otherwise, before their data is read)."""

    externally_sendable = (server_app.CountdownStart,)


def test_a_fork_with_non_finite_numbers_is_422(start_server: ServerFactory) -> None:
    workflows = {**fresh_workflows(), "countdown": ForkableCountdown(timeout=10)}
    server = start_server(workflows=workflows)
    with httpx.Client(base_url=server.url, timeout=20) as http:
        http.post("/workflows/tally/runs", json={"run_id": "t", "wait": True})
        patch = post_raw(http, "/runs/t/fork", '{"at": 1, "state_patch": {"total": 1e999}}')
        assert patch.status_code == 422, patch.text
        assert error_of(patch)["field"] == "state_patch.total"
        event = '{"type": "TallyStart", "data": {"add": 1, "w": "x", "v": -1e999}}'
        event = f'{{"at": 1, "events": [{event}]}}'
        sent = post_raw(http, "/runs/t/fork", event)
        assert sent.status_code == 422, sent.text
        assert error_of(sent)["field"] == "events.0.data.v"
        http.post("/workflows/countdown/runs", json={"run_id": "c", "wait": True})
        coerced = {"at": 1, "events": [{"type": "CountdownStart", "data": {"delay": "-inf"}}]}
        refused = http.post("/runs/c/fork", json=coerced)
        assert refused.status_code == 422, refused.text
        assert error_of(refused)["field"] == "events.0.data.delay"
        assert sorted(run["run_id"] for run in http.get("/runs").json()["runs"]) == ["c", "t"]


def test_after_refused_input_a_restarted_server_finds_only_sound_runs(
    start_server: ServerFactory,
) -> None:
    first = start_server()
    with httpx.Client(base_url=first.url, timeout=20) as http:
        for spelling in FLOAT_SPELLINGS:
            body = f'{{"input": {{"delay": {spelling}, "count": 1}}}}'
            assert post_raw(http, "/workflows/countdown/runs", body).status_code == 422
            body = f'{{"input": {{"extra": [{spelling}]}}}}'
            status = post_raw(http, "/workflows/greeter/runs", body).status_code
            assert status == (202 if spelling.startswith('"') else 422)  # a string stays one
        good = http.post("/workflows/countdown/runs", json={"input": {"count": 1}, "wait": True})
        assert good.json()["status"] == "completed"
    first.stop()
    second = start_server()
    with httpx.Client(base_url=second.url, timeout=20) as http:
        runs = http.get("/runs").json()["runs"]
        strings = sum(spelling.startswith('"') for spelling in FLOAT_SPELLINGS)
        assert sorted(run["workflow"] for run in runs) == ["countdown"] + ["greeter"] * strings
        for run in runs:
            assert http.get(f"/runs/{run['run_id']}/history").status_code == 200
            if run["workflow"] == "greeter":  # resumed, waiting for its answer
                assert run["status"] == "running"
                assert wait_for_event(http, run["run_id"], "Question")["data"]["prompt"]
            else:
                assert run["status"] == "completed"
                assert [e["type"] for e in read_events(http, run["run_id"])][-1] == "StopEvent"


def nested(depth: int, leaf: str = "1") -> str:
    """A JSON value of ``depth`` nested arrays around ``leaf``."""
    return "[" * depth + leaf + "]" * depth


def test_a_body_nested_too_deep_is_422_and_the_connection_stays_usable(
    start_server: ServerFactory, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_server()
    caplog.set_level(logging.INFO)
    transport = httpx.HTTPTransport(limits=httpx.Limits(max_connections=1))
    with httpx.Client(base_url=server.url, timeout=20, transport=transport) as http:
        body = f'{{"input": {{"extra": {nested(320)}}}}}'
        assert len(body) < 700
        response = post_raw(http, "/workflows/greeter/runs", body)
        assert response.status_code == 422, response.text
        error = error_of(response)
        assert str(MAX_JSON_DEPTH) in error["message"]
        assert response.headers.get("connection") != "close"
        again = http.post("/workflows/greeter/runs", json={"run_id": "after"})
        assert again.status_code == 202, again.text
        deep_event = post_raw(
            http, "/runs/after/events", f'{{"type": "Answer", "data": {nested(5000)}}}'
        )
        assert deep_event.status_code == 422
        assert http.get("/runs/after").json()["status"] == "running"
    assert not [r for r in caplog.records if r.exc_info or "Recursion" in r.getMessage()]


def test_the_depth_limit_counts_containers_not_brackets_in_strings(
    start_server: ServerFactory,
) -> None:
    server = start_server()
    with httpx.Client(base_url=server.url, timeout=20) as http:
        # The body object and "input" take two levels, so this is exactly MAX_JSON_DEPTH deep.
        at_limit = f'{{"input": {{"extra": {nested(MAX_JSON_DEPTH - 2)}}}}}'
        assert post_raw(http, "/workflows/greeter/runs", at_limit).status_code == 202
        over = f'{{"input": {{"extra": {nested(MAX_JSON_DEPTH - 1)}}}}}'
        assert post_raw(http, "/workflows/greeter/runs", over).status_code == 422
        brackets = json.dumps({"input": {"prompt": '[{\\"' * 200 + "]" * 10}})
        assert post_raw(http, "/workflows/greeter/runs", brackets).status_code == 202


def reference_depth(value: Any) -> int:
    if isinstance(value, list):
        return 1 + max(map(reference_depth, value), default=0)
    if isinstance(value, dict):
        return 1 + max(map(reference_depth, value.values()), default=0)
    return 0


JSON_VALUES = st.recursive(
    st.none() | st.integers() | st.text(alphabet='[]{}"\\ab\u2028', max_size=6),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=40,
)


@given(value=JSON_VALUES, limit=st.integers(0, 12))
@settings(max_examples=300, derandomize=True, database=None)
def test_the_depth_scan_agrees_with_the_parsed_depth(value: Any, limit: int) -> None:
    raw = json.dumps(value, ensure_ascii=False).encode()
    assert json_too_deep(raw, limit) == (reference_depth(value) > limit)
