"""``GET /runs/{id}/invocations`` and ``GET /runs/{id}/state?at=SEQ`` against a real server:
a retried step's attempts with the error and traceback of the failed one, and ``ctx.store`` as
it was after each tick."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from debug_workflows import debug_workflows
from http_helpers import error_of, wait_for_status
from live_server import ServerFactory


@pytest.fixture
def flaky(start_server: ServerFactory) -> Iterator[tuple[httpx.Client, str]]:
    """A client of a server with ``flaky``, and a completed run of it."""
    server = start_server(workflows=debug_workflows())
    with httpx.Client(base_url=server.url, timeout=20) as http:
        started = http.post("/workflows/flaky/runs", json={"input": {"word": "ok"}})
        run_id = started.json()["run_id"]
        wait_for_status(http, run_id, "completed")
        yield http, run_id


def test_invocations_give_each_attempt_its_input_output_and_error(
    flaky: tuple[httpx.Client, str],
) -> None:
    http, run_id = flaky
    found: list[dict[str, Any]] = http.get(f"/runs/{run_id}/invocations").json()["invocations"]
    history = http.get(f"/runs/{run_id}/history").json()["entries"]
    assert [(i["step"], i["attempt"], i["outcome"]) for i in found] == [
        ("prepare", 1, "done"),
        ("work", 1, "failed"),
        ("work", 2, "done"),
    ]
    prepare, failed, retried = found
    assert prepare["input"]["__model__"].endswith("StartEvent")
    assert prepare["output"] == {"__model__": "debug_workflows.Prepared", "value": {"word": "ok"}}
    assert failed["delivery"] == retried["delivery"] != prepare["delivery"]
    assert failed["input"] == retried["input"] == prepare["output"]
    assert failed["error_type"] == "ValueError" and failed["error_message"] == "first try at ok"
    assert "raise ValueError" in failed["traceback"] and failed["output"] is None
    assert failed["retry_delay"] == 0
    assert retried["error_type"] is None and "OK" in str(retried["output"])
    for item in found:  # timing and the process that ran it come from the journal's ticks
        assert item["started_at"] <= item["ended_at"]
        assert item["started_seq"] < item["ended_seq"] < len(history)
        assert item["started_by"] == history[item["started_seq"]]["writer"] != ""
        assert item["ended_by"] == history[item["ended_seq"]]["writer"]
    assert all(entry["epoch"] >= 1 for entry in history)  # the server runs runs under leases


def test_state_at_each_tick_is_the_store_as_it_was(flaky: tuple[httpx.Client, str]) -> None:
    http, run_id = flaky
    history = http.get(f"/runs/{run_id}/history").json()["entries"]
    states = [http.get(f"/runs/{run_id}/state", params={"at": e["seq"]}).json() for e in history]
    last = http.get(f"/runs/{run_id}/state").json()
    past = http.get(f"/runs/{run_id}/state", params={"at": len(history)})
    bad = http.get(f"/runs/{run_id}/state", params={"at": "x"})
    unknown = http.get("/runs/nope/state")
    phases = [
        ((s["state"] or {}).get("state_data") or {}).get("data", {}).get("phase") for s in states
    ]
    # Before the first step returns nothing is written; then "prepared", then "worked".
    assert phases[0] is None and phases[-1] == "worked"
    assert "prepared" in phases and phases.index("prepared") < phases.index("worked")
    assert [s["seq"] for s in states] == list(range(len(history)))
    assert all(s["ticks"] == len(history) for s in states)
    assert [s["status"] for s in states] == [e["status"] for e in history]
    assert [s["at"] for s in states] == [e["at"] for e in history]
    assert last == states[-1]
    assert past.status_code == 422 and error_of(past)["field"] == "at"
    assert bad.status_code == 422 and error_of(bad)["field"] == "at"
    assert unknown.status_code == 404
