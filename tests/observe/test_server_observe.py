"""The server: a caller's ``traceparent`` parents the run; ``GET /metrics`` counts runs."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from live_server import LiveServer, serving

CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with serving(f"sqlite:///{tmp_path / 'runs.db'}") as start:
        yield start()


def test_a_traceparent_header_parents_the_run(
    server: LiveServer, spans: InMemorySpanExporter
) -> None:
    with httpx.Client(base_url=server.url, timeout=20) as http:
        response = http.post(
            "/workflows/tally/runs",
            json={"input": {"add": 2}, "wait": True},
            headers={"traceparent": CALLER},
        )
        assert response.status_code == 200, response.text
        plain = http.post("/workflows/tally/runs", json={"input": {"add": 1}, "wait": True})
        assert plain.status_code == 200, plain.text
    runs = {
        span.attributes["stepwork.run_id"]: span
        for span in spans.get_finished_spans()
        if span.name.startswith("run ") and span.attributes
    }
    parented = runs[response.json()["run_id"]]
    assert parented.context is not None and parented.parent is not None
    assert parented.context.trace_id == 0x4BF92F3577B34DA6A3CE929D0E0E4736
    assert parented.parent.span_id == 0x00F067AA0BA902B7
    unparented = runs[plain.json()["run_id"]]
    assert unparented.parent is None
    assert unparented.context is not None
    assert unparented.context.trace_id != parented.context.trace_id


def test_metrics_count_runs_steps_and_journal_writes(server: LiveServer) -> None:
    with httpx.Client(base_url=server.url, timeout=20) as http:
        for _ in range(2):
            done = http.post("/workflows/tally/runs", json={"input": {}, "wait": True})
            assert done.json()["status"] == "completed"
        failed = http.post("/workflows/fails/runs", json={"input": {}, "wait": True})
        assert failed.json()["status"] == "failed"
        response = http.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    lines = response.text.splitlines()
    assert "# TYPE stepwork_runs_ended_total counter" in lines
    assert 'stepwork_runs_started_total{workflow="tally"} 2' in lines
    assert 'stepwork_runs_ended_total{workflow="tally",status="completed"} 2' in lines
    assert 'stepwork_runs_ended_total{workflow="fails",status="failed"} 1' in lines
    step_count = 'stepwork_step_duration_seconds_count{workflow="tally",step="add",outcome="ok"}'
    assert f"{step_count} 2" in lines
    failed_count = (
        'stepwork_step_duration_seconds_count{workflow="fails",step="explode",outcome="failed"}'
    )
    assert f"{failed_count} 1" in lines
    writes = [line for line in lines if line.startswith("stepwork_journal_write_seconds_count")]
    assert writes and all(int(line.rsplit(" ", 1)[1]) > 0 for line in writes)


def test_metrics_need_the_token_when_there_is_one(tmp_path: Path) -> None:
    with serving(f"sqlite:///{tmp_path / 'runs.db'}") as start:
        server = start(token="s3cret-token")
        with httpx.Client(base_url=server.url, timeout=20) as http:
            assert http.get("/metrics").status_code == 401
            allowed = http.get("/metrics", headers={"authorization": "Bearer s3cret-token"})
            assert allowed.status_code == 200
