"""A three-step durable workflow for the takeover trace test (``otlp_worker.py`` serves it).

With ``$TAKEOVER_BLOCK`` set, step ``middle`` logs ``middle`` to ``$TAKEOVER_LOG`` and then
blocks forever, for the test to kill the worker there.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from stepwork import Event, StartEvent, StopEvent, Workflow, step


def note(line: str) -> None:
    with Path(os.environ["TAKEOVER_LOG"]).open("a") as log:
        log.write(line + "\n")


class Begun(Event):
    n: int


class Middled(Event):
    n: int


class Relay(Workflow):
    """``n`` -> ``n + 3`` through three steps."""

    @step
    async def first(self, ev: StartEvent) -> Begun:
        return Begun(n=ev.n + 1)

    @step
    async def middle(self, ev: Begun) -> Middled:
        if os.environ.get("TAKEOVER_BLOCK"):
            note("middle")
            await asyncio.Event().wait()
        return Middled(n=ev.n + 1)

    @step
    async def last(self, ev: Middled) -> StopEvent:
        return StopEvent(result=ev.n + 1)
