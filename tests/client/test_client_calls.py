"""Requests as data, error mapping and stream bookkeeping: the client's parts without I/O."""

from __future__ import annotations

import json
import pickle
from datetime import UTC, datetime

import httpx
import pytest

from stepwork._client import calls
from stepwork._client.extra import transport_error
from stepwork._client.follow import ReconnectPolicy, StreamCursor
from stepwork._client.sse import ServerSentEvent
from stepwork.client import (
    ClientConnectionError,
    ClientTimeoutError,
    ConflictError,
    InvalidRequestError,
    NotFoundError,
    RequestTooLargeError,
    ServerError,
    StepworkClientError,
    UnauthorizedError,
    UnavailableError,
)
from stepwork.errors import StepworkError


def error_body(code: str, message: str, field: str | None = None) -> bytes:
    return json.dumps({"error": {"code": code, "message": message, "field": field}}).encode()


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, UnauthorizedError),
        (404, NotFoundError),
        (409, ConflictError),
        (413, RequestTooLargeError),
        (422, InvalidRequestError),
        (500, ServerError),
        (503, UnavailableError),
        (400, StepworkClientError),
    ],
)
def test_statuses_map_to_the_error_tree(status: int, cls: type[StepworkClientError]) -> None:
    with pytest.raises(cls) as caught:
        calls.get_run("r1").finish(status, error_body("x", "the server's words", "input.name"))
    error = caught.value
    assert type(error) is cls
    assert isinstance(error, StepworkError)
    assert (str(error), error.status, error.field, error.run_id) == (
        "the server's words",
        status,
        "input.name",
        "r1",
    )


def test_errors_survive_pickling_and_plain_text_bodies() -> None:
    error = calls.error_for(422, error_body("invalid", "bad", "data.text"), run_id="r")
    again = pickle.loads(pickle.dumps(error))
    assert (type(again), str(again), again.field, again.status, again.run_id) == (
        InvalidRequestError,
        "bad",
        "data.text",
        422,
        "r",
    )
    assert str(calls.error_for(502, b"Bad Gateway")) == "Bad Gateway"
    assert str(calls.error_for(500, b"")) == "HTTP 500"


def test_a_success_body_off_the_contract_is_a_client_error() -> None:
    with pytest.raises(StepworkClientError, match="not JSON"):
        calls.get_run("r").finish(200, b"<html>")
    with pytest.raises(StepworkClientError, match="does not fit"):
        calls.get_run("r").finish(200, b'{"run_id": "r"}')
    with pytest.raises(StepworkClientError, match="does not fit"):
        calls.list_runs(None, None, None, None, None).finish(200, b"{}")


def test_request_shapes() -> None:
    start = calls.start("greet/er", {"name": "Ada"}, "r 1")
    assert (start.method, start.path, start.body) == (
        "POST",
        "/workflows/greet%2Fer/runs",
        {"input": {"name": "Ada"}, "wait": False, "run_id": "r 1"},
    )
    assert calls.start("w", None, None).body == {"input": {}, "wait": False}
    assert calls.send("r", "Answer", None, "greet").body == {
        "type": "Answer",
        "data": {},
        "step": "greet",
    }
    fork = calls.fork("r", 3, {"k": 1}, [{"type": "Answer", "data": {"text": "x"}}], "r2")
    assert fork.body == {
        "at": 3,
        "state_patch": {"k": 1},
        "events": [{"type": "Answer", "data": {"text": "x"}}],
        "run_id": "r2",
    }
    assert calls.fork("r", 0, None, None, None).body == {"at": 0}
    assert calls.cancel("r").path == "/runs/r/cancel"


def test_list_runs_filters_repeat_and_times_become_seconds() -> None:
    moment = datetime(2024, 1, 2, tzinfo=UTC)
    call = calls.list_runs(["a", "b"], "failed", 10, moment, 5)
    assert call.params == (
        ("workflow", "a"),
        ("workflow", "b"),
        ("status", "failed"),
        ("created_after", "10.0"),
        ("created_before", repr(moment.timestamp())),
        ("limit", "5"),
    )
    assert calls.list_runs(None, None, None, None, None).params == ()


def frame(offset: int, *, terminal: bool = False) -> ServerSentEvent:
    data = {"offset": offset, "type": "E", "terminal": terminal}
    return ServerSentEvent("E", json.dumps(data), str(offset))


def test_the_cursor_never_hands_out_an_offset_twice() -> None:
    cursor = StreamCursor("r", after=1, policy=ReconnectPolicy())
    assert cursor.accept(frame(1)) is None  # at or before `after`
    assert [cursor.accept(frame(n)) is not None for n in (2, 3, 3, 2, 5)] == [
        True,
        True,
        False,
        False,
        True,
    ]
    assert cursor.last_offset == 5
    assert dict(cursor.params())["after"] == "5"
    assert cursor.headers()["Last-Event-ID"] == "5"
    assert not cursor.done
    assert cursor.accept(frame(6, terminal=True)) is not None
    assert cursor.done


def test_the_cursor_gives_up_after_the_attempts_and_progress_resets_them() -> None:
    policy = ReconnectPolicy(attempts=3, first_delay=0.5, max_delay=1.0)
    cursor = StreamCursor("r", after=-1, policy=policy)
    assert "Last-Event-ID" not in cursor.headers()
    drop = ClientConnectionError("gone", run_id="r")
    assert [cursor.dropped(drop) for _ in range(3)] == [0.0, 0.5, 1.0]
    cursor.alive()  # a heartbeat or an event: the connection worked
    assert [cursor.dropped(drop) for _ in range(3)] == [0.0, 0.5, 1.0]
    with pytest.raises(ClientConnectionError, match="gone"):
        cursor.dropped(drop)


def test_a_frame_that_is_not_an_envelope_is_a_client_error() -> None:
    cursor = StreamCursor("r", after=-1, policy=ReconnectPolicy())
    with pytest.raises(StepworkClientError, match="not an EventEnvelope"):
        cursor.accept(ServerSentEvent("E", "{}", None))


def test_transport_failures_become_connection_or_timeout_errors() -> None:
    slow = transport_error(httpx.ReadTimeout("slow"), "GET /runs/r", "r")
    assert isinstance(slow, ClientTimeoutError) and isinstance(slow, TimeoutError)
    assert (str(slow), slow.run_id) == ("GET /runs/r: timed out (ReadTimeout('slow'))", "r")
    refused = transport_error(httpx.ConnectError("refused"), "GET /health")
    assert isinstance(refused, ClientConnectionError) and isinstance(refused, ConnectionError)
