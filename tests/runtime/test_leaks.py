"""No run leaks: after many short runs, the live engine objects return to where they were."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections import Counter

from stepwork import Context, Event, StartEvent, StopEvent, Workflow, WorkflowHandler, step
from stepwork._runtime.driver import RunDriver
from stepwork._runtime.stream import EventLog

TRACKED = (WorkflowHandler, Context, RunDriver, EventLog, asyncio.Task)


async def live() -> Counter[str]:
    # Let the loop run the done-callbacks it has already queued (they hold the last futures),
    # then count what is still reachable.
    for _ in range(3):
        await asyncio.sleep(0)
    gc.collect()
    return Counter(type(o).__name__ for o in gc.get_objects() if isinstance(o, TRACKED))


class Mid(Event):
    n: int


class Short(Workflow):
    @step
    async def first(self, ctx: Context, ev: StartEvent) -> Mid:
        ctx.write_event_to_stream(Mid(n=0))
        return Mid(n=1)

    @step
    async def second(self, ev: Mid) -> StopEvent:
        return StopEvent(result=ev.n)


async def run_batch(workflow: Workflow, size: int) -> list[object]:
    # In a function of its own, so the caller's frame holds no handler afterwards.
    return await asyncio.gather(*(workflow.run() for _ in range(size)))


async def test_five_thousand_runs_leave_no_engine_objects_behind() -> None:
    workflow = Short()
    assert await workflow.run() == 1
    before = await live()
    for _ in range(5):
        assert await run_batch(workflow, 1_000) == [1] * 1_000
    assert await live() == before


async def test_a_finished_workflow_and_its_run_can_be_collected() -> None:
    refs = await run_once()
    await live()
    assert [ref() for ref in refs] == [None, None, None]


async def run_once() -> list[weakref.ref[object]]:
    workflow = Short()
    handler = workflow.run()
    assert await handler == 1
    return [weakref.ref(workflow), weakref.ref(handler), weakref.ref(handler.ctx)]


class LeavesATimer(Workflow):
    """A step that schedules a callback for later and returns; the timer outlives the run."""

    def __init__(self, handles: list[asyncio.TimerHandle]) -> None:
        super().__init__()
        self.handles = handles

    @step
    async def only(self, ev: StartEvent) -> StopEvent:
        self.handles.append(asyncio.get_running_loop().call_later(3600, lambda: None))
        return StopEvent(result="done")


async def test_a_timer_left_by_a_step_does_not_keep_its_workflow_alive() -> None:
    # A TimerHandle copies the step's contextvars; the run must not be reachable through them.
    handles: list[asyncio.TimerHandle] = []
    try:
        refs = [await timer_run(handles) for _ in range(3)]
        await live()
        assert [ref() for ref in refs] == [None, None, None]
        assert len(handles) == 3
    finally:
        for handle in handles:
            handle.cancel()


async def timer_run(handles: list[asyncio.TimerHandle]) -> weakref.ref[object]:
    workflow = LeavesATimer(handles)
    assert await workflow.run() == "done"
    return weakref.ref(workflow)
