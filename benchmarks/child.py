"""Run one scenario once in this fresh process and print its sample as JSON.

Usage: ``python -m benchmarks.child ENGINE SCENARIO N`` (ENGINE: stepwork | stepwork-otel |
stepwork-llama | stepwork-llama-handler | anchor; stepwork-otel traces with the OpenTelemetry
SDK; stepwork-llama imports LlamaIndex's instrumentation with no handler attached, and
stepwork-llama-handler attaches a span and an event handler to its root dispatcher), or
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
    elif engine.startswith("stepwork-llama"):
        instrument_with_llama_index(handler=engine == "stepwork-llama-handler")
        engine = "stepwork"
    lib = load(engine)
    sample = asyncio.run(SCENARIOS[scenario](lib, n))
    print(json.dumps(asdict(sample)))


def instrument_with_llama_index(*, handler: bool) -> None:
    """Import LlamaIndex's instrumentation as a program reading its tags would; with
    ``handler``, attach a span handler and an event handler that keep nothing, as a tracing
    integration would (its own export cost is not measured)."""
    from llama_index_instrumentation import get_dispatcher
    from llama_index_instrumentation.event_handlers import BaseEventHandler
    from llama_index_instrumentation.span_handlers import SimpleSpanHandler

    class Discard(BaseEventHandler):
        def handle(self, event: object, **kwargs: object) -> None:
            pass

    if handler:
        root = get_dispatcher()
        root.add_span_handler(SimpleSpanHandler())
        root.add_event_handler(Discard())


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
