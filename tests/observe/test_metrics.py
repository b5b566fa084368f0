"""Run metrics: OpenTelemetry instruments on the global meter, and RunMetrics' Prometheus text."""

from __future__ import annotations

import asyncio
from typing import Any

from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from stepwork import Context, Event, StartEvent, StopEvent, Workflow, step
from stepwork.observe import RunMetrics, add_observer, remove_observer


class Item(Event):
    n: int


class Queues(Workflow):
    """Fans out three items to a one-worker step that blocks until released."""

    release: asyncio.Event

    @step
    async def split(self, ctx: Context, ev: StartEvent) -> Item | None:
        for n in range(3):
            ctx.send_event(Item(n=n))
        return None

    @step(num_workers=1)
    async def slow(self, ctx: Context, ev: Item) -> StopEvent | None:
        await self.release.wait()
        done = await ctx.store.get("done", default=0) + 1
        await ctx.store.set("done", done)
        return StopEvent(result=done) if done == 3 else None


def points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    assert data is not None
    return [
        point
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == name
        for point in metric.data.data_points
    ]


def mine(found: list[Any], workflow: str) -> list[Any]:
    return [p for p in found if p.attributes.get("stepwork.workflow") == workflow]


async def test_otel_metrics_count_runs_steps_and_queue_depth(reader: InMemoryMetricReader) -> None:
    workflow = Queues(timeout=None, workflow_name="queues-otel")
    workflow.release = asyncio.Event()
    metrics = RunMetrics()
    add_observer(metrics)
    try:
        handler = workflow.run()
        # Wait until two items queue behind the one being worked on.
        async for _event in handler.stream_events(expose_internal=True):
            queued = mine(points(reader, "stepwork.steps.queued"), "queues-otel")
            if queued and queued[0].value == 2:
                break
        assert 'stepwork_steps_queued{workflow="queues-otel"} 2' in metrics.render()
        workflow.release.set()
        assert await handler == 3
    finally:
        remove_observer(metrics)
    (started,) = mine(points(reader, "stepwork.runs.started"), "queues-otel")
    assert started.value == 1
    (ended,) = mine(points(reader, "stepwork.runs.ended"), "queues-otel")
    assert (ended.value, ended.attributes["stepwork.status"]) == (1, "completed")
    durations = {
        p.attributes["stepwork.step"]: p.count
        for p in mine(points(reader, "stepwork.step.duration"), "queues-otel")
    }
    assert durations == {"split": 1, "slow": 3}
    assert mine(points(reader, "stepwork.steps.queued"), "queues-otel") == []


def test_prometheus_text_has_cumulative_buckets_and_escaped_labels() -> None:
    metrics = RunMetrics(buckets=(0.1, 1.0))
    metrics.run_started("r", 'say "hi"\n', resumed=False)
    for seconds in (0.05, 0.5, 5.0):
        metrics.journal_batch_written("r", 0, 1, 0, int(seconds * 1e9), None)
    metrics.run_ended("r", "completed", None)
    text = metrics.render()
    label = 'workflow="say \\"hi\\"\\n"'
    assert f"stepwork_runs_started_total{{{label}}} 1" in text
    assert f'stepwork_journal_write_seconds_bucket{{{label},le="0.1"}} 1' in text
    assert f'stepwork_journal_write_seconds_bucket{{{label},le="1.0"}} 2' in text
    assert f'stepwork_journal_write_seconds_bucket{{{label},le="+Inf"}} 3' in text
    assert f"stepwork_journal_write_seconds_count{{{label}}} 3" in text
    assert f"stepwork_journal_write_seconds_sum{{{label}}} 5.55" in text
    assert text.endswith("\n")


def test_a_run_ended_twice_or_never_started_here_is_not_counted() -> None:
    metrics = RunMetrics()
    metrics.run_started("r", "w", resumed=False)
    metrics.run_ended("r", "detached", None)
    metrics.run_ended("r", "failed", None)  # a write that failed after the detach
    metrics.run_ended("elsewhere", "completed", None)
    ended = [line for line in metrics.render().splitlines() if "runs_ended_total{" in line]
    assert ended == ['stepwork_runs_ended_total{workflow="w",status="detached"} 1']
