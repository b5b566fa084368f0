"""A run's trace survives a crash: the start tick journals the run span's ``traceparent``, and
a process that resumes the run after a SIGKILL adds its spans to that same trace."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from stepwork import StartEvent, StopEvent, Workflow, step
from stepwork._core.envelope import TickEnvelope
from stepwork._core.ticks import TickStart, TickTimer
from stepwork._runtime import observe_otel
from stepwork._runtime.trace_journal import journaled_trace, journaled_trace_id, trace_id_of
from stepwork._runtime.worker import enqueue
from stepwork.observe import run_parent
from stepwork.stores import store_from_url

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent / "durable"))

from order_flow import OrderFlow  # noqa: E402

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def kill_inside(url: str, log: Path, block_at: str) -> None:
    """Run ``order-42`` traced in a child process; SIGKILL it once it is inside ``block_at``."""
    errors = log.with_suffix(".stderr")
    with errors.open("wb") as stderr:
        child = subprocess.Popen(
            [sys.executable, str(HERE / "traced_order.py"), url, str(log), block_at],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
        try:
            while True:  # the step logs its name (fsync'd) before blocking: wait for that line
                lines = log.read_text().splitlines() if log.exists() else []
                if any(line.split()[0] == block_at for line in lines):
                    break
                if child.poll() is not None:
                    raise AssertionError(f"the child died: {errors.read_text()}")
                os.sched_yield()
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait()


async def journal_of(url: str, run_id: str) -> list[dict[str, object]]:
    store = store_from_url(url)
    await store.open()
    try:
        return list(await store.load_ticks(run_id))
    finally:
        await store.close()


async def test_a_resumed_run_continues_the_trace_its_killed_process_journaled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spans: InMemorySpanExporter
) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    log = tmp_path / "steps.log"
    kill_inside(url, log, "charge")
    ticks = await journal_of(url, "order-42")
    journaled = ticks[0]["env"]["meta"]["traceparent"]  # type: ignore[index]
    trace_id = trace_id_of(journaled)
    assert trace_id is not None
    killed_run_span = int(journaled.split("-")[2], 16)
    assert all("meta" not in tick["env"] for tick in ticks[1:])  # type: ignore[operator]

    monkeypatch.setenv("ORDER_LOG", str(log))
    monkeypatch.delenv("ORDER_BLOCK_AT", raising=False)
    workflow = OrderFlow(store=url, timeout=None)
    try:
        assert await workflow.resume("order-42") == "shipped book for 42 (charged=True)"
    finally:
        assert workflow.store is not None
        await workflow.store.close()

    finished = spans.get_finished_spans()
    assert finished
    assert {format(span.context.trace_id, "032x") for span in finished} == {trace_id}
    (run,) = [span for span in finished if span.name.startswith("run ")]
    assert run.parent is not None and run.parent.span_id == killed_run_span
    assert run.attributes is not None and run.attributes["stepwork.resumed"] is True
    (resumed,) = [event for event in run.events if event.name == "resumed"]
    assert resumed.attributes is not None
    assert resumed.attributes["stepwork.previous_writer"].split(":")[1] != str(os.getpid())  # type: ignore[union-attr]
    steps = {span.name for span in finished if span.name.startswith("step ")}
    assert steps == {"step charge", "step ship"}  # reserve finished before the kill

    # The resumed segment's start tick journals its own span; the run's trace stays the first.
    after = await journal_of(url, "order-42")
    starts = [tick for tick in after if tick["kind"] == "start"]
    assert len(starts) == 2
    assert starts[1]["env"]["meta"]["traceparent"].split("-")[2] == format(  # type: ignore[index]
        run.context.span_id, "016x"
    )


def test_the_journaled_trace_is_the_first_start_tick_that_carries_one() -> None:
    untraced = TickEnvelope(TickStart(0.0, "r", None, None))
    timer = TickEnvelope(TickTimer(1.0, "t"), meta={"traceparent": "00-" + "1" * 32 + "-x-01"})
    traced = TickEnvelope(
        TickStart(2.0, "r", None, None), meta={"traceparent": TRACEPARENT, "tracestate": "k=v"}
    )
    later = TickEnvelope(
        TickStart(3.0, "r", None, None), meta={"traceparent": "00-" + "2" * 32 + "-b-01"}
    )
    assert journaled_trace([untraced, timer]) == {}
    assert dict(journaled_trace([untraced, timer, traced, later])) == {
        "traceparent": TRACEPARENT,
        "tracestate": "k=v",
    }
    assert journaled_trace_id([untraced, traced, later]) == "0af7651916cd43dd8448eb211c80319c"
    assert journaled_trace_id([untraced]) is None
    for malformed in ("", "00-zz-b7ad6b7169203331-01", "00-" + "0" * 32 + "-b7-01", "garbage"):
        assert trace_id_of(malformed) is None


def test_a_run_traced_nowhere_journals_no_trace_context(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    # The durable tests' script: a process that never imports OpenTelemetry.
    done = subprocess.run(
        [sys.executable, str(HERE.parent / "durable" / "order_flow.py"), url,
         str(tmp_path / "steps.log"), "nowhere"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert done.stdout.strip() == "shipped book for 42 (charged=True)"
    ticks = asyncio.run(journal_of(url, "order-42"))
    assert ticks and all("meta" not in tick.get("env", {}) for tick in ticks)  # type: ignore[operator]


async def test_a_run_enqueued_inside_a_span_is_traced_under_it_by_whoever_runs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, spans: InMemorySpanExporter
) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    workflow = OrderFlow(store=url, timeout=None)
    with trace.get_tracer("test").start_as_current_span("request") as caller:
        await enqueue(workflow, StartEvent(item="pen"), "queued")
    outside = await enqueue(workflow, StartEvent(item="cup"), "outside")
    (start,) = await journal_of(url, "queued")
    assert trace_id_of(start["env"]["meta"]["traceparent"]) == format(  # type: ignore[index]
        caller.get_span_context().trace_id, "032x"
    )
    assert "meta" not in (await journal_of(url, outside))[0]["env"]  # type: ignore[operator]
    monkeypatch.setenv("ORDER_LOG", str(tmp_path / "steps.log"))
    monkeypatch.delenv("ORDER_BLOCK_AT", raising=False)
    try:
        assert await workflow.resume("queued") == "shipped pen for 42 (charged=True)"
    finally:
        assert workflow.store is not None
        await workflow.store.close()
    (run,) = [span for span in spans.get_finished_spans() if span.name.startswith("run ")]
    assert run.parent is not None and run.parent.span_id == caller.get_span_context().span_id
    assert run.context.trace_id == caller.get_span_context().trace_id


class Quiet(Workflow):
    @step
    async def only(self, ev: StartEvent) -> StopEvent:
        return StopEvent(result="done")


async def test_a_run_neither_traced_nor_metered_skips_step_work_but_journals_its_parent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reader: InMemoryMetricReader
) -> None:
    # No span recorded (no test holds `spans`: sampled out) and, as far as the observer can
    # tell, no meter provider: the run's steps and writes are skipped, not timed.
    monkeypatch.setattr(observe_otel, "_metered", lambda: False)
    incoming = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    workflow = Quiet(store=url, workflow_name="quiet")
    try:
        with run_parent(incoming):
            handler = workflow.run(run_id="quiet-1")
        assert await handler == "done"
    finally:
        assert workflow.store is not None
        await workflow.store.close()
    start = (await journal_of(url, "quiet-1"))[0]
    assert trace_id_of(start["env"]["meta"]["traceparent"]) == incoming.split("-")[1]  # type: ignore[index]
    data = reader.get_metrics_data()
    assert data is not None
    by_name = {
        metric.name: [p.attributes.get("stepwork.workflow") for p in metric.data.data_points]
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
    }
    assert "quiet" in by_name["stepwork.runs.started"]  # runs are still counted
    assert "quiet" not in by_name.get("stepwork.step.duration", [])
    assert "quiet" not in by_name.get("stepwork.journal.write.duration", [])
