"""``stepwork worker`` target for the OTLP takeover test: serves ``relay_flow.Relay`` and traces
every run over OTLP/HTTP.

It sets an SDK tracer provider that exports each span as it ends (``SimpleSpanProcessor``) to
``$OTLP_TRACES_URL``, so a SIGKILLed worker loses only the spans still open when it died. Never
imported by the tests themselves (it sets the process's global tracer provider).
"""

from __future__ import annotations

import os

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from relay_flow import Relay

provider = TracerProvider(resource=Resource.create({"process.pid": os.getpid()}))
provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(os.environ["OTLP_TRACES_URL"])))
trace.set_tracer_provider(provider)

workflows = {"relay": Relay(timeout=None, workflow_name="relay")}
