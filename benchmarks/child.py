"""Run one scenario once in this fresh process and print its sample as JSON.

Usage: ``python -m benchmarks.child ENGINE SCENARIO N`` (ENGINE: stepwork | stepwork-otel |
anchor; stepwork-otel traces with the OpenTelemetry SDK), or
``python -m benchmarks.child ENGINE import`` to time the engine's import.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import asdict


def main() -> None:
    engine, scenario = sys.argv[1], sys.argv[2]
    if scenario == "import":
        started = time.perf_counter()
        if engine == "stepwork":
            import stepwork  # noqa: F401
        else:
            import workflows  # noqa: F401
        print(json.dumps({"seconds": time.perf_counter() - started, "items": 1}))
        return
    from benchmarks.scenarios import SCENARIOS, load

    n = int(sys.argv[3])
    if engine == "stepwork-otel":
        trace_with_opentelemetry()
        engine = "stepwork"
    lib = load(engine)
    sample = asyncio.run(SCENARIOS[scenario](lib, n))
    print(json.dumps(asdict(sample)))


def trace_with_opentelemetry() -> None:
    """Set the OpenTelemetry SDK's providers as an application would: every span goes through a
    batch processor to an exporter (one that drops them, so export I/O is not measured), and
    metrics are recorded."""
    from opentelemetry import metrics, trace
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult

    class Dropping(SpanExporter):
        def export(self, spans: object) -> SpanExportResult:
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(Dropping()))
    trace.set_tracer_provider(provider)
    metrics.set_meter_provider(MeterProvider(metric_readers=[InMemoryMetricReader()]))


if __name__ == "__main__":
    main()
