"""Workflows the debugging-page tests run: a step that fails once and is retried, with
``ctx.store`` written along the way, so a run has attempts, tracebacks and state to look at."""

from __future__ import annotations

from typing import Any

from live_server import fresh_workflows

from stepwork import Context, Event, StartEvent, StopEvent, Workflow, step
from stepwork.retry_policy import retry_policy, stop_after_attempt, wait_fixed


class Prepared(Event):
    """What the first step hands the second."""

    word: str


class Flaky(Workflow):
    """``prepare`` writes ``phase``; ``work`` fails its first attempt, then succeeds."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.calls = 0

    @step
    async def prepare(self, ctx: Context, ev: StartEvent) -> Prepared:
        await ctx.store.set("phase", "prepared")
        return Prepared(word=str(ev.get("word", "hi")))

    @step(retry_policy=retry_policy(wait=wait_fixed(0), stop=stop_after_attempt(2)))
    async def work(self, ctx: Context, ev: Prepared) -> StopEvent:
        self.calls += 1
        if self.calls == 1:
            raise ValueError(f"first try at {ev.word}")
        await ctx.store.set("phase", "worked")
        return StopEvent(result=ev.word.upper())


def debug_workflows() -> dict[str, Workflow]:
    """The example server's workflows plus ``flaky``."""
    return {**fresh_workflows(), "flaky": Flaky(timeout=30)}
