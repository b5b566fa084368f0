"""OpenTelemetry's global providers, set once for the process, read by one test at a time.

A global provider can be set only once per process, and every run afterwards reports to it. The
span processor here forwards finished spans to the in-memory exporter only while a test holds
the ``spans`` fixture, so later tests of the suite do not pile spans up in memory.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler, SamplingResult


class GatedProcessor(SimpleSpanProcessor):
    """Exports finished spans only while ``open`` is set."""

    open = False

    def on_end(self, span: ReadableSpan) -> None:
        if self.open:
            super().on_end(span)


class OwnRandomIds(IdGenerator):
    """Span and trace ids from a generator of its own: the SDK's default draws from the global
    ``random`` module, which hypothesis forbids while it generates (the HTTP fuzz tests start
    runs, which make spans, from inside its strategies)."""

    def __init__(self) -> None:
        self._random = random.Random()

    def generate_span_id(self) -> int:
        return self._random.getrandbits(64) or 1

    def generate_trace_id(self) -> int:
        return self._random.getrandbits(128) or 1


class GatedSampler(Sampler):
    """Records spans only while a test holds ``spans``: the rest of the suite's runs (the leak
    test's 20,000 among them) are sampled out, which costs next to nothing, instead of being
    recorded and dropped."""

    def should_sample(self, *args: Any, **kwargs: Any) -> SamplingResult:
        chosen = ALWAYS_ON if PROCESSOR.open else ALWAYS_OFF
        return chosen.should_sample(*args, **kwargs)

    def get_description(self) -> str:
        return "GatedSampler"


EXPORTER = InMemorySpanExporter()
PROCESSOR = GatedProcessor(EXPORTER)
READER = InMemoryMetricReader()
_providers_set = False


def _set_providers() -> None:
    global _providers_set
    if not _providers_set:
        provider = TracerProvider(id_generator=OwnRandomIds(), sampler=GatedSampler())
        provider.add_span_processor(PROCESSOR)
        trace.set_tracer_provider(provider)
        metrics.set_meter_provider(MeterProvider(metric_readers=[READER]))
        if trace.get_tracer_provider() is not provider:
            raise RuntimeError(
                "something in this test process set OpenTelemetry's tracer provider before "
                "tests/observe could (an example imported in-process?): set it in main() only"
            )
        _providers_set = True


@pytest.fixture
def spans() -> Iterator[InMemorySpanExporter]:
    """The exporter that receives the spans finished during the test."""
    _set_providers()
    EXPORTER.clear()
    PROCESSOR.open = True
    try:
        yield EXPORTER
    finally:
        PROCESSOR.open = False
        EXPORTER.clear()


@pytest.fixture
def reader() -> InMemoryMetricReader:
    """The metric reader of the global meter provider (values are cumulative per process)."""
    _set_providers()
    return READER


@pytest.fixture
def receiver() -> Iterator[Any]:
    """An OTLP/HTTP trace receiver on 127.0.0.1 (``otlp_receiver.Receiver``), for exporters
    in other processes."""
    here = str(Path(__file__).parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    from otlp_receiver import receiving

    yield from receiving()
