"""The HTTP API gives a run's journaled trace id, and a link to it with ``--trace-url``."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import httpx
import pytest
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from stepwork.errors import ServerConfigurationError
from stepwork.server import create_app
from stepwork.stores import JournalBatch, store_from_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "server"))

from live_server import serving

CALLER = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
TEMPLATE = "https://jaeger.example/trace/{trace_id}?from=stepwork"


def test_a_runs_detail_and_history_give_its_trace_id_and_link(
    tmp_path: Path, spans: InMemorySpanExporter
) -> None:
    with serving(f"sqlite:///{tmp_path / 'runs.db'}") as start:
        server = start(trace_url=TEMPLATE)
        with httpx.Client(base_url=server.url, timeout=20) as http:
            started = http.post(
                "/workflows/tally/runs",
                json={"input": {"add": 2}, "wait": True},
                headers={"traceparent": CALLER},
            )
            run_id = started.json()["run_id"]
            detail = http.get(f"/runs/{run_id}").json()
            history = http.get(f"/runs/{run_id}/history").json()
            listed = http.get("/runs").json()["runs"]
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"  # the caller's trace parents the run
    run_spans = [s for s in spans.get_finished_spans() if s.name.startswith("run ")]
    assert any(format(s.context.trace_id, "032x") == trace_id for s in run_spans)
    link = f"https://jaeger.example/trace/{trace_id}?from=stepwork"
    assert (detail["status"], detail["trace_id"], detail["trace_url"]) == (
        "completed",
        trace_id,
        link,
    )
    assert (history["trace_id"], history["trace_url"]) == (trace_id, link)
    assert history["entries"][0]["kind"] == "start"
    assert "trace_id" not in listed[0]  # the list reads no journals


def test_a_run_never_traced_has_no_trace_id(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"

    async def store_untraced() -> None:
        store = store_from_url(url)
        await store.open()
        start = {"kind": "start", "at": 1.0, "run_id": "quiet", "start_event": None,
                 "timeout": None, "env": {"v": 2}}  # fmt: skip
        cancel = {"kind": "cancel", "at": 2.0}  # ended: the server does not resume it
        await store.append(
            JournalBatch("quiet", 0, [start], workflow="tally", created_at=time.time())
        )
        await store.append(JournalBatch("quiet", 1, [cancel], status="cancelled"))
        await store.close()

    asyncio.run(store_untraced())
    with serving(url) as start:
        server = start(trace_url=TEMPLATE)
        with httpx.Client(base_url=server.url, timeout=20) as http:
            detail = http.get("/runs/quiet").json()
            history = http.get("/runs/quiet/history").json()
    assert (detail["status"], detail["trace_id"], detail["trace_url"]) == ("cancelled", None, None)
    assert (history["trace_id"], history["trace_url"]) == (None, None)


@pytest.mark.parametrize(
    "template",
    ["https://jaeger.example/trace/", "https://x/{trace}", "ftp://x/{trace_id}", "{trace_id}"],
)
def test_a_trace_url_template_must_be_a_link_with_the_trace_id(template: str) -> None:
    with pytest.raises(ServerConfigurationError, match=r"\{trace_id\}"):
        create_app({}, store="memory://", trace_url=template)
