"""Parents and children for the worker-fleet children tests (in-process and real workers)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from stepwork import Context, Event, StartEvent, StopEvent, Workflow, step


class Go(Event):
    n: int


class Child(Workflow):
    """``n * 10``; ``n < 0`` fails; ``hold`` waits for a ``Go`` first (a child that runs long);
    ``ledger`` (a path) gets one line per execution of the child's step."""

    @step
    async def work(self, ctx: Context, ev: StartEvent) -> StopEvent:
        ledger = ev.get("ledger")
        if ledger:
            line = f"{ctx.step_key} {os.getpid()}\n"
            await asyncio.to_thread(_append, Path(ledger), line)
        if ev.get("hold"):
            await ctx.wait_for_event(Go, waiter_id="go", timeout=None)
        if ev.n < 0:
            raise ValueError(f"child {ev.n} refused")
        return StopEvent(result=ev.n * 10)


def _append(path: Path, line: str) -> None:
    with path.open("a") as out:
        out.write(line)


class Parent(Workflow):
    """Runs ``count`` children (``n = 1 .. count``, or ``-1`` with ``fail``) concurrently and
    answers their results' sum and its own pid with each child's."""

    @step
    async def fan(self, ctx: Context, ev: StartEvent) -> StopEvent:
        child = Child(timeout=None, workflow_name="child")
        ns = [-1] if ev.get("fail") else list(range(1, ev.count + 1))
        extra = {"hold": ev.get("hold", False), "ledger": ev.get("ledger", "")}
        results = await asyncio.gather(*(ctx.run_workflow(child, n=n, **extra) for n in ns))
        return StopEvent(result={"sum": sum(results), "pid": os.getpid()})


class Starter(Workflow):
    """Starts one child without waiting in the run, then awaits its handler."""

    @step
    async def start(self, ctx: Context, ev: StartEvent) -> StopEvent:
        handler = await ctx.start_workflow(Child(timeout=None, workflow_name="child"), n=ev.n)
        return StopEvent(result={"run_id": handler.run_id, "result": await handler})


workflows = {
    "parent": Parent(timeout=None, workflow_name="parent"),
    "child": Child(timeout=None, workflow_name="child"),
    "starter": Starter(timeout=None, workflow_name="starter"),
}
