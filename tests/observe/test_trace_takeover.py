"""One trace across a SIGKILLed ``stepwork worker`` and the worker that takes its run over,
as an OpenTelemetry backend receives it: OTLP/HTTP to a receiver in this test that decodes the
real protobuf ``ExportTraceServiceRequest``.

The killed worker's spans that were still open (its run span, the step it was in) are never
exported: that loss is expected, and the test checks that nothing *received* is left open.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from pathlib import Path

import pytest

from stepwork import StartEvent
from stepwork._runtime.trace_journal import trace_id_of
from stepwork._runtime.worker import enqueue
from stepwork._stores.url import store_from_url

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from otlp_receiver import Receiver, start_worker  # noqa: E402
from relay_flow import Relay  # noqa: E402

pytestmark = pytest.mark.slow


async def test_a_taken_over_run_is_one_trace_with_every_step_and_no_open_span(
    tmp_path: Path, receiver: Receiver
) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    workflow = Relay(store=url, timeout=None, workflow_name="relay")
    run_id = await enqueue(workflow, StartEvent(n=1), "relay-1")
    store = store_from_url(url)
    await store.open()
    blocked = tmp_path / "blocked.log"
    one = start_worker(url, receiver, tmp_path / "one.log", TAKEOVER_BLOCK="1",
                       TAKEOVER_LOG=str(blocked))  # fmt: skip
    two = None
    try:
        while not (blocked.exists() and blocked.read_text()):  # wait for it to be in `middle`
            assert one.poll() is None, (tmp_path / "one.log").read_text()
            await asyncio.sleep(0.02)
        one.send_signal(signal.SIGKILL)
        one.wait()
        two = start_worker(url, receiver, tmp_path / "two.log")
        deadline = time.monotonic() + 30
        while (await store.get_run(run_id)).status == "running":
            assert time.monotonic() < deadline, "the run was not taken over"
            await asyncio.sleep(0.05)
        assert (await store.get_run(run_id)).result["result"] == 4
        two.send_signal(signal.SIGTERM)
        assert two.wait(timeout=30) == 0, (tmp_path / "two.log").read_text()
        ticks = await store.load_ticks(run_id)
    finally:
        for child in (one, two):
            if child is not None and child.poll() is None:
                child.kill()
                child.wait()
            if child is not None and child.stdout is not None:
                child.stdout.close()
        await store.close()
        assert workflow.store is not None
        await workflow.store.close()

    with receiver.lock:
        spans = list(receiver.spans)
    # The enqueued start tick carries no trace; worker one's resume journaled its run span.
    traced = [t for t in ticks if t["kind"] == "start" and "meta" in t.get("env", {})]
    journaled = traced[0]["env"]["meta"]["traceparent"]
    trace_id = trace_id_of(journaled)
    assert {span.trace_id for span in spans} == {trace_id}
    assert {span.attributes["stepwork.run_id"] for span in spans} == {run_id}
    assert all(0 < span.start <= span.end for span in spans), "a received span is open"
    assert {span.pid for span in spans} == {one.pid, two.pid}
    steps = {span.name for span in spans if span.name.startswith("step ")}
    assert steps == {"step first", "step middle", "step last"}
    # Worker one was killed inside `middle`: its run span and that attempt never reached us.
    by_one = [span for span in spans if span.pid == one.pid]
    assert "run relay" not in {span.name for span in by_one}
    assert "step middle" not in {span.name for span in by_one}
    (run,) = [span for span in spans if span.name == "run relay"]
    assert run.pid == two.pid
    assert run.parent_id == journaled.split("-")[2]  # a child of worker one's run span
    assert run.events["lease taken over"]["stepwork.previous_owner"].split(":")[1] == str(one.pid)  # type: ignore[union-attr]
    assert run.events["resumed"]["stepwork.previous_writer"].split(":")[1] == str(one.pid)  # type: ignore[union-attr]
    children = [span for span in spans if span.pid == one.pid and span.name == "step first"]
    assert children and children[0].parent_id == journaled.split("-")[2]
