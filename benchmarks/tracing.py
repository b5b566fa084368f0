"""What tracing costs the dispatch benchmark: the same chain with OpenTelemetry absent, present
but off, and on (the SDK's ``TracerProvider`` with a ``BatchSpanProcessor``), and the floor:
the SDK making the same number of spans in a bare loop, with no workflow around them.

Each variant is a child engine of ``benchmarks.child``; ``benchmarks.run`` measures them
interleaved (one child of each in turn, so load that comes and goes hits every variant alike)
and prints medians and the ratio to the first row.
"""

from __future__ import annotations

import importlib.abc
import sys
import time
from typing import Any

#: (child engine, what the row says), in the order the table prints them.
VARIANTS = (
    ("stepwork-no-otel", "OpenTelemetry absent (its import fails)"),
    ("stepwork-otel-off", "opentelemetry imported, no provider set (tracing off)"),
    ("stepwork-otel-spans", "traced: SDK TracerProvider + BatchSpanProcessor"),
    ("stepwork-otel", "traced, and metrics: SDK MeterProvider too"),
    ("stepwork-otel-stub", "stepwork's share: traced by a stub tracer doing nothing"),
    ("otel-floor-spans", "floor: the SDK alone, one span per step in a bare loop"),
    ("otel-floor", "floor: one span and one histogram record per step"),
)


class _NoOpenTelemetry(importlib.abc.MetaPathFinder):
    """Fails every ``opentelemetry`` import, as if the ``otel`` extra were not installed."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> None:
        if name == "opentelemetry" or name.startswith("opentelemetry."):
            raise ImportError(f"{name} is blocked: the benchmark measures stepwork without it")
        return None


def block_opentelemetry() -> None:
    """Make ``import opentelemetry`` fail in this process."""
    sys.meta_path.insert(0, _NoOpenTelemetry())


def set_providers(*, spans: bool, metrics: bool) -> None:
    """Set the SDK's providers as an application would: every span through a batch processor
    to an exporter that drops it (export I/O is not measured), metrics to an in-memory reader.
    With neither, OpenTelemetry is imported and nothing is set: tracing is off."""
    from opentelemetry import metrics as otel_metrics
    from opentelemetry import trace

    if spans:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )

        class Dropping(SpanExporter):
            def export(self, spans: object) -> SpanExportResult:
                return SpanExportResult.SUCCESS

        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(Dropping()))
        trace.set_tracer_provider(provider)
    if metrics:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        otel_metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))


def set_stub_tracer() -> None:
    """Set a tracer provider whose spans record nothing and cost next to nothing, but say they
    are recording: stepwork then does all its tracing work, and only its own code costs."""
    from collections.abc import Iterator
    from contextlib import contextmanager
    from itertools import count

    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags

    ids = count(1)

    class StubSpan(NonRecordingSpan):
        def is_recording(self) -> bool:
            return True

    class StubTracer(trace.Tracer):
        def start_span(self, name: str, *args: Any, **kwargs: Any) -> trace.Span:
            return StubSpan(SpanContext(1, next(ids), False, TraceFlags(1)))

        @contextmanager
        def start_as_current_span(self, name: str, *args: Any, **kwargs: Any) -> Iterator[Any]:
            yield self.start_span(name)

    class StubProvider(trace.TracerProvider):
        def get_tracer(self, *args: Any, **kwargs: Any) -> trace.Tracer:
            return StubTracer()

    trace.set_tracer_provider(StubProvider())


def floor(n: int, *, record: bool) -> tuple[float, float]:
    """Seconds (wall clock, then CPU) the SDK takes for ``n`` step spans made as stepwork
    makes them (same name, parent, attributes, made current and ended), and with ``record``
    one histogram record each, in a bare loop: the least a traced step can cost."""
    set_providers(spans=True, metrics=record)
    from opentelemetry import context, metrics, trace

    tracer = trace.get_tracer("floor")
    histogram = metrics.get_meter("floor").create_histogram("step.duration", unit="s")
    run = tracer.start_span("run Chain")
    parent = trace.set_span_in_context(run)
    base = {"stepwork.run_id": "run-1", "stepwork.workflow": "Chain"}
    labels = {"stepwork.workflow": "Chain", "stepwork.step": "loop", "stepwork.outcome": "ok"}
    cpu = time.process_time()
    started = time.perf_counter()
    for invocation in range(n):
        attributes = {
            **base,
            "stepwork.step": "loop",
            "stepwork.attempt": 1,
            "stepwork.invocation": invocation,
        }
        span = tracer.start_span("step loop", parent, attributes=attributes)
        token = context.attach(trace.set_span_in_context(span, parent))
        context.detach(token)
        span.end()
        if record:
            histogram.record(1e-5, labels)
    seconds = time.perf_counter() - started
    cpu = time.process_time() - cpu
    run.end()
    return seconds, cpu
