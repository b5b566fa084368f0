"""Child workflows (``ctx.run_workflow``, ``ctx.start_workflow``) in one process."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any, ClassVar

import pytest

from stepwork import (
    Context,
    Event,
    StartEvent,
    StopEvent,
    Workflow,
    WorkflowCancelledByUser,
    WorkflowTimeoutError,
    step,
)
from stepwork._drawing.trace import build_trace
from stepwork._drawing.trace_mermaid import trace_to_mermaid


class Note(Event):
    text: str


class Pay(Workflow):
    """The child: counts its starts outside the engine, may stop at a gate."""

    starts: ClassVar[list[str]] = []

    def __init__(self, gate: asyncio.Event | None = None, **kw: Any) -> None:
        super().__init__(timeout=None, **kw)
        self.gate = gate
        self.inside = asyncio.Event()
        self.contexts: list[Context] = []

    @step
    async def pay(self, ctx: Context, ev: StartEvent) -> StopEvent:
        Pay.starts.append(ctx.step_key)
        self.contexts.append(ctx)  # shared with the copy that journals to the parent's store
        ctx.write_event_to_stream(Note(text=f"paying {ev.amount}"))
        self.inside.set()
        if self.gate is not None:
            await self.gate.wait()
        return StopEvent(result={"paid": ev.amount})


class Order(Workflow):
    """The parent: runs one child and waits at a gate afterwards."""

    def __init__(self, child: Pay, gate: asyncio.Event | None = None, **kw: Any) -> None:
        super().__init__(**{"timeout": None, **kw})
        self.child = child
        self.gate = gate
        self.reached = asyncio.Event()

    @step
    async def order(self, ctx: Context, ev: StartEvent) -> StopEvent:
        paid = await ctx.run_workflow(self.child, amount=42, forward_events=True)
        self.reached.set()
        if self.gate is not None:
            await self.gate.wait()
        return StopEvent(result=paid)


@pytest.fixture(autouse=True)
def fresh_counter() -> None:
    Pay.starts = []


async def test_a_child_runs_under_an_id_derived_from_the_step_and_forwards_its_events() -> None:
    handler = Order(Pay()).run(run_id="o-1")
    events = [ev async for ev in handler.stream_events()]
    assert await handler == {"paid": 42}
    assert Note(text="paying 42") in events
    assert len(Pay.starts) == 1 and Pay.starts[0].startswith("o-1:order:0:0:pay:")
    outcomes = [t.outcome for t in handler.ticks if t.kind == "once"]
    assert outcomes == [
        {"child": "o-1:order:0:0"},
        {"child": "o-1:order:0:0", "value": {"paid": 42}},
    ]
    # The run's trace names the child on the invocation that started it, once.
    driver = handler.driver
    assert driver is not None
    trace = build_trace(driver.reducer, handler.ticks)
    assert [record.calls for record in trace.invocations] == [["child o-1:order:0:0"]]
    assert "journaled: child o-1:order:0:0" in trace_to_mermaid(trace)


async def test_a_restored_parent_gets_its_childs_result_from_its_own_ticks() -> None:
    gate = asyncio.Event()
    parent = Order(Pay(), gate)
    handler = parent.run()
    await parent.reached.wait()
    snapshot = json.loads(json.dumps(handler.ctx.to_dict()))
    await handler.cancel_run()

    again = Order(Pay())
    assert await again.run(ctx=Context.from_dict(again, snapshot)) == {"paid": 42}
    assert len(Pay.starts) == 1  # the child was not started again


async def test_a_parent_resumed_from_its_store_finds_its_running_child(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    child_gate = asyncio.Event()
    child = Pay(child_gate)
    parent = Order(child, store=url)
    handler = parent.run(run_id="o-2")
    await child.inside.wait()
    driver = handler.driver
    assert driver is not None
    driver.detach(RuntimeError("simulated crash of the parent only"))
    handler.cancel()

    resumed = Order(child, store=url).resume("o-2")
    child_gate.set()
    assert await resumed == {"paid": 42}
    assert len(Pay.starts) == 1  # found, not started again
    store = parent.store
    assert store is not None
    record = await store.get_run("o-2:order:0:0")
    assert record.status == "completed" and record.workflow == child.workflow_name
    # The child's row names its parent (migration 0006), so listings find it by its parent.
    assert (record.parent_run_id, (await store.get_run("o-2")).parent_run_id) == ("o-2", None)
    assert [run.run_id for run in await store.list_runs(parent="o-2")] == ["o-2:order:0:0"]
    history = await parent.history("o-2")
    assert "started child run 'o-2:order:0:0'" in " ".join(e.summary for e in history)
    # The child's journal names its parent: its start tick's envelope carries the link.
    child_history = await Pay(store=store).history("o-2:order:0:0")
    assert child_history[0].summary == "run started with StartEvent as a child of run 'o-2'"
    await store.close()


class Launcher(Workflow):
    """Starts a child and returns without waiting for it."""

    def __init__(self, child: Pay, **kw: Any) -> None:
        super().__init__(**{"timeout": None, **kw})
        self.child = child
        self.handles: list[Any] = []

    @step
    async def go(self, ctx: Context, ev: StartEvent) -> StopEvent:
        handle = await ctx.start_workflow(self.child, amount=7)
        self.handles.append(handle)
        await asyncio.Event().wait()  # until the run ends
        return StopEvent(result="not reached")


async def test_cancelling_the_parent_cancels_a_started_child() -> None:
    child = Pay(asyncio.Event())
    parent = Launcher(child)
    handler = parent.run()
    await child.inside.wait()
    await handler.cancel_run()
    with pytest.raises(WorkflowCancelledByUser):
        await parent.handles[0]


async def test_a_parent_timing_out_cancels_the_child_it_awaits(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runs.db'}"
    parent = Order(Pay(asyncio.Event()), timeout=0.2, store=url)
    with pytest.raises(WorkflowTimeoutError):
        await parent.run(run_id="late")
    async for _ in parent.child.contexts[0].stream_events():
        pass  # the child's stream ends once its ending is stored
    store = parent.store
    assert store is not None
    assert (await store.get_run("late:order:0:0")).status == "cancelled"
    assert len(Pay.starts) == 1
    await store.close()
