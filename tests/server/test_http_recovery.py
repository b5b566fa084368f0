"""A run whose journal cannot be read back: the server starts, says why, and serves the rest."""

from __future__ import annotations

import json
import logging
import sqlite3
from pathlib import Path

import httpx
import pytest
from http_helpers import wait_for_event, wait_for_status
from live_server import ServerFactory


def test_a_corrupt_run_is_reported_and_the_others_go_on(
    start_server: ServerFactory, store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    first = start_server()
    with httpx.Client(base_url=first.url, timeout=20) as http:
        for run_id in ("broken", "fine"):
            http.post("/workflows/greeter/runs", json={"run_id": run_id})
            wait_for_event(http, run_id, "Question")
    first.stop()
    with sqlite3.connect(Path(store_url.removeprefix("sqlite:///"))) as db:
        db.execute(
            "UPDATE ticks SET record = ? WHERE run_id = 'broken' AND seq = 1",
            (json.dumps({"kind": "teleport", "at": 1.0}),),
        )
    db.close()  # the with block commits; it does not close

    with caplog.at_level(logging.ERROR, logger="stepwork.server"):
        second = start_server()
        with httpx.Client(base_url=second.url, timeout=20) as http:
            answer = {"type": "Answer", "data": {"text": "Ada"}}
            refused = http.post("/runs/broken/events", json=answer).json()["error"]
            assert refused["code"] == "journal_corrupt"
            assert "cannot be resumed" in refused["message"]
            assert "teleport" in refused["message"]
            assert (refused["record"], refused["seq"]) == ("tick", 1)
            assert http.get("/runs/broken").json()["error"]["code"] == "journal_corrupt"
            runs = http.get("/runs", params={"status": "running"}).json()["runs"]
            (info,) = [run for run in runs if run["run_id"] == "broken"]
            assert info["status"] == "running"  # the journal is left as it was
            assert info["error"]["type"] == "JournalCorruptError"
            assert "tick record seq 1" in info["error"]["message"]

            assert http.post("/runs/fine/events", json=answer).status_code == 202
            assert wait_for_status(http, "fine", "completed")["result"] == "Hello, Ada!"
    logged = [r.getMessage() for r in caplog.records if r.name == "stepwork.server"]
    assert len(logged) == 1 and "'broken' cannot be resumed" in logged[0]
