"""Watch a run: OpenTelemetry spans, log records with run context, Prometheus metrics.

Sets the OpenTelemetry SDK's tracer provider (as an application would; here the spans go to an
in-memory exporter so they can be printed as a tree), runs a workflow whose first attempt fails
and is retried, and prints the span tree, a log line with run id, step and trace id, and a few
lines of the Prometheus text the server serves at ``GET /metrics``.

Needs ``pip install 'stepwork[otel]' opentelemetry-sdk``.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from stepwork import Context, Event, StartEvent, StopEvent, Workflow, step
from stepwork.observe import RunContextFilter, RunMetrics, add_observer
from stepwork.retry_policy import retry_policy, stop_after_attempt, wait_fixed


def watch() -> tuple[InMemorySpanExporter, RunMetrics]:
    """Set up tracing, logs and metrics as an application would, once, at its start."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # stepwork needs nothing more to trace every run

    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(RunContextFilter())
    handler.setFormatter(
        logging.Formatter("log [%(run_id)s/%(step)s trace=%(trace_id)s] %(message)s")
    )
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    metrics = RunMetrics()  # what `stepwork serve` serves at GET /metrics
    add_observer(metrics)
    return exporter, metrics


log = logging.getLogger("shop")


class Priced(Event):
    price: int


class Checkout(Workflow):
    @step(retry_policy=retry_policy(wait=wait_fixed(0.01), stop=stop_after_attempt(3)))
    async def price(self, ctx: Context, ev: StartEvent) -> Priced:
        if ctx.retry_info().retry_number == 0:
            raise ConnectionError("price service timed out")
        log.info("priced %s", ev.item)
        return Priced(price=42)

    @step
    async def pay(self, ev: Priced) -> StopEvent:
        return StopEvent(result=f"paid {ev.price}")


def tree(spans: tuple[ReadableSpan, ...]) -> list[str]:
    """The spans as an indented tree, children in start order, with their events."""
    children: dict[int | None, list[ReadableSpan]] = {}
    for span in spans:
        parent = span.parent.span_id if span.parent is not None else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for span in sorted(children.get(parent, []), key=lambda s: s.start_time or 0):
            attributes = span.attributes or {}
            number = attributes.get("stepwork.attempt")
            attempt = f" attempt {number}" if number is not None else ""
            events = ", ".join(event.name for event in span.events)
            status = span.status.status_code.name
            lines.append(f"{'  ' * depth}{span.name}{attempt} [{status}] {events}".rstrip())
            assert span.context is not None
            walk(span.context.span_id, depth + 1)

    walk(None, 0)
    return lines


async def main() -> None:
    exporter, metrics = watch()
    result = await Checkout(workflow_name="checkout").run(run_id="order-1", item="book")
    print("result:", result)
    for line in tree(exporter.get_finished_spans()):
        print(line)
    for line in metrics.render().splitlines():
        if line.startswith(("stepwork_runs_ended_total", "stepwork_step_duration_seconds_count")):
            print(line)


if __name__ == "__main__":
    asyncio.run(main())
