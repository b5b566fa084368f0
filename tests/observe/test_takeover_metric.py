"""A claim of a run whose holder's lease lapsed is a takeover: counted on the OpenTelemetry
meter (``stepwork.leases.takeovers``), in ``RunMetrics`` (``/metrics``), and marked on the
resumed run's span; a run that was handed back (or never held) is not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from stepwork import Event, StartEvent, StopEvent, Workflow, step
from stepwork._runtime.worker import enqueue
from stepwork.observe import RunMetrics, add_observer, remove_observer
from stepwork.stores import store_from_url


def takeovers(reader: InMemoryMetricReader, workflow: str) -> list[Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "stepwork.leases.takeovers"
        for point in metric.data.data_points
        if point.attributes.get("stepwork.workflow") == workflow
    ]


class Half(Event):
    n: int


class Relayed(Workflow):
    @step
    async def half(self, ev: StartEvent) -> Half:
        return Half(n=ev.n // 2)

    @step
    async def done(self, ev: Half) -> StopEvent:
        return StopEvent(result=ev.n)


async def test_a_run_taken_from_a_lapsed_lease_is_counted_once(
    tmp_path: Path, reader: InMemoryMetricReader, spans: InMemorySpanExporter
) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    workflow = Relayed(store=url, timeout=None, workflow_name="relayed-takeover")
    await enqueue(workflow, StartEvent(n=8), "held")
    await enqueue(workflow, StartEvent(n=4), "free")
    store = store_from_url(url)
    await store.open()
    lapsed = await store.claim_run("held", "gone-host:1:dead", ttl=0)  # died holding it
    assert lapsed is not None
    await store.close()
    metrics = RunMetrics()
    add_observer(metrics)
    try:
        assert await workflow.resume("held") == 4
        assert await workflow.resume("free") == 2  # nobody held it: not a takeover
    finally:
        remove_observer(metrics)
        assert workflow.store is not None
        await workflow.store.close()
    line = 'stepwork_leases_takeovers_total{workflow="relayed-takeover"} 1'
    assert line in metrics.render().splitlines()
    (counted,) = takeovers(reader, "relayed-takeover")
    assert counted.value == 1
    runs = {
        span.attributes["stepwork.run_id"]: span
        for span in spans.get_finished_spans()
        if span.name.startswith("run ") and span.attributes
    }
    (taken,) = [event for event in runs["held"].events if event.name == "lease taken over"]
    assert taken.attributes == {"stepwork.previous_owner": "gone-host:1:dead"}
    assert not [event for event in runs["free"].events if event.name == "lease taken over"]
