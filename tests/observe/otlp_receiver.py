"""An OTLP/HTTP trace receiver for the tests, and ``stepwork worker`` processes exporting to it.

The receiver decodes the real protobuf ``ExportTraceServiceRequest`` each exporter posts and
keeps every span it was sent, with the ``process.pid`` of the resource that sent it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

HERE = Path(__file__).parent
TTL = 1.0


@dataclass(frozen=True)
class Received:
    """One span as the receiver decoded it."""

    trace_id: str
    span_id: str
    parent_id: str
    name: str
    start: int
    end: int
    pid: int
    attributes: dict[str, object]
    events: dict[str, dict[str, object]]


def _value(any_value: object) -> object:
    kind = any_value.WhichOneof("value")  # type: ignore[attr-defined]
    return getattr(any_value, kind) if kind else None


class Receiver(ThreadingHTTPServer):
    """An OTLP/HTTP trace receiver on 127.0.0.1: keeps every span it is sent."""

    def __init__(self) -> None:
        self.spans: list[Received] = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1/traces"

    def take(self, request: ExportTraceServiceRequest) -> None:
        for resource in request.resource_spans:
            pid = {a.key: _value(a.value) for a in resource.resource.attributes}["process.pid"]
            for scope in resource.scope_spans:
                for span in scope.spans:
                    with self.lock:
                        self.spans.append(
                            Received(
                                span.trace_id.hex(), span.span_id.hex(), span.parent_span_id.hex(),
                                span.name, span.start_time_unix_nano, span.end_time_unix_nano,
                                int(pid),  # type: ignore[call-overload]
                                {a.key: _value(a.value) for a in span.attributes},
                                {e.name: {a.key: _value(a.value) for a in e.attributes}
                                 for e in span.events},
                            )
                        )  # fmt: skip


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        assert self.headers["content-type"] == "application/x-protobuf"
        self.server.take(ExportTraceServiceRequest.FromString(body))
        answer = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.send_header("content-length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, format: str, *args: object) -> None:
        pass


def receiving() -> Iterator[Receiver]:
    """A receiver serving in a thread until the generator is closed (the ``receiver``
    fixture)."""
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def start_worker(url: str, receiver: Receiver, log: Path, **env: str) -> subprocess.Popen[str]:
    """A ``stepwork worker`` on ``url`` exporting to ``receiver``; returns once it is ready."""
    environment = {**os.environ, "PYTHONPATH": str(HERE), "OTLP_TRACES_URL": receiver.url, **env}
    with log.open("w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-m", "stepwork", "worker", str(HERE / "otlp_worker.py"),
             "--store", url, "--concurrency", "2", "--lease-ttl", str(TTL), "--heartbeat", "0.3",
             "--poll", "0.2"],
            stdout=subprocess.PIPE, stderr=stderr, text=True, env=environment,
        )  # fmt: skip
    assert child.stdout is not None
    assert "ready" in child.stdout.readline(), log.read_text()
    return child
