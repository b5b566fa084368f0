"""A step's traceback is kept: in the run's error over HTTP, in the server log (once, at
ERROR, with the run id and step), across a restart, and in the client's exception.

Real uvicorn servers on 127.0.0.1 serving ``examples/server_app.py``; ``fails`` raises
``ValueError("boom")`` in its step ``explode``.
"""

from __future__ import annotations

import logging
import pickle
from typing import Any

import httpx
import pytest

from stepwork.client import Client, RunError, RunFailedError, RunInfo

RAISE_LINE = '    raise ValueError("boom")'


def assert_step_traceback(text: Any) -> None:
    assert isinstance(text, str)
    assert text.startswith("Traceback (most recent call last):\n")
    assert 'server_app.py", line ' in text and ", in explode\n" in text
    assert RAISE_LINE in text.splitlines()
    assert text.rstrip().endswith("ValueError: boom")


def test_the_runs_error_carries_the_traceback_and_the_server_logs_it_once(
    start_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_server()
    with caplog.at_level(logging.ERROR, logger="stepwork.server"):
        with httpx.Client(base_url=server.url, timeout=20) as http:
            body = {"run_id": "failing-1", "wait": True}
            ended = http.post("/workflows/fails/runs", json=body).json()
            fetched = http.get("/runs/failing-1").json()
            listed = http.get("/runs").json()["runs"]
    assert ended["status"] == "failed"
    error = ended["error"]
    assert (error["type"], error["message"], error["step"]) == ("ValueError", "boom", "explode")
    assert_step_traceback(error["traceback"])
    assert fetched["error"] == error
    # The list is the detail without the trace fields (it reads no journals).
    assert listed == [
        {k: v for k, v in fetched.items() if k not in ("trace_id", "trace_url", "children")}
    ]
    logged = [r for r in caplog.records if r.name == "stepwork.server"]
    assert [(r.levelno, r.getMessage().splitlines()[0]) for r in logged] == [
        (logging.ERROR, "run 'failing-1' failed in step 'explode':")
    ]
    assert RAISE_LINE in logged[0].getMessage().splitlines()


def test_other_endings_have_no_traceback_and_log_nothing(
    server: Any, http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="stepwork.server"):
        run = http.post("/workflows/greeter/runs", json={"run_id": "asked"}).json()
        cancelled = http.post(f"/runs/{run['run_id']}/cancel").json()
    assert cancelled["status"] == "cancelled"
    assert cancelled["error"]["traceback"] is None
    assert [r for r in caplog.records if r.name == "stepwork.server"] == []


def test_the_traceback_survives_a_restart(start_server: Any) -> None:
    first = start_server()
    with httpx.Client(base_url=first.url, timeout=20) as http:
        http.post("/workflows/fails/runs", json={"run_id": "before", "wait": True})
    first.stop()
    second = start_server()
    with httpx.Client(base_url=second.url, timeout=20) as http:
        assert_step_traceback(http.get("/runs/before").json()["error"]["traceback"])


def test_the_clients_exception_carries_the_traceback(server: Any) -> None:
    with Client(server.url) as client:
        failed = client.run("fails", run_id="client-1", timeout=20)
        assert failed.error is not None
        assert_step_traceback(failed.error.traceback)
        with pytest.raises(RunFailedError) as raised:
            failed.raise_for_error()
        assert client.run("countdown", {"count": 1}, timeout=20).raise_for_error().result
    error = raised.value
    assert (error.run_id, error.step_name, error.error_type) == (
        "client-1",
        "explode",
        "ValueError",
    )
    assert error.traceback == failed.error.traceback
    lines = str(error).splitlines()
    assert lines[0] == "run 'client-1' failed in step 'explode': ValueError: boom"
    assert RAISE_LINE in lines and lines[-1] == "ValueError: boom"
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.traceback, copy.run_status) == (str(error), error.traceback, "failed")


def test_a_run_error_without_a_traceback_still_reads() -> None:
    # What an older server (or a run journaled before tracebacks were kept) answers.
    error = RunError.model_validate({"type": "ValueError", "message": "boom", "step": "s"})
    assert error.traceback is None
    info = {"run_id": "r", "workflow": "w", "status": "timed_out", "created_at": 1.0}
    timed_out = RunInfo.model_validate(
        {**info, "updated_at": 2.0, "error": {"type": "WorkflowTimeoutError", "message": "late"}}
    )
    with pytest.raises(RunFailedError, match=r"^run 'r' timed out: WorkflowTimeoutError: late$"):
        timed_out.raise_for_error()
