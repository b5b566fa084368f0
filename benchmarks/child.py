"""Run one scenario once in this fresh process and print its sample as JSON.

Usage: ``python -m benchmarks.child ENGINE SCENARIO N`` (ENGINE: stepwork | anchor |
stepwork-llama | stepwork-llama-handler | one of ``benchmarks.tracing.VARIANTS``; stepwork-otel
traces with the OpenTelemetry SDK and records metrics, stepwork-otel-spans only traces,
stepwork-otel-off imports OpenTelemetry and sets nothing, stepwork-no-otel cannot import it,
stepwork-otel-stub traces with a tracer that does nothing, otel-floor(-spans) times the SDK's
spans alone for N steps (any SCENARIO); stepwork-llama imports LlamaIndex's instrumentation
with no handler attached, and stepwork-llama-handler attaches a span and an event handler to
its root dispatcher), or
``python -m benchmarks.child ENGINE import`` to time the engine's import.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from dataclasses import asdict

from benchmarks import tracing


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
    if engine.startswith("otel-floor"):
        seconds, cpu = tracing.floor(n, record=engine == "otel-floor")
        print(json.dumps({"seconds": seconds, "items": n, "cpu_seconds": cpu}))
        return
    if engine == "stepwork-no-otel":
        tracing.block_opentelemetry()
        engine = "stepwork"
    elif engine == "stepwork-otel-stub":
        tracing.set_stub_tracer()
        engine = "stepwork"
    elif engine.startswith("stepwork-otel"):
        on = engine != "stepwork-otel-off"
        tracing.set_providers(spans=on, metrics=engine == "stepwork-otel")
        engine = "stepwork"
    elif engine.startswith("stepwork-llama"):
        instrument_with_llama_index(handler=engine == "stepwork-llama-handler")
        engine = "stepwork"
    lib = load(engine)
    cpu = time.process_time()
    sample = asyncio.run(SCENARIOS[scenario](lib, n))
    # CPU of the whole run, every thread (a span processor's too): steadier than the wall
    # clock on a machine that other work shares.
    print(json.dumps({**asdict(sample), "cpu_seconds": time.process_time() - cpu}))


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


if __name__ == "__main__":
    main()
