"""A run started through an API node that only enqueues (``stepwork serve --workers 0``, here
without OpenTelemetry at all) joins the caller's trace: the node journals the request's
``traceparent`` with the run's start tick, and the ``stepwork worker`` process that executes
the run makes its spans children of the caller's span. Real processes, spans received over
OTLP/HTTP by ``otlp_receiver.Receiver``."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from stepwork._stores.url import store_from_url

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from otlp_receiver import Receiver, start_worker  # noqa: E402

pytestmark = pytest.mark.slow


def start_api_node(url: str, log: Path) -> tuple[subprocess.Popen[str], str]:
    """``stepwork serve relay_api.py --workers 0``; returns once it answers ``/health``."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with log.open("w") as output:
        child = subprocess.Popen(
            [sys.executable, "-m", "stepwork", "serve", str(HERE / "relay_api.py"),
             "--store", url, "--workers", "0", "--port", str(port), "--log-level", "warning"],
            stdout=output, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONPATH": str(HERE)},
        )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:  # polled: a state of another process, which signals nothing
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                return child, base
        assert child.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


async def test_a_run_enqueued_by_an_api_node_joins_the_callers_trace(
    tmp_path: Path, receiver: Receiver
) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    trace_id, caller_span = secrets.token_hex(16), secrets.token_hex(8)
    traceparent = f"00-{trace_id}-{caller_span}-01"
    worker = start_worker(url, receiver, tmp_path / "worker.log")
    node, base = None, ""
    try:
        node, base = start_api_node(url, tmp_path / "node.log")
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            answer = await http.post(
                "/workflows/relay/runs",
                json={"input": {"n": 1}, "run_id": "relay-api", "wait": True},
                headers={"traceparent": traceparent, "tracestate": "caller=1"},
            )
        assert answer.status_code == 200, answer.text
        assert answer.json()["result"] == 4
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=30) == 0, (tmp_path / "worker.log").read_text()
        assert node.poll() is None, (tmp_path / "node.log").read_text()
    finally:
        for child in (worker, node):
            if child is not None and child.poll() is None:
                child.kill()
                child.wait()
            if child is not None and child.stdout is not None:
                child.stdout.close()

    store = store_from_url(url)
    await store.open()
    try:
        ticks = await store.load_ticks("relay-api")
    finally:
        await store.close()
    # The node wrote the start tick, with the caller's context; the worker's start tick after.
    assert ticks[0]["kind"] == "start"
    assert ticks[0]["env"]["meta"] == {"traceparent": traceparent, "tracestate": "caller=1"}
    with receiver.lock:
        spans = list(receiver.spans)
    assert {span.pid for span in spans} == {worker.pid}
    assert {span.trace_id for span in spans} == {trace_id}
    (run,) = [span for span in spans if span.name == "run relay"]
    assert run.parent_id == caller_span
    steps = {span.name: span for span in spans if span.name.startswith("step ")}
    assert set(steps) == {"step first", "step middle", "step last"}
    assert {span.parent_id for span in steps.values()} == {run.span_id}
    assert all(0 < span.start <= span.end for span in spans), "a received span is open"
