"""Workflows for the limit tests: their limited step counts itself in a file outside the
engine (under ``flock``), so a test sees how many invocations ran at once across processes."""

from __future__ import annotations

import asyncio
import fcntl
import os
from pathlib import Path
from typing import ClassVar

from stepwork import Event, Limit, StartEvent, StopEvent, Workflow, step


def bump(delta: int) -> None:
    """Add ``delta`` to the running count in ``$LIMIT_COUNTER``: ``now most started``."""
    with Path(os.environ["LIMIT_COUNTER"]).open("a+") as file:
        fcntl.flock(file, fcntl.LOCK_EX)
        file.seek(0)
        now, most, started = (int(x) for x in (file.read().split() or ["0", "0", "0"]))
        now += delta
        most = max(most, now)
        started += delta > 0
        file.seek(0)
        file.truncate()
        file.write(f"{now} {most} {started}")


class Call(Event):
    n: int


class Answer(Event):
    n: int


class Shared(Workflow):
    """Fans out 4 calls of a step limited to 3 at once across the fleet."""

    limits: ClassVar[dict[str, Limit]] = {"shared": Limit(concurrency=3)}

    @step
    async def split(self, ev: StartEvent) -> list[Call]:
        return [Call(n=ev.n * 10 + i) for i in range(4)]

    @step(limit="shared", num_workers=4)
    async def call(self, ev: Call) -> Answer:
        bump(+1)
        try:
            await asyncio.sleep(0.1)  # the call's work, not synchronisation
        finally:
            bump(-1)
        return Answer(n=ev.n)

    @step
    async def gather(self, evs: list[Answer]) -> StopEvent:
        return StopEvent(result=sum(ev.n for ev in evs))


class Solo(Workflow):
    """One call through a one-slot limit per tenant; the first attempt ever hangs holding it
    (and says so in ``$LIMIT_COUNTER.held``), so a test can kill its process. Keyed, so the
    workers read the key from the journaled start event of runs they did not start."""

    limits: ClassVar[dict[str, Limit]] = {"solo": Limit(concurrency=1, key="tenant")}

    @step(limit="solo")
    async def call(self, ev: StartEvent) -> StopEvent:
        held = os.environ["LIMIT_COUNTER"] + ".held"
        if not os.path.exists(held):  # noqa: ASYNC240 (a test's marker file, instant)
            with open(held, "w") as file:  # noqa: ASYNC230
                file.write(str(os.getpid()))
            await asyncio.Event().wait()  # hangs holding the slot until the process dies
        return StopEvent(result=ev.n)


workflows = {
    "shared": Shared(timeout=None, workflow_name="shared"),
    "solo": Solo(timeout=None, workflow_name="solo"),
}
