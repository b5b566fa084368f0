"""Acknowledge only what is stored: the server against a store that cannot write.

A real uvicorn server on a SQLite file whose disk is full (a small tmpfs, filled) and on the
test PostgreSQL database switched to read-only. Every answer that says a run started, an event
was sent, a run was cancelled or forked comes only after the journal write committed; when it
cannot, the answer is 503 ``unavailable``, the server logs it once with the run id, nothing is
left half-stored, and once the store is writable a retry (same run id, same idempotency key)
takes effect exactly once.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from http_helpers import error_of, wait_for_event, wait_for_status
from live_server import ServerFactory, serving

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from stores.store_faults import FullDisk, ReadOnlyDatabase, full_disk

Fault = FullDisk | ReadOnlyDatabase


@pytest.fixture(params=["sqlite-full-disk", "postgres-read-only"])
def fault(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Fault]:
    """A store that can be made unwritable (``fill``) and writable again (``free``)."""
    if request.param == "postgres-read-only":
        dsn = request.getfixturevalue("postgres_dsn")
        yield ReadOnlyDatabase(request.getfixturevalue("postgres_server"), dsn)
        return
    with full_disk(tmp_path) as disk:
        yield disk


@pytest.fixture
def store_url(fault: Fault) -> str:
    """The faulty store (overrides the conftest's plain SQLite file)."""
    return fault.store_url


def _history_kinds(http: httpx.Client, run_id: str) -> list[str]:
    answer = http.get(f"/runs/{run_id}/history")
    assert answer.status_code == 200, answer.text
    return [entry["kind"] for entry in answer.json()["entries"]]


def _unavailable(answer: httpx.Response) -> dict[str, Any]:
    assert answer.status_code == 503, answer.text
    error = error_of(answer)
    assert error["code"] == "unavailable", error
    return error


def _store_errors(caplog: pytest.LogCaptureFixture, run_id: str) -> list[logging.LogRecord]:
    return [
        record
        for record in caplog.records
        if record.name == "stepwork.server"
        and record.levelno >= logging.WARNING
        and run_id in record.getMessage()
    ]


ANSWER = {"type": "Answer", "data": {"text": "Ada"}}


def test_a_sent_event_is_acknowledged_only_once_stored(
    start_server: ServerFactory, fault: Fault, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_server()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.post("/workflows/greeter/runs", json={"run_id": "r1"}).status_code == 202
        wait_for_event(http, "r1", "Question")
        fault.fill()
        caplog.clear()
        sent = http.post("/runs/r1/events", json=ANSWER, headers={"Idempotency-Key": "k1"})
        _unavailable(sent)
        logged = _store_errors(caplog, "r1")
        assert len(logged) == 1, [r.getMessage() for r in logged]
        assert logged[0].exc_info is None  # one line, no traceback
        fault.free()

        assert http.get("/runs/r1").json()["status"] == "running"
        assert "event" not in _history_kinds(http, "r1")  # nothing half-stored
        retried = http.post("/runs/r1/events", json=ANSWER, headers={"Idempotency-Key": "k1"})
        assert (retried.status_code, retried.json()) == (202, {"status": "sent"})
        info = wait_for_status(http, "r1", "completed")
        assert info["result"] == "Hello, Ada!"
        # The same key again: the first answer, and nothing new in the journal.
        again = http.post("/runs/r1/events", json={**ANSWER, "idempotency_key": "k1"})
        assert (again.status_code, again.json()) == (202, {"status": "sent"})
        assert _history_kinds(http, "r1").count("event") == 1


def test_a_start_is_acknowledged_only_once_stored(
    start_server: ServerFactory, fault: Fault, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_server()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        fault.fill()
        caplog.clear()
        _unavailable(http.post("/workflows/greeter/runs", json={"run_id": "r2"}))
        assert len(_store_errors(caplog, "r2")) == 1
        waited = http.post("/workflows/tally/runs", json={"run_id": "r3", "wait": True})
        _unavailable(waited)
        fault.free()

        # No run row was left behind, let alone one `running` without its start tick.
        assert http.get("/runs/r2").status_code == 404
        assert http.get("/runs/r3").status_code == 404
        assert http.get("/runs").json()["runs"] == []
        started = http.post("/workflows/greeter/runs", json={"run_id": "r2"})
        assert started.status_code == 202, started.text
        assert wait_for_event(http, "r2", "Question")["data"] == {"prompt": "What is your name?"}
        assert _history_kinds(http, "r2")[0] == "start"
        taken = http.post("/workflows/greeter/runs", json={"run_id": "r2"})
        assert taken.status_code == 409  # the retry after a lost answer: it is stored
        done = http.post("/workflows/tally/runs", json={"run_id": "r3", "wait": True})
        assert (done.status_code, done.json()["status"]) == (200, "completed")


def test_cancel_and_fork_are_acknowledged_only_once_stored(
    start_server: ServerFactory, fault: Fault
) -> None:
    server = start_server()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        assert http.post("/workflows/greeter/runs", json={"run_id": "r4"}).status_code == 202
        wait_for_event(http, "r4", "Question")
        ticks = len(_history_kinds(http, "r4"))
        fault.fill()
        _unavailable(http.post("/runs/r4/cancel"))
        _unavailable(http.post("/runs/r4/fork", json={"at": ticks, "run_id": "f4"}))
        fault.free()

        assert http.get("/runs/f4").status_code == 404
        assert http.get("/runs/r4").json()["status"] == "running"
        forked = http.post("/runs/r4/fork", json={"at": ticks, "run_id": "f4"})
        assert forked.status_code == 202, forked.text
        cancelled = http.post("/runs/r4/cancel")
        assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
        answered = http.post("/runs/f4/events", json=ANSWER)
        assert answered.status_code == 202, answered.text
        assert wait_for_status(http, "f4", "completed")["result"] == "Hello, Ada!"


def test_a_run_stopped_by_the_store_resumes_by_itself_once_it_can_write(
    start_server: ServerFactory, fault: Fault, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_server()
    with httpx.Client(base_url=server.url, timeout=30) as http:
        body = {"run_id": "c1", "input": {"count": 100, "delay": 0.02}}
        assert http.post("/workflows/countdown/runs", json=body).status_code == 202
        wait_for_event(http, "c1", "Progress")
        caplog.clear()
        fault.fill()
        deadline = time.monotonic() + 20
        while not _store_errors(caplog, "c1"):  # the run's next write fails
            assert time.monotonic() < deadline, "the countdown never failed to write"
            time.sleep(0.01)
        assert http.get("/runs/c1").json()["status"] == "running"
        fault.free()
        # Nobody sends to it or cancels it: the server resumes it once the store works.
        assert wait_for_status(http, "c1", "completed", timeout=30)["result"] == "counted 100"
        assert len(_store_errors(caplog, "c1")) == 1


def test_a_database_that_cannot_be_reached_answers_503(
    postgres_server: Any,
    postgres_dsn: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    fault = ReadOnlyDatabase(postgres_server, postgres_dsn)
    with serving(postgres_dsn) as start, httpx.Client(base_url=start().url, timeout=30) as http:
        assert http.post("/workflows/greeter/runs", json={"run_id": "r5"}).status_code == 202
        wait_for_event(http, "r5", "Question")
        fault.close()
        caplog.clear()
        _unavailable(http.post("/runs/r5/events", json=ANSWER, headers={"Idempotency-Key": "k"}))
        _unavailable(http.get("/runs/r5"))
        _unavailable(http.post("/workflows/greeter/runs", json={"run_id": "r6"}))
        # One line each from stepwork; asyncpg's pool, reconnecting in the background, is
        # reported by stepwork.stores in one line too, never with its traceback.
        assert all(record.exc_info is None for record in caplog.records)
        assert [r for r in caplog.records if r.name.startswith("asyncpg")] == []
        fault.open()

        sent = http.post("/runs/r5/events", json=ANSWER, headers={"Idempotency-Key": "k"})
        assert sent.status_code == 202, sent.text
        assert wait_for_status(http, "r5", "completed")["result"] == "Hello, Ada!"
        assert _history_kinds(http, "r5").count("event") == 1
        assert http.get("/runs/r6").status_code == 404
