"""One replica of the anchor on DBOS (llama-agents-dbos): start and finish three-step runs.

Runs in its own virtual environment (``.venv-dbos``: llama-index-workflows 2.26.1,
llama-agents-dbos 0.7.0, dbos 2.31.1; ``make bench-scale`` builds it), because dbos pins
versions stepwork's environment does not need. The replica starts every run it measures and
executes it itself: llama-agents-dbos pins a run to the replica that started it.

Usage: ``python benchmarks/scale_dbos_child.py DATABASE_URL RUNS CONCURRENCY [APP]``; prints
``{"runs": N, "seconds": S}`` as JSON. ``APP`` names the DBOS application (replicas of one
measurement share it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from typing import Any

from dbos import DBOS, DBOSConfig
from llama_agents.dbos import DBOSRuntime
from workflows import Workflow, step
from workflows.events import Event, StartEvent, StopEvent


class One(Event):
    n: int


class Two(Event):
    n: int


class ThreeSteps(Workflow):
    """The same three steps as stepwork's side of the measurement."""

    @step
    async def first(self, ev: StartEvent) -> One:
        return One(n=ev.get("n", 0))

    @step
    async def second(self, ev: One) -> Two:
        return Two(n=ev.n + 1)

    @step
    async def third(self, ev: Two) -> StopEvent:
        return StopEvent(result=ev.n + 1)


def build(url: str, app: str) -> tuple[Any, Any]:
    """The DBOS runtime and the workflow bound to it (module-level classes: DBOS pickles events)."""
    config: DBOSConfig = {"name": app, "system_database_url": url}
    DBOS(config=config)
    runtime = DBOSRuntime()
    return runtime, ThreeSteps(runtime=runtime, timeout=120)


async def measure(url: str, runs: int, concurrency: int, app: str) -> dict[str, float]:
    runtime, workflow = build(url, app)
    await runtime.launch()
    if await workflow.run(n=0) != 2:  # warm-up, and a check that the runtime works at all
        raise RuntimeError("the anchor on DBOS returned a wrong result")
    gate = asyncio.Semaphore(concurrency)

    async def one(n: int) -> None:
        async with gate:
            result = await workflow.run(n=n)
        if result != n + 2:
            raise RuntimeError(f"run {n} returned {result!r}")

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(runs)))
    seconds = time.perf_counter() - started
    DBOS.destroy()
    return {"runs": runs, "seconds": seconds}


def main() -> None:
    logging.disable(logging.INFO)
    url, runs, concurrency = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    app = sys.argv[4] if len(sys.argv) > 4 else "stepwork-bench"
    print(json.dumps(asyncio.run(measure(url, runs, concurrency, app))))


if __name__ == "__main__":
    main()
