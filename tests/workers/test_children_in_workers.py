"""Children in a worker fleet, with in-process ``Worker`` loops on one SQLite file: a child is
enqueued for any worker, and its parent waits for it durably (released meanwhile)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from stepwork import StartEvent, WorkflowCancelledByUser
from stepwork._drawing.trace import build_trace
from stepwork._drawing.trace_mermaid import trace_to_mermaid
from stepwork._runtime.inbox import deliver_cancel
from stepwork._runtime.lease import LeaseSettings
from stepwork._runtime.worker import Worker, enqueue
from stepwork._stores.protocol import RunRecord
from stepwork._stores.sqlite import SqliteStore

from .children_flow import Child, Parent, Starter

SETTINGS = LeaseSettings(ttl=30, heartbeat=10)


async def until(store: SqliteStore, check: Callable[[list[RunRecord]], bool], what: str) -> None:
    """Read the store (a state, not a guess) until ``check(runs)`` holds."""
    deadline = time.monotonic() + 20
    while not check(runs := await store.list_runs()):
        assert time.monotonic() < deadline, f"{what}: {runs}"
        await asyncio.sleep(0.02)


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[tuple[SqliteStore, list[Worker]]]:
    """Two workers of concurrency 1 on one SQLite file, each serving every workflow."""
    path = tmp_path / "runs.db"
    store = SqliteStore(path)
    await store.open()
    workers = [
        Worker(
            [
                Parent(timeout=None, workflow_name="parent"),
                Child(timeout=None, workflow_name="child"),
                Starter(timeout=None, workflow_name="starter"),
            ],
            SqliteStore(path),
            concurrency=1,
            settings=SETTINGS,
            poll=0.05,
            idle_after=0.0,
            owner=f"w{number}",
        )
        for number in range(2)
    ]
    stop = asyncio.Event()
    tasks = [asyncio.ensure_future(worker.run(stop)) for worker in workers]
    yield store, workers
    stop.set()
    await asyncio.gather(*tasks)
    for worker in workers:
        await worker.store.close()
    await store.close()


def ended(run_id: str) -> Callable[[list[RunRecord]], bool]:
    return lambda runs: any(r.run_id == run_id and r.status != "running" for r in runs)


async def test_a_parent_waits_for_its_children_without_holding_a_slot(
    fleet: tuple[SqliteStore, list[Worker]],
) -> None:
    store, workers = fleet
    flow = Parent(store=store, timeout=None, workflow_name="parent")
    await enqueue(flow, StartEvent(count=3), "p")
    await until(store, ended("p"), "the parent ends")
    parent = await store.get_run("p")
    assert parent.status == "completed", parent.error
    assert parent.result is not None and parent.result["result"]["sum"] == 60
    children = await store.list_runs(parent="p")
    assert sorted(c.status for c in children) == ["completed"] * 3
    assert all(c.workflow == "child" for c in children)
    # Both workers have concurrency 1 and 4 runs had to run: the parent let its slot go.
    assert sum(w.released_idle for w in workers) >= 1


async def test_a_failing_child_fails_its_parent_with_its_error(
    fleet: tuple[SqliteStore, list[Worker]],
) -> None:
    store, _ = fleet
    flow = Parent(store=store, timeout=None, workflow_name="parent")
    await enqueue(flow, StartEvent(count=1, fail=True), "p")
    await until(store, ended("p"), "the parent ends")
    parent = await store.get_run("p")
    assert parent.status == "failed"
    assert parent.error is not None
    assert (parent.error["type"], parent.error["message"]) == ("ValueError", "child -1 refused")
    # The parent's drawing names the child on the invocation that started it, failed.
    handler = Parent(store=store, timeout=None, workflow_name="parent").resume("p")
    with pytest.raises(ValueError, match="child -1 refused"):
        await handler
    assert handler.driver is not None
    trace = build_trace(handler.driver.reducer, handler.ticks)
    [child] = await store.list_runs(parent="p")
    # (each claim ran the step again: the last run of it saw the child fail)
    assert trace.invocations[-1].children == {child.run_id: "failed"}
    assert f"child run {child.run_id}: failed" in trace_to_mermaid(trace)


async def test_cancelling_the_parent_cancels_its_running_children(
    fleet: tuple[SqliteStore, list[Worker]],
) -> None:
    store, _ = fleet
    flow = Parent(store=store, timeout=None, workflow_name="parent")
    await enqueue(flow, StartEvent(count=2, hold=True), "p")
    await until(store, lambda runs: len([r for r in runs if r.workflow == "child"]) == 2, "kids")
    await deliver_cancel(store, "p")  # as a server node or a handler elsewhere would
    await until(store, ended("p"), "the parent ends")
    await until(
        store,
        lambda runs: all(r.status == "cancelled" for r in runs if r.workflow == "child"),
        "the children are cancelled",
    )
    assert (await store.get_run("p")).status == "cancelled"
    with pytest.raises(WorkflowCancelledByUser):
        await Child(store=store, timeout=None, workflow_name="child").resume(
            (await store.list_runs(parent="p"))[0].run_id
        )


async def test_start_workflow_returns_a_handler_that_follows_the_child(
    fleet: tuple[SqliteStore, list[Worker]],
) -> None:
    store, _ = fleet
    flow = Starter(store=store, timeout=None, workflow_name="starter")
    await enqueue(flow, StartEvent(n=4), "s")
    await until(store, ended("s"), "the starter ends")
    record = await store.get_run("s")
    assert record.status == "completed", record.error
    assert record.result is not None
    [child] = await store.list_runs(parent="s")
    assert record.result["result"] == {"run_id": child.run_id, "result": 40}
